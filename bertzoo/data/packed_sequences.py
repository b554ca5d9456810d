"""Packed language-model sequences: a corpus's token stream cut into fixed windows (no padding).

Documents (separated by blank lines in a text file) are tokenized, each followed by the end-of-text
token, concatenated, and cut into windows of ``seq_length + 1`` tokens: a window's first
``seq_length`` tokens are the inputs and its last ``seq_length`` the next-token labels, as GPT-2 was
trained. Every position is real, so shapes are static and no compute goes to padding.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable, Sequence

import numpy as np
import tensorflow as tf


def read_documents(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Documents of text files: blocks separated by blank lines, lines joined with newlines."""
    documents = []
    for path in paths:
        with tf.io.gfile.GFile(os.fspath(path), "r") as f:
            text = f.read()
        documents += [block.strip("\n") for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]
    return documents


def token_stream(documents: Iterable[str], encode: Callable[[list[str]], list[list[int]]], end_id: int) -> np.ndarray:
    """Every document's ids followed by ``end_id``, concatenated (``encode`` takes a batch of strings)."""
    documents = list(documents)
    rows = encode(documents) if documents else []
    return np.asarray([i for row in rows for i in list(row) + [end_id]], np.int32)


def pack_windows(stream: np.ndarray, seq_length: int) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs [n, seq_length], labels [n, seq_length])`` from consecutive windows of the stream."""
    count = (len(stream) - 1) // seq_length
    if count < 1:
        raise ValueError(f"the corpus has {len(stream)} tokens, fewer than one window of {seq_length} + 1")
    inputs = stream[: count * seq_length].reshape(count, seq_length)
    labels = stream[1: count * seq_length + 1].reshape(count, seq_length)
    return inputs, labels


def packed_dataset(inputs: np.ndarray, labels: np.ndarray, global_batch_size: int, *, shuffle: bool = True,
                   repeat: bool = True, seed: int = 0) -> tf.data.Dataset:
    """``(features, labels)`` batches for the trainer and ``GPTCausalLM`` / ``causal_lm_loss_terms``."""
    if len(inputs) < global_batch_size:
        raise ValueError(f"{len(inputs)} windows are fewer than one batch of {global_batch_size}: use a smaller "
                         "batch, a shorter seq_length or a larger corpus")
    features = {"input_word_ids": inputs, "input_mask": np.ones_like(inputs)}
    targets = {"next_token_ids": labels, "weights": np.ones(labels.shape, np.float32)}
    dataset = tf.data.Dataset.from_tensor_slices((features, targets))
    if shuffle:
        dataset = dataset.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(global_batch_size, drop_remainder=True).prefetch(2)
