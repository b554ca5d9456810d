"""ELMo's contextual layers: a stack of projected LSTMs per direction, optionally stateful across batches."""

from __future__ import annotations

import keras
import tensorflow as tf

FORGET_BIAS = 1.0  # TF1 LSTMCell's default, added to the forget gate at run time (not stored in B)


@keras.saving.register_keras_serializable(package="bertzoo")
class ElmoLstm(keras.layers.Layer):
    """Token vectors ``[batch, seq_length, projection_dim]`` -> one ``[forward; backward]`` output per layer.

    Each direction is ``num_layers`` TF1 ``LSTMCell``s as bilm-tf builds them: gates from
    ``concat([x_t, h_{t-1}]) W_0 + B`` in TF's order ``i, j, f, o``; ``c = sigmoid(f + 1.0) * c +
    sigmoid(i) * tanh(j)`` clipped to ``cell_clip``; ``h = (sigmoid(o) * tanh(c)) W_P_0`` clipped to
    ``proj_clip`` (no projection when ``projection_dim == lstm_dim``). From the second layer on, a
    skip connection adds the layer's input to its output (``ResidualWrapper``). The backward
    direction runs on each row reversed within its length (``tf.reverse_sequence``). Padded steps
    leave the state unchanged and output zeros, as ``tf.nn.dynamic_rnn`` with ``sequence_length``.

    Stateful (``stateful=True``), as the original biLM: the state after each row's last real token
    is kept in non-trainable variables of ``max_batch_size`` rows and is the initial state of the same
    row in the next call; a call of ``b`` rows reads and updates rows ``0..b-1`` only (bilm-tf's
    protocol). ``reset_states()`` zeros them. Stateless, every call starts from zeros.

    Args:
        lstm_dim: cell size.
        projection_dim: input and output size.
        num_layers: layers per direction.
        cell_clip, proj_clip: clip values (None: no clip).
        use_skip_connections: residual connections from the second layer on.
        stateful: carry states between calls.
        max_batch_size: rows of the carried state (stateful only).
        unroll: unroll the time loop in the graph (needs a static ``seq_length``). For training
            steps compiled with XLA (``jit_compile=True``), whose gradients cannot cross a
            ``tf.while_loop``'s accumulators; costs graph size and compile time.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        inputs: ``[batch, seq_length, projection_dim]``.
        mask: ``[batch, seq_length]``, 1 for real tokens (a prefix of each row).

    Example:
        >>> lstm = ElmoLstm(16, 8, 2, 3.0, 3.0, True)
        >>> [o.shape for o in lstm(np.ones((2, 5, 8), "float32"), np.ones((2, 5), "int32"))]
        [TensorShape([2, 5, 16]), TensorShape([2, 5, 16])]
    """

    def __init__(self, lstm_dim: int, projection_dim: int, num_layers: int, cell_clip: float | None,
                 proj_clip: float | None, use_skip_connections: bool = True, stateful: bool = False,
                 max_batch_size: int = 128, unroll: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.unroll = bool(unroll)
        self.lstm_dim = int(lstm_dim)
        self.projection_dim = int(projection_dim)
        self.num_layers = int(num_layers)
        self.cell_clip = None if cell_clip is None else float(cell_clip)
        self.proj_clip = None if proj_clip is None else float(proj_clip)
        self.use_skip_connections = bool(use_skip_connections)
        self.stateful = bool(stateful)
        self.max_batch_size = int(max_batch_size)
        self.use_projection = self.projection_dim < self.lstm_dim

    def build(self, input_shape=None):
        self.cells = []
        for direction in range(2):
            layers = []
            for i in range(self.num_layers):
                cell = {
                    "W_0": self.add_weight(shape=(2 * self.projection_dim, 4 * self.lstm_dim),
                                           name=f"W_0_{direction}_{i}", initializer="glorot_uniform"),
                    "B": self.add_weight(shape=(4 * self.lstm_dim,), name=f"B_{direction}_{i}", initializer="zeros"),
                }
                if self.use_projection:
                    cell["W_P_0"] = self.add_weight(shape=(self.lstm_dim, self.projection_dim),
                                                    name=f"W_P_0_{direction}_{i}", initializer="glorot_uniform")
                if self.stateful:
                    cell["state_c"] = self.add_weight(shape=(self.max_batch_size, self.lstm_dim), trainable=False,
                                                      name=f"state_c_{direction}_{i}", initializer="zeros")
                    cell["state_h"] = self.add_weight(shape=(self.max_batch_size, self.projection_dim),
                                                      trainable=False, name=f"state_h_{direction}_{i}",
                                                      initializer="zeros")
                layers.append(cell)
            self.cells.append(layers)
        self.built = True

    def checkpoint_variables(self) -> dict[str, keras.Variable]:
        """bilm-tf's ``weights.hdf5`` dataset name -> variable."""
        names = {}
        for direction, layers in enumerate(self.cells):
            for i, cell in enumerate(layers):
                prefix = f"RNN_{direction}/RNN/MultiRNNCell/Cell{i}/LSTMCell"
                for key in ("W_0", "B", "W_P_0"):
                    if key in cell:
                        names[f"{prefix}/{key}"] = cell[key]
        return names

    def reset_states(self) -> None:
        """Zeros the carried states (stateful only; a no-op otherwise)."""
        if self.stateful and self.built:
            for layers in self.cells:
                for cell in layers:
                    cell["state_c"].assign(tf.zeros_like(cell["state_c"]))
                    cell["state_h"].assign(tf.zeros_like(cell["state_h"]))

    def call(self, inputs, mask):
        dtype = self.compute_dtype
        inputs = tf.cast(inputs, dtype)
        mask = tf.cast(mask, tf.bool)
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        batch = tf.shape(inputs)[0]
        if self.stateful:
            tf.debugging.assert_less_equal(batch, self.max_batch_size, message=(
                f"a stateful ELMo keeps states for at most max_batch_size={self.max_batch_size} rows"))
        outputs = []
        layer_inputs = [inputs, tf.reverse_sequence(inputs, lengths, seq_axis=1, batch_axis=0)]
        for i in range(self.num_layers):
            layer_outputs = []
            for direction in range(2):
                cell = self.cells[direction][i]
                if self.stateful:
                    c0 = tf.cast(cell["state_c"][:batch], dtype)
                    h0 = tf.cast(cell["state_h"][:batch], dtype)
                else:
                    c0 = tf.zeros(tf.stack([batch, self.lstm_dim]), dtype)
                    h0 = tf.zeros(tf.stack([batch, self.projection_dim]), dtype)
                output, c, h = self._run(cell, layer_inputs[direction], mask, c0, h0)
                if self.stateful:
                    cell["state_c"].assign(tf.concat([tf.cast(c, cell["state_c"].dtype), cell["state_c"][batch:]], 0))
                    cell["state_h"].assign(tf.concat([tf.cast(h, cell["state_h"].dtype), cell["state_h"][batch:]], 0))
                if self.use_skip_connections and i > 0:
                    output = output + layer_inputs[direction] * tf.cast(mask, dtype)[..., tf.newaxis]
                layer_outputs.append(output)
            layer_inputs = layer_outputs
            backward = tf.reverse_sequence(layer_outputs[1], lengths, seq_axis=1, batch_axis=0)
            outputs.append(tf.concat([layer_outputs[0], backward], axis=-1))
        return outputs

    def _run(self, cell, inputs, mask, c0, h0):
        """One LSTM over time: ``[batch, seq, in]`` -> outputs ``[batch, seq, proj]``, final ``c``, ``h``."""
        dtype = self.compute_dtype
        kernel = tf.cast(cell["W_0"], dtype)
        input_kernel, recurrent_kernel = kernel[: self.projection_dim], kernel[self.projection_dim :]
        projection = tf.cast(cell["W_P_0"], dtype) if self.use_projection else None
        gates_in = tf.einsum("bsi,ig->sbg", inputs, input_kernel) + tf.cast(cell["B"], dtype)
        steps_mask = tf.transpose(mask)[..., tf.newaxis]  # [seq, batch, 1]
        static_steps = inputs.shape[1]
        if self.unroll:
            if static_steps is None:
                raise ValueError("ElmoLstm(unroll=True) needs a static seq_length")
            c, h, outputs = c0, h0, []
            for t in range(static_steps):
                new_c, new_h = self._cell(gates_in[t], c, h, recurrent_kernel, projection)
                real = steps_mask[t]
                outputs.append(tf.where(real, new_h, tf.zeros_like(new_h)))
                c, h = tf.where(real, new_c, c), tf.where(real, new_h, h)
            return tf.stack(outputs, axis=1), c, h  # static under a fixed seq_length: XLA needs it to differentiate the loop
        num_steps = static_steps if static_steps is not None else tf.shape(gates_in)[0]
        outputs = tf.TensorArray(dtype, size=num_steps, element_shape=h0.shape)

        def step(t, c, h, outputs):
            new_c, new_h = self._cell(gates_in[t], c, h, recurrent_kernel, projection)
            real = steps_mask[t]
            outputs = outputs.write(t, tf.where(real, new_h, tf.zeros_like(new_h)))
            return t + 1, tf.where(real, new_c, c), tf.where(real, new_h, h), outputs

        _, c, h, outputs = tf.while_loop(lambda t, *_: t < num_steps, step, (tf.constant(0), c0, h0, outputs),
                                         maximum_iterations=static_steps)
        return tf.transpose(outputs.stack(), [1, 0, 2]), c, h

    def _cell(self, gates_in, c, h, recurrent_kernel, projection):
        """One step of TF1's LSTMCell (gates i, j, f, o; forget bias 1.0; clips; projection)."""
        gates = gates_in + tf.matmul(h, recurrent_kernel)
        i, j, f, o = tf.split(gates, 4, axis=-1)
        new_c = tf.sigmoid(f + FORGET_BIAS) * c + tf.sigmoid(i) * tf.tanh(j)
        if self.cell_clip is not None:
            new_c = tf.clip_by_value(new_c, -self.cell_clip, self.cell_clip)
        new_h = tf.sigmoid(o) * tf.tanh(new_c)
        if projection is not None:
            new_h = tf.matmul(new_h, projection)
            if self.proj_clip is not None:
                new_h = tf.clip_by_value(new_h, -self.proj_clip, self.proj_clip)
        return new_c, new_h

    def compute_output_shape(self, input_shape):
        return [tuple(input_shape[:2]) + (2 * self.projection_dim,)] * self.num_layers

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"lstm_dim": self.lstm_dim, "projection_dim": self.projection_dim, "num_layers": self.num_layers,
                       "cell_clip": self.cell_clip, "proj_clip": self.proj_clip,
                       "use_skip_connections": self.use_skip_connections, "stateful": self.stateful,
                       "max_batch_size": self.max_batch_size, "unroll": self.unroll})
        return config
