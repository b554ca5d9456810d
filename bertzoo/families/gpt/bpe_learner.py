"""Learns a GPT-2 style byte-level BPE vocabulary from a corpus (for pretraining from scratch).

Words are cut with GPT-2's own pre-split (``GPT2Tokenizer.pre_tokenize``), spelled in GPT-2's byte
alphabet, and the most frequent adjacent pair is merged until the vocabulary reaches its size (ties
broken by the pair itself, so the result is deterministic). The output is the pair of files OpenAI's
``encoder.json`` / ``vocab.bpe`` hold: 256 byte tokens, the merges in order, ``<|endoftext|>`` last.
"""

from __future__ import annotations

import collections
import os
from typing import Iterable

from bertzoo.families.gpt.bpe_vocabulary import bytes_to_unicode, write_bpe_files

END_OF_TEXT = "<|endoftext|>"


def learn_bpe(texts: Iterable[str], vocab_size: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Returns ``(encoder, merges)`` with ``vocab_size`` entries (256 bytes + merges + end-of-text)."""
    import tensorflow as tf

    from bertzoo.families.gpt.gpt2_tokenizer import GPT2Tokenizer

    if vocab_size < 257:
        raise ValueError(f"vocab_size {vocab_size} is below the 256 byte tokens + <|endoftext|>")
    alphabet = bytes_to_unicode()
    splitter = GPT2Tokenizer({alphabet[b]: b for b in range(256)}, [], special_tokens=[])
    words: collections.Counter = collections.Counter()
    texts = [text for text in texts if text]
    for start in range(0, len(texts), 256):
        pieces = splitter.pre_tokenize(tf.constant(texts[start:start + 256])).flat_values.numpy()
        words.update(tuple(alphabet[b] for b in piece) for piece in pieces)
    encoder = {alphabet[b]: b for b in range(256)}
    merges: list[tuple[str, str]] = []
    vocabulary = dict(words)
    while len(encoder) < vocab_size - 1:
        pairs: collections.Counter = collections.Counter()
        for word, count in vocabulary.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = max(pairs.items(), key=lambda item: (item[1], item[0]))[0]
        merges.append(best)
        encoder[best[0] + best[1]] = len(encoder)
        vocabulary = {_merge(word, best): count for word, count in vocabulary.items()}
    encoder[END_OF_TEXT] = len(encoder)
    return encoder, merges


def _merge(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    merged, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            merged.append(word[i] + word[i + 1])
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return tuple(merged)


def write_learned_bpe(texts: Iterable[str], vocab_size: int, directory: str | os.PathLike) -> None:
    """``learn_bpe`` and write ``encoder.json`` + ``vocab.bpe`` into ``directory``."""
    encoder, merges = learn_bpe(texts, vocab_size)
    write_bpe_files(encoder, merges, directory)
