"""Pooling contextual vectors: tokens -> one vector per sentence, WordPieces -> one vector per word.

Both run in-graph (TensorFlow ops, ``tf.function``- and XLA-friendly) and compute in float32.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["SENTENCE_POOLING", "WORD_POOLING", "l2_normalize", "pool_sentence", "pool_words"]

SENTENCE_POOLING = ("cls", "mean", "max")
WORD_POOLING = ("first", "mean", "max")


def pool_sentence(sequence: Any, input_mask: Any, pooling: str = "mean") -> tf.Tensor:
    """One vector per row: ``[batch, seq_length, dim]`` -> ``[batch, dim]``.

    The conventions are sentence-transformers' ``Pooling`` module: ``cls`` is the vector at
    position 0 (``[CLS]``); ``mean`` averages the positions where ``input_mask`` is 1 (``[CLS]`` and
    ``[SEP]`` included), dividing by ``max(count, 1e-9)``; ``max`` takes the element-wise maximum
    over them, padding set to -1e9 first.

    Args:
        sequence: ``[batch, seq_length, dim]`` vectors (e.g. a layer strategy's output).
        input_mask: ``[batch, seq_length]``, 1 for real tokens, 0 for padding.
        pooling: ``cls``, ``mean`` or ``max``.

    Example:
        >>> pool_sentence(outputs["sequence_output"], inputs["input_mask"], "mean")  # doctest: +SKIP
    """
    if pooling not in SENTENCE_POOLING:
        raise ValueError(f"unknown sentence pooling {pooling!r}; choose one of {', '.join(SENTENCE_POOLING)}")
    sequence = tf.cast(sequence, tf.float32)
    if pooling == "cls":
        return sequence[:, 0]
    mask = tf.cast(input_mask, tf.float32)[..., tf.newaxis]
    if pooling == "mean":
        return tf.reduce_sum(sequence * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)
    return tf.reduce_max(tf.where(mask > 0, sequence, -1e9), axis=1)


def l2_normalize(vectors: Any, epsilon: float = 1e-12) -> tf.Tensor:
    """``x / max(||x||, epsilon)`` along the last axis (torch's ``F.normalize``, as sentence-transformers)."""
    vectors = tf.cast(vectors, tf.float32)
    return vectors / tf.maximum(tf.norm(vectors, axis=-1, keepdims=True), epsilon)


def pool_words(sequence: Any, word_ids: Any, num_words: Any = None, pooling: str = "first") -> tf.Tensor:
    """One vector per word from its WordPieces, with the word of each position given in-graph.

    Args:
        sequence: ``[seq_length, dim]`` or ``[batch, seq_length, dim]`` WordPiece vectors.
        word_ids: int ``[seq_length]`` or ``[batch, seq_length]``: the index of the word each
            position belongs to, -1 for positions of no word (``[CLS]``, ``[SEP]``, padding).
        num_words: words per row (default: the largest word id + 1).
        pooling: ``first`` (the word's first position in row order: its first WordPiece, the
            BERT paper's NER choice), ``mean`` or ``max`` (element-wise) over its positions.

    Returns:
        float32 ``[num_words, dim]`` or ``[batch, num_words, dim]``; a word with no position gets
        a zero vector.

    Example:
        >>> # "unaffable" -> un ##aff ##able is word 1
        >>> pool_words(tf.reshape(tf.range(10.0), [5, 2]), [-1, 0, 1, 1, 1], pooling="mean")  # doctest: +SKIP
        <tf.Tensor: [[2., 3.], [6., 7.]]>
    """
    if pooling not in WORD_POOLING:
        raise ValueError(f"unknown word pooling {pooling!r}; choose one of {', '.join(WORD_POOLING)}")
    sequence = tf.cast(sequence, tf.float32)
    word_ids = tf.cast(word_ids, tf.int32)
    unbatched = word_ids.shape.rank == 1
    if unbatched:
        sequence, word_ids = sequence[tf.newaxis], word_ids[tf.newaxis]
    if num_words is None:
        num_words = tf.maximum(tf.reduce_max(word_ids) + 1, 0)
    num_words = tf.cast(num_words, tf.int32)
    batch_size, dim = tf.shape(word_ids)[0], tf.shape(sequence)[-1]
    num_segments = batch_size * num_words
    # Segment id = row * num_words + word; positions of no word go to one extra, discarded segment.
    rows = tf.range(batch_size)[:, tf.newaxis]
    segments = tf.where(word_ids >= 0, rows * num_words + word_ids, num_segments)
    segments = tf.reshape(segments, [-1])
    values = tf.reshape(sequence, [-1, dim])
    counts = tf.math.unsorted_segment_sum(tf.ones_like(segments, tf.float32), segments, num_segments + 1)
    present = (counts > 0)[:-1, tf.newaxis]
    if pooling == "mean":
        pooled = tf.math.unsorted_segment_sum(values, segments, num_segments + 1)[:-1]
        pooled = pooled / tf.maximum(counts[:-1, tf.newaxis], 1.0)
    elif pooling == "max":
        pooled = tf.math.unsorted_segment_max(values, segments, num_segments + 1)[:-1]
    else:
        length = tf.shape(segments)[0]
        first = tf.math.unsorted_segment_min(tf.range(length), segments, num_segments + 1)[:-1]
        # Words with no position point past the end, at an appended zero row.
        padded = tf.concat([values, tf.zeros([1, dim], values.dtype)], axis=0)
        pooled = tf.gather(padded, tf.minimum(first, length))
    pooled = tf.where(present, pooled, tf.zeros_like(pooled))
    pooled = tf.reshape(pooled, [batch_size, num_words, dim])
    return pooled[0] if unbatched else pooled
