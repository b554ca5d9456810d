"""SpanHead: start and end logits of an answer span from every token's vector (SQuAD)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bertzoo")
class SpanHead(keras.layers.Layer):
    """One dense layer with two outputs on ``sequence_output`` ``[batch, seq, hidden]`` ->
    float32 ``start_logits`` and ``end_logits`` ``[batch, seq]`` (google-research/bert's
    ``create_model`` in ``run_squad.py``; its ``cls/squad/output_weights`` are this kernel, transposed).

    Padding positions are not masked here: SQuAD decoding only considers document tokens.

    Args:
        hidden_size: width of ``sequence_output``.
        initializer_range: stddev of the kernel initializer.

    Example:
        >>> start, end = SpanHead(hidden_size=8)(np.zeros((2, 5, 8), "float32"))
        >>> start.shape
        (2, 5)
    """

    def __init__(self, hidden_size: int, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.initializer_range = initializer_range
        self.dense = keras.layers.Dense(
            2, name="dense", dtype=self.dtype_policy,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))

    def build(self, sequence_output_shape=None):
        self.dense.build((None, None, self.hidden_size))
        self.built = True

    def call(self, sequence_output):
        logits = ops.cast(self.dense(sequence_output), "float32")
        return logits[..., 0], logits[..., 1]

    def compute_output_shape(self, sequence_output_shape):
        shape = tuple(sequence_output_shape[:2])
        return shape, shape

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, initializer_range=self.initializer_range)
        return config
