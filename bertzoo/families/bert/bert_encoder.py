"""BertEncoder: the original post-LayerNorm BERT as a Keras model with the TF Hub BERT interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
from keras import ops

from bertzoo.families.bert.bert_embeddings import BertEmbeddings
from bertzoo.layers.transformer_layer import TransformerLayer

if TYPE_CHECKING:
    from bertzoo.families.bert.bert_config import BertConfig

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


@keras.saving.register_keras_serializable(package="bertzoo")
class BertEncoder(keras.Model):
    """BERT: embeddings, a stack of post-LayerNorm transformer layers, a tanh pooler on ``[CLS]``.

    Inputs are a dict of int32 ``[batch, seq_length]`` tensors ``input_word_ids``, ``input_mask``
    (1 for real tokens, 0 for padding) and ``input_type_ids`` (segment 0/1). Outputs are a dict:
    ``sequence_output`` ``[batch, seq_length, hidden]``, ``pooled_output`` ``[batch, hidden]``,
    ``encoder_outputs`` (one ``[batch, seq_length, hidden]`` per layer; the last is
    ``sequence_output``) and ``embedding_output`` (the input to the first layer). This is the
    encoder contract every head in bertzoo takes.

    The constructor takes the fields of ``bertzoo.BertConfig`` under the same names (less the
    tokenizer's ``do_lower_case``); ``from_bert_config`` builds one from a config.

    Args:
        vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size,
        hidden_act, hidden_dropout_prob, attention_probs_dropout_prob, max_position_embeddings,
        type_vocab_size, initializer_range, layer_norm_eps: as in ``BertConfig``.
        seq_length: static sequence length of the inputs (a TPU needs one), or None for any.

    Example:
        >>> encoder = BertEncoder.from_bert_config(BertConfig.preset("tiny"))
        >>> ids = np.ones((2, 16), "int32")
        >>> outputs = encoder({"input_word_ids": ids, "input_mask": ids, "input_type_ids": 0 * ids})
        >>> outputs["pooled_output"].shape
        TensorShape([2, 128])
    """

    def __init__(self, vocab_size: int, hidden_size: int, num_hidden_layers: int,
                 num_attention_heads: int, intermediate_size: int, hidden_act: str = "gelu_tanh",
                 hidden_dropout_prob: float = 0.1, attention_probs_dropout_prob: float = 0.1,
                 max_position_embeddings: int = 512, type_vocab_size: int = 2,
                 initializer_range: float = 0.02, layer_norm_eps: float = 1e-12,
                 seq_length: int | None = None, dtype=None, **kwargs):
        # === Layers ===
        self.embeddings = BertEmbeddings(
            vocab_size=vocab_size, hidden_size=hidden_size,
            max_position_embeddings=max_position_embeddings, type_vocab_size=type_vocab_size,
            initializer_range=initializer_range, layer_norm_eps=layer_norm_eps,
            dropout_rate=hidden_dropout_prob, dtype=dtype, name="embeddings")
        self.transformer_layers = [
            TransformerLayer(
                hidden_size=hidden_size, num_attention_heads=num_attention_heads,
                intermediate_size=intermediate_size, hidden_act=hidden_act,
                dropout_rate=hidden_dropout_prob, attention_dropout_rate=attention_probs_dropout_prob,
                initializer_range=initializer_range, layer_norm_eps=layer_norm_eps, dtype=dtype,
                name=f"transformer_layer_{i}")
            for i in range(num_hidden_layers)
        ]
        self.pooler = keras.layers.Dense(
            hidden_size, activation="tanh", dtype=dtype, name="pooler",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))

        # === Functional model ===
        inputs = {name: keras.Input(shape=(seq_length,), dtype="int32", name=name) for name in INPUT_NAMES}
        embedding_output = self.embeddings(inputs["input_word_ids"], inputs["input_type_ids"])
        hidden = embedding_output
        encoder_outputs = []
        for layer in self.transformer_layers:
            hidden = layer(hidden, inputs["input_mask"])
            encoder_outputs.append(hidden)
        pooled_output = self.pooler(ops.take(hidden, 0, axis=1))
        outputs = {
            "sequence_output": hidden,
            "pooled_output": pooled_output,
            "encoder_outputs": encoder_outputs,
            "embedding_output": embedding_output,
        }
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

        # === Config ===
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.seq_length = seq_length

    @classmethod
    def from_bert_config(cls, config: "BertConfig", seq_length: int | None = None, **kwargs) -> "BertEncoder":
        """A randomly initialised encoder with the architecture of ``config``."""
        fields = config.to_dict()
        fields.pop("do_lower_case")
        return cls(**fields, seq_length=seq_length, **kwargs)

    @property
    def bert_config(self) -> "BertConfig":
        """The architecture as a ``BertConfig`` (casing unknown to the encoder: None)."""
        from bertzoo.families.bert.bert_config import BertConfig

        return BertConfig(**{name: getattr(self, name) for name in _CONFIG_FIELDS})

    def get_config(self):
        config = {name: getattr(self, name) for name in _CONFIG_FIELDS}
        config["seq_length"] = self.seq_length
        config["name"] = self.name
        config["trainable"] = self.trainable
        config["dtype"] = keras.saving.serialize_keras_object(self.dtype_policy)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(config["dtype"])
        return cls(**config)


_CONFIG_FIELDS = (
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
    "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
    "type_vocab_size", "initializer_range", "layer_norm_eps",
)
