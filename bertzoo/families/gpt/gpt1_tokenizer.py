"""GPT-1's tokenizer (openai/finetune-transformer-lm ``text_utils.py``), on the host in Python.

The original's steps for each text: ``ftfy.fix_text``; ``text_standardize`` (dashes, ellipsis and
acute accent replaced, runs of ``- ~ ! " ; ? + , ) ( \\ / * [ ] } { | _`` padded with spaces, line
breaks with their surrounding whitespace made `` \\n ``, other whitespace runs one space, stripped);
spaCy's English tokenizer; each token lowercased and byte-pair merged with ``</w>`` on its last
character; ids from ``encoder_bpe_40000.json``, 0 for a merged token it lacks. Fine-tuning appends
``_start_``, ``_delimiter_`` and ``_classify_`` after the encoder's ids.

It runs on the host (not in a TensorFlow graph) because spaCy's tokenizer is a Python loop of
prefix, suffix and infix rules and exceptions. spaCy itself is not used: it is a heavy install and
its rules changed after the 2018 version the original ran with. ``SpacyStyleSplitter`` restates the
English rules that matter after ``text_standardize`` (which already isolates most punctuation):
spaCy 2's whitespace handling (a space after a word is dropped, the rest of a whitespace run is one
token, so a line break becomes the token ``"\\n "``), its prefix/suffix/infix loop with the
punctuation, quote, currency, ellipsis, ``'s`` and period rules, and exceptions for English
contractions (``don't`` -> ``do n't``, ``I'm`` -> ``I 'm``, ``can't`` -> ``ca n't``) and common
abbreviations (``Mr.``, ``e.g.``, ``a.m.``, months). Where it can differ from spaCy 2.0's ``en``:
spaCy's full exception table (about 1,000 entries: apostrophe-less forms such as ``dont``,
emoticons, all US state abbreviations), its URL ``token_match``, units after numbers beyond the
common ones, and letter classes (spaCy 2 listed Latin ranges, here every Unicode letter counts).
``ftfy.fix_text`` runs with NFKC normalisation, the default of the ftfy 5 releases of 2018 (ftfy 6
changed its default to NFC).
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import regex
import tensorflow as tf

from bertzoo.errors import ConfigError

__all__ = ["GPT1Tokenizer", "SpacyStyleSplitter", "text_standardize"]

WORD_END = "</w>"
SPECIAL_TOKENS = ("_start_", "_delimiter_", "_classify_")


def text_standardize(text: str) -> str:
    """finetune-transformer-lm's ``text_standardize``: dash and ellipsis characters replaced,
    listed punctuation runs padded with spaces, whitespace around line breaks made `` \\n ``,
    other whitespace runs one space, the ends stripped."""
    for old, new in (("—", "-"), ("–", "-"), ("―", "-"), ("…", "..."), ("´", "'")):
        text = text.replace(old, new)
    text = re.sub(r"(-+|~+|!+|\"+|;+|\?+|\++|,+|\)+|\(+|\\+|/+|\*+|\[+|\]+|}+|{+|\|+|_+)", r" \1 ", text)
    text = re.sub(r"\s*\n\s*", " \n ", text)
    text = re.sub(r"[^\S\n]+", " ", text)
    return text.strip()


def _alternatives(items: list[str]) -> str:
    return "|".join(items)


_PUNCT = [re.escape(c) for c in "…,:;!?¿¡()[]{}<>_#*&。？！，、；：～·"] + ["……"]
_QUOTES = [re.escape(c) for c in "'\"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉"]
_CURRENCY = [re.escape(c) for c in "$£€¥฿¢"]
_ELLIPSES = [r"\.\.+", "…"]
_UNITS = ["km", "km²", "km³", "m", "m²", "m³", "dm", "cm", "mm", "µm", "nm", "kg", "g", "mg", "lb", "lbs", "oz",
          "mph", "kmh", "kph", "ms", "s", "h", "%", "°C", "°F", "°K"]
_LOWER, _UPPER, _ALPHA = r"\p{Ll}", r"\p{Lu}", r"\p{L}"

_PREFIX = regex.compile(
    "^(?:" + _alternatives(["§", "%", "=", "—", "–", r"\+(?![0-9])"] + _PUNCT + _ELLIPSES + _QUOTES + _CURRENCY) + ")"
)
_SUFFIX = regex.compile(
    "(?:"
    + _alternatives(
        _PUNCT + _ELLIPSES + _QUOTES
        + ["'s", "'S", "’s", "’S", r"(?<=[0-9])\+", r"(?<=°[FfCcKk])\.",
           r"(?<=[0-9])(?:" + _alternatives(_CURRENCY) + ")",
           r"(?<=[0-9])(?:" + _alternatives(_UNITS) + ")",
           rf"(?<=[0-9{_LOWER}%²\-\)\]\+\"'”’])\.",
           rf"(?<=[{_UPPER}0-9|][{_UPPER}])\."]
    )
    + ")$"
)
_INFIX = regex.compile(
    _alternatives(
        _ELLIPSES
        + [r"(?<=[0-9])[+\-\*^](?=[0-9-])",
           rf"(?<=[{_LOWER}])\.(?=[{_UPPER}])",
           rf"(?<=[{_ALPHA}]),(?=[{_ALPHA}])",
           rf"(?<=[{_ALPHA}])[?\";:=,.]*(?:-|--|---|—|–)(?=[{_ALPHA}])",
           rf"(?<=[{_ALPHA}\"])[:<>=/](?=[{_ALPHA}])"]
    )
)


def _case_variants(word: str) -> set[str]:
    return {word, word.capitalize(), word.upper()}


def _english_exceptions() -> dict[str, list[str]]:
    """Contractions and abbreviations spaCy 2's English tokenizer keeps or splits as a whole."""
    exceptions: dict[str, list[str]] = {}

    def add(pieces: list[str]) -> None:
        for apostrophe in ("'", "’"):
            spelled = [p.replace("'", apostrophe) for p in pieces]
            for variant in _case_variants("".join(spelled)):
                # Split the variant at the same places as the lowercase spelling.
                cut, out = 0, []
                for p in spelled:
                    out.append(variant[cut:cut + len(p)])
                    cut += len(p)
                exceptions[variant] = out

    for verb in ("do", "does", "did", "is", "are", "was", "were", "have", "has", "had", "could", "would",
                 "should", "might", "must", "need", "dare", "ca", "wo", "sha", "ai"):
        add([verb, "n't"])
    clitics = {
        "i": ["'m", "'d", "'ll", "'ve"], "you": ["'re", "'d", "'ll", "'ve"], "he": ["'s", "'d", "'ll"],
        "she": ["'s", "'d", "'ll"], "it": ["'s", "'d", "'ll"], "we": ["'re", "'d", "'ll", "'ve"],
        "they": ["'re", "'d", "'ll", "'ve"], "that": ["'s", "'d", "'ll"], "there": ["'s", "'d", "'ll"],
        "here": ["'s"], "what": ["'s", "'re", "'ll", "'ve"], "who": ["'s", "'d", "'ll", "'ve"],
        "where": ["'s"], "how": ["'s", "'d"], "let": ["'s"], "could": ["'ve"], "would": ["'ve"],
        "should": ["'ve"], "might": ["'ve"], "must": ["'ve"],
    }
    for word, endings in clitics.items():
        for ending in endings:
            add([word, ending])
    for word in ("ma'am", "o'clock", "y'all", "'cause", "'em", "'til", "ol'", "rock'n'roll"):
        add([word])
    for abbreviation in ("mr.", "mrs.", "ms.", "dr.", "st.", "jr.", "sr.", "prof.", "gen.", "rep.", "sen.", "gov.",
                         "mt.", "jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.", "sep.", "sept.", "oct.",
                         "nov.", "dec.", "inc.", "ltd.", "co.", "corp.", "vs.", "etc.", "e.g.", "i.e.", "a.m.",
                         "p.m.", "no.", "ph.d.", "u.s.", "u.k.", "n.y.", "d.c."):
        for variant in _case_variants(abbreviation):
            exceptions[variant] = [variant]
    for letter in "abcdefghijklmnopqrstuvwxyz":
        for variant in (letter + ".", letter.upper() + "."):
            exceptions[variant] = [variant]
    return exceptions


