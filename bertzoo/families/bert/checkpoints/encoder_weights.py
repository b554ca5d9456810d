"""Puts canonical weights (Google's names, TF layouts) into a BertEncoder, and reads them back out.

One function serves every checkpoint format: each reader translates its names into the canonical
ones, and ``assign_encoder_weights`` checks that every encoder weight is present with the right
shape before changing anything, so a failed load never leaves a half-loaded encoder.
"""

from __future__ import annotations

import logging
from typing import Mapping

import numpy as np

from bertzoo.families.bert.bert_encoder import BertEncoder
from bertzoo.families.bert.checkpoints.weight_names import LAYER_NAME_TEMPLATES

logger = logging.getLogger(__name__)


class WeightMismatchError(ValueError):
    """A checkpoint lacks an encoder weight or holds one of the wrong shape; the message names it."""


def encoder_variables(encoder: BertEncoder) -> dict[str, "keras.Variable"]:  # noqa: F821
    """Canonical name -> the encoder's variable, for every weight of the encoder."""
    embeddings = encoder.embeddings
    variables = {
        "bert/embeddings/word_embeddings": embeddings.word_embeddings,
        "bert/embeddings/token_type_embeddings": embeddings.token_type_embeddings,
        "bert/embeddings/position_embeddings": embeddings.position_embeddings,
        "bert/embeddings/LayerNorm/gamma": embeddings.layer_norm.gamma,
        "bert/embeddings/LayerNorm/beta": embeddings.layer_norm.beta,
    }
    for i, layer in enumerate(encoder.transformer_layers):
        sources = (
            layer.query_dense.kernel, layer.query_dense.bias,
            layer.key_dense.kernel, layer.key_dense.bias,
            layer.value_dense.kernel, layer.value_dense.bias,
            layer.attention_output_dense.kernel, layer.attention_output_dense.bias,
            layer.attention_layer_norm.gamma, layer.attention_layer_norm.beta,
            layer.intermediate_dense.kernel, layer.intermediate_dense.bias,
            layer.output_dense.kernel, layer.output_dense.bias,
            layer.output_layer_norm.gamma, layer.output_layer_norm.beta,
        )
        for template, variable in zip(LAYER_NAME_TEMPLATES, sources, strict=True):
            variables[template.format(i=i)] = variable
    variables["bert/pooler/dense/kernel"] = encoder.pooler.kernel
    variables["bert/pooler/dense/bias"] = encoder.pooler.bias
    return variables


def assign_encoder_weights(encoder: BertEncoder, weights: Mapping[str, np.ndarray], source: str,
                           allow_missing_pooler: bool = False) -> list[str]:
    """Assigns canonical ``weights`` to ``encoder``; returns the names the encoder did not use.

    Args:
        encoder: the encoder to fill.
        weights: canonical name -> array.
        source: the checkpoint's path, named in errors.
        allow_missing_pooler: keep the pooler's random initialisation when the checkpoint has no
            pooler (some Hugging Face exports drop it); a warning says so.

    Raises:
        WeightMismatchError: a weight is missing or has the wrong shape (all such are listed).
    """
    variables = encoder_variables(encoder)
    missing = [name for name in variables if name not in weights]
    if allow_missing_pooler and missing and all(name.startswith("bert/pooler/") for name in missing):
        logger.warning("%s has no pooler weights: pooled_output uses a randomly initialised pooler", source)
        for name in missing:
            del variables[name]
        missing = []
    wrong_shapes = [
        f"{name}: checkpoint {tuple(np.shape(weights[name]))}, encoder expects {tuple(variable.shape)}"
        for name, variable in variables.items()
        if name in weights and tuple(np.shape(weights[name])) != tuple(variable.shape)
    ]
    if missing or wrong_shapes:
        problems = []
        if missing:
            problems.append("missing weights: " + ", ".join(missing))
        if wrong_shapes:
            problems.append("wrong shapes: " + "; ".join(wrong_shapes))
        raise WeightMismatchError(f"{source}: cannot load into this encoder ({' | '.join(problems)})")
    for name, variable in variables.items():
        variable.assign(np.asarray(weights[name], dtype=variable.dtype))
    return sorted(name for name in weights if name not in variables)


def read_encoder_weights(encoder: BertEncoder) -> dict[str, np.ndarray]:
    """The encoder's weights under canonical names, as float32 numpy arrays."""
    return {name: np.asarray(variable.numpy(), dtype=np.float32)
            for name, variable in encoder_variables(encoder).items()}
