"""BertMultipleChoice: an encoder scoring each of N (context, ending) sequences, softmax over the N."""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.families.bert.bert_encoder import INPUT_NAMES
from bertzoo.heads.dense_head import DenseHead
from bertzoo.layers.encoder_head_model import EncoderHeadModel
from bertzoo.models.bert_classifier import POOLINGS, pool_sequence


def multiple_choice_loss_terms(labels, outputs) -> dict:
    """Softmax cross-entropy over the choices: ``{"multiple_choice": (sum, count)}`` for the trainer;
    ``labels["labels"]`` holds the index of the right ending ``[batch]``."""
    logits = ops.cast(outputs["logits"], "float32")
    losses = keras.losses.sparse_categorical_crossentropy(ops.cast(labels["labels"], "int32"), logits,
                                                          from_logits=True)
    return {"multiple_choice": (ops.sum(losses), ops.cast(ops.shape(logits)[0], "float32"))}


def multiple_choice_metric_terms(labels, outputs) -> dict:
    """Share of examples whose best-scored ending is the right one."""
    predicted = ops.argmax(outputs["logits"], axis=-1)
    correct = ops.cast(ops.equal(predicted, ops.cast(labels["labels"], "int64")), "float32")
    return {"accuracy": (ops.sum(correct), ops.cast(ops.size(correct), "float32"))}


@keras.saving.register_keras_serializable(package="bertzoo")
class BertMultipleChoice(EncoderHeadModel):
    """Encoder + ``DenseHead(num_classes=1)``: the BERT paper's SWAG setup (and GPT-1's).

    Each example is N packed sequences ``[CLS] context [SEP] ending_i [SEP]``; the encoder reads
    all ``batch * N`` of them, one score per sequence comes from its sentence vector, and the N
    scores are the logits of a softmax over the endings.

    Inputs: the encoder's dict with int32 ``[batch, num_choices, seq_length]`` tensors.
    Output: ``{"logits": float32 [batch, num_choices]}``.

    Args:
        encoder: a model of the encoder contract.
        num_choices: endings per example (4 for SWAG).
        dropout_rate: dropout on the sentence vector while training.
        pooling: ``"pooler"`` or ``"mean"``, as ``BertClassifier``.

    Example:
        >>> chooser = BertMultipleChoice(BertEncoder.from_bert_config(BertConfig.preset("tiny")), num_choices=4)
        >>> chooser(inputs)["logits"].shape   # inputs: [batch, 4, seq_length] each
        TensorShape([batch, 4])
    """

    def __init__(self, encoder: keras.Model, num_choices: int, dropout_rate: float = 0.1,
                 pooling: str = "pooler", **kwargs):
        super().__init__(**kwargs)
        if num_choices < 2:
            raise ValueError(f"BertMultipleChoice: num_choices must be at least 2, got {num_choices}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.encoder = encoder
        self.num_choices = num_choices
        self.dropout_rate = dropout_rate
        self.pooling = pooling
        self.choice_head = DenseHead(
            num_classes=1, hidden_size=encoder.hidden_size, dropout_rate=dropout_rate,
            initializer_range=getattr(encoder, "initializer_range", 0.02), dtype=encoder.dtype_policy,
            name="choice_head")

    def call(self, inputs, training=None):
        seq_length = ops.shape(inputs["input_word_ids"])[-1]
        flat = {name: ops.reshape(inputs[name], (-1, seq_length)) for name in INPUT_NAMES}
        encoded = self.encoder(flat, training=training)
        pooled = pool_sequence(encoded, flat["input_mask"], self.pooling)
        scores = self.choice_head(pooled, training=training)
        return {"logits": ops.reshape(scores, (-1, self.num_choices))}

    def build(self, input_shape=None):
        self.choice_head.build((None, self.encoder.hidden_size))
        self.built = True

    def head_config(self) -> dict:
        return dict(num_choices=self.num_choices, dropout_rate=self.dropout_rate, pooling=self.pooling)
