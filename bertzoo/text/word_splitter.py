"""Raw text -> words with character offsets, at the word boundaries of Google's BasicTokenizer.

A tagger predicts one tag per word; to report an entity as a span of the raw text, each word must
keep where it came from. ``WordPieceTokenizer`` runs in-graph and forgets offsets, so this is a
small pure-Python splitter with Google's boundary rules (google-research/bert ``tokenization.py``):

- whitespace separates words: space, tab, newline, return, category Zs, and anything else
  Python's ``str.split`` splits on that is not a control character (U+2028, U+2029);
- each punctuation character (``_is_punctuation``: ASCII 33-47, 58-64, 91-96, 123-126, or a
  category P*) is a word of its own; symbols (S*, e.g. ``€``, ``©``) are not punctuation;
- each CJK ideograph (``_is_chinese_char``) is a word of its own;
- the characters ``_clean_text`` drops (NUL, U+FFFD, Cc/Cf other than tab, newline and return)
  neither separate words nor start or end one: ``"a\\x07b"`` is the single word ``a\\x07b``
  (``text[start:end]`` keeps the control; the tokenizer drops it), a word never begins or ends
  with one, and a run of them alone is no word.

Words are not lowercased or accent-stripped: ``Word.text`` is always ``text[start:end]``. Google's
accent stripping (NFD) can turn a rare non-punctuation character into punctuation (U+1FEF, Greek
varia, becomes a backquote), so the tokenizer may split such a word further; ``encode_tagged_sentences``
gives every piece of a word to that word, so alignment never depends on the two agreeing.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

from bertzoo.text.basic_normalizer import CJK_RANGES

__all__ = ["Word", "split_words"]


class Word(NamedTuple):
    """One word and its character span ``[start, end)`` in the text it came from."""

    text: str
    start: int
    end: int


def _is_control(char: str) -> bool:
    """What Google's ``_clean_text`` removes: NUL, U+FFFD, and Cc/Cf except tab, newline, return."""
    if char in "\t\n\r":
        return False
    return char in "\x00\ufffd" or unicodedata.category(char) in ("Cc", "Cf")


def _is_whitespace(char: str) -> bool:
    """Google's whitespace (``\\t\\n\\r``, space, Zs) and what ``str.split`` also splits on."""
    return char.isspace() or unicodedata.category(char) == "Zs"


def _is_punctuation(char: str) -> bool:
    """Google's ``_is_punctuation``: ASCII non-alphanumeric symbols, or any category P*."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(char: str) -> bool:
    """Google's ``_is_chinese_char``: a CJK ideograph (not Hangul, kana or CJK punctuation)."""
    cp = ord(char)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def split_words(text: str) -> list[Word]:
    """Splits raw text into words at BasicTokenizer boundaries, keeping character offsets.

    Args:
        text: the raw text (a Python ``str``).

    Returns:
        The words in order; ``text[w.start:w.end] == w.text`` for each.

    Example:
        >>> [w.text for w in split_words("Mr. O'Neil  lives in 東京.")]
        ['Mr', '.', 'O', "'", 'Neil', 'lives', 'in', '東', '京', '.']
        >>> split_words("U.S.")[1]
        Word(text='.', start=1, end=2)
    """
    if not isinstance(text, str):
        raise TypeError(f"split_words expected a str, got {type(text).__name__}.")
    words: list[Word] = []
    start = end = -1  # the current word is text[start:end]; start < 0 when there is none

    def flush() -> None:
        nonlocal start
        if start >= 0:
            words.append(Word(text[start:end], start, end))
            start = -1

    for index, char in enumerate(text):
        if _is_control(char):
            continue  # neither a boundary nor part of a word's ends
        if _is_whitespace(char):
            flush()
        elif _is_punctuation(char) or _is_cjk(char):
            flush()
            words.append(Word(char, index, index + 1))
        else:
            if start < 0:
                start = index
            end = index + 1
    flush()
    return words
