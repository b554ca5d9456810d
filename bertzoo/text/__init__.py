"""Text utilities every family shares: Google's basic normalisation (in-graph), word splitting with
offsets, and vocabularies. Imports no family."""

from bertzoo.text.vocabulary import Vocabulary

__all__ = ["Vocabulary"]
