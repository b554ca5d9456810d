"""TransformerEncoder: the encoder half of the Transformer, meeting bertzoo's encoder contract."""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.families.transformer.transformer_embedding import TransformerEmbedding
from bertzoo.layers.transformer_layer import TransformerLayer

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


@keras.saving.register_keras_serializable(package="bertzoo")
class TransformerEncoder(keras.Model):
    """Shared embedding + sinusoidal positions, then ``num_layers`` post-LayerNorm layers
    (self-attention and a ReLU feed-forward, each followed by dropout, residual sum and LayerNorm).

    Inputs and outputs are the encoder contract (TF Hub BERT names), so bertzoo's heads and
    ``bertzoo.features`` take it as they take BERT. The Transformer has no segments and no pooler:
    ``input_type_ids`` is accepted and ignored, and ``pooled_output`` is the mean of
    ``sequence_output`` over real tokens (``input_mask``), as the word-vector family pools.
    ``embedding`` is the matrix the decoder shares (``TransformerSeq2Seq``).

    Args:
        vocab_size, hidden_size, num_layers, num_attention_heads, filter_size, dropout_rate,
        attention_dropout_rate, max_length, layer_norm_eps: as in ``TransformerConfig``.
        kernel_stddev: stddev of kernel and embedding initializers (``TransformerConfig.kernel_stddev``).
        seq_length: static input length, or None for any.

    Example:
        >>> encoder = TransformerEncoder.from_transformer_config(TransformerConfig.preset("tiny", vocab_size=30))
        >>> ids = np.ones((2, 7), "int32")
        >>> encoder({"input_word_ids": ids, "input_mask": ids, "input_type_ids": 0 * ids})["pooled_output"].shape
        TensorShape([2, 32])
    """

    def __init__(self, vocab_size: int, hidden_size: int = 512, num_layers: int = 6, num_attention_heads: int = 8,
                 filter_size: int = 2048, dropout_rate: float = 0.1, attention_dropout_rate: float = 0.0,
                 max_length: int = 256, layer_norm_eps: float = 1e-6, kernel_stddev: float | None = None,
                 seq_length: int | None = None, dtype=None, **kwargs):
        kernel_stddev = kernel_stddev if kernel_stddev is not None else hidden_size ** -0.5
        # === Layers ===
        self.embedding = TransformerEmbedding(vocab_size=vocab_size, hidden_size=hidden_size, max_length=max_length,
                                              dropout_rate=dropout_rate, embedding_stddev=kernel_stddev,
                                              dtype=dtype, name="embedding")
        self.transformer_layers = [
            TransformerLayer(hidden_size=hidden_size, num_attention_heads=num_attention_heads,
                             intermediate_size=filter_size, hidden_act="relu", dropout_rate=dropout_rate,
                             attention_dropout_rate=attention_dropout_rate, initializer_range=kernel_stddev,
                             layer_norm_eps=layer_norm_eps, dtype=dtype, name=f"encoder_layer_{i}")
            for i in range(num_layers)
        ]

        # === Functional model ===
        inputs = {name: keras.Input(shape=(seq_length,), dtype="int32", name=name) for name in INPUT_NAMES}
        embedding_output = self.embedding(inputs["input_word_ids"])
        hidden = embedding_output
        encoder_outputs = []
        for layer in self.transformer_layers:
            hidden = layer(hidden, inputs["input_mask"])
            encoder_outputs.append(hidden)
        mask = ops.cast(inputs["input_mask"], "float32")[:, :, None]
        pooled_output = ops.sum(ops.cast(hidden, "float32") * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)
        outputs = {
            "sequence_output": hidden,
            "pooled_output": ops.cast(pooled_output, hidden.dtype),
            "encoder_outputs": encoder_outputs,
            "embedding_output": embedding_output,
        }
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

        # === Config ===
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_attention_heads = num_attention_heads
        self.filter_size = filter_size
        self.dropout_rate = dropout_rate
        self.attention_dropout_rate = attention_dropout_rate
        self.max_length = max_length
        self.layer_norm_eps = layer_norm_eps
        self.kernel_stddev = kernel_stddev
        self.seq_length = seq_length

    @classmethod
    def from_transformer_config(cls, config, seq_length: int | None = None, **kwargs) -> "TransformerEncoder":
        """A randomly initialised encoder with the architecture of a ``TransformerConfig``."""
        return cls(**encoder_arguments(config), seq_length=seq_length, **kwargs)

    @property
    def num_hidden_layers(self) -> int:
        """Layers in ``encoder_outputs`` (BERT's name, which layer strategies read)."""
        return self.num_layers

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


_CONFIG_FIELDS = ("vocab_size", "hidden_size", "num_layers", "num_attention_heads", "filter_size", "dropout_rate",
                  "attention_dropout_rate", "max_length", "layer_norm_eps", "kernel_stddev")


def encoder_arguments(config) -> dict:
    """``TransformerEncoder`` keyword arguments of a ``TransformerConfig``."""
    return dict(vocab_size=config.vocab_size, hidden_size=config.hidden_size, num_layers=config.num_layers,
                num_attention_heads=config.num_attention_heads, filter_size=config.filter_size,
                dropout_rate=config.dropout_rate, attention_dropout_rate=config.attention_dropout_rate,
                max_length=config.max_length, layer_norm_eps=config.layer_norm_eps,
                kernel_stddev=config.kernel_stddev)
