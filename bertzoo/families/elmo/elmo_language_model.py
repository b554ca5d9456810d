"""ELMo's pretraining objective: a forward and a backward language model over one biLM.

bilm-tf's ``LanguageModel`` (``bilm/training.py``): the top LSTM layer of each direction predicts the
next word (forward) or the previous word (backward) through one softmax shared by both directions
(``softmax/W`` ``[vocabulary, projection_dim]``, ``softmax/b``), with dropout on the LSTM output;
the loss is the mean of the two directions' cross-entropies. Training uses a sampled softmax
(``tf.nn.sampled_softmax_loss``, log-uniform candidates, as bilm-tf with ``n_negative_samples_batch``)
or, for a small vocabulary, the full softmax; evaluation always uses the full softmax, so the
perplexity is exact.

Inputs are the preprocessor's rows ``<S> w_1 ... w_n </S>`` with ``input_word_ids`` from the
vocabulary: position ``t`` of the forward direction predicts the word at ``t + 1`` (the last one
``</S>``), position ``t`` of the backward direction the word at ``t - 1`` (the last one ``<S>``).
Rows are sentences and the LSTM starts from zero states per row; bilm-tf instead streams the
corpus through a stateful LSTM in windows of 20 tokens, which matters for long-range context on a
large corpus, not for the objective.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from bertzoo.families.elmo.elmo_encoder import ElmoEncoder

SOFTMAX_WEIGHTS = "softmax/W"
SOFTMAX_BIAS = "softmax/b"


@keras.saving.register_keras_serializable(package="bertzoo")
class ElmoLanguageModel(keras.Model):
    """A biLM with its two language-model losses, per position, for the bertzoo trainer.

    Args:
        encoder: the ``ElmoEncoder`` being trained.
        vocabulary_size: words of the softmax.
        num_sampled: negative samples per batch for the sampled softmax during training (0: the
            full softmax, fine for vocabularies of a few thousand words).
        dropout: dropout on the top layer before the softmax (bilm-tf: 0.1).
        **kwargs: passed to ``keras.Model``.

    Call: the preprocessor's dict (``input_char_ids``, ``input_word_ids``, ``input_mask``) ->
    ``forward_losses``, ``backward_losses`` (float32 ``[batch, seq_length]`` cross-entropies, 0 where
    there is no target) and ``forward_weights``, ``backward_weights`` (1 where there is one).

    Example:
        >>> lm = ElmoLanguageModel(ElmoEncoder.from_elmo_config(ElmoConfig.tiny()), vocabulary_size=100)
        >>> outputs = lm(preprocessor(tf.constant(["a b c"])))  # doctest: +SKIP
    """

    def __init__(self, encoder: ElmoEncoder, vocabulary_size: int, num_sampled: int = 0, dropout: float = 0.1,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(encoder, dict):
            encoder = keras.saving.deserialize_keras_object(encoder)
        if num_sampled and num_sampled >= vocabulary_size:
            raise ValueError(f"num_sampled ({num_sampled}) must be smaller than the vocabulary ({vocabulary_size}); "
                             "use 0 for the full softmax")
        self.encoder = encoder
        self.vocabulary_size = int(vocabulary_size)
        self.num_sampled = int(num_sampled)
        self.dropout_rate = float(dropout)
        dim = encoder.config.projection_dim
        self.dropout = keras.layers.Dropout(self.dropout_rate)
        self.softmax_weights = self.add_weight(shape=(self.vocabulary_size, dim), name="softmax_W",
                                               initializer=keras.initializers.RandomNormal(stddev=1.0 / dim ** 0.5))
        self.softmax_bias = self.add_weight(shape=(self.vocabulary_size,), name="softmax_b", initializer="zeros")

    def pretraining_weights(self) -> dict[str, Any]:
        """The softmax as bilm-tf names it (``softmax/W``, ``softmax/b``), for ``PretrainedElmo``."""
        return {SOFTMAX_WEIGHTS: self.softmax_weights.numpy(), SOFTMAX_BIAS: self.softmax_bias.numpy()}

    def call(self, inputs, training: bool | None = None) -> dict[str, tf.Tensor]:
        outputs = self.encoder(inputs, training=training)
        top = tf.cast(outputs["sequence_output"], tf.float32)
        dim = self.encoder.config.projection_dim
        word_ids = tf.cast(inputs["input_word_ids"], tf.int32)
        mask = tf.cast(inputs["input_mask"], tf.float32)
        forward_states, backward_states = top[..., :dim], top[..., dim:]
        # forward: t predicts t + 1; backward: t predicts t - 1
        forward_targets = tf.pad(word_ids[:, 1:], [[0, 0], [0, 1]])
        forward_weights = tf.pad(mask[:, 1:], [[0, 0], [0, 1]]) * mask
        backward_targets = tf.pad(word_ids[:, :-1], [[0, 0], [1, 0]])
        backward_weights = tf.pad(mask[:, :-1], [[0, 0], [1, 0]]) * mask
        forward_losses = self._direction_losses(forward_states, forward_targets, training) * forward_weights
        backward_losses = self._direction_losses(backward_states, backward_targets, training) * backward_weights
        return {"forward_losses": forward_losses, "backward_losses": backward_losses,
                "forward_weights": forward_weights, "backward_weights": backward_weights}

    def _direction_losses(self, states, targets, training):
        states = self.dropout(states, training=training)
        weights = tf.cast(self.softmax_weights, tf.float32)
        bias = tf.cast(self.softmax_bias, tf.float32)
        if training and self.num_sampled:
            flat = tf.reshape(states, [-1, states.shape[-1]])
            labels = tf.reshape(tf.cast(targets, tf.int64), [-1, 1])
            losses = tf.nn.sampled_softmax_loss(weights, bias, labels, flat, num_sampled=self.num_sampled,
                                                num_classes=self.vocabulary_size)
            return tf.reshape(losses, tf.shape(targets))
        logits = tf.einsum("bsd,vd->bsv", states, weights) + bias
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable,
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "vocabulary_size": self.vocabulary_size, "num_sampled": self.num_sampled,
                "dropout": self.dropout_rate}


def language_model_loss(labels, outputs) -> dict[str, tuple[tf.Tensor, tf.Tensor]]:
    """The trainer's loss terms: half of each direction's mean cross-entropy (bilm-tf's 0.5 * (f + b))."""
    del labels
    return {"forward_lm": (0.5 * tf.reduce_sum(outputs["forward_losses"]), tf.reduce_sum(outputs["forward_weights"])),
            "backward_lm": (0.5 * tf.reduce_sum(outputs["backward_losses"]),
                            tf.reduce_sum(outputs["backward_weights"]))}
