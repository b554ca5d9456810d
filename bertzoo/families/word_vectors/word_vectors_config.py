"""``WordVectorsConfig``: the shape and casing of a word-vector table as the encoder sees it."""

from __future__ import annotations

import dataclasses
from typing import Any

from bertzoo.errors import ConfigError

# Rows the encoder puts before the table's words: [PAD] and [UNK], both zero vectors.
SPECIAL_TOKENS = ("[PAD]", "[UNK]")


@dataclasses.dataclass(frozen=True)
class WordVectorsConfig:
    """A word-vector encoder's architecture.

    Attributes:
        vocab_size: rows of the embedding table: the words plus ``[PAD]`` and ``[UNK]``.
        hidden_size: the vectors' dimension.
        lowercase: the tokenizer lower-cases text (GloVe 6B and Twitter are lower-cased; word2vec
            GoogleNews, fastText and GloVe 42B/840B are cased).
        num_hidden_layers: 1: the lookup is the only "layer" (``encoder_outputs`` = [sequence_output]).
    """

    vocab_size: int
    hidden_size: int
    lowercase: bool = False
    num_hidden_layers: int = 1

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"WordVectorsConfig field {name!r} must be a positive int, got {value!r}")
        if self.vocab_size < len(SPECIAL_TOKENS):
            raise ConfigError(f"WordVectorsConfig field 'vocab_size' must count [PAD] and [UNK], got {self.vocab_size}")
        if self.num_hidden_layers != 1:
            raise ConfigError(f"WordVectorsConfig field 'num_hidden_layers' is 1 for a lookup table, got "
                              f"{self.num_hidden_layers!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "WordVectorsConfig":
        unknown = sorted(set(data) - {field.name for field in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"WordVectorsConfig has no field {unknown[0]!r}")
        return cls(**data)
