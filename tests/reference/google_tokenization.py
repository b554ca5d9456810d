"""An independent pure-Python statement of Google's BERT tokenization rules.

Written from the rules of google-research/bert's ``tokenization.py`` (BasicTokenizer,
WordpieceTokenizer, ``load_vocab``) and ``run_classifier.py`` (``_truncate_seq_pair`` and the
``[CLS] a [SEP] b [SEP]`` packing), so the in-graph pipeline of ``bertzoo.text`` can be tested
against the rules rather than against another library. Only used by the tests.

Character categories come from Python's ``unicodedata`` (Unicode 14.0 on Python 3.11).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def to_text(text: str | bytes) -> str:
    """Decodes bytes as UTF-8 dropping invalid bytes, as Google's ``convert_to_unicode``."""
    if isinstance(text, bytes):
        return text.decode("utf-8", "ignore")
    return text


def is_whitespace(char: str) -> bool:
    """Space, tab, newline, carriage return, or Unicode category Zs."""
    if char in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(char) == "Zs"


def is_control(char: str) -> bool:
    """Category Cc or Cf, except tab, newline and carriage return (those are whitespace)."""
    if char in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def is_punctuation(char: str) -> bool:
    """ASCII non-alphanumeric printable characters, or any Unicode category P*."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_chinese_char(cp: int) -> bool:
    """Whether a code point lies in one of the CJK ideograph blocks Google splits on."""
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


class BasicTokenizer:
    """Cleaning, CJK splitting, lowercasing, accent stripping and punctuation splitting.

    Args:
        do_lower_case: lowercase every token with Python's ``str.lower``.
        strip_accents: NFD-decompose and drop category Mn; None means "same as do_lower_case".
        tokenize_chinese_chars: surround every CJK ideograph with spaces.
    """

    def __init__(
        self,
        do_lower_case: bool = True,
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
    ):
        self.do_lower_case = do_lower_case
        self.strip_accents = do_lower_case if strip_accents is None else strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars

    def tokenize(self, text: str | bytes) -> list[str]:
        text = self._clean_text(to_text(text))
        if self.tokenize_chinese_chars:
            text = self._tokenize_chinese_chars(text)
        split_tokens = []
        for token in text.split():
            if self.do_lower_case:
                token = token.lower()
            if self.strip_accents:
                token = self._run_strip_accents(token)
            split_tokens.extend(self._run_split_on_punc(token))
        return " ".join(split_tokens).split()

    @staticmethod
    def _run_strip_accents(text: str) -> str:
        text = unicodedata.normalize("NFD", text)
        return "".join(c for c in text if unicodedata.category(c) != "Mn")

    @staticmethod
    def _run_split_on_punc(text: str) -> list[str]:
        output: list[list[str]] = []
        start_new_word = True
        for char in text:
            if is_punctuation(char):
                output.append([char])
                start_new_word = True
            else:
                if start_new_word:
                    output.append([])
                start_new_word = False
                output[-1].append(char)
        return ["".join(x) for x in output]

    @staticmethod
    def _tokenize_chinese_chars(text: str) -> str:
        out = []
        for char in text:
            if is_chinese_char(ord(char)):
                out.extend((" ", char, " "))
            else:
                out.append(char)
        return "".join(out)

    @staticmethod
    def _clean_text(text: str) -> str:
        out = []
        for char in text:
            cp = ord(char)
            if cp == 0 or cp == 0xFFFD or is_control(char):
                continue
            out.append(" " if is_whitespace(char) else char)
        return "".join(out)


class WordpieceTokenizer:
    """Greedy longest-match-first WordPiece with a ``##`` continuation prefix.

    Args:
        vocab: token -> id mapping.
        unk_token: what a word becomes when any of its pieces cannot be matched.
        max_input_chars_per_word: longer words (in characters) become ``unk_token``.
    """

    def __init__(
        self, vocab: dict[str, int], unk_token: str = "[UNK]", max_input_chars_per_word: int = 200
    ):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word

    def tokenize_word(self, word: str) -> list[str]:
        chars = list(word)
        if len(chars) > self.max_input_chars_per_word:
            return [self.unk_token]
        pieces = []
        start = 0
        while start < len(chars):
            end = len(chars)
            match = None
            while start < end:
                piece = "".join(chars[start:end])
                if start > 0:
                    piece = "##" + piece
                if piece in self.vocab:
                    match = piece
                    break
                end -= 1
            if match is None:
                return [self.unk_token]
            pieces.append(match)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        return [p for word in text.split() for p in self.tokenize_word(word)]


def load_vocab(path) -> dict[str, int]:
    """One token per line, ``line.strip()``, id = line number (a repeated token keeps its last id)."""
    vocab: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for index, line in enumerate(f):
            vocab[line.strip()] = index
    return vocab


class FullTokenizer:
    """BasicTokenizer then WordpieceTokenizer on each word."""

    def __init__(
        self,
        vocab: dict[str, int],
        do_lower_case: bool,
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
        max_input_chars_per_word: int = 200,
    ):
        self.vocab = vocab
        self.basic = BasicTokenizer(do_lower_case, strip_accents, tokenize_chinese_chars)
        self.wordpiece = WordpieceTokenizer(vocab, max_input_chars_per_word=max_input_chars_per_word)

    def tokenize_words(self, text: str | bytes) -> list[list[str]]:
        return [self.wordpiece.tokenize_word(w) for w in self.basic.tokenize(text)]

    def tokenize(self, text: str | bytes) -> list[str]:
        return [p for word in self.tokenize_words(text) for p in word]

    def ids(self, text: str | bytes) -> list[int]:
        return [self.vocab[p] for p in self.tokenize(text)]


def truncate_seq_pair(tokens_a: list, tokens_b: list, max_length: int) -> None:
    """Pops from the end of the longer list (the second on a tie) until both fit, in place."""
    while len(tokens_a) + len(tokens_b) > max_length:
        if len(tokens_a) > len(tokens_b):
            tokens_a.pop()
        else:
            tokens_b.pop()


def pack(
    tokens_a: Sequence[int],
    tokens_b: Sequence[int] | None,
    seq_length: int,
    *,
    cls_id: int,
    sep_id: int,
    pad_id: int,
) -> tuple[list[int], list[int], list[int]]:
    """``[CLS] a [SEP] (b [SEP])`` truncated and padded to seq_length.

    Returns:
        (input_word_ids, input_mask, input_type_ids).
    """
    tokens_a = list(tokens_a)
    tokens_b = None if tokens_b is None else list(tokens_b)
    if tokens_b is not None:
        truncate_seq_pair(tokens_a, tokens_b, seq_length - 3)
    else:
        tokens_a = tokens_a[: seq_length - 2]
    ids = [cls_id] + tokens_a + [sep_id]
    types = [0] * len(ids)
    if tokens_b is not None:
        ids += tokens_b + [sep_id]
        types += [1] * (len(tokens_b) + 1)
    mask = [1] * len(ids)
    padding = seq_length - len(ids)
    return ids + [pad_id] * padding, mask + [0] * padding, types + [0] * padding
