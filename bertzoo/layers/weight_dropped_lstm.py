"""An LSTM with DropConnect on its hidden-to-hidden matrix (Merity et al. 2017, "weight-dropped LSTM").

During training, one dropout mask is drawn over the recurrent weight matrix per call and used at
every time step, which regularises the recurrence without touching the fast cuDNN-style loop. The
weights are laid out as PyTorch's ``nn.LSTM`` keeps them (``weight_ih [4H, in]``, ``weight_hh
[4H, H]``, two biases, gates in the order input, forget, cell, output), so AWD-LSTM checkpoints from
fastai map one to one.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="bertzoo")
class WeightDroppedLSTM(keras.layers.Layer):
    """One unidirectional LSTM layer over ``[batch, time, features]``, returning every step's output.

    ``gates = x W_ih^T + b_ih + h W_hh^T + b_hh``; ``i, f, g, o = split(gates)``;
    ``c = sigmoid(f) c + sigmoid(i) tanh(g)``; ``h = sigmoid(o) tanh(c)``. The state starts at zero
    for every sequence (or at ``initial_state``); padding after a sequence's last real token does not
    change its earlier outputs, so right-padded batches are exact.

    Args:
        units: H, the hidden (and output) size.
        weight_dropout: DropConnect rate on ``weight_hh`` during training.
        initializer_range: weights and biases start uniform in ``[-r, r]``; PyTorch uses
            ``1 / sqrt(units)``, the default when None.
        seed: seed of the DropConnect mask generator.

    Call arguments:
        inputs: ``[batch, time, features]``.
        training: apply DropConnect.
        initial_state: optional ``(h, c)``, each ``[batch, units]``.
        return_state: also return the final ``(h, c)``.
    """

    def __init__(self, units: int, weight_dropout: float = 0.0, initializer_range: float | None = None,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= weight_dropout < 1.0:
            raise ValueError(f"WeightDroppedLSTM: weight_dropout must be in [0, 1), got {weight_dropout!r}")
        self.units = int(units)
        self.weight_dropout = float(weight_dropout)
        self.initializer_range = initializer_range
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        limit = self.initializer_range or 1.0 / self.units ** 0.5
        init = keras.initializers.RandomUniform(-limit, limit)
        features = int(input_shape[-1])
        self.weight_ih = self.add_weight(shape=(4 * self.units, features), initializer=init, name="weight_ih")
        self.weight_hh = self.add_weight(shape=(4 * self.units, self.units), initializer=init, name="weight_hh")
        self.bias_ih = self.add_weight(shape=(4 * self.units,), initializer=init, name="bias_ih")
        self.bias_hh = self.add_weight(shape=(4 * self.units,), initializer=init, name="bias_hh")

    def call(self, inputs, training=False, initial_state=None, return_state=False):
        weight_hh = ops.convert_to_tensor(self.weight_hh)
        if training and self.weight_dropout > 0.0:
            keep = keras.random.uniform(ops.shape(weight_hh), seed=self.seed_generator) >= self.weight_dropout
            weight_hh = weight_hh * ops.cast(keep, weight_hh.dtype) / (1.0 - self.weight_dropout)
        # The input projection of every step at once; only the recurrence runs step by step.
        projected = ops.matmul(inputs, ops.transpose(self.weight_ih)) + self.bias_ih + self.bias_hh
        batch = ops.shape(inputs)[0]
        if initial_state is None:
            zeros = ops.zeros((batch, self.units), dtype=projected.dtype)
            initial_state = (zeros, zeros)
        recurrent = ops.transpose(weight_hh)

        def step(state, projected_t):
            h, c = state[0], state[1]
            gates = projected_t + ops.matmul(h, recurrent)
            i, f, g, o = ops.split(gates, 4, axis=-1)
            c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
            h = ops.sigmoid(o) * ops.tanh(c)
            return ops.stack([h, c])

        # states: [time, 2, batch, units], (h, c) after every step.
        states = tf.scan(step, ops.transpose(projected, (1, 0, 2)), initializer=ops.stack(list(initial_state)))
        outputs = ops.transpose(states[:, 0], (1, 0, 2))
        return (outputs, (states[-1, 0], states[-1, 1])) if return_state else outputs

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "weight_dropout": self.weight_dropout,
                "initializer_range": self.initializer_range, "seed": self.seed}
