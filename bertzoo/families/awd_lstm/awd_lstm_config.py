"""AwdLstmConfig: the architecture and dropouts of an AWD-LSTM (Merity et al. 2017) as ULMFiT uses it.

The defaults are fastai's language-model configuration for the WikiText-103 model ULMFiT starts
from: 400-wide embeddings, three LSTM layers of 1152, 1152 and 400 units, tied input and output
embeddings. The classifier uses fastai's stronger classifier dropouts (``CLASSIFIER_DROPOUTS``),
both scaled by one ``drop_mult``, as ULMFiT does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bertzoo.errors import ConfigError

# fastai's awd_lstm_lm_config and awd_lstm_clas_config dropouts.
LANGUAGE_MODEL_DROPOUTS = {"embedding_dropout": 0.02, "input_dropout": 0.25, "weight_dropout": 0.2,
                           "hidden_dropout": 0.15, "output_dropout": 0.1}
CLASSIFIER_DROPOUTS = {"embedding_dropout": 0.05, "input_dropout": 0.4, "weight_dropout": 0.5,
                       "hidden_dropout": 0.3, "output_dropout": 0.4}


@dataclasses.dataclass(frozen=True)
class AwdLstmConfig:
    """An AWD-LSTM's sizes and dropouts.

    Attributes:
        vocab_size: rows of the (tied) embedding matrix.
        embedding_size: width of the embeddings and of the last LSTM layer (400).
        hidden_size: width of the other LSTM layers (1152).
        num_layers: LSTM layers (3).
        pad_token_id: the padding id (fastai: 1, ``xxpad``).
        embedding_dropout: probability of dropping a whole word's embedding (per batch).
        input_dropout: locked dropout on the embeddings fed to the first LSTM.
        weight_dropout: DropConnect on each LSTM's hidden-to-hidden matrix.
        hidden_dropout: locked dropout between LSTM layers.
        output_dropout: locked dropout on the last layer's output, before the decoder or classifier.
        initializer_range: embeddings start uniform in [-r, r] (fastai: 0.1).
    """

    vocab_size: int
    embedding_size: int = 400
    hidden_size: int = 1152
    num_layers: int = 3
    pad_token_id: int = 1
    embedding_dropout: float = LANGUAGE_MODEL_DROPOUTS["embedding_dropout"]
    input_dropout: float = LANGUAGE_MODEL_DROPOUTS["input_dropout"]
    weight_dropout: float = LANGUAGE_MODEL_DROPOUTS["weight_dropout"]
    hidden_dropout: float = LANGUAGE_MODEL_DROPOUTS["hidden_dropout"]
    output_dropout: float = LANGUAGE_MODEL_DROPOUTS["output_dropout"]
    initializer_range: float = 0.1

    def __post_init__(self):
        for name in ("vocab_size", "embedding_size", "hidden_size", "num_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"AwdLstmConfig field '{name}' must be a positive integer, got {value!r}")
        for name in ("embedding_dropout", "input_dropout", "weight_dropout", "hidden_dropout", "output_dropout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ConfigError(f"AwdLstmConfig field '{name}' must be in [0, 1), got {value!r}")
        if not 0 <= self.pad_token_id < self.vocab_size:
            raise ConfigError(f"AwdLstmConfig field 'pad_token_id' ({self.pad_token_id}) is not a token id "
                              f"(vocab_size {self.vocab_size})")

    @property
    def layer_sizes(self) -> list[int]:
        """Output width of each LSTM layer: ``hidden_size`` except the last, ``embedding_size``."""
        return [self.hidden_size] * (self.num_layers - 1) + [self.embedding_size]

    def with_dropouts(self, dropouts: dict[str, float], drop_mult: float = 1.0) -> "AwdLstmConfig":
        """The same architecture with ``dropouts`` scaled by ``drop_mult`` (ULMFiT's one knob)."""
        return dataclasses.replace(self, **{name: value * drop_mult for name, value in dropouts.items()})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> "AwdLstmConfig":
        unknown = sorted(set(data) - {field.name for field in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"{source}: unknown AwdLstmConfig fields {unknown}")
        if "vocab_size" not in data:
            raise ConfigError(f"{source}: field 'vocab_size' is missing")
        return cls(**data)
