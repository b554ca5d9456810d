"""The encoder's activations, by bertzoo's unambiguous names (see ``bertzoo.families.bert.bert_config.ACTIVATIONS``)."""

from __future__ import annotations

from typing import Callable

import keras


def gelu_erf(x):
    """Exact GELU, x * Phi(x) (Hugging Face's ``gelu``)."""
    return keras.activations.gelu(x, approximate=False)


def gelu_tanh(x):
    """The tanh approximation of GELU (Google's ``gelu``, Hugging Face's ``gelu_new``)."""
    return keras.activations.gelu(x, approximate=True)


_ACTIVATIONS: dict[str, Callable] = {
    "gelu_erf": gelu_erf,
    "gelu_tanh": gelu_tanh,
    "relu": keras.activations.relu,
    "silu": keras.activations.silu,
}


def get_activation(name: str) -> Callable:
    """The function for one of bertzoo's activation names."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; bertzoo's activations are {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]
