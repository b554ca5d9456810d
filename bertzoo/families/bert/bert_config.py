"""BertConfig: the architecture of a BERT encoder, read from Google's or Hugging Face's config files.

The activation is stored under bertzoo's own unambiguous names, because the same word means two
functions in the two ecosystems: Google's ``"gelu"`` is the tanh approximation, Hugging Face's
``"gelu"`` is the exact erf form (and its ``"gelu_new"`` is tanh). Each reader maps the name it reads
to the function the checkpoint was trained with.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Mapping

from bertzoo.errors import ConfigError

# bertzoo's activation names -> description (the encoder maps each to a function).
ACTIVATIONS = {
    "gelu_erf": "exact GELU, x * Phi(x) with erf (Hugging Face 'gelu')",
    "gelu_tanh": "tanh approximation of GELU (Google's 'gelu', Hugging Face 'gelu_new')",
    "relu": "ReLU",
    "silu": "SiLU / swish",
}

# Each format's activation vocabulary, mapped to bertzoo's names.
GOOGLE_ACTIVATIONS = {"gelu": "gelu_tanh", "relu": "relu", "swish": "silu"}
HF_ACTIVATIONS = {
    "gelu": "gelu_erf",
    "gelu_python": "gelu_erf",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "gelu_fast": "gelu_tanh",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
}

# Keys each format writes that do not change the encoder's arithmetic. They are ignored; anything
# else unknown is an error (a misspelt field must not silently fall back to a default).
GOOGLE_METADATA = frozenset(
    {
        "directionality",
        "pooler_fc_size",
        "pooler_num_attention_heads",
        "pooler_num_fc_layers",
        "pooler_size_per_head",
        "pooler_type",
    }
)
HF_METADATA = frozenset(
    {
        "_name_or_path", "_commit_hash", "_attn_implementation", "_attn_implementation_autoset",
        "architectures", "transformers_version", "model_type", "torch_dtype", "dtype",
        "gradient_checkpointing", "use_cache", "classifier_dropout",
        "pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "decoder_start_token_id",
        "id2label", "label2id", "num_labels", "problem_type", "finetuning_task", "tokenizer_class",
        "task_specific_params", "prefix", "return_dict", "output_hidden_states", "output_attentions",
        "torchscript", "use_bfloat16", "tf_legacy_loss", "pruned_heads", "tie_word_embeddings",
        "chunk_size_feed_forward", "is_encoder_decoder", "cross_attention_hidden_size",
        "tie_encoder_decoder", "max_length", "min_length", "do_sample", "early_stopping",
        "num_beams", "num_beam_groups", "diversity_penalty", "temperature", "top_k", "top_p",
        "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
        "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences", "output_scores",
        "return_dict_in_generate", "forced_bos_token_id", "forced_eos_token_id",
        "remove_invalid_values", "exponential_decay_length_penalty", "suppress_tokens",
        "begin_suppress_tokens",
    }
)

# Google's release of BERT-Base/Large and the 24 smaller BERTs ("Well-Read Students Learn Better").
# Heads follow Google's miniatures: hidden / 64; the feed-forward width is 4 x hidden.
_PRESETS = {
    "tiny": (2, 128, 2),
    "mini": (4, 256, 4),
    "small": (4, 512, 8),
    "medium": (8, 512, 8),
    "base": (12, 768, 12),
    "large": (24, 1024, 16),
}


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """The architecture of a post-LayerNorm BERT encoder.

    Args:
        vocab_size: rows of the word-embedding table.
        hidden_size: width of every layer's output.
        num_hidden_layers: number of transformer layers.
        num_attention_heads: attention heads; must divide ``hidden_size``.
        intermediate_size: width of the feed-forward inner layer.
        hidden_act: one of ``ACTIVATIONS`` (bertzoo's names, not a file format's).
        hidden_dropout_prob: dropout on embeddings and on each sub-layer's output.
        attention_probs_dropout_prob: dropout on the attention probabilities.
        max_position_embeddings: longest sequence the position table covers.
        type_vocab_size: number of segment ids (2 for sentence pairs).
        initializer_range: stddev of the truncated-normal initializer.
        layer_norm_eps: epsilon of every LayerNorm (1e-12 in Google's BERT).
        do_lower_case: casing of the checkpoint's tokenizer; None when the config file does not say
            (Google's ``bert_config.json`` never does: then the vocabulary decides).

    Example:
        >>> BertConfig.preset("tiny").hidden_size
        128
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu_tanh"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    do_lower_case: bool | None = None

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"BertConfig field '{name}' must be a positive integer, got {value!r}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ConfigError(f"BertConfig field '{name}' must be in [0, 1), got {value!r}")
        for name in ("initializer_range", "layer_norm_eps"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"BertConfig field '{name}' must be a positive number, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"BertConfig field 'hidden_size' ({self.hidden_size}) must be divisible by "
                f"'num_attention_heads' ({self.num_attention_heads})"
            )
        if self.hidden_act not in ACTIVATIONS:
            raise ConfigError(
                f"BertConfig field 'hidden_act' is {self.hidden_act!r}; bertzoo's activations are "
                f"{sorted(ACTIVATIONS)}"
            )
        if self.do_lower_case is not None and not isinstance(self.do_lower_case, bool):
            raise ConfigError(f"BertConfig field 'do_lower_case' must be true, false or null, got {self.do_lower_case!r}")

    @property
    def head_size(self) -> int:
        """Width of one attention head."""
        return self.hidden_size // self.num_attention_heads

    # ----------------------------------------------------------------------------------- presets
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "BertConfig":
        """One of Google's released sizes: tiny, mini, small, medium, base, large."""
        if name not in _PRESETS:
            raise ConfigError(f"unknown BertConfig preset {name!r}; choose one of {list(_PRESETS)}")
        layers, hidden, heads = _PRESETS[name]
        return cls(num_hidden_layers=layers, hidden_size=hidden, num_attention_heads=heads,
                   intermediate_size=4 * hidden, **overrides)

    @staticmethod
    def preset_names() -> list[str]:
        """Names accepted by ``preset``."""
        return list(_PRESETS)

    # ------------------------------------------------------------------------------ file formats
    @classmethod
    def from_google_json(cls, path: str | pathlib.Path) -> "BertConfig":
        """Reads Google's ``bert_config.json`` (its ``gelu`` is the tanh approximation)."""
        data = _read_json_object(path)
        return cls.from_google_dict(data, source=str(path))

    @classmethod
    def from_google_dict(cls, data: Mapping[str, Any], source: str = "bert_config") -> "BertConfig":
        """Builds a config from the fields of Google's ``bert_config.json``."""
        fields = _take_fields(data, source, metadata=GOOGLE_METADATA)
        fields["hidden_act"] = _map_activation(fields, GOOGLE_ACTIVATIONS, source)
        return _construct(cls, fields, source)

    @classmethod
    def from_hf_json(cls, path: str | pathlib.Path) -> "BertConfig":
        """Reads a Hugging Face ``config.json`` of a BERT model (its ``gelu`` is exact erf)."""
        data = _read_json_object(path)
        return cls.from_hf_dict(data, source=str(path))

    @classmethod
    def from_hf_dict(cls, data: Mapping[str, Any], source: str = "config.json") -> "BertConfig":
        """Builds a config from a Hugging Face BERT ``config.json`` mapping."""
        model_type = data.get("model_type", "bert")
        if model_type != "bert":
            raise ConfigError(
                f"{source}: field 'model_type' is {model_type!r}; bertzoo's BertEncoder reads 'bert' models "
                "(other architectures differ in position ids or layer order and would load silently wrong)"
            )
        position_type = data.get("position_embedding_type", "absolute")
        if position_type != "absolute":
            raise ConfigError(
                f"{source}: field 'position_embedding_type' is {position_type!r}; only 'absolute' is supported"
            )
        for flag in ("is_decoder", "add_cross_attention"):
            if data.get(flag):
                raise ConfigError(f"{source}: field '{flag}' is true; bertzoo's BertEncoder is an encoder only")
        stripped = {k: v for k, v in data.items()
                    if k not in ("position_embedding_type", "is_decoder", "add_cross_attention")}
        fields = _take_fields(stripped, source, metadata=HF_METADATA)
        fields["hidden_act"] = _map_activation(fields, HF_ACTIVATIONS, source)
        return _construct(cls, fields, source)

    @classmethod
    def from_json(cls, path: str | pathlib.Path) -> "BertConfig":
        """Reads bertzoo's own config (``to_json``), whose activation names are unambiguous."""
        data = _read_json_object(path)
        fields = _take_fields(data, str(path), metadata=frozenset())
        return _construct(cls, fields, str(path))

    @classmethod
    def from_file(cls, path: str | pathlib.Path) -> "BertConfig":
        """Reads any of the three config files, told apart by their fields: bertzoo's own always
        has ``do_lower_case``; Hugging Face's has ``model_type`` or ``architectures``; else Google's."""
        data = _read_json_object(path)
        if "do_lower_case" in data:
            return _construct(cls, _take_fields(data, str(path), metadata=frozenset()), str(path))
        if "model_type" in data or "architectures" in data:
            return cls.from_hf_dict(data, source=str(path))
        return cls.from_google_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (bertzoo's names)."""
        return dataclasses.asdict(self)

    def to_json(self, path: str | pathlib.Path) -> None:
        """Writes bertzoo's own config file."""
        pathlib.Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    def to_google_dict(self) -> dict[str, Any]:
        """The fields as Google's ``bert_config.json`` names them (activation in Google's words)."""
        inverse = {v: k for k, v in GOOGLE_ACTIVATIONS.items()}
        if self.hidden_act not in inverse:
            raise ConfigError(f"hidden_act {self.hidden_act!r} has no name in Google's bert_config.json")
        data = self.to_dict()
        data.pop("do_lower_case")
        data["hidden_act"] = inverse[self.hidden_act]
        return data

    def replace(self, **changes: Any) -> "BertConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _read_json_object(path: str | pathlib.Path) -> dict[str, Any]:
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object of config fields, got {type(data).__name__}")
    return data


_FIELDS = {f.name for f in dataclasses.fields(BertConfig)}
_REQUIRED = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")


def _take_fields(data: Mapping[str, Any], source: str, metadata: frozenset[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    unknown = []
    for key, value in data.items():
        if key in _FIELDS:
            fields[key] = value
        elif key not in metadata:
            unknown.append(key)
    if unknown:
        raise ConfigError(
            f"{source}: unknown field(s) {sorted(unknown)}; expected BERT config fields {sorted(_FIELDS)}"
        )
    missing = [name for name in _REQUIRED if name not in fields]
    if missing:
        raise ConfigError(f"{source}: missing required field(s) {missing}")
    return fields


def _map_activation(fields: dict[str, Any], mapping: Mapping[str, str], source: str) -> str:
    name = fields.get("hidden_act", "gelu")
    if not isinstance(name, str) or name not in mapping:
        raise ConfigError(
            f"{source}: field 'hidden_act' is {name!r}; this format's activations that bertzoo can honour "
            f"are {sorted(mapping)}"
        )
    return mapping[name]


def _construct(cls: type[BertConfig], fields: dict[str, Any], source: str) -> BertConfig:
    try:
        return cls(**fields)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
