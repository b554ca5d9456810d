"""WordPiece tokenization from core TensorFlow ops only, for SavedModels a stock TensorFlow Serving loads.

A stock TensorFlow Serving binary has none of tensorflow-text's custom ops, so a SavedModel whose
graph holds ``FastWordpieceTokenizeWithOffsets`` or ``RegexSplitWithOffsets`` fails to load there.
``CoreOpsTokenizer`` gives the ids of ``WordPieceTokenizer`` (Google's ``tokenization.py`` rules)
from ``tf.strings``, ``tf.lookup``, ragged and control-flow ops alone. Training keeps using the
tensorflow-text pipeline.

The pipeline, for a batch of strings:

1. Route: one ``regex_full_match`` finds the strings whose characters all lie in the fast path's
   domain (printable ASCII, tab, newline, return and a few English typography characters that
   Google's BasicTokenizer never rewrites, ``_fast_path_classes``).
2. Fast path, run on the whole batch (cheap) and kept for those: ASCII ``tf.strings.lower``
   (uncased), punctuation padded with spaces and no-break spaces made spaces (one
   ``regex_replace``); the words are what lies between whitespace. Exact by construction: a
   domain string needs no decoding, cleaning, CJK spacing, Unicode lowercasing or accent
   stripping (tests/test_core_ops_fast_path.py checks every domain code point in context
   against Google's rules).
3. Exact path, for the rest: the very same ``BasicNormalizer`` as ``WordPieceTokenizer``, then
   punctuation and ``str.split`` whitespace padded with spaces. Its texts replace those rows of
   the fast path's (one ``tensor_scatter_nd_update``) and one ``tf.strings.split`` makes words.
4. The words go through WordPiece together: a word in the vocabulary is one lookup; for the
   rest, every candidate piece at every character position is looked up at once
   (``tf.strings.substr`` in characters, a ``StaticHashTable``), and a short ``tf.while_loop``
   walks each word's greedy longest-match-first path through those answers.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from typing import NamedTuple

import tensorflow as tf

from bertzoo.text.basic_normalizer import _re2_class, as_string_batch, with_static_rows
from bertzoo.text.vocabulary import Vocabulary
from bertzoo.text.word_splitter import _is_cjk, _is_punctuation
from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer, _WordPieceSettings

__all__ = ["CoreOpsTokenizer"]

_STRING_BATCH = tf.TensorSpec([None], tf.string)

# Common English typography beyond ASCII that Google's BasicTokenizer never rewrites, whatever the
# configuration: curly quotes, dashes, ellipsis, guillemets, bullets, primes (punctuation), a few
# symbols (word characters) and the no-break space (whitespace). ``_fast_path_classes`` proves
# each one's role from ``unicodedata`` at construction.
_FAST_EXTRA_CHARS = (
    "\u2018\u2019\u201a\u201c\u201d\u201e\u2013\u2014\u2026\u00ab\u00bb\u00a1\u00bf\u00b7\u2022"
    "\u2032\u2033\u00a7\u00b6"
    "\u00a9\u00ae\u00b0\u00b1\u00d7\u00f7\u20ac\u00a3\u00a5\u00a2\u2122"
    "\u00a0"
)


class _FastPathClasses(NamedTuple):
    """The fast path's domain and its character classes, as sorted code points."""

    domain: tuple[int, ...]  # every character the fast path accepts
    punctuation: tuple[int, ...]  # each becomes a word of its own
    extra_spaces: tuple[int, ...]  # non-ASCII whitespace, mapped to a space (ASCII ones split as is)


@functools.lru_cache(maxsize=None)
def _fast_path_classes() -> _FastPathClasses:
    """Printable ASCII, tab, newline, return and ``_FAST_EXTRA_CHARS``, sorted by role.

    Google's BasicTokenizer, in every configuration, leaves a domain character as it is or
    lowercases A-Z as ASCII does (no control, no CJK ideograph, not a combining mark, NFD and,
    beyond ASCII, ``str.lower`` do not change it; its whitespace is ``str.split``'s too), so the
    domain needs no decoding, cleaning or accent table: only ASCII lowercasing, punctuation
    padding and a whitespace split. Raises if an extra character breaks that rule.
    """
    ascii_chars = [chr(cp) for cp in range(0x20, 0x7F)] + ["\t", "\n", "\r"]
    punctuation, extra_spaces = [], []
    for char in ascii_chars + list(_FAST_EXTRA_CHARS):
        cp, category = ord(char), unicodedata.category(char)
        is_space = char in " \t\n\r" or category == "Zs"
        if char.isascii():
            lowercase_ok = True  # tf.strings.lower maps A-Z as str.lower does
        else:
            lowercase_ok = char.lower() == char
        if (
            (category in ("Cc", "Cf") and not is_space)
            or category == "Mn"
            or _is_cjk(char)
            or not unicodedata.is_normalized("NFD", char)
            or not lowercase_ok
            or (is_space and not char.isspace())
        ):
            raise ValueError(f"U+{cp:04X} cannot take the fast path: Google's tokenizer rewrites it.")
        if _is_punctuation(char):
            punctuation.append(cp)
        elif is_space and not char.isascii():
            extra_spaces.append(cp)
    domain = sorted(ord(c) for c in ascii_chars + list(_FAST_EXTRA_CHARS))
    return _FastPathClasses(tuple(domain), tuple(sorted(punctuation)), tuple(sorted(extra_spaces)))


