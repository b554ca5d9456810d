"""ClassificationHead: class logits (or a regression score) from the pooled [CLS] vector."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bertzoo")
class ClassificationHead(keras.layers.Layer):
    """Dropout then a dense layer on ``pooled_output`` ``[batch, hidden]`` -> float32 ``[batch, num_classes]``.

    As google-research/bert's ``run_classifier.py``: the encoder's tanh pooler is the only hidden
    layer, so the head adds just dropout and the output projection. The same head serves every
    sentence(-pair) problem: softmax classes, independent sigmoid labels (multi-label) and
    regression (``num_classes=1``, the raw output is the score); the loss decides.

    Args:
        num_classes: outputs per example (1 for regression).
        hidden_size: width of ``pooled_output``.
        dropout_rate: dropout on ``pooled_output`` while training.
        initializer_range: stddev of the kernel initializer.

    Example:
        >>> ClassificationHead(num_classes=3, hidden_size=8)(np.zeros((2, 8), "float32")).shape
        (2, 3)
    """

    def __init__(self, num_classes: int, hidden_size: int, dropout_rate: float = 0.1,
                 initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        self.num_classes = num_classes
        self.hidden_size = hidden_size
        self.dropout_rate = dropout_rate
        self.initializer_range = initializer_range
        self.dropout = keras.layers.Dropout(dropout_rate, dtype=self.dtype_policy, name="dropout")
        self.dense = keras.layers.Dense(
            num_classes, name="dense", dtype=self.dtype_policy,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))

    def build(self, pooled_output_shape=None):
        self.dense.build((None, self.hidden_size))
        self.built = True

    def call(self, pooled_output, training=None):
        return ops.cast(self.dense(self.dropout(pooled_output, training=training)), "float32")

    def compute_output_shape(self, pooled_output_shape):
        return (pooled_output_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, hidden_size=self.hidden_size,
                      dropout_rate=self.dropout_rate, initializer_range=self.initializer_range)
        return config
