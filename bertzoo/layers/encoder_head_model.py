"""EncoderHeadModel: the base of models made of an encoder of the contract and heads on its outputs."""

from __future__ import annotations

import keras


class EncoderHeadModel(keras.Model):
    """Serialises the encoder together with the model, so ``from_config(get_config())`` and
    ``.keras`` saving rebuild both; subclasses list their own arguments in ``head_config``."""

    def head_config(self) -> dict:
        """The subclass's constructor arguments other than ``encoder``."""
        return {}

    def get_config(self):
        config = super().get_config()
        config.update(encoder=keras.saving.serialize_keras_object(self.encoder), **self.head_config())
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
