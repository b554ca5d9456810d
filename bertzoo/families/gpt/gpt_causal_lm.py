"""GPTCausalLM: the decoder with its tied output layer, and the causal language-model objective."""

from __future__ import annotations

import keras
import tensorflow as tf

from bertzoo.families.gpt.gpt_decoder import GPTDecoder


@keras.saving.register_keras_serializable(package="bertzoo")
class GPTCausalLM(keras.Model):
    """Next-token logits over the vocabulary at every position (``hidden @ wte^T``, float32).

    Inputs: ``input_word_ids`` and ``input_mask`` (``input_type_ids`` optional, ignored). Output:
    ``{"logits": [batch, seq_length, vocab_size]}``. Train with ``causal_lm_loss_terms``: position
    ``t`` predicts ``labels["next_token_ids"][:, t]`` weighted by ``labels["weights"]``.
    """

    def __init__(self, decoder: GPTDecoder, **kwargs):
        super().__init__(**kwargs)
        self.decoder = decoder

    def call(self, inputs, training=None):
        features = dict(inputs)
        features.setdefault("input_type_ids", tf.zeros_like(features["input_word_ids"]))
        outputs = self.decoder(features, training=training)
        return {"logits": self.decoder.logits(outputs["sequence_output"])}

    def build(self, input_shape=None):
        self.decoder.build({name: (None, None) for name in ("input_word_ids", "input_mask", "input_type_ids")})
        self.built = True

    def get_config(self):
        return dict(super().get_config(), decoder=keras.saving.serialize_keras_object(self.decoder))

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)


def causal_lm_loss_terms(labels, outputs) -> dict:
    """``{"lm_loss": (sum of weighted token cross-entropies, sum of weights)}`` for the trainer."""
    weights = tf.cast(labels["weights"], tf.float32)
    losses = tf.keras.losses.sparse_categorical_crossentropy(
        labels["next_token_ids"], outputs["logits"], from_logits=True)
    return {"lm_loss": (tf.reduce_sum(losses * weights), tf.reduce_sum(weights))}


def causal_lm_metric_terms(labels, outputs) -> dict:
    """Next-token accuracy over weighted positions."""
    weights = tf.cast(labels["weights"], tf.float32)
    predicted = tf.argmax(outputs["logits"], axis=-1, output_type=tf.int32)
    correct = tf.cast(tf.equal(predicted, tf.cast(labels["next_token_ids"], tf.int32)), tf.float32)
    return {"next_token_accuracy": (tf.reduce_sum(correct * weights), tf.reduce_sum(weights))}
