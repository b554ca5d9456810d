"""Keras building blocks every family shares: the one attention function, the transformer block,
activations, ``Dense``, LayerNorm and ``ScalarMix``. Imports no family."""

from bertzoo.layers.attention import dot_product_attention
from bertzoo.layers.dense import Dense
from bertzoo.layers.layer_norm import LayerNorm
from bertzoo.layers.scalar_mix import ScalarMix
from bertzoo.layers.transformer_layer import TransformerLayer

__all__ = ["Dense", "LayerNorm", "ScalarMix", "TransformerLayer", "dot_product_attention"]
