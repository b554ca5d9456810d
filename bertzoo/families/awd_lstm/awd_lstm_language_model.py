"""AwdLstmLanguageModel: the encoder plus a decoder tied to its embeddings, predicting the next word."""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.families.awd_lstm.awd_lstm_encoder import AwdLstmEncoder
from bertzoo.layers.locked_dropout import LockedDropout


@keras.saving.register_keras_serializable(package="bertzoo")
class AwdLstmLanguageModel(keras.Model):
    """Next-word logits ``[batch, seq, vocab]`` for every position (fastai's ``LinearDecoder``).

    The decoder matrix is the encoder's embedding table (tied, as ULMFiT's language model), with its
    own bias; locked ``output_dropout`` sits before it.

    Args:
        encoder: an ``AwdLstmEncoder``.
        output_dropout: defaults to the encoder config's.
    """

    def __init__(self, encoder: AwdLstmEncoder, output_dropout: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.output_dropout_rate = encoder.config.output_dropout if output_dropout is None else float(output_dropout)
        self.output_dropout = LockedDropout(self.output_dropout_rate, name="output_dropout")
        self.decoder_bias = self.add_weight(shape=(encoder.config.vocab_size,), initializer="zeros",
                                            name="decoder_bias")

    def call(self, inputs, training=False):
        sequence = self.encoder(inputs, training=training)["sequence_output"]
        sequence = self.output_dropout(sequence, training=training)
        table = ops.convert_to_tensor(self.encoder.embedding.embeddings)
        return ops.matmul(sequence, ops.transpose(table)) + self.decoder_bias

    def get_config(self) -> dict:
        return {**super().get_config(), "encoder": keras.saving.serialize_keras_object(self.encoder),
                "output_dropout": self.output_dropout_rate}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
