"""BertSpanLabeler: an encoder plus a SpanHead, for extractive question answering (SQuAD)."""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.families.bert.bert_encoder import INPUT_NAMES
from bertzoo.heads.span_head import SpanHead
from bertzoo.layers.encoder_head_model import EncoderHeadModel


def span_loss_terms(labels, outputs) -> dict:
    """Google's SQuAD loss, ``(CE(start) + CE(end)) / 2`` averaged over the batch, as the
    trainer's ``{name: (sum, count)}`` terms. ``labels``: int ``start_positions``/``end_positions``
    ``[batch]`` (0, the ``[CLS]`` position, where the window holds no answer)."""
    count = ops.cast(ops.shape(outputs["start_logits"])[0], "float32")
    terms = {}
    for name in ("start", "end"):
        losses = keras.losses.sparse_categorical_crossentropy(
            ops.cast(labels[f"{name}_positions"], "int32"), ops.cast(outputs[f"{name}_logits"], "float32"),
            from_logits=True)
        terms[f"span_{name}"] = (0.5 * ops.sum(losses), count)
    return terms


def span_metric_terms(labels, outputs) -> dict:
    """Share of windows whose argmax start (and end) is the labelled position."""
    terms = {}
    for name in ("start", "end"):
        predicted = ops.argmax(outputs[f"{name}_logits"], axis=-1)
        correct = ops.cast(ops.equal(predicted, ops.cast(labels[f"{name}_positions"], "int64")), "float32")
        terms[f"{name}_accuracy"] = (ops.sum(correct), ops.cast(ops.size(correct), "float32"))
    return terms


@keras.saving.register_keras_serializable(package="bertzoo")
class BertSpanLabeler(EncoderHeadModel):
    """Encoder + ``SpanHead`` on ``sequence_output``.

    Inputs: the encoder's dict (``[CLS] question [SEP] context window [SEP]``, segment ids 0/1).
    Outputs: float32 ``start_logits`` and ``end_logits`` ``[batch, seq_length]``, decoded into
    answers by ``bertzoo.data.squad.decode_predictions``.

    Args:
        encoder: a model of the encoder contract.

    Example:
        >>> labeler = BertSpanLabeler(BertEncoder.from_bert_config(BertConfig.preset("tiny")))
        >>> sorted(labeler(inputs))
        ['end_logits', 'start_logits']
    """

    def __init__(self, encoder: keras.Model, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.span_head = SpanHead(hidden_size=encoder.hidden_size,
                                  initializer_range=getattr(encoder, "initializer_range", 0.02),
                                  dtype=encoder.dtype_policy, name="span_head")

    def call(self, inputs, training=None):
        encoded = self.encoder({name: inputs[name] for name in INPUT_NAMES}, training=training)
        start_logits, end_logits = self.span_head(encoded["sequence_output"])
        return {"start_logits": start_logits, "end_logits": end_logits}

    def build(self, input_shape=None):
        self.span_head.build((None, None, self.encoder.hidden_size))
        self.built = True
