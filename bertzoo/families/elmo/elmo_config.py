"""ElmoConfig: the architecture of an ELMo biLM, read from (and written as) bilm-tf's ``options.json``.

The file has two sections (allenai/bilm-tf, ``bilm/model.py``)::

    {"char_cnn": {"activation": "relu", "embedding": {"dim": 16},
                  "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]],
                  "max_characters_per_token": 50, "n_characters": 262, "n_highway": 2},
     "lstm": {"cell_clip": 3, "dim": 4096, "n_layers": 2, "proj_clip": 3, "projection_dim": 512,
              "use_skip_connections": true}}

``n_characters`` is 262 for a model used for inference: the 261 characters of training (256 bytes and
five specials) shifted by one so that id 0 means "no token" (bilm-tf's README: "set n_characters=262
after training"). Training files (``n_characters`` 261, plus ``n_tokens_vocab``, ``bidirectional``,
``dropout``, ...) are read too; fields that only matter to training are kept in ``training``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Any, Mapping

from bertzoo.errors import ConfigError

ACTIVATIONS = ("relu", "tanh")
# options.json keys bilm-tf writes that do not change the encoder's arithmetic (training settings).
TRAINING_KEYS = frozenset({"bidirectional", "dropout", "all_clip_norm_val", "n_epochs", "n_train_tokens",
                           "batch_size", "n_tokens_vocab", "unroll_steps", "n_negative_samples_batch",
                           "share_embedding_softmax", "char_cnn_dropout",
                           # bertzoo's own settings of a model it trained ({"word_split": ...}); bilm-tf and
                           # allennlp read options by name and ignore it
                           "bertzoo"})


@dataclasses.dataclass(frozen=True)
class ElmoConfig:
    """An ELMo biLM's shape: the character CNN, then ``num_layers`` projected LSTMs per direction.

    Attributes:
        char_embedding_dim: width of the character embeddings (``char_cnn.embedding.dim``).
        filters: ``(width, number)`` of each convolution over the characters of a word.
        num_highway: highway layers after the convolutions.
        activation: of the convolutions, ``relu`` or ``tanh``.
        max_characters_per_token: characters per word, begin/end-of-word marks included (50).
        lstm_dim: LSTM cell size (``lstm.dim``).
        projection_dim: LSTM output (projection) size and the token layer's width.
        num_layers: LSTM layers per direction.
        cell_clip: clip of the LSTM cell state (None: no clip).
        proj_clip: clip of the projected LSTM output (None: no clip).
        use_skip_connections: add each LSTM layer's input to its output, from the second layer on.
        n_characters: rows of the character embedding at inference (262: 261 + the padding row 0).
        training: the file's training-only fields, written back unchanged.
    """

    char_embedding_dim: int = 16
    filters: tuple[tuple[int, int], ...] = ((1, 32), (2, 32), (3, 64), (4, 128), (5, 256), (6, 512), (7, 1024))
    num_highway: int = 2
    activation: str = "relu"
    max_characters_per_token: int = 50
    lstm_dim: int = 4096
    projection_dim: int = 512
    num_layers: int = 2
    cell_clip: float | None = 3.0
    proj_clip: float | None = 3.0
    use_skip_connections: bool = True
    n_characters: int = 262
    training: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "filters", tuple((int(w), int(n)) for w, n in self.filters))
        object.__setattr__(self, "training", dict(self.training))
        for name in ("char_embedding_dim", "max_characters_per_token", "lstm_dim", "projection_dim", "num_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"ElmoConfig.{name} must be a positive int, got {value!r}")
        if isinstance(self.num_highway, bool) or not isinstance(self.num_highway, int) or self.num_highway < 0:
            raise ConfigError(f"ElmoConfig.num_highway must be an int >= 0, got {self.num_highway!r}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"ElmoConfig.activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if not self.filters or any(w < 1 or n < 1 or w > self.max_characters_per_token for w, n in self.filters):
            raise ConfigError(f"ElmoConfig.filters must be non-empty (width, number) pairs with 1 <= width <= "
                              f"max_characters_per_token, got {self.filters}")
        if self.max_characters_per_token < 3:
            raise ConfigError("ElmoConfig.max_characters_per_token must be at least 3 (begin-of-word, one "
                              f"character, end-of-word), got {self.max_characters_per_token}")
        if self.n_characters != 262:
            raise ConfigError(f"ElmoConfig.n_characters must be 262 (261 characters + padding id 0), got "
                              f"{self.n_characters}: a training options.json has 261; set 262 after training, "
                              "as bilm-tf's README says")
        if self.projection_dim > self.lstm_dim:
            raise ConfigError(f"ElmoConfig.projection_dim ({self.projection_dim}) exceeds lstm_dim "
                              f"({self.lstm_dim}); bilm-tf projects down or not at all")
        if self.num_filters != self.projection_dim and self.num_filters < self.projection_dim:
            raise ConfigError(f"the character CNN's {self.num_filters} filters are fewer than projection_dim "
                              f"{self.projection_dim}; bilm-tf only projects down")

    @property
    def num_filters(self) -> int:
        """The width of the concatenated convolutions (the highway layers' width)."""
        return sum(n for _, n in self.filters)

    @property
    def use_projection(self) -> bool:
        """Whether the character CNN ends in a projection (``CNN_proj``): filters != projection_dim."""
        return self.num_filters != self.projection_dim

    @property
    def hidden_size(self) -> int:
        """Width of every layer of the encoder contract: ``[forward; backward]`` = 2 x projection_dim."""
        return 2 * self.projection_dim

    @property
    def num_hidden_layers(self) -> int:
        """Entries of ``encoder_outputs``: the token layer and the LSTM layers."""
        return self.num_layers + 1

    @property
    def word_split(self) -> str | None:
        """The word split a bertzoo-trained model was trained with (``options["bertzoo"]``), else None."""
        settings = self.training.get("bertzoo")
        return settings.get("word_split") if isinstance(settings, dict) else None

    def replace(self, **changes: Any) -> "ElmoConfig":
        return dataclasses.replace(self, **changes)

    # ---------------------------------------------------------------------------- options.json
    @classmethod
    def from_options(cls, options: Mapping[str, Any], source: str = "options.json") -> "ElmoConfig":
        """Reads bilm-tf's options dict; a missing or ill-typed field is a ``ConfigError`` naming it."""
        if not isinstance(options, Mapping):
            raise ConfigError(f"{source}: expected a JSON object, got {type(options).__name__}")
        if "char_cnn" not in options:
            raise ConfigError(f"{source}: field 'char_cnn' is missing; bertzoo reads character-input ELMo "
                              "models (bilm-tf's token-input models have no character CNN)")
        cnn = _section(options, "char_cnn", source)
        lstm = _section(options, "lstm", source)
        embedding = _field(cnn, "embedding", source, "char_cnn", dict)
        unknown = set(options) - {"char_cnn", "lstm"} - TRAINING_KEYS
        if unknown:
            raise ConfigError(f"{source}: unknown field(s) {sorted(unknown)}; ELMo options hold 'char_cnn', 'lstm' "
                              f"and the training settings {sorted(TRAINING_KEYS)}")
        filters = _field(cnn, "filters", source, "char_cnn", list)
        if not all(isinstance(f, (list, tuple)) and len(f) == 2 for f in filters):
            raise ConfigError(f"{source}: field 'char_cnn.filters' must be a list of [width, number] pairs, got "
                              f"{filters!r}")
        settings = dict(
            char_embedding_dim=_field(embedding, "dim", source, "char_cnn.embedding", int),
            filters=tuple(tuple(f) for f in filters),
            num_highway=int(cnn.get("n_highway") or 0),
            activation=_field(cnn, "activation", source, "char_cnn", str),
            max_characters_per_token=_field(cnn, "max_characters_per_token", source, "char_cnn", int),
            n_characters=_field(cnn, "n_characters", source, "char_cnn", int),
            lstm_dim=_field(lstm, "dim", source, "lstm", int),
            projection_dim=_field(lstm, "projection_dim", source, "lstm", int),
            num_layers=int(lstm.get("n_layers", 1)),
            cell_clip=_optional_float(lstm, "cell_clip", source),
            proj_clip=_optional_float(lstm, "proj_clip", source),
            use_skip_connections=bool(_field(lstm, "use_skip_connections", source, "lstm", bool)),
            training={key: options[key] for key in options if key in TRAINING_KEYS},
        )
        try:
            return cls(**settings)
        except ConfigError as error:  # a value out of range: name the file too
            raise ConfigError(f"{source}: {error}") from None

    @classmethod
    def from_options_json(cls, path: str | os.PathLike) -> "ElmoConfig":
        """Reads an ``options.json`` file (bilm-tf's, allennlp's downloads, or ``save_elmo``'s)."""
        path = pathlib.Path(path)
        try:
            options = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"ELMo options file not found: {path}") from None
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}: not valid JSON ({error})") from None
        return cls.from_options(options, source=str(path))

    def to_options(self) -> dict[str, Any]:
        """The options dict bilm-tf and allennlp read (``from_options(to_options())`` round trips)."""
        return {
            **self.training,
            "char_cnn": {"activation": self.activation, "embedding": {"dim": self.char_embedding_dim},
                         "filters": [list(f) for f in self.filters], "max_characters_per_token":
                         self.max_characters_per_token, "n_characters": self.n_characters,
                         "n_highway": self.num_highway},
            "lstm": {"cell_clip": self.cell_clip, "dim": self.lstm_dim, "n_layers": self.num_layers,
                     "proj_clip": self.proj_clip, "projection_dim": self.projection_dim,
                     "use_skip_connections": self.use_skip_connections},
        }

    def to_json_file(self, path: str | os.PathLike) -> None:
        pathlib.Path(path).write_text(json.dumps(self.to_options(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def tiny(cls, **changes: Any) -> "ElmoConfig":
        """A small config for tests and from-scratch demos (the shape of allennlp's test fixture)."""
        settings = dict(char_embedding_dim=4, filters=((1, 4), (2, 8), (3, 16), (4, 32), (5, 64)),
                        num_highway=2, lstm_dim=64, projection_dim=16)
        settings.update(changes)
        return cls(**settings)


def _section(options: Mapping, key: str, source: str) -> dict:
    if key not in options:
        raise ConfigError(f"{source}: field '{key}' is missing")
    value = options[key]
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: field '{key}' must be an object, got {type(value).__name__}")
    return value


def _field(section: Mapping, key: str, source: str, where: str, kind: type) -> Any:
    if key not in section:
        raise ConfigError(f"{source}: field '{where}.{key}' is missing")
    value = section[key]
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is bool:
        ok = isinstance(value, bool)
    if not ok:
        raise ConfigError(f"{source}: field '{where}.{key}' must be a {kind.__name__}, got {value!r}")
    return value


def _optional_float(section: Mapping, key: str, source: str) -> float | None:
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{source}: field 'lstm.{key}' must be a positive number or null, got {value!r}")
    return float(value)
