"""Heads: contextual vectors -> task outputs, for the encoder contract of every family.

Imports shared layers only; never a family, models, training or recipes.
"""

from bertzoo.heads.classification_head import ClassificationHead
from bertzoo.heads.span_head import SpanHead
from bertzoo.heads.tagging_head import TaggingHead

__all__ = ["ClassificationHead", "SpanHead", "TaggingHead"]