class SpacyStyleSplitter:
    """spaCy 2's English tokenizer loop (whitespace, exceptions, prefixes, suffixes, infixes) with
    the rules listed in this module's docstring."""

    def __init__(self):
        self.exceptions = _english_exceptions()

    def split(self, text: str) -> list[str]:
        tokens: list[str] = []
        if not text:
            return tokens
        start, in_space = 0, text[0].isspace()
        for i, char in enumerate(text):
            if char.isspace() != in_space:
                if start < i:
                    tokens.extend(self._split_span(text[start:i]))
                # A single space after a word belongs to the word; other whitespace is a token.
                start = i + 1 if char == " " else i
                in_space = not in_space
        if start < len(text):
            tokens.extend(self._split_span(text[start:]))
        return tokens

    def _split_span(self, span: str) -> list[str]:
        if span.isspace() or span in self.exceptions:
            return list(self.exceptions.get(span, [span]))
        prefixes, suffixes = [], []
        special = None
        last = -1
        while span and len(span) != last:
            if span in self.exceptions:
                special = span
                break
            last = len(span)
            prefix = _PREFIX.search(span)
            pre = prefix.end() if prefix else 0
            if pre and span[pre:] in self.exceptions:
                prefixes.append(span[:pre])
                span = span[pre:]
                special = span
                break
            suffix = _SUFFIX.search(span[pre:])
            suf = len(span[pre:]) - suffix.start() if suffix else 0
            if suf and span[:-suf] in self.exceptions:
                suffixes.append(span[-suf:])
                span = span[:-suf]
                special = span
                break
            if pre and suf and pre + suf <= len(span):
                prefixes.append(span[:pre])
                suffixes.append(span[-suf:])
                span = span[pre:-suf]
            elif pre:
                prefixes.append(span[:pre])
                span = span[pre:]
            elif suf:
                suffixes.append(span[-suf:])
                span = span[:-suf]
            if span in self.exceptions:
                special = span
                break
        middle: list[str] = []
        if special is not None:
            middle = list(self.exceptions[special])
        elif span:
            cut = 0
            for match in _INFIX.finditer(span):
                if match.start() == 0 and match.end() == 0:
                    continue
                if match.start() > cut:
                    middle.append(span[cut:match.start()])
                if match.end() > match.start():
                    middle.append(span[match.start():match.end()])
                cut = match.end()
            if cut < len(span):
                middle.append(span[cut:])
        return prefixes + middle + suffixes[::-1]


