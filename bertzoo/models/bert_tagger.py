"""BertTagger: a BERT encoder with a ``DenseHead`` on every token, one class per token (NER, POS tagging).

The objective lives here once: ``tagging_loss_terms`` returns the loss as a (sum, weight) pair,
weighted by ``label_weights`` (1 at the first WordPiece of each labelled word, 0 elsewhere; see
``bertzoo.data.tagging_data``), so the bertzoo trainer normalises by the weights of the GLOBAL
batch under any number of replicas, and ``compute_loss`` (Keras 3 ``compile``/``fit``) divides it
directly.
"""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.families.bert.bert_encoder import INPUT_NAMES, BertEncoder
from bertzoo.heads.dense_head import DenseHead
from bertzoo.layers.encoder_head_model import EncoderHeadModel

LABEL_NAMES = ("label_ids", "label_weights")


def tagging_loss_terms(labels: dict, outputs: dict) -> dict[str, tuple]:
    """``{"tagging": (sum of label_weights * cross-entropy, sum of label_weights)}``, float32.

    Args:
        labels: ``label_ids`` int ``[batch, seq_length]`` and ``label_weights`` ``[batch, seq_length]``.
        outputs: the model's ``logits`` ``[batch, seq_length, num_classes]``.
    """
    weights = ops.cast(labels["label_weights"], "float32")
    losses = keras.losses.sparse_categorical_crossentropy(
        labels["label_ids"], ops.cast(outputs["logits"], "float32"), from_logits=True)
    return {"tagging": (ops.sum(losses * weights), ops.sum(weights))}


def tagging_metric_terms(labels: dict, outputs: dict) -> dict[str, tuple]:
    """``{"token_accuracy": (sum of label_weights * correct, sum of label_weights)}``, float32.

    Token accuracy over the labelled first pieces; entity F1 needs whole sentences and is computed
    after ``decode_tags`` (``bertzoo.metrics.entity_metrics.entity_scores``).
    """
    weights = ops.cast(labels["label_weights"], "float32")
    predicted = ops.argmax(outputs["logits"], axis=-1)
    correct = ops.cast(ops.equal(predicted, ops.cast(labels["label_ids"], predicted.dtype)), "float32")
    return {"token_accuracy": (ops.sum(correct * weights), ops.sum(weights))}


def _ratio(total, count):
    return total / ops.maximum(count, 1.0)


@keras.saving.register_keras_serializable(package="bertzoo")
class BertTagger(EncoderHeadModel):
    """Encoder + ``DenseHead`` on ``sequence_output``: logits for every position.

    Inputs: the encoder's dict (``input_word_ids``, ``input_mask``, ``input_type_ids``, int32
    ``[batch, seq_length]``). Outputs: ``{"logits": [batch, seq_length, num_classes]}``, float32.
    Labels for ``fit`` / the trainer: ``label_ids`` and ``label_weights`` (``tagging_dataset``).

    Args:
        encoder: a ``BertEncoder`` (or any encoder with the contract and ``hidden_size``,
            ``initializer_range`` attributes).
        num_classes: number of tags.
        dropout_rate: dropout on ``sequence_output`` before the head's dense layer.

    Example:
        >>> tagger = BertTagger(BertEncoder.from_bert_config(BertConfig.preset("tiny")), num_classes=9)
        >>> tagger.compile(optimizer="adam")
        >>> tagger.fit(tagging_dataset(features, 32, training=True), steps_per_epoch=100)  # doctest: +SKIP
    """

    def __init__(self, encoder: BertEncoder, num_classes: int, dropout_rate: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.num_classes = num_classes
        self.dropout_rate = dropout_rate
        self.tagging_head = DenseHead(
            num_classes=num_classes, hidden_size=encoder.hidden_size, dropout_rate=dropout_rate,
            initializer_range=encoder.initializer_range, dtype=encoder.dtype_policy, name="tagging_head")
        self._trackers = {name: keras.metrics.Mean(name=name) for name in ("tagging_loss", "token_accuracy")}

    def call(self, inputs, training=None):
        encoded = self.encoder({name: inputs[name] for name in INPUT_NAMES}, training=training)
        return {"logits": self.tagging_head(encoded["sequence_output"], training=training)}

    def build(self, input_shape=None):
        # The head builds here; the encoder is functional and already built.
        self.tagging_head.build((None, None, self.encoder.hidden_size))
        self.built = True

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Keras 3 ``fit``: mean cross-entropy over the labelled first pieces; updates the tracker."""
        total, count = tagging_loss_terms(y, y_pred)["tagging"]
        loss = _ratio(total, count)
        self._trackers["tagging_loss"].update_state(loss)
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        total, count = tagging_metric_terms(y, y_pred)["token_accuracy"]
        self._trackers["token_accuracy"].update_state(_ratio(total, count), sample_weight=count)
        return self.get_metrics_result()

    def head_config(self) -> dict:
        return dict(num_classes=self.num_classes, dropout_rate=self.dropout_rate)
