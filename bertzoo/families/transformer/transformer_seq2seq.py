"""TransformerSeq2Seq: the full encoder-decoder of "Attention Is All You Need"."""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.families.transformer.transformer_decoder_layer import TransformerDecoderLayer
from bertzoo.families.transformer.transformer_encoder import TransformerEncoder, encoder_arguments

SEQ2SEQ_INPUT_NAMES = ("source_word_ids", "source_mask", "target_word_ids")


@keras.saving.register_keras_serializable(package="bertzoo")
class TransformerSeq2Seq(keras.Model):
    """Source ids + target ids -> next-token logits: the seq2seq interface beside the encoder contract.

    Inputs are a dict of int32 tensors: ``source_word_ids`` and ``source_mask`` ``[batch,
    source_length]`` (1 for real tokens), and ``target_word_ids`` ``[batch, target_length]``, the
    decoder's input (``bos`` followed by the target, shifted right). The output is float32 logits
    ``[batch, target_length, vocab_size]``: position ``t`` predicts target token ``t``. The
    encoder (``self.encoder``, a ``TransformerEncoder`` meeting the encoder contract) and the
    decoder share one embedding matrix, which is also the output projection.

    For decoding, ``encode`` runs the encoder once, ``memory_keys_values`` precomputes each decoder
    layer's cross-attention keys and values, and ``decode_step`` advances one position with a
    fixed-size cache (``initial_cache``); ``seq2seq_decoding`` builds greedy and beam search on them.

    Args:
        as ``TransformerEncoder``.

    Example:
        >>> model = TransformerSeq2Seq.from_transformer_config(TransformerConfig.preset("tiny", vocab_size=30))
        >>> ids = np.full((2, 6), 5, "int32")
        >>> model({"source_word_ids": ids, "source_mask": ids > 0, "target_word_ids": ids[:, :4]}).shape
        TensorShape([2, 4, 30])
    """

    def __init__(self, vocab_size: int, hidden_size: int = 512, num_layers: int = 6, num_attention_heads: int = 8,
                 filter_size: int = 2048, dropout_rate: float = 0.1, attention_dropout_rate: float = 0.0,
                 max_length: int = 256, layer_norm_eps: float = 1e-6, kernel_stddev: float | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        kernel_stddev = kernel_stddev if kernel_stddev is not None else hidden_size ** -0.5
        self.encoder = TransformerEncoder(
            vocab_size=vocab_size, hidden_size=hidden_size, num_layers=num_layers,
            num_attention_heads=num_attention_heads, filter_size=filter_size, dropout_rate=dropout_rate,
            attention_dropout_rate=attention_dropout_rate, max_length=max_length, layer_norm_eps=layer_norm_eps,
            kernel_stddev=kernel_stddev, dtype=self.dtype_policy, name="encoder")
        self.decoder_layers = [
            TransformerDecoderLayer(hidden_size=hidden_size, num_attention_heads=num_attention_heads,
                                    filter_size=filter_size, dropout_rate=dropout_rate,
                                    attention_dropout_rate=attention_dropout_rate, layer_norm_eps=layer_norm_eps,
                                    kernel_stddev=kernel_stddev, dtype=self.dtype_policy, name=f"decoder_layer_{i}")
            for i in range(num_layers)
        ]
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

    @classmethod
    def from_transformer_config(cls, config, **kwargs) -> "TransformerSeq2Seq":
        """A randomly initialised model with the architecture of a ``TransformerConfig``."""
        return cls(**encoder_arguments(config), **kwargs)

    @property
    def embedding(self):
        """The shared embedding (and output projection) layer."""
        return self.encoder.embedding

    def build(self, input_shape=None):
        ids = ops.ones((1, 2), "int32")
        self.call({"source_word_ids": ids, "source_mask": ids, "target_word_ids": ids})
        self.built = True

    def encode(self, source_word_ids, source_mask, training=None):
        """The encoder's ``sequence_output`` ``[batch, source_length, hidden]``."""
        source_word_ids = ops.convert_to_tensor(source_word_ids, "int32")
        source_mask = ops.cast(source_mask, "int32")
        inputs = {"input_word_ids": source_word_ids, "input_mask": source_mask,
                  "input_type_ids": ops.zeros_like(source_word_ids)}
        return self.encoder(inputs, training=training)["sequence_output"]

    def decode(self, target_word_ids, memory, source_mask, training=None):
        """float32 logits ``[batch, target_length, vocab]`` of the whole (teacher-forced) target."""
        hidden = self.embedding(target_word_ids, training=training)
        for layer in self.decoder_layers:
            hidden = layer(hidden, memory, source_mask, training=training)
        return self.embedding.logits(hidden)

    def call(self, inputs, training=None):
        missing = [name for name in SEQ2SEQ_INPUT_NAMES if name not in inputs]
        if missing:
            raise ValueError(f"TransformerSeq2Seq inputs lack {missing}; expected {list(SEQ2SEQ_INPUT_NAMES)}")
        source_mask = ops.cast(inputs["source_mask"], "int32")
        memory = self.encode(inputs["source_word_ids"], source_mask, training=training)
        return self.decode(inputs["target_word_ids"], memory, source_mask, training=training)

    # --- incremental decoding ---------------------------------------------------------------------

    def memory_keys_values(self, memory) -> list:
        """Each decoder layer's cross-attention ``(keys, values)`` of ``memory``."""
        return [layer.memory_keys_values(memory) for layer in self.decoder_layers]

    def initial_cache(self, batch_size, max_length: int) -> list[dict]:
        """Zeroed self-attention caches, ``[batch, max_length, heads, head_size]`` per layer."""
        shape = (batch_size, max_length, self.num_attention_heads, self.hidden_size // self.num_attention_heads)
        return [{"key": ops.zeros(shape, self.compute_dtype), "value": ops.zeros(shape, self.compute_dtype)}
                for _ in self.decoder_layers]

    def decode_step(self, token_ids, index, memory_keys_values, source_mask, cache):
        """One decoding position: ``token_ids`` ``[batch]`` at position ``index`` -> float32 logits
        ``[batch, vocab]`` for position ``index``'s prediction, and the updated cache."""
        hidden = self.embedding(token_ids[:, None], positions=ops.reshape(index, (1,)), training=False)
        new_cache = []
        for layer, layer_cache, keys_values in zip(self.decoder_layers, cache, memory_keys_values):
            hidden, layer_cache = layer(hidden, None, source_mask, cache=layer_cache, index=index,
                                        memory_keys_values=keys_values, training=False)
            new_cache.append(layer_cache)
        return self.embedding.logits(hidden[:, 0]), new_cache

    def get_config(self):
        config = super().get_config()
        config.update({name: getattr(self, name) for name in (
            "vocab_size", "hidden_size", "num_layers", "num_attention_heads", "filter_size", "dropout_rate",
            "attention_dropout_rate", "max_length", "layer_norm_eps", "kernel_stddev")})
        return config
