"""GPTBlock: one decoder block of GPT-1 (post-LayerNorm) or GPT-2 (pre-LayerNorm), with a KV cache."""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.layers.activations import get_activation
from bertzoo.layers.attention import dot_product_attention
from bertzoo.layers.dense import Dense
from bertzoo.layers.layer_norm import LayerNorm


@keras.saving.register_keras_serializable(package="bertzoo")
class GPTBlock(keras.layers.Layer):
    """Causal self-attention and a feed-forward network, in OpenAI's layout.

    The weights are OpenAI's: ``attn/c_attn`` (query, key and value in one ``[hidden, 3 * hidden]``
    kernel), ``attn/c_proj``, ``mlp/c_fc``, ``mlp/c_proj``, ``ln_1``, ``ln_2``.

    - ``pre_layer_norm=False`` (GPT-1): ``n = ln_1(x + attn(x)); out = ln_2(n + mlp(n))``;
    - ``pre_layer_norm=True`` (GPT-2): ``x = x + attn(ln_1(x)); out = x + mlp(ln_2(x))``.

    Attention goes through ``bertzoo.layers.attention.dot_product_attention`` with a per-query mask
    (``[batch, query, key]``: causal and padding). With a ``cache`` (``[batch, 2, max_length,
    heads, head_size]``, keys and values of earlier positions), the keys and values of the new
    positions are written at ``cache_index`` and attention runs over the whole cache; the call then
    returns ``(output, updated_cache)``. LayerNorms and residual sums run in float32.

    Args:
        hidden_size, num_attention_heads, intermediate_size: the shapes.
        hidden_act: bertzoo activation name (``gelu_tanh`` for both originals).
        dropout_rate: on each sub-layer's output (``resid_pdrop``).
        attention_dropout_rate: on the attention probabilities (``attn_pdrop``).
        layer_norm_eps: LayerNorm epsilon (1e-5).
        pre_layer_norm: GPT-2's order when True, GPT-1's when False.
        initializer_range: stddev of the normal kernel initializer.

    Example:
        >>> block = GPTBlock(hidden_size=8, num_attention_heads=2, intermediate_size=32)
        >>> mask = np.tril(np.ones((5, 5), "int32"))[None]
        >>> block(np.zeros((1, 5, 8), "float32"), mask).shape
        (1, 5, 8)
    """

    def __init__(self, hidden_size: int, num_attention_heads: int, intermediate_size: int,
                 hidden_act: str = "gelu_tanh", dropout_rate: float = 0.1, attention_dropout_rate: float = 0.1,
                 layer_norm_eps: float = 1e-5, pre_layer_norm: bool = True, initializer_range: float = 0.02,
                 **kwargs):
        super().__init__(**kwargs)
        if hidden_size % num_attention_heads:
            raise ValueError(f"hidden_size {hidden_size} is not divisible by num_attention_heads {num_attention_heads}")
        self.hidden_size = hidden_size
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.dropout_rate = dropout_rate
        self.attention_dropout_rate = attention_dropout_rate
        self.layer_norm_eps = layer_norm_eps
        self.pre_layer_norm = pre_layer_norm
        self.initializer_range = initializer_range
        self.head_size = hidden_size // num_attention_heads

        def dense(units, name, activation=None):
            return Dense(units, activation=activation, dtype=self.dtype_policy, name=name,
                         kernel_initializer=keras.initializers.RandomNormal(stddev=initializer_range))

        def layer_norm(name):
            return LayerNorm(epsilon=layer_norm_eps, dtype="float32", name=name)

        self.ln_1 = layer_norm("ln_1")
        self.c_attn = dense(3 * hidden_size, "c_attn")
        self.attention_dropout = keras.layers.Dropout(attention_dropout_rate, dtype=self.dtype_policy,
                                                      name="attention_dropout")
        self.attention_projection = dense(hidden_size, "attn_c_proj")
        self.attention_output_dropout = keras.layers.Dropout(dropout_rate, dtype=self.dtype_policy,
                                                             name="attention_output_dropout")
        self.ln_2 = layer_norm("ln_2")
        self.c_fc = dense(intermediate_size, "c_fc", activation=get_activation(hidden_act))
        self.mlp_projection = dense(hidden_size, "mlp_c_proj")
        self.mlp_output_dropout = keras.layers.Dropout(dropout_rate, dtype=self.dtype_policy, name="mlp_output_dropout")

    def build(self, hidden_states_shape=None, attention_mask_shape=None):
        hidden_shape = (None, self.hidden_size)
        for layer in (self.c_attn, self.attention_projection, self.c_fc):
            layer.build(hidden_shape)
        self.mlp_projection.build((None, self.intermediate_size))
        self.ln_1.build(hidden_shape)
        self.ln_2.build(hidden_shape)
        self.built = True

    def _attention(self, hidden, batch, length, attention_mask, cache, cache_index, training):
        qkv = self.c_attn(hidden)
        query, key, value = ops.split(qkv, 3, axis=-1)

        def split_heads(x):
            return ops.reshape(x, (batch, length, self.num_attention_heads, self.head_size))

        query, key, value = split_heads(query), split_heads(key), split_heads(value)
        if cache is not None:
            new_entries = ops.stack([key, value], axis=1)  # [batch, 2, length, heads, head_size]
            cache = ops.slice_update(cache, (0, 0, cache_index, 0, 0), ops.cast(new_entries, cache.dtype))
            key, value = ops.cast(cache[:, 0], key.dtype), ops.cast(cache[:, 1], value.dtype)
        context = dot_product_attention(query, key, value, key_mask=attention_mask,
                                        dropout=self.attention_dropout, training=training)
        context = ops.reshape(context, (-1, self.hidden_size))
        output = self.attention_output_dropout(self.attention_projection(context), training=training)
        return output, cache

    def call(self, hidden_states, attention_mask, cache=None, cache_index=0, training=None):
        batch, length = ops.shape(hidden_states)[0], ops.shape(hidden_states)[1]
        # Dense layers on [batch * length, hidden]: 2-D matmuls fuse with their bias and activation.
        flat = ops.cast(ops.reshape(hidden_states, (-1, self.hidden_size)), "float32")
        compute = self.compute_dtype
        if self.pre_layer_norm:
            attention, cache = self._attention(ops.cast(self.ln_1(flat), compute), batch, length, attention_mask,
                                               cache, cache_index, training)
            residual = flat + ops.cast(attention, "float32")
            mlp = self.mlp_projection(self.c_fc(ops.cast(self.ln_2(residual), compute)))
            output = residual + ops.cast(self.mlp_output_dropout(mlp, training=training), "float32")
        else:
            attention, cache = self._attention(ops.cast(flat, compute), batch, length, attention_mask, cache,
                                               cache_index, training)
            normed = self.ln_1(flat + ops.cast(attention, "float32"))
            mlp = self.mlp_projection(self.c_fc(ops.cast(normed, compute)))
            output = self.ln_2(normed + ops.cast(self.mlp_output_dropout(mlp, training=training), "float32"))
        output = ops.cast(ops.reshape(output, (batch, length, self.hidden_size)), compute)
        return output if cache is None else (output, cache)

    def compute_output_shape(self, hidden_states_shape, attention_mask_shape=None):
        return tuple(hidden_states_shape)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, num_attention_heads=self.num_attention_heads,
                      intermediate_size=self.intermediate_size, hidden_act=self.hidden_act,
                      dropout_rate=self.dropout_rate, attention_dropout_rate=self.attention_dropout_rate,
                      layer_norm_eps=self.layer_norm_eps, pre_layer_norm=self.pre_layer_norm,
                      initializer_range=self.initializer_range)
        return config
