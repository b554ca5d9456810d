"""Locked (variational) dropout: one mask per sequence, shared by every time step (Gal & Ghahramani 2016).

AWD-LSTM drops its inputs, the outputs between its LSTM layers and its final output this way, so a
unit that is dropped stays dropped for the whole sequence, unlike ``keras.layers.Dropout`` which
draws a new mask per position.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bertzoo")
class LockedDropout(keras.layers.Layer):
    """Dropout on ``[batch, time, features]`` with a mask of shape ``[batch, 1, features]``.

    Args:
        rate: probability of dropping a feature (kept ones are scaled by ``1 / (1 - rate)``).
        seed: seed of the layer's random generator.

    Example:
        >>> y = LockedDropout(0.4)(x, training=True)  # doctest: +SKIP
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"LockedDropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        shape = ops.shape(inputs)
        keep = keras.random.uniform((shape[0], 1, shape[2]), seed=self.seed_generator) >= self.rate
        return inputs * ops.cast(keep, inputs.dtype) / (1.0 - self.rate)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
