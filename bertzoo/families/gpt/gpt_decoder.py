"""GPTDecoder: GPT-1 or GPT-2 as a Keras model with the encoder contract, plus KV-cached decoding."""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
from keras import ops

from bertzoo.families.gpt.gpt_block import GPTBlock
from bertzoo.layers.layer_norm import LayerNorm

if TYPE_CHECKING:
    from bertzoo.families.gpt.gpt_config import GPTConfig

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


@keras.saving.register_keras_serializable(package="bertzoo")
class GPTEmbeddings(keras.layers.Layer):
    """Token embeddings ``wte`` + learned position embeddings ``wpe``, then dropout (``embd_pdrop``).

    ``wte`` is also the language-model output matrix (tied, as in both originals): ``logits``.
    """

    def __init__(self, vocab_size: int, hidden_size: int, max_position_embeddings: int,
                 dropout_rate: float = 0.1, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.max_position_embeddings = max_position_embeddings
        self.dropout_rate = dropout_rate
        self.initializer_range = initializer_range
        self.dropout = keras.layers.Dropout(dropout_rate, dtype=self.dtype_policy, name="embedding_dropout")

    def build(self, input_shape=None):
        initializer = keras.initializers.RandomNormal(stddev=self.initializer_range)
        self.wte = self.add_weight(name="wte", shape=(self.vocab_size, self.hidden_size), initializer=initializer)
        self.wpe = self.add_weight(name="wpe", shape=(self.max_position_embeddings, self.hidden_size),
                                   initializer=keras.initializers.RandomNormal(stddev=0.01))
        self.built = True

    def call(self, token_ids, start_position=0, training=None):
        length = ops.shape(token_ids)[1]
        positions = ops.arange(length, dtype="int32") + ops.cast(start_position, "int32")
        embedded = ops.take(self.wte, token_ids, axis=0) + ops.take(self.wpe, positions, axis=0)[None]
        return self.dropout(ops.cast(embedded, self.compute_dtype), training=training)

    def logits(self, hidden):
        """``hidden @ wte^T`` in float32: next-token scores over the whole vocabulary."""
        return ops.matmul(ops.cast(hidden, "float32"), ops.transpose(ops.cast(self.wte, "float32")))

    def compute_output_shape(self, token_ids_shape):
        return tuple(token_ids_shape) + (self.hidden_size,)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, hidden_size=self.hidden_size,
                      max_position_embeddings=self.max_position_embeddings, dropout_rate=self.dropout_rate,
                      initializer_range=self.initializer_range)
        return config


def causal_mask(input_mask):
    """``[batch, length]`` padding mask -> ``[batch, length, length]``: key at most the query, not padding."""
    length = ops.shape(input_mask)[1]
    positions = ops.arange(length, dtype="int32")
    causal = positions[None, :] <= positions[:, None]
    return ops.logical_and(causal[None], ops.cast(input_mask, "bool")[:, None, :])


@keras.saving.register_keras_serializable(package="bertzoo")
class CausalMask(keras.layers.Layer):
    """``input_mask [batch, length]`` -> the attention mask ``[batch, length, length]`` (``causal_mask``)."""

    def call(self, input_mask):
        return causal_mask(input_mask)

    def compute_output_shape(self, input_mask_shape):
        return (input_mask_shape[0], input_mask_shape[1], input_mask_shape[1])

    def compute_output_spec(self, input_mask):
        return keras.KerasTensor(self.compute_output_shape(input_mask.shape), dtype="bool")


