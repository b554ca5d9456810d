"""Heads: contextual vectors -> task outputs, for the encoder contract of every family.

``DenseHead`` (dropout + one dense layer on the last axis) serves classification on
``pooled_output``, tagging on ``sequence_output`` and multiple-choice scores; ``SpanHead`` gives
answer-span start/end logits. Imports shared layers only; never a family, models, training or recipes.
"""

from bertzoo.heads.dense_head import DenseHead
from bertzoo.heads.span_head import SpanHead

__all__ = ["DenseHead", "SpanHead"]
