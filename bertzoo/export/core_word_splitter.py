"""Raw strings -> words with code-point offsets, as ``split_words`` splits them, in core TensorFlow ops.

``bertzoo.text.split_words`` is pure Python; a tagger served from a SavedModel must find the same
words inside the graph, with offsets a client can use on its own copy of the text. Every code point
falls in one of four classes of ``split_words`` (read off its own predicates at construction):

- a dropped control: neither part of a word's ends nor a boundary;
- whitespace: ends the current word;
- a single (punctuation, CJK ideograph): a word of its own;
- any other character: part of a word.

The class of each decoded code point is found by a binary search (``tf.searchsorted``) in the
table of runs of equal class (a few hundred runs cover all of Unicode).
"""

from __future__ import annotations

import functools
import sys
from typing import NamedTuple

import tensorflow as tf

from bertzoo.text.word_splitter import _is_cjk, _is_control, _is_punctuation, _is_whitespace

__all__ = ["CoreWordSplitter", "SplitText"]

_WORD, _CONTROL, _SPACE, _SINGLE = 0, 1, 2, 3


@functools.lru_cache(maxsize=None)
def _class_runs() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(first code point, class) of each run of code points of one class, over all of Unicode.

    Scans every code point with ``split_words``' own predicates, once per process (about 2 s).
    """
    starts, classes = [], []
    for cp in range(sys.maxunicode + 1):
        char = chr(cp)
        if _is_control(char):
            char_class = _CONTROL
        elif _is_whitespace(char):
            char_class = _SPACE
        elif _is_punctuation(char) or _is_cjk(char):
            char_class = _SINGLE
        else:
            char_class = _WORD
        if not classes or classes[-1] != char_class:
            starts.append(cp)
            classes.append(char_class)
    return tuple(starts), tuple(classes)


class SplitText(NamedTuple):
    """The words of a batch of texts.

    Attributes:
        code_points: int32 ``[batch, (chars)]``, the decoded texts (invalid UTF-8 -> U+FFFD).
        words: tf.string ``[batch, (words)]``, each ``text[start:end]`` re-encoded as UTF-8.
        starts: int32 ``[batch, (words)]``, the code-point offset of each word's first character.
        ends: int32 ``[batch, (words)]``, one past its last character.
    """

    code_points: tf.RaggedTensor
    words: tf.RaggedTensor
    starts: tf.RaggedTensor
    ends: tf.RaggedTensor


def code_point_spans(code_points: tf.RaggedTensor, rows: tf.Tensor, starts: tf.Tensor, ends: tf.Tensor) -> tf.Tensor:
    """``text[start:end]`` as UTF-8 for each ``(row, start, end)``: tf.string ``[n]``.

    Args:
        code_points: int32 ``[batch, (chars)]``.
        rows, starts, ends: int ``[n]``, a row of ``code_points`` and code-point offsets in it.
    """
    offset = tf.gather(code_points.row_splits, tf.cast(rows, tf.int64))
    positions = tf.ragged.range(offset + tf.cast(starts, tf.int64), offset + tf.cast(ends, tf.int64))
    spans = tf.gather(code_points.flat_values, positions)
    return tf.strings.unicode_encode(spans, "UTF-8")


class CoreWordSplitter(tf.Module):
    """Strings -> words with code-point offsets, the words and offsets of ``split_words``.

    Core TensorFlow ops only (``unicode_decode``, ``searchsorted``, segment and ragged ops), so a
    SavedModel holding it loads in a stock TensorFlow Serving. Offsets count Unicode code points,
    as Python's ``str`` indexing does. Invalid UTF-8 is decoded with U+FFFD in place of each bad
    sequence (a dropped control), so offsets then count the decoded text.

    Args:
        name: the module's name.

    Example:
    >>> split = CoreWordSplitter().split(tf.constant(["Mr. O'Neil"]))  # doctest: +SKIP
    >>> split.words.to_list(), split.starts.to_list()  # doctest: +SKIP
    ([[b'Mr', b'.', b'O', b"'", b'Neil']], [[0, 2, 4, 5, 6]])
    """

    def __init__(self, name: str | None = None):
        super().__init__(name=name)
        run_starts, run_classes = _class_runs()
        with tf.init_scope():
            self._run_starts = tf.constant(run_starts, tf.int32)
            self._run_classes = tf.constant(run_classes, tf.int32)

    def split(self, strings: tf.Tensor) -> SplitText:
        """Splits a rank-1 batch of UTF-8 strings into words.

        Args:
            strings: tf.string ``[batch]``.

        Returns:
            A ``SplitText``; row ``i`` of its fields holds the words of ``strings[i]``.
        """
        code_points = tf.strings.unicode_decode(strings, "UTF-8", errors="replace", replacement_char=0xFFFD)
        flat = code_points.flat_values
        char_row = code_points.value_rowids()
        position = tf.cast(tf.range(tf.shape(flat, out_type=tf.int64)[0]) - tf.gather(code_points.row_splits, char_row),
                           tf.int32)
        run = tf.searchsorted(self._run_starts, flat, side="right") - 1
        char_class = tf.gather(self._run_classes, run)

        # Controls are invisible: drop them, then read boundaries off the characters that remain.
        kept = tf.not_equal(char_class, _CONTROL)
        char_class = tf.boolean_mask(char_class, kept)
        char_row = tf.boolean_mask(char_row, kept)
        position = tf.boolean_mask(position, kept)
        previous_class = tf.concat([[_SPACE], char_class[:-1]], 0)
        previous_row = tf.concat([tf.constant([-1], tf.int64), char_row[:-1]], 0)
        continues = tf.equal(previous_class, _WORD) & tf.equal(previous_row, char_row)
        begins = tf.equal(char_class, _SINGLE) | (tf.equal(char_class, _WORD) & tf.logical_not(continues))

        in_word = tf.not_equal(char_class, _SPACE)
        word_of_char = tf.boolean_mask(tf.cumsum(tf.cast(begins, tf.int32)) - 1, in_word)
        num_words = tf.reduce_sum(tf.cast(begins, tf.int32))
        starts = tf.boolean_mask(position, begins)
        ends = tf.math.unsorted_segment_max(tf.boolean_mask(position, in_word), word_of_char, num_words) + 1
        word_row = tf.boolean_mask(char_row, begins)
        words = code_point_spans(code_points, word_row, starts, ends)

        nrows = code_points.nrows()

        def by_text(values):
            return tf.RaggedTensor.from_value_rowids(values, word_row, nrows=nrows, validate=False)

        return SplitText(code_points, by_text(words), by_text(starts), by_text(ends))