@keras.saving.register_keras_serializable(package="bertzoo")
class TokenPooling(keras.layers.Layer):
    """The hidden state at each row's classify token (when ``classify_token_id`` is set and the row
    has one) or at its last real token: GPT's ``pooled_output``."""

    def __init__(self, classify_token_id: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.classify_token_id = classify_token_id

    def call(self, hidden, word_ids, input_mask):
        length = ops.shape(word_ids)[1]
        positions = ops.arange(length, dtype="int32")[None, :]
        index = ops.max(positions * ops.cast(input_mask, "int32"), axis=1)
        if self.classify_token_id is not None:
            is_classify = ops.equal(word_ids, self.classify_token_id)
            first_classify = ops.cast(ops.argmax(ops.cast(is_classify, "int32"), axis=1), "int32")
            index = ops.where(ops.any(is_classify, axis=1), first_classify, index)
        return ops.take_along_axis(hidden, index[:, None, None], axis=1)[:, 0]

    def compute_output_shape(self, hidden_shape, word_ids_shape=None, input_mask_shape=None):
        return (hidden_shape[0], hidden_shape[2])

    def get_config(self):
        return dict(super().get_config(), classify_token_id=self.classify_token_id)


@keras.saving.register_keras_serializable(package="bertzoo")
class GPTDecoder(keras.Model):
    """GPT-1 or GPT-2: token + position embeddings, causal blocks, GPT-2's final LayerNorm.

    Inputs and outputs are the encoder contract (DESIGN.md): int32 ``input_word_ids``,
    ``input_mask`` and ``input_type_ids`` (ignored: GPT has no segments) ``[batch, seq_length]`` in;
    ``sequence_output`` (after GPT-2's ``ln_f``), ``encoder_outputs`` (one per block, the last equal
    to ``sequence_output``), ``embedding_output`` (summed embeddings, the first block's input) and
    ``pooled_output`` out. ``pooled_output`` is the hidden state at the row's first classify token
    (``pooling="classify_token"``, GPT-1's fine-tuning; rows without one fall back to their last
    real token) or at the last real token (``"last_token"``). Attention is causal and skips padding;
    padding goes on the right.

    ``decode(token_ids, cache, index)`` runs the same network on new tokens only, reading and
    updating a key/value cache (``initial_cache``): what generation uses.

    Args:
        the fields of ``GPTConfig`` (``from_gpt_config`` builds from one), and ``seq_length``: the
        static input length, or None.

    Example:
        >>> decoder = GPTDecoder.from_gpt_config(GPTConfig.preset("gpt2-tiny"))
        >>> ids = np.ones((2, 16), "int32")
        >>> decoder({"input_word_ids": ids, "input_mask": ids, "input_type_ids": 0 * ids})["pooled_output"].shape
        TensorShape([2, 32])
    """

    def __init__(self, variant: str = "gpt2", vocab_size: int = 50257, max_position_embeddings: int = 1024,
                 hidden_size: int = 768, num_hidden_layers: int = 12, num_attention_heads: int = 12,
                 intermediate_size: int = 3072, hidden_act: str = "gelu_tanh", hidden_dropout_prob: float = 0.1,
                 embedding_dropout_prob: float = 0.1, attention_probs_dropout_prob: float = 0.1,
                 layer_norm_eps: float = 1e-5, initializer_range: float = 0.02, num_special_tokens: int = 0,
                 pooling: str = "last_token", seq_length: int | None = None, dtype=None, **kwargs):
        from bertzoo.families.gpt.gpt_config import GPTConfig

        config = GPTConfig(**{name: value for name, value in locals().items() if name in _CONFIG_FIELDS})
        # === Layers ===
        self.embeddings = GPTEmbeddings(vocab_size, hidden_size, max_position_embeddings,
                                        dropout_rate=embedding_dropout_prob, initializer_range=initializer_range,
                                        dtype=dtype, name="embeddings")
        self.blocks = [
            GPTBlock(hidden_size=hidden_size, num_attention_heads=num_attention_heads,
                     intermediate_size=intermediate_size, hidden_act=hidden_act, dropout_rate=hidden_dropout_prob,
                     attention_dropout_rate=attention_probs_dropout_prob, layer_norm_eps=layer_norm_eps,
                     pre_layer_norm=config.pre_layer_norm, initializer_range=initializer_range, dtype=dtype,
                     name=f"h{i}")
            for i in range(num_hidden_layers)
        ]
        self.final_layer_norm = (LayerNorm(epsilon=layer_norm_eps, dtype="float32", name="ln_f")
                                 if config.pre_layer_norm else None)

        # === Functional model ===
        inputs = {name: keras.Input(shape=(seq_length,), dtype="int32", name=name) for name in INPUT_NAMES}
        word_ids, input_mask = inputs["input_word_ids"], inputs["input_mask"]
        embedding_output = self.embeddings(word_ids)
        mask = CausalMask(name="causal_mask")(input_mask)
        hidden = embedding_output
        encoder_outputs = []
        for block in self.blocks:
            hidden = block(hidden, mask)
            encoder_outputs.append(hidden)
        if self.final_layer_norm is not None:
            hidden = ops.cast(self.final_layer_norm(hidden), embedding_output.dtype)
            encoder_outputs[-1] = hidden
        classify_id = config.classify_token_id if config.pooling == "classify_token" else None
        pooled_output = TokenPooling(classify_id, name="pooling")(hidden, word_ids, input_mask)
        outputs = {
            "sequence_output": hidden,
            "pooled_output": pooled_output,
            "encoder_outputs": encoder_outputs,
            "embedding_output": embedding_output,
        }
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

        # === Config ===
        self.gpt_config = config
        for name in _CONFIG_FIELDS:
            setattr(self, name, getattr(config, name))
        self.seq_length = seq_length

    @classmethod
    def from_gpt_config(cls, config: "GPTConfig", seq_length: int | None = None, **kwargs) -> "GPTDecoder":
        """A randomly initialised decoder with the architecture of ``config``."""
        return cls(**config.to_dict(), seq_length=seq_length, **kwargs)

    # ----------------------------------------------------------------------------- cached decoding
    def initial_cache(self, batch_size, max_length: int):
        """Zeros ``[layers, batch, 2, max_length, heads, head_size]`` for ``decode``."""
        head_size = self.hidden_size // self.num_attention_heads
        return ops.zeros((self.num_hidden_layers, batch_size, 2, max_length, self.num_attention_heads, head_size),
                         dtype=self.compute_dtype)

    def decode(self, token_ids, cache, index, training=None):
        """Runs ``token_ids`` ``[batch, n]`` at positions ``index .. index + n - 1``.

        Keys and values of those positions are written into ``cache`` and each query attends to
        every cached position up to its own (earlier positions must hold real tokens).

        Returns:
            ``(hidden [batch, n, hidden] after the final LayerNorm, updated cache)``.
        """
        length = ops.shape(token_ids)[1]
        max_length = ops.shape(cache)[3]
        query_positions = ops.arange(length, dtype="int32") + ops.cast(index, "int32")
        key_positions = ops.arange(max_length, dtype="int32")
        mask = key_positions[None, :] <= query_positions[:, None]
        mask = ops.broadcast_to(mask[None], (ops.shape(token_ids)[0], length, max_length))
        hidden = self.embeddings(token_ids, start_position=index, training=training)
        caches = []
        for i, block in enumerate(self.blocks):
            hidden, layer_cache = block(hidden, mask, cache=cache[i], cache_index=index, training=training)
            caches.append(layer_cache)
        if self.final_layer_norm is not None:
            hidden = ops.cast(self.final_layer_norm(hidden), self.compute_dtype)
        return hidden, ops.stack(caches, axis=0)

    def logits(self, hidden):
        """Tied language-model output: ``hidden @ wte^T`` in float32."""
        return self.embeddings.logits(hidden)

    def get_config(self):
        config = {name: getattr(self, name) for name in _CONFIG_FIELDS}
        config.update(seq_length=self.seq_length, name=self.name, trainable=self.trainable,
                      dtype=keras.saving.serialize_keras_object(self.dtype_policy))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(config["dtype"])
        return cls(**config)


_CONFIG_FIELDS = (
    "variant", "vocab_size", "max_position_embeddings", "hidden_size", "num_hidden_layers", "num_attention_heads",
    "intermediate_size", "hidden_act", "hidden_dropout_prob", "embedding_dropout_prob",
    "attention_probs_dropout_prob", "layer_norm_eps", "initializer_range", "num_special_tokens", "pooling",
)
