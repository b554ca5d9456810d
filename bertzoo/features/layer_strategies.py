"""Which layers a contextual feature is read from: the strategies of the BERT paper's feature-based
NER experiment (Devlin et al. 2019, Table 7), plus any single layer.

Layers are counted as the hidden states of the encoder: 0 is ``embedding_output`` (the input to
the first transformer layer), 1..L are ``encoder_outputs[0..L-1]`` (Hugging Face's
``hidden_states``, ELMo's layer 0 = token layer). Negative indexes count from the end as in Python:
-1 is the last layer, -2 the second to last, ``-(L+1)`` the embedding output.

========================  ===========================================================  ==========
strategy                  combination                                                  width
========================  ===========================================================  ==========
``embeddings``            ``embedding_output``                                         hidden
``last``                  ``encoder_outputs[-1]`` (= ``sequence_output``)              hidden
``second_to_last``        ``encoder_outputs[-2]``                                      hidden
``sum_last_four``         ``sum(encoder_outputs[-4:])``                                hidden
``concat_last_four``      ``concat([enc[-1], enc[-2], enc[-3], enc[-4]], axis=-1)``    4 x hidden
``sum_all``               ``sum(encoder_outputs)`` (the L transformer layers)          hidden
``layer=i``, ``layer_i``  hidden state i (see above), also a plain int ``i``            hidden
========================  ===========================================================  ==========

The paper's "weighted sum" rows are written here as plain sums, as its released feature
extraction and most reproductions do; a learned weighting is ``ScalarMix``. ``concat_last_four``
puts the last layer first, the order of Google's ``extract_features.py --layers=-1,-2,-3,-4``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf

__all__ = ["LAYER_STRATEGIES", "LayerStrategy", "combine_layers", "parse_layer_strategy"]

LAYER_STRATEGIES = ("embeddings", "last", "second_to_last", "sum_last_four", "concat_last_four", "sum_all")
_LAYER_PATTERN = re.compile(r"^layer[=_](-?\d+)$")


@dataclasses.dataclass(frozen=True)
class LayerStrategy:
    """A resolved layer strategy: which hidden states, and how they are combined.

    Attributes:
        name: the canonical name (``"last"``, ``"layer=3"``, ...).
        layers: indexes into the hidden states ``[embedding_output, layer 1, ..., layer L]``.
        combine: ``"sum"`` or ``"concat"`` (a single layer is a sum of one).
    """

    name: str
    layers: tuple[int, ...]
    combine: str

    def output_dim(self, hidden_size: int) -> int:
        """The width of the combined vectors for an encoder of ``hidden_size``."""
        return hidden_size * (len(self.layers) if self.combine == "concat" else 1)

    def __call__(self, outputs: Mapping[str, Any], dtype: Any = None) -> tf.Tensor:
        """Combines the encoder ``outputs`` (the encoder contract's dict); see ``combine_layers``."""
        states = [outputs["embedding_output"], *outputs["encoder_outputs"]]
        if len(states) - 1 < max(self.layers):
            raise ValueError(f"layer strategy {self.name!r} reads hidden state {max(self.layers)}, but the "
                             f"outputs hold {len(states) - 1} transformer layers")
        selected = [states[i] if dtype is None else tf.cast(states[i], dtype) for i in self.layers]
        if len(selected) == 1:
            return selected[0]
        if self.combine == "concat":
            return tf.concat(selected, axis=-1)
        return tf.add_n(selected)


def _valid_names(num_hidden_layers: int) -> str:
    return (f"{', '.join(LAYER_STRATEGIES)}, or layer=i with i in {-(num_hidden_layers + 1)}..{num_hidden_layers} "
            f"(0 the embedding output, 1..{num_hidden_layers} the transformer layers, -1 the last)")


def parse_layer_strategy(strategy: str | int | LayerStrategy, num_hidden_layers: int) -> LayerStrategy:
    """Resolves a strategy name (or layer index) for an encoder with ``num_hidden_layers`` layers.

    Args:
        strategy: one of ``LAYER_STRATEGIES``, ``"layer=i"`` / ``"layer_i"``, an int ``i``, or an
            already resolved ``LayerStrategy``.
        num_hidden_layers: the encoder's transformer layers (``bert.config.num_hidden_layers``).

    Returns:
        A ``LayerStrategy`` with non-negative layer indexes.

    Raises:
        ValueError: an unknown name (listing the valid ones), a layer index out of range (giving
            the range), or a ``*_last_four`` strategy on an encoder with fewer than four layers.

    Example:
        >>> parse_layer_strategy("layer=-2", 6)
        LayerStrategy(name='layer=5', layers=(5,), combine='sum')
        >>> parse_layer_strategy("concat_last_four", 6).output_dim(384)
        1536
    """
    if isinstance(strategy, LayerStrategy):
        return strategy
    count = num_hidden_layers
    if isinstance(strategy, bool) or not isinstance(strategy, (str, int)):
        raise ValueError(f"layer strategy must be a name or a layer index, got {strategy!r}; choose one of "
                         f"{_valid_names(count)}")
    index = strategy if isinstance(strategy, int) else None
    if isinstance(strategy, str):
        match = _LAYER_PATTERN.match(strategy.strip())
        if match:
            index = int(match.group(1))
    if index is not None:
        if not -(count + 1) <= index <= count:
            raise ValueError(f"layer index {index} is out of range for a {count}-layer encoder: valid indexes are "
                             f"{-(count + 1)}..{count} (0 the embedding output, 1..{count} the transformer "
                             f"layers, -1 the last)")
        index %= count + 1
        return LayerStrategy(f"layer={index}", (index,), "sum")
    name = strategy.strip()
    if name not in LAYER_STRATEGIES:
        raise ValueError(f"unknown layer strategy {strategy!r}; choose one of {_valid_names(count)}")
    if name.endswith("_last_four") and count < 4:
        raise ValueError(f"layer strategy {name!r} needs at least 4 transformer layers; this encoder has {count}")
    if name == "second_to_last" and count < 2:
        raise ValueError(f"layer strategy 'second_to_last' needs at least 2 transformer layers; this encoder "
                         f"has {count}")
    layers = {
        "embeddings": (0,),
        "last": (count,),
        "second_to_last": (count - 1,),
        "sum_last_four": (count - 3, count - 2, count - 1, count),
        "concat_last_four": (count, count - 1, count - 2, count - 3),
        "sum_all": tuple(range(1, count + 1)),
    }[name]
    return LayerStrategy(name, layers, "concat" if name.startswith("concat") else "sum")


def combine_layers(outputs: Mapping[str, Any], strategy: str | int | LayerStrategy = "last",
                   dtype: Any = None) -> tf.Tensor:
    """The feature vectors of ``strategy`` from one call of an encoder.

    Args:
        outputs: the encoder's output dict (``embedding_output``, ``encoder_outputs``).
        strategy: a layer strategy (see the module docstring).
        dtype: cast each layer to this dtype before combining (e.g. ``tf.float32`` under mixed
            precision, so sums are not taken in bfloat16).

    Returns:
        ``[batch, seq_length, dim]``: ``dim`` is the hidden size, 4x for ``concat_last_four``.

    Example:
        >>> features = combine_layers(bert.encoder(inputs), "sum_last_four")  # doctest: +SKIP
    """
    layers: Sequence = outputs["encoder_outputs"]
    return parse_layer_strategy(strategy, len(layers))(outputs, dtype=dtype)
