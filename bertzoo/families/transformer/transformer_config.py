"""TransformerConfig: the architecture of the encoder-decoder of "Attention Is All You Need".

Where the paper is silent, the choice is tensor2tensor's ``transformer_base`` / ``transformer_big``
and is stated here rather than buried in a layer:

- Dropout: the paper applies residual dropout ``P_drop`` to each sub-layer's output before the
  residual sum and to the sums of embeddings and positions (``dropout_rate``: 0.1 base, 0.3 big on
  EN-DE). It mentions no dropout on attention probabilities, so ``attention_dropout_rate`` defaults
  to 0 (tensor2tensor's later ``transformer_base_v2`` sets it to 0.1, and also a ``relu_dropout``
  inside the feed-forward network, which bertzoo does not offer).
- LayerNorm epsilon 1e-6 (tensor2tensor); the paper gives none.
- Kernels: truncated normal with stddev ``hidden_size ** -0.5`` (the stddev of Glorot-uniform for a
  square matrix, which the paper does not specify); embeddings normal with stddev
  ``hidden_size ** -0.5`` as tensor2tensor, so ``embedding * sqrt(hidden_size)`` has unit scale.
- Special ids are the SentencePiece model's: ``pad_id`` 0, ``unk_id`` 1, ``bos_id`` 2 (the decoder's
  start token), ``eos_id`` 3 (ends every source and target).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Mapping

from bertzoo.errors import ConfigError

# (layers, hidden, heads, feed-forward, dropout): Table 3 of the paper.
_PRESETS = {
    "tiny": (2, 32, 4, 64, 0.1),
    "base": (6, 512, 8, 2048, 0.1),
    "big": (6, 1024, 16, 4096, 0.3),
}


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    """The architecture of a post-LayerNorm Transformer encoder-decoder with shared embeddings.

    Args:
        vocab_size: rows of the embedding table shared by source, target and the output projection
            (a joint SentencePiece vocabulary).
        hidden_size: ``d_model``.
        num_layers: layers in the encoder and in the decoder (``N``).
        num_attention_heads: ``h``; must divide ``hidden_size``.
        filter_size: ``d_ff``, the feed-forward inner width.
        dropout_rate: residual dropout ``P_drop`` (sub-layer outputs, embeddings + positions).
        attention_dropout_rate: dropout on attention probabilities (0 in the paper).
        label_smoothing: ``epsilon_ls`` of the training loss (0.1).
        max_length: longest source or target the sinusoidal table covers.
        layer_norm_eps: epsilon of every LayerNorm.
        initializer_range: stddev of kernel and embedding initializers; None: ``hidden_size ** -0.5``.
        pad_id, unk_id, bos_id, eos_id: special token ids of the vocabulary.

    Example:
        >>> TransformerConfig.preset("big").filter_size
        4096
    """

    vocab_size: int = 37000
    hidden_size: int = 512
    num_layers: int = 6
    num_attention_heads: int = 8
    filter_size: int = 2048
    dropout_rate: float = 0.1
    attention_dropout_rate: float = 0.0
    label_smoothing: float = 0.1
    max_length: int = 256
    layer_norm_eps: float = 1e-6
    initializer_range: float | None = None
    pad_id: int = 0
    unk_id: int = 1
    bos_id: int = 2
    eos_id: int = 3

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "num_layers", "num_attention_heads", "filter_size", "max_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"TransformerConfig.{name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(f"TransformerConfig.hidden_size {self.hidden_size} is not divisible by "
                              f"num_attention_heads {self.num_attention_heads}")
        if self.hidden_size % 2:
            raise ConfigError(f"TransformerConfig.hidden_size must be even (sin/cos position pairs), "
                              f"got {self.hidden_size}")
        for name in ("dropout_rate", "attention_dropout_rate", "label_smoothing"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ConfigError(f"TransformerConfig.{name} must be in [0, 1), got {value!r}")
        for name in ("pad_id", "unk_id", "bos_id", "eos_id"):
            value = getattr(self, name)
            if not 0 <= value < self.vocab_size:
                raise ConfigError(f"TransformerConfig.{name} {value} is outside the vocabulary "
                                  f"(vocab_size {self.vocab_size})")

    @property
    def num_hidden_layers(self) -> int:
        """The encoder's layers, under BERT's name (what ``bertzoo.features`` layer strategies read)."""
        return self.num_layers

    @property
    def kernel_stddev(self) -> float:
        return self.initializer_range if self.initializer_range is not None else self.hidden_size ** -0.5

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "TransformerConfig":
        """``base`` or ``big`` of the paper's Table 3 (or ``tiny`` for tests), with ``overrides``."""
        if name not in _PRESETS:
            raise ConfigError(f"unknown Transformer preset {name!r}; choose one of {sorted(_PRESETS)}")
        layers, hidden, heads, filter_size, dropout = _PRESETS[name]
        fields = dict(num_layers=layers, hidden_size=hidden, num_attention_heads=heads,
                      filter_size=filter_size, dropout_rate=dropout)
        fields.update(overrides)
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str = "config") -> "TransformerConfig":
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown TransformerConfig fields {unknown}; expected some of {sorted(known)}")
        return cls(**values)

    @classmethod
    def from_json_file(cls, path: str | pathlib.Path) -> "TransformerConfig":
        path = pathlib.Path(path)
        try:
            values = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path} is not valid JSON: {error}") from None
        return cls.from_dict(values, source=str(path))
