"""ULMFiT's text processing as fastai does it: its rules, word splitting, and the ``itos`` vocabulary.

fastai (v2, ``fastai/text/core.py``) applies string rules, then spaCy's English tokenizer:
``fix_html``, ``replace_rep`` (``cccc`` -> ``xxrep 4 c``), ``replace_wrep`` (``a a a`` -> ``xxwrep 3 a``),
``spec_add_spaces`` (spaces around ``/``, ``#``, ``\\``), ``rm_useless_spaces``, ``replace_all_caps``
(``HELLO`` -> ``xxup hello``), ``replace_maj`` (``Hello`` -> ``xxmaj hello``), ``lowercase`` (with
``xxbos`` in front). The rules are reproduced exactly. spaCy itself is not a dependency: words are
split by ``split_words``, which follows spaCy's English rules for ordinary prose (punctuation split
off, contractions ``n't 's 're 've 'll 'd 'm`` as their own tokens, special tokens kept whole) and
can differ on URLs, emoticons and abbreviations with inner periods.

It runs on the host (Python), like fastai's; the preprocessor turns its ids into the encoder's
fixed-length inputs.
"""

from __future__ import annotations

import collections
import html
import re
from collections.abc import Iterable, Sequence

import numpy as np
import tensorflow as tf

UNK, PAD, BOS, EOS, FLD, TK_REP, TK_WREP, TK_UP, TK_MAJ = "xxunk xxpad xxbos xxeos xxfld xxrep xxwrep xxup xxmaj".split()
SPECIAL_TOKENS = [UNK, PAD, BOS, EOS, FLD, TK_REP, TK_WREP, TK_UP, TK_MAJ]

_SPECIAL = re.compile(r"(/|#|\\)")
_SPACES = re.compile(" {2,}")
_CHARACTER_REPEAT = re.compile(r"(\S)(\1{2,})")
_WORD_REPEAT = re.compile(r"(?:\s|^)(\w+)\s+((?:\1\s+)+)\1(\s|\W|$)")
_ALL_CAPS = re.compile(r"(\s|^)([A-Z]+[^a-z\s]*)(?=(\s|$))")
_CAPITALISED = re.compile(r"(\s|^)([A-Z][^A-Z\s]*)(?=(\s|$))")


def fix_html(text: str) -> str:
    """fastai's clean-up of HTML entities and WikiText markup."""
    text = (text.replace("#39;", "'").replace("amp;", "&").replace("#146;", "'").replace("nbsp;", " ")
            .replace("#36;", "$").replace("\\n", "\n").replace("quot;", "'").replace("<br />", "\n")
            .replace('\\"', '"').replace("<unk>", UNK).replace(" @.@ ", ".").replace(" @-@ ", "-")
            .replace("...", " …"))
    return html.unescape(text)


def replace_rep(text: str) -> str:
    """A character repeated 3+ times: ``cccc`` -> `` xxrep 4 c ``."""
    return _CHARACTER_REPEAT.sub(lambda m: f" {TK_REP} {len(m.group(2)) + 1} {m.group(1)} ", text)


def replace_wrep(text: str) -> str:
    """A word repeated 3+ times: ``w w w w`` -> `` xxwrep 4 w ``."""
    return _WORD_REPEAT.sub(lambda m: f" {TK_WREP} {len(m.group(2).split()) + 2} {m.group(1)} {m.group(3)}", text)


def spec_add_spaces(text: str) -> str:
    return _SPECIAL.sub(r" \1 ", text)


def rm_useless_spaces(text: str) -> str:
    return _SPACES.sub(" ", text)


def replace_all_caps(text: str) -> str:
    """``HELLO`` -> ``xxup hello`` (single capitals are only lowercased)."""
    def replace(m):
        marker = f"{TK_UP} " if len(m.group(2)) > 1 else ""
        return f"{m.group(1)}{marker}{m.group(2).lower()}"
    return _ALL_CAPS.sub(replace, text)


def replace_maj(text: str) -> str:
    """``Hello`` -> ``xxmaj hello``."""
    def replace(m):
        marker = f"{TK_MAJ} " if len(m.group(2)) > 1 else ""
        return f"{m.group(1)}{marker}{m.group(2).lower()}"
    return _CAPITALISED.sub(replace, text)


def lowercase(text: str, add_bos: bool = True) -> str:
    return (f"{BOS} " if add_bos else "") + text.lower().strip()


RULES = (fix_html, replace_rep, replace_wrep, spec_add_spaces, rm_useless_spaces, replace_all_caps, replace_maj,
         lowercase)

_PREFIXES = "\"'([{`«‘“¿¡*$£€"
_SUFFIXES = "\"')]}»’”!?,.;:%*…"
_CONTRACTIONS = ("n't", "'s", "'re", "'ve", "'ll", "'d", "'m", "’s", "n’t")


