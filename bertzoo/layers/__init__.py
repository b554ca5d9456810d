"""Keras building blocks every family shares: the one attention function, the transformer block,
activations, LayerNorm and ``ScalarMix``. Imports no family."""

from bertzoo.layers.attention import dot_product_attention
from bertzoo.layers.layer_norm import LayerNorm
from bertzoo.layers.scalar_mix import ScalarMix
from bertzoo.layers.transformer_layer import TransformerLayer

__all__ = ["LayerNorm", "ScalarMix", "TransformerLayer", "dot_product_attention"]