class GPT1Tokenizer:
    """Raw strings -> GPT-1 ids as openai/finetune-transformer-lm's ``TextEncoder`` (host-side Python).

    Args:
        encoder: ``encoder_bpe_40000.json``'s contents, token -> id.
        merges: ``vocab_40000.bpe``'s merges in rank order, as (left, right) pairs.
        ftfy_normalization: the Unicode normalisation ``ftfy.fix_text`` applies ("NFKC" as ftfy 5,
            which the original ran with; None skips ftfy entirely).

    Example:
    >>> tokenizer = GPT1Tokenizer.from_files("encoder_bpe_40000.json", "vocab_40000.bpe")  # doctest: +SKIP
    >>> tokenizer.encode("Hello, world!")  # doctest: +SKIP
    """

    def __init__(self, encoder: dict[str, int], merges: list[tuple[str, str]], ftfy_normalization: str | None = "NFKC"):
        if not isinstance(encoder, dict) or not encoder:
            raise ConfigError("GPT1Tokenizer: encoder must be a non-empty dict of token -> id (encoder_bpe_40000.json)")
        self.encoder = {str(t): int(i) for t, i in encoder.items()}
        self.merges = []
        for number, merge in enumerate(merges):
            parts = merge.split() if isinstance(merge, str) else list(merge)
            if len(parts) != 2:
                raise ConfigError(f"GPT1Tokenizer: merge {number} must be two tokens, got {merge!r}")
            self.merges.append((parts[0], parts[1]))
        # A repeated merge takes its last rank, as the original's dict(zip(merges, range(len(merges)))).
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        self.ftfy_normalization = ftfy_normalization
        self.splitter = SpacyStyleSplitter()
        base = len(self.encoder)
        self.start_id, self.delimiter_id, self.classify_id = base, base + 1, base + 2
        self.decoder = {i: t for t, i in self.encoder.items()}
        for name, i in zip(SPECIAL_TOKENS, (self.start_id, self.delimiter_id, self.classify_id)):
            self.decoder[i] = name
        self._cache: dict[str, list[str]] = {}

    @classmethod
    def from_files(cls, encoder_bpe_40000_json: str | os.PathLike, vocab_40000_bpe: str | os.PathLike, **kwargs) -> "GPT1Tokenizer":
        """A tokenizer from the original's two files. As the original, the first and the last line
        of the merges file are skipped (a ``#version`` line and the empty string after the final
        newline)."""
        path = os.fspath(encoder_bpe_40000_json)
        try:
            with open(path, encoding="utf-8") as f:
                encoder = json.load(f)
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file (GPT-1's encoder_bpe_40000.json)") from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}: not valid JSON ({e})") from None
        merges_path = os.fspath(vocab_40000_bpe)
        try:
            with open(merges_path, encoding="utf-8") as f:
                lines = f.read().split("\n")[1:-1]
        except FileNotFoundError:
            raise ConfigError(f"{merges_path}: no such file (GPT-1's vocab_40000.bpe)") from None
        merges = []
        for number, line in enumerate(lines, start=2):
            parts = line.split()
            if len(parts) != 2:
                raise ConfigError(f"{merges_path}, line {number}: expected two tokens separated by a space, got {line!r}")
            merges.append((parts[0], parts[1]))
        return cls(encoder, merges, **kwargs)

    @property
    def vocabulary_size(self) -> int:
        """The encoder's size plus the three fine-tuning tokens (40481 for GPT-1's 40478)."""
        return len(self.encoder) + len(SPECIAL_TOKENS)

    # -- steps -------------------------------------------------------------------------------------

    def normalize(self, text: str) -> str:
        """``ftfy.fix_text`` then ``text_standardize``."""
        if self.ftfy_normalization is not None:
            import ftfy

            text = ftfy.fix_text(text, normalization=self.ftfy_normalization)
        return text_standardize(text)

    def pre_tokenize(self, text: str) -> list[str]:
        """The words BPE sees: normalised, split spaCy-style, lowercased."""
        return [token.lower() for token in self.splitter.split(self.normalize(text))]

    def bpe(self, word: str) -> list[str]:
        """The original's ``bpe``: the word's characters, the last with ``</w>``, merged by rank."""
        if word in self._cache:
            return self._cache[word]
        if not word:
            raise ValueError("GPT1Tokenizer.bpe: empty word (the original fails on it too)")
        symbols = list(word[:-1]) + [word[-1] + WORD_END]
        while len(symbols) > 1:
            pairs = [(self.ranks[p], i) for i, p in enumerate(zip(symbols, symbols[1:])) if p in self.ranks]
            if not pairs:
                break
            best = min(pairs)[0]
            left, right = self.merges[best]
            merged, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == left and symbols[i + 1] == right:
                    merged.append(left + right)
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        # As the original: the symbols joined with spaces (one special case for spaCy's "\n " token),
        # then split on spaces again, which splits any symbol holding a space.
        joined = " ".join(symbols)
        if joined == "\n  " + WORD_END:
            joined = "\n" + WORD_END
        pieces = joined.split(" ")
        self._cache[word] = pieces
        return pieces

    def encode(self, text: str) -> list[int]:
        """One text -> ids (0 for a merged token the encoder lacks, as the original)."""
        return [self.encoder.get(piece, 0) for word in self.pre_tokenize(text) for piece in self.bpe(word)]

    def decode(self, ids) -> str:
        """Ids -> text: tokens joined, ``</w>`` read as a space (lowercased, spaCy-split text)."""
        pieces = []
        for i in np.asarray(ids).reshape([-1]).tolist():
            if i not in self.decoder:
                raise KeyError(f"id {i} is not in the GPT-1 vocabulary (size {self.vocabulary_size})")
            pieces.append(self.decoder[i] + (WORD_END if i >= len(self.encoder) else ""))
        return "".join(pieces).replace(WORD_END, " ").strip()

    def __call__(self, texts) -> tf.RaggedTensor:
        """A list of texts -> int32 ids ``[batch, (tokens)]``."""
        if isinstance(texts, str):
            raise TypeError("GPT1Tokenizer expected a list of texts; use encode() for one string")
        if isinstance(texts, (tf.Tensor, np.ndarray)):
            texts = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in np.asarray(texts).reshape([-1]).tolist()]
        return tf.ragged.constant([self.encode(t) for t in texts], dtype=tf.int32, ragged_rank=1)
