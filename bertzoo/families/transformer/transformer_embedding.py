"""TransformerEmbedding: the one embedding matrix the Transformer shares between source, target and
output projection (section 3.4 of the paper), plus its sinusoidal positions."""

from __future__ import annotations

import math

import keras
from keras import ops

from bertzoo.families.transformer.sinusoidal_positions import sinusoidal_positions


@keras.saving.register_keras_serializable(package="bertzoo")
class TransformerEmbedding(keras.layers.Layer):
    """Token ids -> ``embedding * sqrt(hidden_size) + PE(position)``, then dropout; and the tied
    output projection ``hidden @ embedding^T`` (``logits``).

    The same weight matrix embeds the source and the target tokens and projects the decoder's
    output to the vocabulary, "similar to [Press & Wolf]" as the paper says; the embeddings are
    multiplied by ``sqrt(d_model)`` before the positions are added.

    Args:
        vocab_size: rows of the shared matrix.
        hidden_size: ``d_model``.
        max_length: positions covered by the sinusoidal table.
        dropout_rate: the paper's dropout on the sums of embeddings and positions.
        embedding_stddev: stddev of the normal initializer (``hidden_size ** -0.5``: unit scale
            after the ``sqrt(d_model)`` factor).

    Example:
        >>> embedding = TransformerEmbedding(vocab_size=20, hidden_size=8, max_length=16)
        >>> embedding(np.zeros((2, 5), "int32")).shape
        (2, 5, 8)
    """

    def __init__(self, vocab_size: int, hidden_size: int, max_length: int, dropout_rate: float = 0.1,
                 embedding_stddev: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.max_length = max_length
        self.dropout_rate = dropout_rate
        self.embedding_stddev = embedding_stddev if embedding_stddev is not None else hidden_size ** -0.5
        self.dropout = keras.layers.Dropout(dropout_rate, dtype=self.dtype_policy, name="dropout")
        self._positions = sinusoidal_positions(max_length, hidden_size)

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.vocab_size, self.hidden_size),
            initializer=keras.initializers.RandomNormal(stddev=self.embedding_stddev))
        self.built = True

    def call(self, token_ids, positions=None, training=None):
        """``token_ids`` ``[batch, length]``; ``positions`` (int, ``[length]``) default to ``0..length-1``."""
        length = ops.shape(token_ids)[1]
        if positions is None:
            positions = ops.arange(length)
        table = ops.convert_to_tensor(self._positions, dtype=self.compute_dtype)
        position_encoding = ops.take(table, positions, axis=0)
        embedded = ops.take(ops.cast(self.embeddings, self.compute_dtype), token_ids, axis=0)
        embedded = embedded * ops.cast(math.sqrt(self.hidden_size), self.compute_dtype) + position_encoding
        return self.dropout(embedded, training=training)

    def logits(self, hidden):
        """float32 ``[..., vocab_size]``: the tied output projection (no bias, as the paper)."""
        return ops.matmul(ops.cast(hidden, "float32"), ops.transpose(ops.cast(self.embeddings, "float32")))

    def compute_output_shape(self, token_ids_shape, positions_shape=None):
        return tuple(token_ids_shape) + (self.hidden_size,)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, hidden_size=self.hidden_size, max_length=self.max_length,
                      dropout_rate=self.dropout_rate, embedding_stddev=self.embedding_stddev)
        return config
