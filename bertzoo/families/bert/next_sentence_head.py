"""NextSentenceHead: BERT's next-sentence-prediction head on the pooled [CLS] vector."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bertzoo")
class NextSentenceHead(keras.layers.Layer):
    """Two logits from ``pooled_output``: index 0 "B follows A", index 1 "B is random" (Google's
    convention, and the order of ``cls/seq_relationship/output_weights``). Logits are float32.

    Args:
        hidden_size: width of ``pooled_output``.
        initializer_range: stddev of the kernel initializer.

    Example:
        >>> NextSentenceHead(hidden_size=8)(np.zeros((2, 8), "float32")).shape
        (2, 2)
    """

    def __init__(self, hidden_size: int, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.initializer_range = initializer_range
        self.dense = keras.layers.Dense(
            2, name="dense", kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))

    def build(self, pooled_output_shape=None):
        self.dense.build((None, self.hidden_size))
        self.built = True

    def call(self, pooled_output):
        return ops.cast(self.dense(pooled_output), "float32")

    def compute_output_shape(self, pooled_output_shape):
        return (pooled_output_shape[0], 2)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, initializer_range=self.initializer_range)
        return config
