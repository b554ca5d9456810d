"""BertPretrainer: a BERT encoder with the masked-LM and (optionally) next-sentence heads.

The pretraining objective lives here once: ``pretraining_loss_terms`` returns each loss as a
(sum, weight) pair, so the bertzoo trainer can normalise by the weights of the GLOBAL batch under
any number of replicas, and ``compute_loss`` (Keras 3 ``compile``/``fit``) divides them directly.
"""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.families.bert.bert_encoder import INPUT_NAMES, BertEncoder
from bertzoo.families.bert.masked_lm_head import MaskedLMHead
from bertzoo.families.bert.next_sentence_head import NextSentenceHead
from bertzoo.layers.encoder_head_model import EncoderHeadModel

FEATURE_NAMES = INPUT_NAMES + ("masked_lm_positions",)
LABEL_NAMES = ("masked_lm_ids", "masked_lm_weights", "next_sentence_labels")


def pretraining_loss_terms(labels: dict, outputs: dict) -> dict[str, tuple]:
    """Each loss as ``(sum of weighted losses, sum of weights)`` over the examples given.

    ``masked_lm``: cross-entropy at the masked positions, weighted by ``masked_lm_weights`` (0 for
    the padding of ``masked_lm_positions``). ``next_sentence``: cross-entropy per example, present
    when the outputs hold ``next_sentence_logits``.
    """
    weights = ops.cast(labels["masked_lm_weights"], "float32")
    masked_lm = keras.losses.sparse_categorical_crossentropy(
        labels["masked_lm_ids"], outputs["masked_lm_logits"], from_logits=True)
    terms = {"masked_lm": (ops.sum(masked_lm * weights), ops.sum(weights))}
    if "next_sentence_logits" in outputs:
        next_sentence = keras.losses.sparse_categorical_crossentropy(
            ops.reshape(labels["next_sentence_labels"], (-1,)), outputs["next_sentence_logits"], from_logits=True)
        terms["next_sentence"] = (ops.sum(next_sentence), ops.cast(ops.shape(next_sentence)[0], "float32"))
    return terms


def pretraining_metric_terms(labels: dict, outputs: dict) -> dict[str, tuple]:
    """Accuracies as ``(sum of correct, count)``: masked-LM over real masked positions, NSP per example."""
    weights = ops.cast(labels["masked_lm_weights"], "float32")
    predicted = ops.argmax(outputs["masked_lm_logits"], axis=-1)
    correct = ops.cast(ops.equal(predicted, ops.cast(labels["masked_lm_ids"], predicted.dtype)), "float32")
    terms = {"masked_lm_accuracy": (ops.sum(correct * weights), ops.sum(weights))}
    if "next_sentence_logits" in outputs:
        truth = ops.reshape(labels["next_sentence_labels"], (-1,))
        guess = ops.argmax(outputs["next_sentence_logits"], axis=-1)
        right = ops.cast(ops.equal(guess, ops.cast(truth, guess.dtype)), "float32")
        terms["next_sentence_accuracy"] = (ops.sum(right), ops.cast(ops.shape(right)[0], "float32"))
    return terms


def _ratio(total, count):
    return total / ops.maximum(count, 1.0)


@keras.saving.register_keras_serializable(package="bertzoo")
class BertPretrainer(EncoderHeadModel):
    """Encoder + ``MaskedLMHead`` (tied to the word embeddings) + optional ``NextSentenceHead``.

    Inputs: the encoder's dict plus ``masked_lm_positions`` ``[batch, max_predictions_per_seq]``.
    Outputs: ``masked_lm_logits`` ``[batch, max_predictions_per_seq, vocab]`` and, with NSP,
    ``next_sentence_logits`` ``[batch, 2]``; both float32. Labels for ``fit``: ``masked_lm_ids``,
    ``masked_lm_weights``, ``next_sentence_labels``. Without NSP it is a RoBERTa-style MLM-only model.

    Args:
        encoder: a ``BertEncoder`` (its word embeddings are the MLM output projection).
        next_sentence: include the next-sentence-prediction head and loss.

    Example:
        >>> pretrainer = BertPretrainer(BertEncoder.from_bert_config(BertConfig.preset("tiny")))
        >>> pretrainer.compile(optimizer="adam")
        >>> pretrainer.fit(dataset_of_features_and_labels, steps_per_epoch=10)
    """

    def __init__(self, encoder: BertEncoder, next_sentence: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.next_sentence = next_sentence
        self.masked_lm_head = MaskedLMHead(
            vocab_size=encoder.vocab_size, hidden_size=encoder.hidden_size, hidden_act=encoder.hidden_act,
            initializer_range=encoder.initializer_range, layer_norm_eps=encoder.layer_norm_eps,
            dtype=encoder.dtype_policy, name="masked_lm_head")
        self.next_sentence_head = (
            NextSentenceHead(hidden_size=encoder.hidden_size, initializer_range=encoder.initializer_range,
                             dtype=encoder.dtype_policy, name="next_sentence_head")
            if next_sentence else None)
        names = ["masked_lm_loss", "masked_lm_accuracy"]
        if next_sentence:
            names += ["next_sentence_loss", "next_sentence_accuracy"]
        self._trackers = {name: keras.metrics.Mean(name=name) for name in names}

    def call(self, inputs, training=None):
        encoded = self.encoder({name: inputs[name] for name in INPUT_NAMES}, training=training)
        outputs = {"masked_lm_logits": self.masked_lm_head(
            encoded["sequence_output"], inputs["masked_lm_positions"], self.encoder.embeddings.word_embeddings)}
        if self.next_sentence_head is not None:
            outputs["next_sentence_logits"] = self.next_sentence_head(encoded["pooled_output"])
        return outputs

    def build(self, input_shape=None):
        # Sublayers build on first call; the encoder is functional and already built.
        hidden = self.encoder.hidden_size
        self.masked_lm_head.build((None, None, hidden), (None, None), (self.encoder.vocab_size, hidden))
        if self.next_sentence_head is not None:
            self.next_sentence_head.build((None, hidden))
        self.built = True

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Keras 3 ``fit``: MLM mean over masked positions (+ NSP mean); updates the loss trackers."""
        terms = pretraining_loss_terms(y, y_pred)
        losses = {name: _ratio(total, count) for name, (total, count) in terms.items()}
        for name, value in losses.items():
            self._trackers[f"{name}_loss"].update_state(value)
        return sum(losses.values())

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        for name, (total, count) in pretraining_metric_terms(y, y_pred).items():
            self._trackers[name].update_state(_ratio(total, count), sample_weight=count)
        return self.get_metrics_result()

    def head_config(self) -> dict:
        return dict(next_sentence=self.next_sentence)
