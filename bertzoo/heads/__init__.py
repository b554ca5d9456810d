"""Heads: contextual vectors -> task outputs. Each head takes the encoder contract's outputs."""

from bertzoo.heads.classification_head import ClassificationHead
from bertzoo.heads.masked_lm_head import MaskedLMHead
from bertzoo.heads.next_sentence_head import NextSentenceHead
from bertzoo.heads.span_head import SpanHead
from bertzoo.heads.tagging_head import TaggingHead

__all__ = ["ClassificationHead", "MaskedLMHead", "NextSentenceHead", "SpanHead", "TaggingHead"]
