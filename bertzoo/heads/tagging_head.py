"""TaggingHead: per-token class logits on ``sequence_output`` (NER, POS and other tagging tasks)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bertzoo")
class TaggingHead(keras.layers.Layer):
    """Dropout then a dense layer on every position: ``[batch, seq, hidden] -> [batch, seq, classes]``.

    The head of the BERT paper's CoNLL-2003 experiment (and Model Garden's ``BertTokenClassifier``):
    no transform, no LayerNorm, one linear map per token. Logits are float32 under mixed precision,
    so the loss is computed in float32.

    Args:
        num_classes: number of tags.
        hidden_size: width of the encoder's ``sequence_output``.
        dropout_rate: dropout on ``sequence_output`` while training.
        initializer_range: stddev of the truncated-normal kernel initializer.

    Example:
        >>> TaggingHead(num_classes=9, hidden_size=8)(np.zeros((2, 5, 8), "float32")).shape
        (2, 5, 9)
    """

    def __init__(self, num_classes: int, hidden_size: int, dropout_rate: float = 0.1,
                 initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        if num_classes < 1:
            raise ValueError(f"TaggingHead: num_classes must be at least 1, got {num_classes}.")
        if not 0.0 <= dropout_rate < 1.0:
            raise ValueError(f"TaggingHead: dropout_rate must be in [0, 1), got {dropout_rate}.")
        self.num_classes = num_classes
        self.hidden_size = hidden_size
        self.dropout_rate = dropout_rate
        self.initializer_range = initializer_range
        self.dropout = keras.layers.Dropout(dropout_rate, dtype=self.dtype_policy, name="dropout")
        self.dense = keras.layers.Dense(
            num_classes, dtype=self.dtype_policy, name="dense",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))

    def build(self, sequence_output_shape=None):
        self.dense.build((None, None, self.hidden_size))
        self.built = True

    def call(self, sequence_output, training=None):
        """Logits ``[batch, seq_length, num_classes]``, float32."""
        return ops.cast(self.dense(self.dropout(sequence_output, training=training)), "float32")

    def compute_output_shape(self, sequence_output_shape):
        return tuple(sequence_output_shape[:-1]) + (self.num_classes,)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, hidden_size=self.hidden_size,
                      dropout_rate=self.dropout_rate, initializer_range=self.initializer_range)
        return config