def split_words(text: str) -> list[str]:
    """Whitespace-separated chunks with leading/trailing punctuation and English contractions split off."""
    tokens: list[str] = []
    for chunk in text.split():
        if chunk in SPECIAL_TOKENS or chunk.lower() in _CONTRACTIONS:
            tokens.append(chunk)
            continue
        prefix: list[str] = []
        while len(chunk) > 1 and chunk[0] in _PREFIXES:
            prefix.append(chunk[0])
            chunk = chunk[1:]
        suffix: list[str] = []
        while len(chunk) > 1 and chunk[-1] in _SUFFIXES:
            suffix.insert(0, chunk[-1])
            chunk = chunk[:-1]
        lowered = chunk.lower()
        for contraction in _CONTRACTIONS:
            if lowered.endswith(contraction) and len(chunk) > len(contraction):
                suffix.insert(0, chunk[-len(contraction):])
                chunk = chunk[:-len(contraction)]
                break
        tokens.extend(prefix + [chunk] + suffix)
    return tokens


def tokenize(text: str) -> list[str]:
    """fastai's rules, then the word split: ``"Hello WORLD"`` -> ``[xxbos, xxmaj, hello, xxup, world]``."""
    for rule in RULES:
        text = rule(text)
    return split_words(text)


def make_vocabulary(texts: Iterable[str], min_freq: int = 3, max_vocab: int = 60000) -> list[str]:
    """fastai's ``make_vocab``: special tokens first, then words by frequency (at least ``min_freq``),
    at most ``max_vocab``, padded to a multiple of 8 with ``xxfake`` entries."""
    counts = collections.Counter(token for text in texts for token in tokenize(text))
    words = [token for token, count in counts.most_common(max_vocab) if count >= min_freq]
    vocabulary = SPECIAL_TOKENS + [token for token in words if token not in SPECIAL_TOKENS]
    vocabulary = vocabulary[:max_vocab]
    while len(vocabulary) % 8:
        vocabulary.append("xxfake")
    return vocabulary


class AwdLstmTokenizer:
    """Text -> fastai tokens -> ids of an ``itos`` vocabulary (unknown words -> ``xxunk``).

    Args:
        vocabulary: ``itos``, the token of each id; must hold ``xxunk`` and ``xxpad``.
    """

    def __init__(self, vocabulary: Sequence[str]):
        self.vocabulary = list(vocabulary)
        missing = [token for token in (UNK, PAD) if token not in self.vocabulary]
        if missing:
            raise ValueError(f"an AWD-LSTM vocabulary needs the special tokens {missing}")
        self.token_to_id = {}
        for index, token in enumerate(self.vocabulary):
            self.token_to_id.setdefault(token, index)
        self.unk_id = self.token_to_id[UNK]
        self.pad_id = self.token_to_id[PAD]

    @property
    def vocabulary_size(self) -> int:
        return len(self.vocabulary)

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text)

    def encode(self, text: str) -> list[int]:
        return [self.token_to_id.get(token, self.unk_id) for token in tokenize(text)]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.vocabulary[int(i)] for i in ids if int(i) != self.pad_id)

    def __call__(self, texts: Sequence[str]) -> tf.RaggedTensor:
        return tf.ragged.constant([self.encode(text) for text in texts], dtype=tf.int32, ragged_rank=1)


class AwdLstmPreprocessor:
    """Raw strings -> the encoder contract's inputs, ``[batch, seq_length]``, right-padded with ``xxpad``.

    A text longer than ``seq_length`` tokens keeps its first ``seq_length`` (``xxbos`` included).
    ``input_type_ids`` are zeros (one segment). A pair ``(texts_a, texts_b)`` is joined with fastai's
    field marker, ``xxfld 2``, as fastai joins several text columns.
    """

    def __init__(self, tokenizer: AwdLstmTokenizer, seq_length: int = 128):
        if seq_length < 2:
            raise ValueError(f"seq_length must be at least 2, got {seq_length}")
        self.tokenizer = tokenizer
        self.seq_length = int(seq_length)

    def __call__(self, texts) -> dict[str, np.ndarray]:
        if isinstance(texts, tuple) and len(texts) == 2:
            texts = [f"{a} {FLD} 2 {b}" for a, b in zip(_as_strings(texts[0]), _as_strings(texts[1]))]
        texts = _as_strings(texts)
        ids = np.full((len(texts), self.seq_length), self.tokenizer.pad_id, dtype=np.int32)
        mask = np.zeros((len(texts), self.seq_length), dtype=np.int32)
        for row, text in enumerate(texts):
            encoded = self.tokenizer.encode(text)[: self.seq_length]
            ids[row, : len(encoded)] = encoded
            mask[row, : len(encoded)] = 1
        return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": np.zeros_like(ids)}


def _as_strings(texts) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, (tf.Tensor, np.ndarray)):
        texts = np.asarray(texts).reshape(-1).tolist()
    return [text.decode("utf-8") if isinstance(text, bytes) else str(text) for text in texts]
