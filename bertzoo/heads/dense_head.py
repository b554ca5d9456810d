"""DenseHead: dropout then one dense layer on the last axis, the task head of classification and tagging."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bertzoo")
class DenseHead(keras.layers.Layer):
    """Dropout then a dense layer on the last axis: ``[..., hidden] -> float32 [..., num_classes]``.

    One head for every "one linear map" task of the BERT paper. On ``pooled_output``
    ``[batch, hidden]`` it is google-research/bert's ``run_classifier.py`` head (the encoder's tanh
    pooler is the only hidden layer): softmax classes, independent sigmoid labels (multi-label) or a
    regression score (``num_classes=1``); the loss decides. On ``sequence_output``
    ``[batch, seq, hidden]`` it is the CoNLL-2003 tagging head (Model Garden's
    ``BertTokenClassifier``): one linear map per token, no transform. On the pooled vectors of N
    choices ``[batch, choices, hidden]`` with ``num_classes=1`` it scores each ending (SWAG).
    Logits are float32 under mixed precision, so losses are computed in float32.

    Its weights are ``<layer name>/dense/kernel`` and ``.../bias`` whatever rank it runs on, so the
    models keep the layer names their fine-tuned checkpoints were written with
    (``classification_head``, ``tagging_head``).

    Args:
        num_classes: outputs per vector (1 for regression or a choice score).
        hidden_size: width of the input vectors.
        dropout_rate: dropout on the input while training, in [0, 1).
        initializer_range: stddev of the truncated-normal kernel initializer.

    Example:
        >>> DenseHead(num_classes=3, hidden_size=8)(np.zeros((2, 8), "float32")).shape
        (2, 3)
        >>> DenseHead(num_classes=9, hidden_size=8)(np.zeros((2, 5, 8), "float32")).shape
        (2, 5, 9)
    """

    def __init__(self, num_classes: int, hidden_size: int, dropout_rate: float = 0.1,
                 initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        if num_classes < 1:
            raise ValueError(f"{type(self).__name__}: num_classes must be at least 1, got {num_classes}.")
        if not 0.0 <= dropout_rate < 1.0:
            raise ValueError(f"{type(self).__name__}: dropout_rate must be in [0, 1), got {dropout_rate}.")
        self.num_classes = num_classes
        self.hidden_size = hidden_size
        self.dropout_rate = dropout_rate
        self.initializer_range = initializer_range
        self.dropout = keras.layers.Dropout(dropout_rate, dtype=self.dtype_policy, name="dropout")
        self.dense = keras.layers.Dense(
            num_classes, name="dense", dtype=self.dtype_policy,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))

    def build(self, input_shape=None):
        self.dense.build((None, self.hidden_size))
        self.built = True

    def call(self, inputs, training=None):
        """Logits ``[..., num_classes]``, float32."""
        return ops.cast(self.dense(self.dropout(inputs, training=training)), "float32")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_classes,)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, hidden_size=self.hidden_size,
                      dropout_rate=self.dropout_rate, initializer_range=self.initializer_range)
        return config


# `.keras` files written before the twins merged name their heads by the old classes.
for _old_name in ("ClassificationHead", "TaggingHead"):
    keras.saving.get_custom_objects()[f"bertzoo>{_old_name}"] = DenseHead
