"""UlmfitClassifier: ULMFiT's text classifier, an AWD-LSTM encoder under a concat-pooling head.

The head is fastai's ``PoolingLinearClassifier``: the encoder's ``pooled_output`` ([last, max,
mean] of the last layer over real tokens), then two blocks of BatchNorm -> dropout -> dense (50
units with ReLU, then the classes), dropouts ``output_dropout`` and 0.1. ``layer_groups()`` splits
it as fastai's ``awd_lstm_clas_split`` does, for discriminative rates and gradual unfreezing.
"""

from __future__ import annotations

import keras

from bertzoo.families.awd_lstm.awd_lstm_encoder import AwdLstmEncoder


@keras.saving.register_keras_serializable(package="bertzoo")
class UlmfitClassifier(keras.Model):
    """Class logits ``[batch, num_classes]`` from raw-text inputs of the encoder contract.

    Args:
        encoder: an ``AwdLstmEncoder`` (from a pretrained, fine-tuned language model).
        num_classes: the number of classes.
        head_units: width of the hidden head layer (fastai: 50).
        output_dropout: dropout before the first head layer (fastai: the config's, 0.4 x drop_mult).
        head_dropout: dropout before the last layer (0.1).
    """

    def __init__(self, encoder: AwdLstmEncoder, num_classes: int, head_units: int = 50,
                 output_dropout: float | None = None, head_dropout: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.num_classes = int(num_classes)
        self.head_units = int(head_units)
        self.output_dropout = encoder.config.output_dropout if output_dropout is None else float(output_dropout)
        self.head_dropout = float(head_dropout)
        self.head = [
            keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name="head_norm_0"),
            keras.layers.Dropout(self.output_dropout, name="head_dropout_0"),
            keras.layers.Dense(self.head_units, activation="relu", name="head_dense_0"),
            keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name="head_norm_1"),
            keras.layers.Dropout(self.head_dropout, name="head_dropout_1"),
            keras.layers.Dense(self.num_classes, name="logits"),
        ]

    def call(self, inputs, training=False):
        x = self.encoder(inputs, training=training)["pooled_output"]
        for layer in self.head:
            x = layer(x, training=training)
        return x

    def layer_groups(self) -> list[list[keras.layers.Layer]]:
        """``[embedding, lstm_0, ..., lstm_n, head]``, bottom first."""
        return ([[self.encoder.embedding]] + [[rnn] for rnn in self.encoder.rnns] + [list(self.head)])

    def get_config(self) -> dict:
        return {**super().get_config(), "encoder": keras.saving.serialize_keras_object(self.encoder),
                "num_classes": self.num_classes, "head_units": self.head_units,
                "output_dropout": self.output_dropout, "head_dropout": self.head_dropout}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
