"""Dense: ``keras.layers.Dense`` whose backward pass avoids a slow oneDNN matmul form on CPUs.

The input's gradient of ``y = x @ W`` is ``dy @ W^T``. TensorFlow computes it as ``MatMul`` with
``transpose_b``, and oneDNN's float32 kernel for that form is slow when ``W`` is wide: on BERT-Base's
feed-forward (``[1024, 3072] @ [768, 3072]^T``, 2 AVX-512 cores) 167 GFLOP/s, against 212 for the
same product as a ``BatchMatMulV2`` with ``adj_y`` or as a plain ``MatMul`` on a transposed copy
(which TensorFlow's graph optimizer folds back into ``transpose_b``). ``Dense`` computes the two
gradients itself, the input's through ``BatchMatMulV2``; the forward ops are Keras's, so the graph
optimizer still fuses the matmul with its bias add and activation. Same arithmetic, same weights,
same config as ``keras.layers.Dense``.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


@tf.custom_gradient
def matmul(inputs, kernel):
    """``inputs @ kernel`` for 2-D operands, with the gradients described in the module docstring."""

    def gradient(upstream):
        # [1, n, units] x [1, in, units]^T -> [1, n, in]: BatchMatMulV2 with adj_y.
        inputs_gradient = tf.linalg.matmul(upstream[None], kernel[None], adjoint_b=True)[0]
        kernel_gradient = tf.matmul(inputs, upstream, transpose_a=True)
        return inputs_gradient, kernel_gradient

    return tf.matmul(inputs, kernel), gradient


@keras.saving.register_keras_serializable(package="bertzoo")
class Dense(keras.layers.Dense):
    """``keras.layers.Dense`` with a faster backward pass for 2-D inputs (see the module docstring).

    Inputs of other ranks take Keras's own ``call`` (quantized layers never reach ``call``; the
    ``kernel`` property already merges LoRA).
    """

    def call(self, inputs, training=None):
        if len(inputs.shape) != 2:
            return super().call(inputs, training=training)
        # A tensor, not the variable: ``matmul`` must see a value to differentiate, not a variable read.
        kernel = tf.convert_to_tensor(ops.convert_to_tensor(self.kernel, dtype=self.compute_dtype))
        outputs = matmul(inputs, kernel)
        if self.bias is not None:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs
