"""BERT preprocessing from core TensorFlow ops only, for SavedModels a stock TensorFlow Serving loads.

A stock TensorFlow Serving binary has none of tensorflow-text's custom ops, so a SavedModel whose
graph holds ``FastWordpieceTokenizeWithOffsets`` or ``RegexSplitWithOffsets`` fails to load there.
``CoreOpsTokenizer`` and ``CorePreprocessor`` give the ids of ``WordPieceTokenizer`` and
``BertPreprocessor`` (Google's ``tokenization.py`` rules) from ``tf.strings``, ``tf.lookup``,
ragged and control-flow ops alone; the character tables are the same ones, computed at
construction from Python's ``unicodedata``. Training keeps using the tensorflow-text pipeline.

``audit_core_ops`` and ``assert_core_ops_only`` check a written graph: an op is core when a
Python process that imports only ``tensorflow`` has it registered.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import tensorflow as tf
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from bertzoo.text.preprocessor import BertPreprocessor
from bertzoo.text.vocabulary import Vocabulary
from bertzoo.text.wordpiece_tokenizer import (
    _IDENTITY,
    WordPieceTokenizer,
    _final_sigma_pattern,
    _lowercase_fixes,
    _re2_class,
    _unicode_tables,
)

__all__ = [
    "CoreOpsTokenizer",
    "CorePreprocessor",
    "assert_core_ops_only",
    "audit_core_ops",
    "core_op_names",
]

_STRING_BATCH = tf.TensorSpec([None], tf.string)


def _string_batch(strings, owner: str) -> tuple[tf.Tensor, bool]:
    """A rank-1 tf.string batch, and whether the input was a scalar."""
    if isinstance(strings, (tf.RaggedTensor, tf.SparseTensor)):
        raise TypeError(f"{owner} expected a dense tf.string tensor, got {type(strings).__name__}.")
    try:
        strings = tf.convert_to_tensor(strings)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{owner} expected a tf.string tensor: {e}") from None
    if strings.dtype != tf.string:
        raise TypeError(f"{owner} expected a tf.string tensor, got dtype {strings.dtype.name}.")
    rank = strings.shape.rank
    if rank == 0:
        return strings[tf.newaxis], True
    if rank is None:
        return tf.reshape(strings, [-1]), False
    if rank != 1:
        raise ValueError(
            f"{owner} expected a scalar or a rank-1 batch of strings, got shape {strings.shape}."
        )
    return strings, False


def _with_static_rows(ragged: tf.RaggedTensor, batch_size: int | None) -> tf.RaggedTensor:
    """Restores a static batch size that ops inside a tf.function forgot (TPU-style shapes)."""
    if batch_size is None:
        return ragged
    row_splits = tf.ensure_shape(ragged.row_splits, [batch_size + 1])
    return tf.RaggedTensor.from_row_splits(ragged.values, row_splits, validate=False)


class CoreOpsTokenizer(tf.Module):
    """Raw strings -> WordPiece ids like ``WordPieceTokenizer``, from core TensorFlow ops only.

    Same rules and same ids as ``bertzoo.text.WordPieceTokenizer`` (Google's BasicTokenizer then
    WordpieceTokenizer, with its corrections for ICU lowercasing), but no tensorflow-text op, so
    a SavedModel holding it loads in a stock TensorFlow Serving. Where the tensorflow-text pipeline
    uses ``regex_split``, punctuation is padded with spaces (``regex_replace``) and the text split
    on spaces (``tf.strings.split``); where it uses ``FastWordpieceTokenizer``, greedy
    longest-match-first runs as a ``tf.while_loop`` over all words of the batch at once, looking
    up candidate pieces (``tf.strings.substr`` in characters) in a ``StaticHashTable``.
    Measured equal to ``WordPieceTokenizer`` on every code point in context and on thousands of
    mixed strings (tests/test_core_ops_tokenizer.py); no known difference.

    A ``tf.Module``, not a Keras layer: it is attached to exported SavedModels, whose
    ``tf.function`` s call it. Its work is traced once (an inner ``tf.function`` over a
    ``[None]`` string batch), so eager calls run as a graph too.

    Args:
        vocabulary: a ``Vocabulary``, a list of tokens, or the path to a ``vocab.txt``.
        lowercase: lowercase the text (an uncased checkpoint).
        strip_accents: NFD-decompose and drop combining marks; None means "same as lowercase".
        tokenize_chinese_chars: split CJK ideographs into single-character words.
        max_input_chars_per_word: longer words become ``[UNK]``.
        name: the module's name.

    Example:
    >>> core = CoreOpsTokenizer.from_wordpiece_tokenizer(bert.tokenizer)  # doctest: +SKIP
    >>> core.tokenize(["Hello, world!"])  # doctest: +SKIP
    <tf.RaggedTensor [[7592, 1010, 2088, 999]]>
    """

    def __init__(
        self,
        vocabulary: Vocabulary | list[str] | str | os.PathLike,
        lowercase: bool,
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
        max_input_chars_per_word: int = 200,
        name: str | None = None,
    ):
        super().__init__(name=name)
        if isinstance(vocabulary, Vocabulary):
            self._vocabulary = vocabulary
        elif isinstance(vocabulary, (str, os.PathLike)):
            self._vocabulary = Vocabulary.from_file(vocabulary)
        elif isinstance(vocabulary, (list, tuple)):
            self._vocabulary = Vocabulary(vocabulary)
        else:
            raise TypeError(
                "vocabulary must be a Vocabulary, a list of tokens or a path to vocab.txt, "
                f"got {type(vocabulary).__name__}."
            )
        if int(max_input_chars_per_word) < 1:
            raise ValueError(f"max_input_chars_per_word must be >= 1, got {max_input_chars_per_word}.")
        self.lowercase = bool(lowercase)
        self.strip_accents = None if strip_accents is None else bool(strip_accents)
        self.tokenize_chinese_chars = bool(tokenize_chinese_chars)
        self.max_input_chars_per_word = int(max_input_chars_per_word)

        self._tables = _unicode_tables()
        self._final_sigma = _final_sigma_pattern() if self.lowercase else None
        char_map = {}
        do_strip = self.lowercase if self.strip_accents is None else self.strip_accents
        if do_strip:
            char_map.update(self._tables.strip_accents)
        if self.lowercase:
            strip = self._tables.strip_accents
            for char, lower in _lowercase_fixes().items():
                char_map[char] = "".join(strip.get(c, c) for c in lower) if do_strip else lower

        # Google's vocab dict: a repeated token keeps its last id.
        tokens = self._vocabulary.tokens
        token_ids = {token: i for i, token in enumerate(tokens)}
        # No candidate piece is longer (in characters) than the longest entry it could match.
        self._max_word_start_chars = max([len(t) for t in token_ids] + [1])
        self._max_continuation_chars = max([len(t) - 2 for t in token_ids if t.startswith("##")] + [1])
        with tf.init_scope():
            self._char_map = None
            if char_map:
                keys = sorted(char_map)
                self._char_map = tf.lookup.StaticHashTable(
                    tf.lookup.KeyValueTensorInitializer(
                        tf.constant(keys), tf.constant([char_map[k] for k in keys])
                    ),
                    default_value=_IDENTITY,
                )
                self._char_map_class = _re2_class(sorted(ord(k) for k in keys), negate=True) + "*"
            keys = list(token_ids)
            self._token_ids = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    tf.constant(keys, tf.string), tf.constant([token_ids[k] for k in keys], tf.int32)
                ),
                default_value=-1,
            )

    @classmethod
    def from_wordpiece_tokenizer(
        cls, tokenizer: WordPieceTokenizer, name: str | None = None
    ) -> CoreOpsTokenizer:
        """The core-ops twin of a ``WordPieceTokenizer``: same vocabulary and settings."""
        if not isinstance(tokenizer, WordPieceTokenizer):
            raise TypeError(
                f"tokenizer must be a bertzoo WordPieceTokenizer, got {type(tokenizer).__name__}."
            )
        return cls(
            tokenizer.vocabulary,
            lowercase=tokenizer.lowercase,
            strip_accents=tokenizer.strip_accents,
            tokenize_chinese_chars=tokenizer.tokenize_chinese_chars,
            max_input_chars_per_word=tokenizer.max_input_chars_per_word,
            name=name,
        )

    # -- vocabulary ----------------------------------------------------------------------------

    @property
    def vocabulary(self) -> Vocabulary:
        return self._vocabulary

    @property
    def cls_id(self) -> int:
        return self._vocabulary.cls_id

    @property
    def sep_id(self) -> int:
        return self._vocabulary.sep_id

    @property
    def pad_id(self) -> int:
        return self._vocabulary.pad_id

    @property
    def unk_id(self) -> int:
        return self._vocabulary.unk_id

    # -- tokenization --------------------------------------------------------------------------

    def basic_tokenize(self, strings) -> tf.RaggedTensor:
        """Google's BasicTokenizer: strings ``[batch]`` -> words ``[batch, (words)]`` (tf.string).

        Args:
            strings: a rank-1 batch of strings (a scalar gives ``[words]``).
        """
        strings, scalar = _string_batch(strings, type(self).__name__)
        words = _with_static_rows(self._basic_tokenize_batch(strings), strings.shape[0])
        return words[0] if scalar else words

    def tokenize_words(self, strings) -> tf.RaggedTensor:
        """WordPiece ids grouped by word: int32 ``[batch, (words), (pieces)]``.

        Args:
            strings: a rank-1 batch of strings (a scalar gives ``[(words), (pieces)]``).
        """
        strings, scalar = _string_batch(strings, type(self).__name__)
        pieces = _with_static_rows(self._tokenize_words_batch(strings), strings.shape[0])
        return pieces[0] if scalar else pieces

    def tokenize(self, strings) -> tf.RaggedTensor:
        """WordPiece ids: strings ``[batch]`` -> int32 ``[batch, (pieces)]``.

        Args:
            strings: a rank-1 batch of strings (a scalar gives a dense ``[pieces]``).
        """
        strings, scalar = _string_batch(strings, type(self).__name__)
        pieces = self._tokenize_words_batch(strings).merge_dims(1, 2)
        pieces = _with_static_rows(pieces, strings.shape[0])
        return pieces[0] if scalar else pieces

    def __call__(self, strings) -> tf.RaggedTensor:
        return self.tokenize(strings)

    # -- steps -----------------------------------------------------------------------------------

    @tf.function(input_signature=[_STRING_BATCH], autograph=False)
    def _basic_tokenize_batch(self, strings: tf.Tensor) -> tf.RaggedTensor:
        return self._basic_tokenize(strings)

    @tf.function(input_signature=[_STRING_BATCH], autograph=False)
    def _tokenize_words_batch(self, strings: tf.Tensor) -> tf.RaggedTensor:
        words = self._basic_tokenize(strings)
        return words.with_flat_values(self._wordpiece_ids(words.flat_values))

    def _basic_tokenize(self, strings: tf.Tensor) -> tf.RaggedTensor:
        """The steps of ``WordPieceTokenizer._basic_tokenize``, with its ``regex_split`` replaced."""
        t = self._tables
        text = tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="ignore")
        text = tf.strings.regex_replace(text, t.control, "")
        text = tf.strings.regex_replace(text, t.whitespace, " ")
        if self.tokenize_chinese_chars:
            text = tf.strings.regex_replace(text, f"({t.cjk})", r" \1 ")
        if self.lowercase:
            text = self._lower_capital_sigma(text)
            text = tf.strings.lower(text, encoding="utf-8")
        if self._char_map is not None:
            text = self._map_chars(text)
        # Every str.split() whitespace becomes a space and every punctuation character a word of
        # its own between spaces; then split on single spaces, dropping the empty strings.
        text = tf.strings.regex_replace(text, f"({t.punctuation})|{t.split_space}", r" \1 ")
        words = tf.strings.split(text, sep=" ")
        return tf.ragged.boolean_mask(words, tf.not_equal(words, ""))

    def _lower_capital_sigma(self, text: tf.Tensor) -> tf.Tensor:
        """Lowercases every U+03A3 with Python's final-sigma rule, so ICU never decides it."""

        def rewrite():
            final = tf.strings.regex_replace(text, self._final_sigma, "\\1\u03c2\\2\\3")
            return tf.strings.regex_replace(final, "\u03a3", "\u03c3")

        has_sigma = tf.reduce_any(tf.strings.regex_full_match(text, "(?s).*\u03a3.*"))
        return tf.cond(has_sigma, rewrite, lambda: tf.identity(text))

    def _map_chars(self, text: tf.Tensor) -> tf.Tensor:
        """Rewrites each character through the accent / lowercase-fix table."""

        def rewrite():
            chars = tf.strings.unicode_split(text, "UTF-8")
            mapped = tf.ragged.map_flat_values(self._char_map.lookup, chars)
            chars = tf.ragged.map_flat_values(
                lambda c, m: tf.where(tf.equal(m, _IDENTITY), c, m), chars, mapped
            )
            return tf.strings.reduce_join(chars, axis=-1)

        untouched = tf.reduce_all(tf.strings.regex_full_match(text, self._char_map_class))
        return tf.cond(untouched, lambda: tf.identity(text), rewrite)

    def _wordpiece_ids(self, words: tf.Tensor) -> tf.RaggedTensor:
        """Words ``[n]`` -> int32 ``[n, (pieces)]``: Google's WordpieceTokenizer, word by word.

        A word in the vocabulary is one lookup; a word over ``max_input_chars_per_word`` is
        ``[UNK]``; the rest go through ``_longest_match_first``, and one with a remainder no piece
        matches is a single ``[UNK]``. Pieces are gathered as (word, id) pairs in the order they
        are found, then grouped by a stable sort on the word.
        """
        num_words = tf.shape(words, out_type=tf.int64)[0]
        num_chars = tf.strings.length(words, unit="UTF8_CHAR")
        too_long = num_chars > self.max_input_chars_per_word
        whole_id = self._token_ids.lookup(words)
        is_whole = (whole_id >= 0) & (num_chars > 0) & tf.logical_not(too_long)
        is_greedy = tf.logical_not(is_whole | too_long)

        greedy_words = tf.where(is_greedy)[:, 0]
        piece_word, piece_id, failed = self._longest_match_first(
            tf.gather(words, greedy_words), tf.gather(num_chars, greedy_words)
        )
        keep = tf.logical_not(tf.gather(failed, piece_word))
        unk_words = tf.concat([tf.where(too_long)[:, 0], tf.boolean_mask(greedy_words, failed)], 0)
        found_words = tf.gather(greedy_words, tf.boolean_mask(piece_word, keep))
        word = tf.concat([tf.where(is_whole)[:, 0], found_words, unk_words], 0)
        ids = tf.concat(
            [
                tf.boolean_mask(whole_id, is_whole),
                tf.boolean_mask(piece_id, keep),
                tf.fill(tf.shape(unk_words), tf.constant(self.unk_id, tf.int32)),
            ],
            0,
        )
        order = tf.argsort(word, stable=True)
        return tf.RaggedTensor.from_value_rowids(
            tf.gather(ids, order), tf.gather(word, order), nrows=num_words, validate=False
        )

    def _longest_match_first(self, words: tf.Tensor, num_chars: tf.Tensor):
        """Greedy longest-match-first over all ``words`` at once, one piece per loop step.

        Each step takes every unfinished word at its current character position, looks up all
        its candidate pieces (1 up to the longest vocabulary entry, ``##``-prefixed after the
        start) and advances by the longest that is in the vocabulary; a word with none fails.

        Returns:
            (piece_word int64 ``[pieces]`` indexing ``words``, piece_id int32 ``[pieces]`` in
            the order found, failed bool ``[n]``).
        """
        n = tf.shape(words)[0]
        max_start = tf.constant(self._max_word_start_chars, tf.int32)
        max_continuation = tf.constant(self._max_continuation_chars, tf.int32)

        def not_done(position, failed):
            return (position < num_chars) & tf.logical_not(failed)

        def step(i, position, failed, found_words, found_ids):
            active = tf.where(not_done(position, failed))[:, 0]
            start = tf.gather(position, active)
            remaining = tf.gather(num_chars, active) - start
            count = tf.minimum(remaining, tf.where(start > 0, max_continuation, max_start))
            lengths = tf.ragged.range(1, count + 1)
            row = lengths.value_rowids()
            length = lengths.flat_values
            # Cut each word's window of candidates once, so candidates copy short strings.
            window = tf.strings.substr(tf.gather(words, active), start, count, unit="UTF8_CHAR")
            piece = tf.strings.substr(
                tf.gather(window, row), tf.zeros_like(length), length, unit="UTF8_CHAR"
            )
            key = tf.where(tf.gather(start, row) > 0, tf.strings.join(["##", piece]), piece)
            piece_ids = self._token_ids.lookup(key)
            num_active = tf.shape(active)[0]
            best = tf.math.unsorted_segment_max(tf.where(piece_ids >= 0, length, 0), row, num_active)
            is_best = (piece_ids >= 0) & tf.equal(length, tf.gather(best, row))
            best_id = tf.math.unsorted_segment_max(tf.where(is_best, piece_ids, -1), row, num_active)
            matched = best > 0
            index = active[:, tf.newaxis]
            position = tf.tensor_scatter_nd_add(position, index, best)
            failed = tf.tensor_scatter_nd_update(failed, index, tf.logical_not(matched))
            found_words = found_words.write(i, tf.boolean_mask(active, matched))
            found_ids = found_ids.write(i, tf.boolean_mask(best_id, matched))
            return i + 1, position, failed, found_words, found_ids

        def array(dtype):
            # Element 0 is empty, so concat() works when no word needs the loop.
            empty = tf.zeros([0], dtype)
            pieces = tf.TensorArray(dtype, size=1, dynamic_size=True, infer_shape=False, element_shape=[None])
            return pieces.write(0, empty)

        _, _, failed, found_words, found_ids = tf.while_loop(
            lambda i, position, failed, *_: tf.reduce_any(not_done(position, failed)),
            step,
            (tf.constant(1), tf.zeros([n], tf.int32), tf.zeros([n], tf.bool), array(tf.int64),
             array(tf.int32)),
        )
        return found_words.concat(), found_ids.concat(), failed


class CorePreprocessor(tf.Module):
    """Strings, or pairs of strings, -> ``input_word_ids`` / ``input_mask`` / ``input_type_ids``
    like ``BertPreprocessor``, from core TensorFlow ops only.

    Packs ``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]`` into int32 ``[batch, seq_length]``.
    A pair is truncated as Google's ``_truncate_seq_pair`` (one token at a time from the end of
    the longer segment, from the second on a tie), computed in closed form: with
    ``budget = seq_length - 3``, segment a keeps ``min(len_a, max(ceil(budget / 2), budget -
    len_b))`` tokens and b the rest of the budget, at most ``len_b``. A single segment keeps its
    first ``seq_length - 2`` tokens. ``input_type_ids`` is 1 for ``b [SEP]``; padding has word id
    ``[PAD]``, mask 0 and type 0.

    Inputs: a batch of strings ``[batch]`` (a scalar gives ``[seq_length]`` outputs), or a pair
    ``(strings_a, strings_b)`` as a tuple or list of two tensors.

    Args:
        tokenizer: a ``CoreOpsTokenizer``, or a ``WordPieceTokenizer`` to take the settings of.
        seq_length: the packed length, at least 3.
        name: the module's name.

    Example:
    >>> pre = CorePreprocessor.from_bert_preprocessor(bert.preprocessor)  # doctest: +SKIP
    >>> pre((tf.constant(["the cat"]), tf.constant(["sat"])))["input_type_ids"]  # doctest: +SKIP
    """

    def __init__(
        self,
        tokenizer: CoreOpsTokenizer | WordPieceTokenizer,
        seq_length: int = 128,
        name: str | None = None,
    ):
        super().__init__(name=name)
        if isinstance(tokenizer, WordPieceTokenizer):
            tokenizer = CoreOpsTokenizer.from_wordpiece_tokenizer(tokenizer)
        if not isinstance(tokenizer, CoreOpsTokenizer):
            raise TypeError(
                "tokenizer must be a CoreOpsTokenizer or a WordPieceTokenizer, "
                f"got {type(tokenizer).__name__}."
            )
        if isinstance(seq_length, bool) or not isinstance(seq_length, int) or seq_length < 3:
            raise ValueError(
                "seq_length must be an int >= 3: [CLS] and [SEP] plus at least one token, or "
                f"[CLS] [SEP] [SEP] for a pair; got {seq_length!r}."
            )
        self.tokenizer = tokenizer
        self.seq_length = seq_length

    @classmethod
    def from_bert_preprocessor(
        cls, preprocessor: BertPreprocessor, name: str | None = None
    ) -> CorePreprocessor:
        """The core-ops twin of a ``BertPreprocessor``: same tokenizer settings and seq_length."""
        if not isinstance(preprocessor, BertPreprocessor):
            raise TypeError(
                f"preprocessor must be a bertzoo BertPreprocessor, got {type(preprocessor).__name__}."
            )
        return cls(preprocessor.tokenizer, seq_length=preprocessor.seq_length, name=name)

    @staticmethod
    def _is_pair(inputs) -> bool:
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
            return False
        return not any(isinstance(x, (str, bytes)) for x in inputs)

    def __call__(self, inputs) -> dict[str, tf.Tensor]:
        segments = list(inputs) if self._is_pair(inputs) else [inputs]
        batches = [_string_batch(s, type(self).__name__) for s in segments]
        if len({scalar for _, scalar in batches}) > 1:
            raise ValueError("A pair must be two scalars or two batches of strings, not one of each.")
        scalar = batches[0][1]
        strings = [s for s, _ in batches]
        sizes = [s.shape[0] for s in strings]
        if len(strings) == 2 and None not in sizes and sizes[0] != sizes[1]:
            raise ValueError(
                f"The two segments of a pair must have the same batch size, got {sizes[0]} and {sizes[1]}."
            )
        batch_size = next((b for b in sizes if b is not None), None)
        outputs = self._pack([self.tokenizer.tokenize(s) for s in strings])
        outputs = {k: tf.ensure_shape(v, [batch_size, self.seq_length]) for k, v in outputs.items()}
        if scalar:
            outputs = {k: v[0] for k, v in outputs.items()}
        return outputs

    def _pack(self, token_ids: list[tf.RaggedTensor]) -> dict[str, tf.Tensor]:
        lengths = [ids.row_lengths() for ids in token_ids]
        if len(token_ids) == 1:
            keep = [tf.minimum(lengths[0], self.seq_length - 2)]
        else:
            if token_ids[0].shape[0] is None or token_ids[1].shape[0] is None:
                with tf.control_dependencies(
                    [tf.debugging.assert_equal(token_ids[0].nrows(), token_ids[1].nrows(),
                                               message="The two segments of a pair differ in batch size.")]
                ):
                    lengths = [tf.identity(n) for n in lengths]
            budget = self.seq_length - 3
            half = tf.constant((budget + 1) // 2, tf.int64)  # ceil(budget / 2): ties pop from b
            keep_a = tf.minimum(lengths[0], tf.maximum(half, budget - lengths[1]))
            keep = [keep_a, tf.minimum(lengths[1], budget - keep_a)]
        batch = tf.shape(lengths[0], out_type=tf.int64)[0]
        column = tf.fill([batch, 1], tf.constant(0, tf.int32))
        cls = tf.RaggedTensor.from_tensor(column + self.tokenizer.cls_id)
        sep = tf.RaggedTensor.from_tensor(column + self.tokenizer.sep_id)
        word_ids, type_ids = [cls], [tf.RaggedTensor.from_tensor(column)]
        for segment, (ids, kept) in enumerate(zip(token_ids, keep)):
            position = tf.ragged.range(ids.row_lengths())
            kept_ids = tf.ragged.boolean_mask(ids, position < kept[:, tf.newaxis])
            word_ids += [kept_ids, sep]
            type_ids += [tf.ones_like(kept_ids) * segment, tf.RaggedTensor.from_tensor(column + segment)]
        word_ids = tf.concat(word_ids, axis=1)
        type_ids = tf.concat(type_ids, axis=1)
        shape = [None, self.seq_length]
        return {
            "input_word_ids": word_ids.to_tensor(self.tokenizer.pad_id, shape=shape),
            "input_mask": tf.sequence_mask(word_ids.row_lengths(), self.seq_length, dtype=tf.int32),
            "input_type_ids": type_ids.to_tensor(0, shape=shape),
        }


# -- op audit ------------------------------------------------------------------------------------

_LIST_OPS = """
import json, sys
import tensorflow
from tensorflow.core.framework import op_def_pb2
from tensorflow.python.client import pywrap_tf_session
ops = op_def_pb2.OpList.FromString(pywrap_tf_session.TF_GetBuffer(pywrap_tf_session.TF_GetAllOpList()))
extras = sorted(m for m in sys.modules if m.split(".")[0] == "tensorflow_text")
json.dump({"ops": sorted({op.name for op in ops.op}), "tensorflow_text_modules": extras}, sys.stdout)
"""


@functools.lru_cache(maxsize=None)
def core_op_names() -> frozenset[str]:
    """Every op registered by a plain ``import tensorflow``, read in a fresh Python process.

    A subprocess, because this process may already have loaded custom-op libraries
    (tensorflow-text registers its ops on import, and they cannot be unregistered), so its own
    registry cannot tell core ops from custom ones. Cached per process.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", _LIST_OPS], capture_output=True, text=True, env=env, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"Listing TensorFlow's core ops in a subprocess failed:\n{result.stderr[-2000:]}")
    listing = json.loads(result.stdout)
    if listing["tensorflow_text_modules"]:
        raise RuntimeError(
            "A plain `import tensorflow` also imported tensorflow_text "
            f"({', '.join(listing['tensorflow_text_modules'])}), so core ops cannot be told apart."
        )
    return frozenset(listing["ops"])


_TOP_LEVEL = "<top-level graph>"


def _graph_defs(source) -> list[graph_pb2.GraphDef]:
    if isinstance(source, graph_pb2.GraphDef):
        return [source]
    if isinstance(source, meta_graph_pb2.MetaGraphDef):
        return [source.graph_def]
    if isinstance(source, saved_model_pb2.SavedModel):
        return [meta_graph.graph_def for meta_graph in source.meta_graphs]
    if isinstance(source, tf.Graph):
        return [source.as_graph_def()]
    if hasattr(source, "graph") and isinstance(getattr(source, "graph"), tf.Graph):  # ConcreteFunction
        return [source.graph.as_graph_def()]
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if os.path.isdir(path):
            path = os.path.join(path, "saved_model.pb")
        if not os.path.isfile(path):
            raise ValueError(f"No SavedModel at {os.fspath(source)}: {path} does not exist.")
        with open(path, "rb") as f:
            return _graph_defs(saved_model_pb2.SavedModel.FromString(f.read()))
    raise TypeError(
        "Expected a SavedModel directory, a GraphDef, a MetaGraphDef, a SavedModel proto, a tf.Graph "
        f"or a ConcreteFunction, got {type(source).__name__}."
    )


def _op_locations(source) -> dict[str, set[str]]:
    """op name -> names of the functions (or the top-level graph) whose nodes use it."""
    locations: dict[str, set[str]] = {}
    for graph_def in _graph_defs(source):
        # A node may call a library function by its name; that is a call, not an op.
        functions = {f.signature.name for f in graph_def.library.function}
        nodes = [(node.op, _TOP_LEVEL) for node in graph_def.node]
        for function in graph_def.library.function:
            nodes += [(node.op, function.signature.name) for node in function.node_def]
        for op, where in nodes:
            if op not in functions:
                locations.setdefault(op, set()).add(where)
    return locations


def audit_core_ops(source) -> list[str]:
    """The sorted names of the ops in ``source`` that are not core TensorFlow ops.

    Args:
        source: a SavedModel directory (or its ``saved_model.pb``), a ``SavedModel``,
            ``MetaGraphDef`` or ``GraphDef`` proto, a ``tf.Graph`` or a ``ConcreteFunction``.
            Every node counts, in the top-level graph and in every library function (while-loop
            bodies, cond branches, called ``tf.function`` s).
    """
    core = core_op_names()
    return sorted(op for op in _op_locations(source) if op not in core)


def assert_core_ops_only(source) -> None:
    """Raises ValueError naming each non-core op in ``source`` and the functions it sits in.

    Args:
        source: as for ``audit_core_ops``.
    """
    core = core_op_names()
    offending = {op: where for op, where in _op_locations(source).items() if op not in core}
    if not offending:
        return
    lines = []
    for op in sorted(offending):
        where = sorted(offending[op])
        shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
        lines.append(f"  {op} (in {shown})")
    raise ValueError(
        f"{len(offending)} op(s) in the graph are not core TensorFlow ops, so a stock TensorFlow "
        "Serving cannot load it (custom ops, e.g. tensorflow-text's, are not in its binary):\n"
        + "\n".join(lines)
    )