class CoreOpsTokenizer(_WordPieceSettings, tf.Module):
    """Raw strings -> WordPiece ids like ``WordPieceTokenizer``, from core TensorFlow ops only.

    Same rules and same ids as ``bertzoo.text.WordPieceTokenizer`` (Google's BasicTokenizer then
    WordpieceTokenizer, with its corrections for ICU lowercasing), but no tensorflow-text op, so
    a SavedModel holding it loads in a stock TensorFlow Serving. Strings of plain English text
    (the fast path's domain, see the module docstring) skip the Unicode normalisation; the rest
    take it. Where the tensorflow-text pipeline uses ``regex_split``, punctuation is padded with
    spaces (``regex_replace``) and the text split (``tf.strings.split``); where it uses
    ``FastWordpieceTokenizer``, greedy longest-match-first runs over all words of the batch at
    once (``_longest_match_first``). Measured equal to ``WordPieceTokenizer`` on every code point in
    context and on thousands of mixed strings (tests/test_core_ops_tokenizer.py), and to Google's
    rules on every fast-path code point (tests/test_core_ops_fast_path.py); no known difference.

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
        self._set_up(vocabulary, lowercase, strip_accents, tokenize_chinese_chars, max_input_chars_per_word)

        fast = _fast_path_classes()
        self._fast_domain_pattern = _re2_class(list(fast.domain)) + "*"
        self._fast_split_pattern = f"({_re2_class(list(fast.punctuation))})"
        if fast.extra_spaces:
            self._fast_split_pattern += "|" + _re2_class(list(fast.extra_spaces))

        # Google's vocab dict: a repeated token keeps its last id.
        tokens = self._vocabulary.tokens
        token_ids = {token: i for i, token in enumerate(tokens)}
        # No candidate piece is longer (in characters) than the longest entry it could match.
        self._max_word_start_chars = max([len(t) for t in token_ids] + [1])
        self._max_continuation_chars = max([len(t) - 2 for t in token_ids if t.startswith("##")] + [1])
        with tf.init_scope():
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

    # -- tokenization --------------------------------------------------------------------------

    def basic_tokenize(self, strings) -> tf.RaggedTensor:
        """Google's BasicTokenizer: strings ``[batch]`` -> words ``[batch, (words)]`` (tf.string).

        Args:
            strings: a rank-1 batch of strings (a scalar gives ``[words]``).
        """
        strings, scalar = as_string_batch(strings, type(self).__name__)
        words = with_static_rows(self._basic_tokenize_batch(strings), strings.shape[0])
        return words[0] if scalar else words

    def tokenize_words(self, strings) -> tf.RaggedTensor:
        """WordPiece ids grouped by word: int32 ``[batch, (words), (pieces)]``.

        Args:
            strings: a rank-1 batch of strings (a scalar gives ``[(words), (pieces)]``).
        """
        strings, scalar = as_string_batch(strings, type(self).__name__)
        pieces = with_static_rows(self._tokenize_words_batch(strings), strings.shape[0])
        return pieces[0] if scalar else pieces

    def tokenize(self, strings) -> tf.RaggedTensor:
        """WordPiece ids: strings ``[batch]`` -> int32 ``[batch, (pieces)]``.

        Args:
            strings: a rank-1 batch of strings (a scalar gives a dense ``[pieces]``).
        """
        strings, scalar = as_string_batch(strings, type(self).__name__)
        pieces = self._tokenize_words_batch(strings).merge_dims(1, 2)
        pieces = with_static_rows(pieces, strings.shape[0])
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
        """Google's BasicTokenizer on a rank-1 batch: each string's words spaced out by the fast
        path if all its characters lie in the fast path's domain, else by the exact path; the
        spaced texts, in input order, split once on whitespace."""
        in_domain = tf.strings.regex_full_match(strings, self._fast_domain_pattern)
        exact_rows = tf.where(tf.logical_not(in_domain))
        text = tf.tensor_scatter_nd_update(
            self._fast_spaced_text(strings), exact_rows, self._exact_spaced_text(tf.gather_nd(strings, exact_rows))
        )
        return tf.strings.split(text)

    def _fast_spaced_text(self, strings: tf.Tensor) -> tf.Tensor:
        """BasicTokenizer's words between spaces, for strings of the fast path's domain
        (``_fast_path_classes``): none needs cleaning or accent stripping, lowercasing is ASCII's,
        punctuation is padded with spaces and no-break spaces become spaces."""
        text = tf.strings.lower(strings) if self.lowercase else strings
        return tf.strings.regex_replace(text, self._fast_split_pattern, r" \1 ")

    def _exact_spaced_text(self, strings: tf.Tensor) -> tf.Tensor:
        """BasicTokenizer's words between spaces, for any strings: the shared normaliser, then
        every ``str.split()`` whitespace made a space and every punctuation character spaced out
        (the split ``WordPieceTokenizer`` does with ``regex_split``). What is left that
        ``tf.strings.split`` would split on is a space: the normaliser drops ``\\v`` and ``\\f``."""
        t = self._normalizer.tables
        text = self._normalizer.normalize(strings)
        return tf.strings.regex_replace(text, f"({t.punctuation})|{t.split_space}", r" \1 ")

    def _wordpiece_ids(self, words: tf.Tensor) -> tf.RaggedTensor:
        """Words ``[n]`` -> int32 ``[n, (pieces)]``: Google's WordpieceTokenizer, word by word.

        A word in the vocabulary is one lookup; a word over ``max_input_chars_per_word`` is
        ``[UNK]``; the rest go through ``_longest_match_first``, and one with a remainder no piece
        matches is a single ``[UNK]``. Pieces are gathered as (word, id) pairs, each word's in
        order, then grouped by a stable sort on the word.
        """
        num_words = tf.shape(words, out_type=tf.int64)[0]
        num_chars = tf.strings.length(words, unit="UTF8_CHAR")
        too_long = num_chars > self.max_input_chars_per_word
        whole_id = self._token_ids.lookup(words)
        is_whole = (whole_id >= 0) & (num_chars > 0) & tf.logical_not(too_long)
        # An empty word has no pieces (nor is it [UNK]); every other word is whole, too long or greedy.
        is_greedy = tf.logical_not(is_whole | too_long) & (num_chars > 0)

        greedy_words = tf.where(is_greedy)[:, 0]
        piece_word, piece_id, failed = self._longest_match_first(
            tf.gather(words, greedy_words), tf.gather(num_chars, greedy_words)
        )
        unk_words = tf.concat([tf.where(too_long)[:, 0], tf.boolean_mask(greedy_words, failed)], 0)
        found_words = tf.gather(greedy_words, piece_word)
        word = tf.concat([tf.where(is_whole)[:, 0], found_words, unk_words], 0)
        ids = tf.concat(
            [
                tf.boolean_mask(whole_id, is_whole),
                piece_id,
                tf.fill(tf.shape(unk_words), tf.constant(self.unk_id, tf.int32)),
            ],
            0,
        )
        order = tf.argsort(word, stable=True)
        return tf.RaggedTensor.from_value_rowids(
            tf.gather(ids, order), tf.gather(word, order), nrows=num_words, validate=False
        )

    def _longest_match_first(self, words: tf.Tensor, num_chars: tf.Tensor):
        """Greedy longest-match-first over all ``words`` at once (each at least one character).

        Every character position of every word is a possible piece start: the longest vocabulary
        piece at each (``##``-prefixed after the word's start, at most as long as the longest
        entry) is found with one lookup of all candidate prefixes. The greedy walk then only
        follows those answers from each word's first character, one gather per piece; a word
        reaching a position with no piece fails. Candidates are a few per character, and the walk's
        loop has a handful of ops, where a lookup per walk step would cost a full pass of
        string ops per piece.

        Returns:
            (piece_word int64 ``[pieces]`` indexing ``words``, piece_id int32 ``[pieces]``, in
            word order then position, failed bool ``[n]``).
        """
        n = tf.shape(words, out_type=tf.int64)[0]
        # One row per piece start: (word, position), flat in word order.
        starts = tf.ragged.range(num_chars)
        start_word = starts.value_rowids()
        position = starts.flat_values
        word_start = starts.row_splits[:-1]
        # The candidates at each start: its first 1..count characters, "##" before them past
        # the word's start.
        is_continuation = position > 0
        count = tf.minimum(
            tf.gather(num_chars, start_word) - position,
            tf.where(is_continuation, self._max_continuation_chars, self._max_word_start_chars),
        )
        window = tf.strings.substr(tf.gather(words, start_word), position, count, unit="UTF8_CHAR")
        window = tf.where(is_continuation, tf.strings.join(["##", window]), window)
        lengths = tf.ragged.range(1, count + 1)
        candidate_start = lengths.value_rowids()
        length = lengths.flat_values
        prefix = length + 2 * tf.cast(tf.gather(is_continuation, candidate_start), tf.int32)
        piece = tf.strings.substr(
            tf.gather(window, candidate_start), tf.zeros_like(prefix), prefix, unit="UTF8_CHAR"
        )
        piece_ids = self._token_ids.lookup(piece)
        num_starts = tf.shape(position, out_type=tf.int64)[0]
        found = piece_ids >= 0
        best = tf.math.unsorted_segment_max(tf.where(found, length, 0), candidate_start, num_starts)
        is_best = found & tf.equal(length, tf.gather(best, candidate_start))
        best_id = tf.math.unsorted_segment_max(tf.where(is_best, piece_ids, -1), candidate_start, num_starts)

        # The walk: each word from its first character, by the longest piece found there.
        def walking(at, visited):
            return tf.reduce_any(at < num_chars)

        def walk(at, visited):
            active = at < num_chars
            index = word_start + tf.cast(tf.minimum(at, num_chars - 1), tf.int64)
            step = tf.gather(best, index)
            visited = tf.tensor_scatter_nd_update(
                visited, index[:, tf.newaxis], tf.gather(visited, index) | active
            )
            # A position with no piece ends the word (it failed: see below).
            at = tf.where(active, tf.where(step > 0, at + step, num_chars), at)
            return at, visited

        _, visited = tf.while_loop(
            walking, walk, (tf.zeros([n], tf.int32), tf.zeros([num_starts], tf.bool))
        )
        failed_at = visited & tf.equal(best, 0)
        failed = tf.math.unsorted_segment_max(tf.cast(failed_at, tf.int32), start_word, n) > 0
        keep = visited & tf.logical_not(tf.gather(failed, start_word))
        return tf.boolean_mask(start_word, keep), tf.boolean_mask(best_id, keep), failed
