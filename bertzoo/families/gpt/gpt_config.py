"""GPTConfig: the architecture of a GPT-1 or GPT-2 decoder, from presets or the originals' config files.

The two variants differ in where LayerNorm sits and in their special tokens:

- ``gpt1`` (OpenAI's finetune-transformer-lm): post-LayerNorm blocks (LayerNorm after each residual
  sum), no final LayerNorm; the start, delimiter and classify tokens are rows appended to the word
  embedding matrix after the 40,478 BPE tokens, so ``vocab_size`` counts them;
- ``gpt2`` (openai/gpt-2 ``model.py``): pre-LayerNorm blocks and a final LayerNorm ``ln_f``.

Both use learned positions, tanh-approximated GELU (OpenAI's ``gelu``), LayerNorm epsilon 1e-5 (the
``norm`` of both originals) and tie the language-model output to the word embeddings. The same
activation name means different functions in transformers: for ``gpt2``, ``activation_function:
"gelu"`` is the exact (erf) GELU and ``"gelu_new"`` the tanh one; for ``openai-gpt``, ``afn: "gelu"``
is the tanh one (its own ``ACT_FNS`` table). Each reader maps the name to the function computed.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Mapping

from bertzoo.errors import ConfigError

VARIANTS = ("gpt1", "gpt2")
POOLINGS = ("classify_token", "last_token")
# transformers' openai-gpt has its own table: "gelu" there is gelu_new (tanh).
HF_OPENAI_GPT_ACTIVATIONS = {"gelu": "gelu_tanh", "relu": "relu", "silu": "silu", "swish": "silu"}
HF_ACTIVATIONS = {"gelu": "gelu_erf", "gelu_python": "gelu_erf", "gelu_new": "gelu_tanh",
                  "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh", "relu": "relu",
                  "silu": "silu", "swish": "silu"}

# name -> (variant, layers, hidden, heads, vocab_size, positions)
_PRESETS = {
    "gpt1": ("gpt1", 12, 768, 12, 40478 + 3, 512),
    "gpt2": ("gpt2", 12, 768, 12, 50257, 1024),
    "gpt2-medium": ("gpt2", 24, 1024, 16, 50257, 1024),
    "gpt2-large": ("gpt2", 36, 1280, 20, 50257, 1024),
    "gpt2-xl": ("gpt2", 48, 1600, 25, 50257, 1024),
    # For tests and quick experiments.
    "gpt2-tiny": ("gpt2", 2, 32, 2, 512, 128),
    "gpt1-tiny": ("gpt1", 2, 32, 2, 512 + 3, 128),
}


@dataclasses.dataclass(frozen=True)
class GPTConfig:
    """A GPT decoder's architecture.

    Attributes:
        variant: ``"gpt1"`` (post-LayerNorm) or ``"gpt2"`` (pre-LayerNorm + final LayerNorm).
        vocab_size: rows of the token embedding (GPT-1: BPE tokens + its special tokens).
        max_position_embeddings: the context length (``n_ctx``).
        hidden_size, num_hidden_layers, num_attention_heads, intermediate_size: the shapes.
        hidden_act: bertzoo activation name (``gelu_tanh`` in both originals).
        hidden_dropout_prob: dropout on each block's sub-layer outputs (``resid_pdrop``).
        embedding_dropout_prob: dropout on the summed embeddings (``embd_pdrop``).
        attention_probs_dropout_prob: dropout on attention probabilities (``attn_pdrop``).
        layer_norm_eps: LayerNorm epsilon (1e-5 in both originals).
        initializer_range: stddev of the normal initializer (0.02).
        num_special_tokens: GPT-1's extra embedding rows (start, delimiter, classify), 0 for GPT-2.
        pooling: where ``pooled_output`` is taken: ``"classify_token"`` (GPT-1: the row's first
            classify token) or ``"last_token"`` (the last real token).
    """

    variant: str = "gpt2"
    vocab_size: int = 50257
    max_position_embeddings: int = 1024
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu_tanh"
    hidden_dropout_prob: float = 0.1
    embedding_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    layer_norm_eps: float = 1e-5
    initializer_range: float = 0.02
    num_special_tokens: int = 0
    pooling: str = "last_token"

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ConfigError(f"GPTConfig field 'variant' must be one of {VARIANTS}, got {self.variant!r}")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"GPTConfig field 'pooling' must be one of {POOLINGS}, got {self.pooling!r}")
        if self.pooling == "classify_token" and self.num_special_tokens < 3:
            raise ConfigError("GPTConfig: pooled_output at the classify token needs GPT-1's special tokens "
                              f"(num_special_tokens >= 3), got num_special_tokens={self.num_special_tokens}")
        for name in ("vocab_size", "max_position_embeddings", "hidden_size", "num_hidden_layers",
                     "num_attention_heads", "intermediate_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"GPTConfig field {name!r} must be positive, got {getattr(self, name)!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(f"GPTConfig: hidden_size {self.hidden_size} is not divisible by "
                              f"num_attention_heads {self.num_attention_heads}")

    # ------------------------------------------------------------------------------ special tokens
    @property
    def pre_layer_norm(self) -> bool:
        """GPT-2's block order (LayerNorm before each sub-layer, final LayerNorm)."""
        return self.variant == "gpt2"

    @property
    def special_token_ids(self) -> dict[str, int]:
        """GPT-1's ``start``, ``delimiter`` and ``classify`` ids (rows after the BPE tokens)."""
        if self.num_special_tokens < 3:
            return {}
        first = self.vocab_size - self.num_special_tokens
        return {"start": first, "delimiter": first + 1, "classify": first + 2}

    @property
    def classify_token_id(self) -> int | None:
        return self.special_token_ids.get("classify")

    # ------------------------------------------------------------------------------------ builders
    @classmethod
    def preset_names(cls) -> list[str]:
        return list(_PRESETS)

    @classmethod
    def preset(cls, name: str, **overrides) -> "GPTConfig":
        """``gpt1`` (117M), ``gpt2`` (124M), ``gpt2-medium`` (355M), ``gpt2-large`` (774M),
        ``gpt2-xl`` (1558M), and ``gpt2-tiny`` / ``gpt1-tiny`` for tests."""
        if name not in _PRESETS:
            raise ConfigError(f"unknown GPT config preset {name!r}; presets are {list(_PRESETS)}")
        variant, layers, hidden, heads, vocab, positions = _PRESETS[name]
        fields = dict(variant=variant, vocab_size=vocab, max_position_embeddings=positions, hidden_size=hidden,
                      num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=4 * hidden)
        if variant == "gpt1":
            fields.update(num_special_tokens=3, pooling="classify_token")
        fields.update(overrides)
        return cls(**fields)

    def replace(self, **changes) -> "GPTConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config") -> "GPTConfig":
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown GPTConfig field(s) {unknown}")
        return cls(**data)

    @classmethod
    def from_openai_hparams(cls, path: str | pathlib.Path) -> "GPTConfig":
        """GPT-2's ``hparams.json`` (``n_vocab``, ``n_ctx``, ``n_embd``, ``n_head``, ``n_layer``)."""
        data = _read_json(path)
        try:
            hidden = int(data["n_embd"])
            return cls(variant="gpt2", vocab_size=int(data["n_vocab"]), max_position_embeddings=int(data["n_ctx"]),
                       hidden_size=hidden, num_hidden_layers=int(data["n_layer"]),
                       num_attention_heads=int(data["n_head"]), intermediate_size=4 * hidden)
        except KeyError as error:
            raise ConfigError(f"{path}: field {error.args[0]!r} is missing (GPT-2 hparams.json needs n_vocab, "
                              "n_ctx, n_embd, n_head, n_layer)") from error

    @classmethod
    def from_hf_json(cls, path: str | pathlib.Path) -> "GPTConfig":
        """A Hugging Face ``config.json`` of ``model_type`` ``gpt2`` or ``openai-gpt``."""
        data = _read_json(path)
        model_type = data.get("model_type")
        if model_type not in ("gpt2", "openai-gpt"):
            raise ConfigError(f"{path}: field 'model_type' is {model_type!r}, expected 'gpt2' or 'openai-gpt'")
        activation_key = "activation_function" if model_type == "gpt2" else "afn"
        activation = data.get(activation_key, "gelu_new" if model_type == "gpt2" else "gelu")
        table = HF_ACTIVATIONS if model_type == "gpt2" else HF_OPENAI_GPT_ACTIVATIONS
        if activation not in table:
            raise ConfigError(f"{path}: field {activation_key!r} is {activation!r}; bertzoo knows {sorted(table)}")
        hidden = int(data.get("n_embd", 768))
        inner = data.get("n_inner")
        try:
            fields = dict(
                vocab_size=int(data["vocab_size"]), max_position_embeddings=int(data.get("n_positions", 512)),
                hidden_size=hidden, num_hidden_layers=int(data.get("n_layer", 12)),
                num_attention_heads=int(data.get("n_head", 12)),
                intermediate_size=int(inner) if inner else 4 * hidden, hidden_act=table[activation],
                hidden_dropout_prob=float(data.get("resid_pdrop", 0.1)),
                embedding_dropout_prob=float(data.get("embd_pdrop", 0.1)),
                attention_probs_dropout_prob=float(data.get("attn_pdrop", 0.1)),
                layer_norm_eps=float(data.get("layer_norm_epsilon", 1e-5)),
                initializer_range=float(data.get("initializer_range", 0.02)))
        except KeyError as error:
            raise ConfigError(f"{path}: field {error.args[0]!r} is missing") from error
        if model_type == "gpt2":
            for flag in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
                if data.get(flag):
                    raise ConfigError(f"{path}: field {flag!r} is true; bertzoo's GPT-2 computes the original's "
                                      "attention only")
            if data.get("scale_attn_weights") is False:
                raise ConfigError(f"{path}: field 'scale_attn_weights' is false; bertzoo always scales by "
                                  "1/sqrt(head size) as the original does")
            return cls(variant="gpt2", **fields)
        # openai-gpt: Hugging Face keeps the 40478 BPE rows only; GPT-1's start, delimiter and
        # classify rows are appended (the reader initialises them as the original's train.py does).
        fields["vocab_size"] += 3
        return cls(variant="gpt1", num_special_tokens=3, pooling="classify_token", **fields)

    def to_hf_dict(self) -> dict[str, Any]:
        """This config as a Hugging Face ``config.json`` (``gpt2`` or ``openai-gpt``)."""
        inverse = {"gelu_erf": "gelu", "gelu_tanh": "gelu_new", "relu": "relu", "silu": "silu"}
        common = dict(vocab_size=self.vocab_size, n_positions=self.max_position_embeddings, n_embd=self.hidden_size,
                      n_layer=self.num_hidden_layers, n_head=self.num_attention_heads,
                      resid_pdrop=self.hidden_dropout_prob, embd_pdrop=self.embedding_dropout_prob,
                      attn_pdrop=self.attention_probs_dropout_prob, layer_norm_epsilon=self.layer_norm_eps,
                      initializer_range=self.initializer_range)
        if self.variant == "gpt2":
            return dict(model_type="gpt2", architectures=["GPT2LMHeadModel"], n_inner=self.intermediate_size,
                        activation_function=inverse[self.hidden_act], **common)
        if self.intermediate_size != 4 * self.hidden_size:
            raise ConfigError("Hugging Face's openai-gpt has no n_inner: intermediate_size must be 4 * hidden_size")
        common["vocab_size"] = self.vocab_size - self.num_special_tokens
        openai_names = {"gelu_tanh": "gelu", "relu": "relu", "silu": "silu"}
        if self.hidden_act not in openai_names:
            raise ConfigError(f"Hugging Face's openai-gpt has no activation for hidden_act {self.hidden_act!r}")
        return dict(model_type="openai-gpt", architectures=["OpenAIGPTLMHeadModel"], afn=openai_names[self.hidden_act],
                    **common)


def _read_json(path) -> dict:
    path = pathlib.Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{path} is missing") from error
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data
