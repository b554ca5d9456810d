"""The canonical GPT weight names, and moving weights between them and a ``GPTDecoder``.

Canonical names are OpenAI's GPT-2 variable names without the ``model/`` scope and with the
``[1, in, out]`` convolution kernels squeezed to ``[in, out]``: ``wte``, ``wpe``,
``h{i}/ln_1/g``, ``h{i}/attn/c_attn/w`` ... ``ln_f/b``. Every checkpoint reader translates into
them, so assigning is one function and a missing tensor is named in one place.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

_BLOCK_PARAMETERS = {
    # canonical suffix -> (block attribute, variable: "kernel"/"bias"/"gamma"/"beta")
    "ln_1/g": ("ln_1", "gamma"), "ln_1/b": ("ln_1", "beta"),
    "attn/c_attn/w": ("c_attn", "kernel"), "attn/c_attn/b": ("c_attn", "bias"),
    "attn/c_proj/w": ("attention_projection", "kernel"), "attn/c_proj/b": ("attention_projection", "bias"),
    "ln_2/g": ("ln_2", "gamma"), "ln_2/b": ("ln_2", "beta"),
    "mlp/c_fc/w": ("c_fc", "kernel"), "mlp/c_fc/b": ("c_fc", "bias"),
    "mlp/c_proj/w": ("mlp_projection", "kernel"), "mlp/c_proj/b": ("mlp_projection", "bias"),
}


class MissingWeightError(KeyError):
    """A checkpoint lacks a tensor the decoder needs; the message names it and the file."""

    def __str__(self):
        return str(self.args[0])


def canonical_names(num_layers: int, final_layer_norm: bool) -> list[str]:
    """Every canonical name a decoder of this shape has, in order."""
    names = ["wte", "wpe"]
    for i in range(num_layers):
        names += [f"h{i}/{suffix}" for suffix in _BLOCK_PARAMETERS]
    if final_layer_norm:
        names += ["ln_f/g", "ln_f/b"]
    return names


def _variables(decoder) -> dict:
    variables = {"wte": decoder.embeddings.wte, "wpe": decoder.embeddings.wpe}
    for i, block in enumerate(decoder.blocks):
        for suffix, (attribute, parameter) in _BLOCK_PARAMETERS.items():
            variables[f"h{i}/{suffix}"] = getattr(getattr(block, attribute), parameter)
    if decoder.final_layer_norm is not None:
        variables["ln_f/g"] = decoder.final_layer_norm.gamma
        variables["ln_f/b"] = decoder.final_layer_norm.beta
    return variables


def read_decoder_weights(decoder) -> dict[str, np.ndarray]:
    """The decoder's weights under canonical names."""
    return {name: np.asarray(variable.numpy(), np.float32) for name, variable in _variables(decoder).items()}


def assign_decoder_weights(decoder, weights: Mapping[str, np.ndarray], source: str) -> list[str]:
    """Copies canonical-name ``weights`` into ``decoder``.

    Raises:
        MissingWeightError: naming the first tensor ``source`` lacks.
        ValueError: naming a tensor whose shape differs from the decoder's.

    Returns:
        The names in ``weights`` the decoder does not use.
    """
    variables = _variables(decoder)
    missing = [name for name in variables if name not in weights]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise MissingWeightError(f"{source}: missing tensor {missing[0]!r}{more}; a GPT decoder with "
                                 f"{decoder.num_hidden_layers} layers needs it")
    for name, variable in variables.items():
        value = np.asarray(weights[name], np.float32)
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"{source}: tensor {name!r} has shape {tuple(value.shape)}, the decoder's config "
                             f"expects {tuple(variable.shape)}")
        variable.assign(value)
    return sorted(set(weights) - set(variables))
