"""BertEmbeddings: word + position + segment embeddings, LayerNorm, dropout (BERT's input layer)."""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.layers.layer_norm import LayerNorm


@keras.saving.register_keras_serializable(package="bertzoo")
class BertEmbeddings(keras.layers.Layer):
    """Sums word, absolute position and segment (token type) embeddings, then LayerNorm and dropout.

    The LayerNorm runs in float32 under mixed precision; the output is in the compute dtype.

    Args:
        vocab_size: rows of the word-embedding table.
        hidden_size: embedding width.
        max_position_embeddings: rows of the position table; longer inputs are an error.
        type_vocab_size: rows of the segment table.
        initializer_range: stddev of the truncated-normal initializer.
        layer_norm_eps: LayerNorm epsilon.
        dropout_rate: dropout on the normalised sum.

    Example:
        >>> layer = BertEmbeddings(vocab_size=30, hidden_size=8, max_position_embeddings=16)
        >>> layer(np.ones((2, 5), "int32"), np.zeros((2, 5), "int32")).shape
        (2, 5, 8)
    """

    def __init__(self, vocab_size: int, hidden_size: int, max_position_embeddings: int = 512,
                 type_vocab_size: int = 2, initializer_range: float = 0.02,
                 layer_norm_eps: float = 1e-12, dropout_rate: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.dropout_rate = dropout_rate
        self.layer_norm = LayerNorm(
            epsilon=layer_norm_eps, dtype="float32", name="layer_norm")
        self.dropout = keras.layers.Dropout(dropout_rate, dtype=self.dtype_policy, name="dropout")

    def build(self, input_word_ids_shape=None, input_type_ids_shape=None):
        initializer = keras.initializers.TruncatedNormal(stddev=self.initializer_range)
        self.word_embeddings = self.add_weight(
            shape=(self.vocab_size, self.hidden_size), initializer=initializer, name="word_embeddings")
        self.position_embeddings = self.add_weight(
            shape=(self.max_position_embeddings, self.hidden_size), initializer=initializer,
            name="position_embeddings")
        self.token_type_embeddings = self.add_weight(
            shape=(self.type_vocab_size, self.hidden_size), initializer=initializer,
            name="token_type_embeddings")
        self.layer_norm.build((None, None, self.hidden_size))
        self.built = True

    def call(self, input_word_ids, input_type_ids, training=None):
        seq_length = input_word_ids.shape[1]
        if seq_length is not None and seq_length > self.max_position_embeddings:
            raise ValueError(
                f"sequence length {seq_length} exceeds max_position_embeddings "
                f"({self.max_position_embeddings}) of this encoder")
        dynamic_length = ops.shape(input_word_ids)[1]
        positions = ops.slice(self.position_embeddings, (0, 0), (dynamic_length, self.hidden_size))
        summed = (ops.take(self.word_embeddings, input_word_ids, axis=0)
                  + ops.take(self.token_type_embeddings, input_type_ids, axis=0)
                  + positions[None, :, :])
        normalized = ops.cast(self.layer_norm(summed), self.compute_dtype)
        return self.dropout(normalized, training=training)

    def compute_output_shape(self, input_word_ids_shape, input_type_ids_shape=None):
        return tuple(input_word_ids_shape) + (self.hidden_size,)

    def get_config(self):
        config = super().get_config()
        config.update(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            max_position_embeddings=self.max_position_embeddings,
            type_vocab_size=self.type_vocab_size,
            initializer_range=self.initializer_range,
            layer_norm_eps=self.layer_norm_eps,
            dropout_rate=self.dropout_rate,
        )
        return config
