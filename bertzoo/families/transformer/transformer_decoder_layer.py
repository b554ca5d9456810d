"""TransformerDecoderLayer: one post-LayerNorm decoder layer of the Transformer (section 3.1)."""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.layers.attention import dot_product_attention
from bertzoo.layers.layer_norm import LayerNorm


@keras.saving.register_keras_serializable(package="bertzoo")
class TransformerDecoderLayer(keras.layers.Layer):
    """Causal self-attention, attention over the encoder's output, feed-forward; each sub-layer
    followed by dropout, the residual sum and LayerNorm (``LayerNorm(x + Dropout(Sublayer(x)))``).

    Called on a whole target (training, scoring) or one position at a time with a cache of the keys
    and values of the positions before it (decoding): ``cache`` holds ``key`` and ``value``
    ``[batch, max_length, heads, head_size]``, and ``index`` is the position being decoded. The
    cache has a fixed size, so a decoding loop keeps static shapes (XLA, export).

    Args:
        hidden_size: ``d_model``.
        num_attention_heads: heads; must divide ``hidden_size``.
        filter_size: ``d_ff``.
        dropout_rate: residual dropout on each sub-layer's output.
        attention_dropout_rate: dropout on attention probabilities.
        layer_norm_eps: LayerNorm epsilon.
        kernel_stddev: stddev of the truncated-normal kernel initializer.

    Example:
        >>> layer = TransformerDecoderLayer(hidden_size=8, num_attention_heads=2, filter_size=16)
        >>> x, memory = np.zeros((2, 4, 8), "float32"), np.zeros((2, 6, 8), "float32")
        >>> layer(x, memory, np.ones((2, 6), "int32")).shape
        (2, 4, 8)
    """

    def __init__(self, hidden_size: int, num_attention_heads: int, filter_size: int, dropout_rate: float = 0.1,
                 attention_dropout_rate: float = 0.0, layer_norm_eps: float = 1e-6,
                 kernel_stddev: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        if hidden_size % num_attention_heads:
            raise ValueError(f"hidden_size {hidden_size} is not divisible by num_attention_heads "
                             f"{num_attention_heads}")
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.filter_size = filter_size
        self.dropout_rate = dropout_rate
        self.attention_dropout_rate = attention_dropout_rate
        self.layer_norm_eps = layer_norm_eps
        self.kernel_stddev = kernel_stddev
        self.head_size = hidden_size // num_attention_heads

        def dense(units, name, activation=None):
            return keras.layers.Dense(units, activation=activation, dtype=self.dtype_policy, name=name,
                                      kernel_initializer=keras.initializers.TruncatedNormal(stddev=kernel_stddev))

        def dropout(rate, name):
            return keras.layers.Dropout(rate, dtype=self.dtype_policy, name=name)

        def layer_norm(name):
            return LayerNorm(epsilon=layer_norm_eps, dtype="float32", name=name)

        self.self_query, self.self_key, self.self_value = (dense(hidden_size, f"self_attention_{n}")
                                                           for n in ("query", "key", "value"))
        self.self_output = dense(hidden_size, "self_attention_output")
        self.self_attention_dropout = dropout(attention_dropout_rate, "self_attention_probs_dropout")
        self.self_output_dropout = dropout(dropout_rate, "self_attention_output_dropout")
        self.self_layer_norm = layer_norm("self_attention_layer_norm")
        self.cross_query, self.cross_key, self.cross_value = (dense(hidden_size, f"cross_attention_{n}")
                                                              for n in ("query", "key", "value"))
        self.cross_output = dense(hidden_size, "cross_attention_output")
        self.cross_attention_dropout = dropout(attention_dropout_rate, "cross_attention_probs_dropout")
        self.cross_output_dropout = dropout(dropout_rate, "cross_attention_output_dropout")
        self.cross_layer_norm = layer_norm("cross_attention_layer_norm")
        self.filter_dense = dense(filter_size, "filter", activation="relu")
        self.output_dense = dense(hidden_size, "output")
        self.output_dropout = dropout(dropout_rate, "output_dropout")
        self.output_layer_norm = layer_norm("output_layer_norm")

    def build(self, hidden_shape=None, memory_shape=None, memory_mask_shape=None):
        shape = (None, None, self.hidden_size)
        for layer in (self.self_query, self.self_key, self.self_value, self.self_output, self.cross_query,
                      self.cross_key, self.cross_value, self.cross_output, self.filter_dense):
            layer.build(shape)
        self.output_dense.build((None, None, self.filter_size))
        for layer in (self.self_layer_norm, self.cross_layer_norm, self.output_layer_norm):
            layer.build(shape)
        self.built = True

    def _split_heads(self, x):
        return ops.reshape(x, (ops.shape(x)[0], ops.shape(x)[1], self.num_attention_heads, self.head_size))

    def _merge_heads(self, x):
        return ops.reshape(x, (ops.shape(x)[0], ops.shape(x)[1], self.hidden_size))

    def memory_keys_values(self, memory):
        """The cross-attention keys and values of the encoder's output (computed once per source)."""
        return self._split_heads(self.cross_key(memory)), self._split_heads(self.cross_value(memory))

    def call(self, hidden, memory, memory_mask, cache=None, index=None, memory_keys_values=None, training=None):
        """``hidden`` ``[batch, length, d]`` (``length`` 1 with a cache); returns ``[batch, length, d]``,
        and with a cache also the updated cache."""
        query = self._split_heads(self.self_query(hidden))
        key = self._split_heads(self.self_key(hidden))
        value = self._split_heads(self.self_value(hidden))
        if cache is None:
            context = dot_product_attention(query, key, value, dropout=self.self_attention_dropout,
                                            training=training, causal=True)
        else:
            max_length = ops.shape(cache["key"])[1]
            here = ops.equal(ops.arange(max_length), index)[None, :, None, None]
            cache = {"key": ops.where(here, ops.cast(key, cache["key"].dtype), cache["key"]),
                     "value": ops.where(here, ops.cast(value, cache["value"].dtype), cache["value"])}
            seen = ops.less_equal(ops.arange(max_length), index)
            key_mask = ops.broadcast_to(seen[None, :], (ops.shape(hidden)[0], max_length))
            context = dot_product_attention(query, cache["key"], cache["value"], key_mask=key_mask,
                                            dropout=self.self_attention_dropout, training=training)
        attended = self.self_output_dropout(self.self_output(self._merge_heads(context)), training=training)
        hidden = self.self_layer_norm(ops.cast(hidden, "float32") + ops.cast(attended, "float32"))
        hidden = ops.cast(hidden, self.compute_dtype)

        if memory_keys_values is None:
            memory_keys_values = self.memory_keys_values(memory)
        memory_key, memory_value = memory_keys_values
        context = dot_product_attention(self._split_heads(self.cross_query(hidden)), memory_key, memory_value,
                                        key_mask=memory_mask, dropout=self.cross_attention_dropout,
                                        training=training)
        attended = self.cross_output_dropout(self.cross_output(self._merge_heads(context)), training=training)
        hidden = self.cross_layer_norm(ops.cast(hidden, "float32") + ops.cast(attended, "float32"))
        hidden = ops.cast(hidden, self.compute_dtype)

        transformed = self.output_dropout(self.output_dense(self.filter_dense(hidden)), training=training)
        hidden = self.output_layer_norm(ops.cast(hidden, "float32") + ops.cast(transformed, "float32"))
        hidden = ops.cast(hidden, self.compute_dtype)
        return hidden if cache is None else (hidden, cache)

    def compute_output_shape(self, hidden_shape, memory_shape=None, memory_mask_shape=None):
        return tuple(hidden_shape)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, num_attention_heads=self.num_attention_heads,
                      filter_size=self.filter_size, dropout_rate=self.dropout_rate,
                      attention_dropout_rate=self.attention_dropout_rate, layer_norm_eps=self.layer_norm_eps,
                      kernel_stddev=self.kernel_stddev)
        return config
