"""Raw text -> WordPiece ids -> packed BERT inputs, in-graph (Google's tokenization rules)."""

from bertzoo.text.preprocessor import BertPreprocessor
from bertzoo.text.vocabulary import Vocabulary
from bertzoo.text.wordpiece_tokenizer import WordPieceTokenizer

__all__ = ["BertPreprocessor", "Vocabulary", "WordPieceTokenizer"]
