"""In-graph BERT tokenization following Google's ``tokenization.py`` rules exactly.

Google's BasicTokenizer + WordpieceTokenizer (google-research/bert) is the reference; tensorflow-text's
``BertTokenizer`` and KerasHub normalise some characters differently (their NFKC case folding maps
full-width forms and ligatures), so the pipeline is assembled from lower-level ops whose character
classes are built from Python's ``unicodedata`` (what the reference uses), not from the Unicode
version compiled into RE2 or ICU. The normalisation steps live in ``basic_normalizer``, shared with
the serving tokenizer (``bertzoo.export.core_ops_tokenizer``). Strings on which tensorflow-text's
fast ops provably apply the same rules (most English text) take those ops instead.
"""

from __future__ import annotations

import functools
import os
import unicodedata

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from bertzoo.text.basic_normalizer import (
    BasicNormalizer,
    _lowercase_fixes,
    _re2_class,
    as_string_batch,
    with_static_rows,
)
# Still importable from here: the tests read _unicode_tables.
from bertzoo.text.basic_normalizer import CJK_RANGES, _unicode_tables  # noqa: F401
from bertzoo.text.lazy_cond import lazy_cond
from bertzoo.text.vocabulary import Vocabulary
from bertzoo.text.word_splitter import _is_control, _is_punctuation, _is_whitespace

# A vocabulary entry that can never match a word (words never contain spaces); it stands in for
# entries FastWordpiece cannot hold and for earlier duplicates, so ids stay equal to line numbers.
_UNMATCHABLE = " <bertzoo unmatchable {}> "
# The same for the fast path's FastWordpiece, which pre-tokenizes itself and would match a vocabulary
# entry across a space: a control character (never in a fast-path domain) and no space.
_FAST_UNMATCHABLE = "\x01{}"

# Non-ASCII characters the fast path may take, as ``fast_path_code_points`` decides: Latin-1 Supplement,
# Latin Extended-A and -B, General Punctuation (accented letters, curly quotes, dashes, spaces).
_FAST_PATH_CANDIDATES = (range(0xA0, 0x250), range(0x2000, 0x2070))
# Most bytes a domain character may have after normalisation: a word of n such characters then has
# at most 3n bytes, the basis of the run limit in ``_fast_domain_pattern``.
_MAX_NORMALIZED_BYTES = 3


@functools.lru_cache(maxsize=None)
def fast_path_code_points(lowercase: bool, strip_accents: bool) -> tuple[int, ...]:
    """The characters on which the fast path's ops equal Google's rules, for one configuration.

    Always printable ASCII and ``\\t\\n\\r`` (whitespace, the ASCII symbols as punctuation and
    ``A-Z`` lowercasing are the same in tensorflow-text's pre-tokenization, ``tf.strings.lower``
    and ``FastBertNormalizer``); other controls are out (Google drops them, tensorflow-text keeps
    or splits on them). Cased with accent stripping has no fast op: ASCII only. Otherwise also
    the ``_FAST_PATH_CANDIDATES`` that are assigned and not Cc/Cf (which Google drops) whose
    normalised form has at most ``_MAX_NORMALIZED_BYTES`` bytes, and, where lowercasing:

    * keeping accents (``tf.strings.lower``, ICU): those ICU lowercases as Python does;
    * stripping accents (``FastBertNormalizer``, which case-folds with NFKC, then NFD and drops
      Mn): those whose NFKC case folding gives what Python's ``lower`` gives once accents are
      stripped (not ``ß``, ``µ``, ``…``, ligatures, superscripts, NBSP).

    Measured over every returned code point in context (tests/test_tokenizer_fast_path.py).
    """
    ascii_points = [ord(c) for c in "\t\n\r"] + list(range(0x20, 0x7F))
    if strip_accents and not lowercase:
        return tuple(ascii_points)
    icu_misses = _lowercase_fixes()
    extra = []
    for cp in (cp for block in _FAST_PATH_CANDIDATES for cp in block):
        char = chr(cp)
        if unicodedata.category(char) in ("Cc", "Cf", "Cn", "Co", "Cs"):
            continue
        google = _strip_marks(char.lower()) if strip_accents else char.lower() if lowercase else char
        if len(google.encode("utf-8")) > _MAX_NORMALIZED_BYTES:
            continue
        if lowercase and not strip_accents and char in icu_misses:
            continue
        nfkc_folded = _strip_marks(unicodedata.normalize("NFKC", char.casefold()))
        if lowercase and strip_accents and nfkc_folded != google:
            continue
        extra.append(cp)
    return tuple(ascii_points + extra)


def _fast_domain_pattern(code_points: tuple[int, ...], max_input_chars_per_word: int) -> str:
    """RE2 pattern for the strings the fast path takes: all characters in ``code_points``, and
    where any is not ASCII, no run of more than ``max_input_chars_per_word // 3`` (at most 100)
    characters between ASCII whitespace.

    FastWordpiece limits words in bytes, Google in characters. In ASCII both are the same; a
    word of n other domain characters has at most 3n bytes (``_MAX_NORMALIZED_BYTES``) and at
    most 3n characters after normalisation, so with the run limit no fast-path word reaches
    either limit. Longer runs (and anything else) take the exact path.
    """
    ascii_only = "[\\t\\n\\r\\x20-\\x7E]*"
    if all(cp < 0x80 for cp in code_points):
        return ascii_only
    space = "[ \\t\\n\\r]"
    non_space = _re2_class(sorted(set(code_points) - {ord(c) for c in " \t\n\r"}))
    run = min(max_input_chars_per_word // _MAX_NORMALIZED_BYTES, 100)
    if run == 0:
        return f"{ascii_only}|{space}*"
    return f"{ascii_only}|{space}*(?:{non_space}{{1,{run}}}{space}+)*{non_space}{{0,{run}}}"


def _strip_marks(text: str) -> str:
    """Google's ``_run_strip_accents``: NFD, then drop category Mn."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


class _WordPieceSettings:
    """What ``WordPieceTokenizer`` and the serving ``CoreOpsTokenizer`` share around their
    pipelines: argument checks, the settings, the ``BasicNormalizer`` and the vocabulary's ids."""

    def _set_up(
        self,
        vocabulary: Vocabulary | list[str] | str | os.PathLike,
        lowercase: bool,
        strip_accents: bool | None,
        tokenize_chinese_chars: bool,
        max_input_chars_per_word: int,
    ) -> None:
        """Checks the arguments, loads the vocabulary and builds the normaliser's tables."""
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
        self.max_input_chars_per_word = int(max_input_chars_per_word)
        self._normalizer = BasicNormalizer(lowercase, strip_accents, tokenize_chinese_chars)
        self.lowercase = self._normalizer.lowercase
        self.strip_accents = self._normalizer.strip_accents
        self.tokenize_chinese_chars = self._normalizer.tokenize_chinese_chars

    @property
    def vocabulary(self) -> Vocabulary:
        return self._vocabulary

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocabulary)

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

    @property
    def mask_id(self) -> int:
        return self._vocabulary.mask_id


def _google_can_match(token: str) -> bool:
    """Whether some word of Google's BasicTokenizer can match ``token``: a word is a single
    punctuation character or holds none, and never holds whitespace or a dropped control.
    The fast path's FastWordpiece gets only such entries: it would match others (one with a
    space matches across words)."""
    body = token[2:] if token.startswith("##") else token
    if not body or any(_is_whitespace(c) or _is_control(c) for c in body):
        return False
    if any(_is_punctuation(c) for c in body):
        return len(body) == 1 and body == token
    return True


@keras.saving.register_keras_serializable(package="bertzoo")
class WordPieceTokenizer(_WordPieceSettings, keras.layers.Layer):
    """Raw strings -> WordPiece ids, in-graph, following Google's BERT ``tokenization.py``.

    The steps are Google's BasicTokenizer then WordpieceTokenizer:
    decode as UTF-8 dropping invalid bytes; drop NUL, U+FFFD and Cc/Cf controls (keeping tab,
    newline, return) and map Zs and ``\\t\\n\\r`` to spaces; put spaces around CJK ideographs;
    split on whitespace (as Python's ``str.split``); lowercase (Python's full ``str.lower``); strip
    accents (NFD, drop Mn); split off each punctuation character (ASCII symbols and P*, not S*);
    then greedy longest-match-first WordPiece with ``##`` continuations, where a word longer than
    ``max_input_chars_per_word`` characters, or with any piece not in the vocabulary, becomes
    ``[UNK]``. Character categories follow Python's ``unicodedata`` (Unicode 14.0 on Python 3.11).

    Edge cases: an empty (or all-whitespace, all-control) string gives no tokens; invalid UTF-8
    bytes are dropped as Google's ``convert_to_unicode`` does; a word of 201 characters is one
    ``[UNK]`` while one of exactly 200 is split into pieces.

    Where TensorFlow's own ops disagree with Python (measured over every code point), the
    pipeline corrects them: ``tf.strings.lower`` (ICU, older than Unicode 14) leaves 40 Unicode 14
    capitals (U+2C2F, U+A7C0, U+10570..) alone, so they are rewritten afterwards; and it decides
    final sigma with its own Cased / Case_Ignorable data (e.g. U+2C2F, U+0888), so every capital
    sigma is lowercased beforehand by Python's rule (``_final_sigma_pattern``).

    Routing (``tokenize``, and so ``BertPreprocessor``): most English text needs none of these
    corrections, so each string whose characters all lie in the fast-path domain
    (``fast_path_code_points``: ASCII without the controls Google drops, plus, by configuration,
    Latin letters and General Punctuation) and whose non-ASCII text has no run over
    ``max_input_chars_per_word // 3`` characters takes tensorflow-text's own ops:
    ``FastBertNormalizer`` (uncased) or ICU ``tf.strings.lower`` (uncased, accents kept), then
    ``FastWordpieceTokenizer`` with its own pre-tokenization. On that domain they apply the same
    rules (measured on every domain code point in context, tests/test_tokenizer_fast_path.py);
    the other strings take the steps above, and the results are merged back in order. A batch
    with no such string runs the fast ops alone. ``basic_tokenize`` and ``tokenize_words`` always
    take the steps above.

    Known difference from the reference: accent stripping rewrites each character on its own
    (NFD then drop Mn), without NFD's canonical reordering. This only matters when two of the 25
    spacing combining marks that are not Mn (e.g. U+302E, U+1D165, U+1D16D, viramas U+1B44)
    meet in decreasing combining class; NFD would swap them, the pipeline keeps their order.
    Chosen because the ICU NFD inside tensorflow-text is Unicode 16, and decomposes characters
    that Python's Unicode 14 leaves unassigned (U+105C9, U+11383, U+16121, ...).

    Args:
        vocabulary: a ``Vocabulary``, a list of tokens, or the path to a ``vocab.txt``.
        lowercase: lowercase the text (an uncased checkpoint); ``Vocabulary.infer_lowercase``
            tells when the checkpoint does not say.
        strip_accents: NFD-decompose and drop combining marks; None means "same as lowercase".
        tokenize_chinese_chars: split CJK ideographs into single-character words.
        max_input_chars_per_word: longer words become ``[UNK]``.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ...).

    Example (bert-base-uncased's vocab.txt):
    >>> tokenizer = WordPieceTokenizer("vocab.txt", lowercase=True)  # doctest: +SKIP
    >>> tokenizer(["Hello, world!"])  # doctest: +SKIP
    <tf.RaggedTensor [[7592, 1010, 2088, 999]]>
    """

    def __init__(
        self,
        vocabulary: Vocabulary | list[str] | str | os.PathLike,
        lowercase: bool,
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
        max_input_chars_per_word: int = 200,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # A preprocessing layer: string inputs, no weights, no autocasting.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

        self._set_up(vocabulary, lowercase, strip_accents, tokenize_chinese_chars, max_input_chars_per_word)

        tokens = self._vocabulary.tokens
        last_id = {token: i for i, token in enumerate(tokens)}
        wordpiece_vocab = [
            t if self._can_match(t) and last_id[t] == i else _UNMATCHABLE.format(i)
            for i, t in enumerate(tokens)
        ]
        fast_vocab = [
            t if _google_can_match(t) and last_id[t] == i else _FAST_UNMATCHABLE.format(i)
            for i, t in enumerate(tokens)
        ]
        fast_vocab[self.unk_id] = "[UNK]"  # FastWordpiece looks its unknown token up by name
        strips_accents = self.lowercase if self.strip_accents is None else self.strip_accents
        self._fast_domain = _fast_domain_pattern(
            fast_path_code_points(self.lowercase, strips_accents), self.max_input_chars_per_word
        )
        with tf.init_scope():
            self._fast_normalizer = (
                tf_text.FastBertNormalizer(lower_case_nfd_strip_accents=True)
                if self.lowercase and strips_accents
                else None
            )
            self._fast_wordpiece = tf_text.FastWordpieceTokenizer(
                vocab=fast_vocab,
                suffix_indicator="##",
                # Counts bytes; equal to Google's character limit on the fast path's strings
                # (see _fast_domain_pattern).
                max_bytes_per_word=self.max_input_chars_per_word,
                token_out_type=tf.int32,
                unknown_token="[UNK]",
                no_pretokenization=False,
            )
            self._wordpiece = tf_text.FastWordpieceTokenizer(
                vocab=wordpiece_vocab,
                suffix_indicator="##",
                # Every word this long in bytes is over the character limit anyway; the
                # character rule itself is applied in _wordpiece_ids.
                max_bytes_per_word=4 * self.max_input_chars_per_word,
                token_out_type=tf.int32,
                unknown_token="[UNK]",
                no_pretokenization=True,
            )
            self._id_to_token = tf.constant(tokens)

    @staticmethod
    def _can_match(token: str) -> bool:
        """False for entries no word can match, which FastWordpiece's trie also rejects: blank
        lines, a bare ``##`` ("#" is punctuation, so always a word of its own) and tokens with
        NUL (removed from the text as a control character)."""
        return token not in ("", "##") and "\x00" not in token

    # -- tokenization --------------------------------------------------------------------------

    def basic_tokenize(self, strings) -> tf.RaggedTensor:
        """Google's BasicTokenizer: strings ``[batch]`` -> words ``[batch, (words)]`` (tf.string).

        Args:
            strings: a rank-1 batch of strings (a scalar gives ``[words]``).
        """
        strings, scalar = as_string_batch(strings, type(self).__name__)
        words = self._basic_tokenize(strings)
        return words[0] if scalar else words

    def tokenize_words(self, strings) -> tf.RaggedTensor:
        """WordPiece ids grouped by word: int32 ``[batch, (words), (pieces)]``.

        Args:
            strings: a rank-1 batch of strings (a scalar gives ``[(words), (pieces)]``).
        """
        strings, scalar = as_string_batch(strings, type(self).__name__)
        words = self._basic_tokenize(strings)
        pieces = words.with_flat_values(self._wordpiece_ids(words.flat_values))
        return pieces[0] if scalar else pieces

    def tokenize(self, strings) -> tf.RaggedTensor:
        """WordPiece ids: strings ``[batch]`` -> int32 ``[batch, (pieces)]``.

        Args:
            strings: a rank-1 batch of strings (a scalar gives a dense ``[pieces]``).
        """
        strings, scalar = as_string_batch(strings, type(self).__name__)
        in_domain = tf.strings.regex_full_match(strings, self._fast_domain)
        # Functional: the rare exact branch's few hundred ops cost nothing when not taken.
        pieces = lazy_cond(
            tf.reduce_all(in_domain),
            lambda: self._fast_tokenize(strings),
            lambda: self._route(strings, in_domain),
        )
        pieces = with_static_rows(pieces, strings.shape[0])
        return pieces[0] if scalar else pieces

    def call(self, strings) -> tf.RaggedTensor:
        return self.tokenize(strings)

    def ids_to_tokens(self, ids) -> tf.Tensor | tf.RaggedTensor:
        """Token strings for ids of any shape, ragged or dense (for debugging and tests)."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
        return tf.ragged.map_flat_values(lambda i: tf.gather(self._id_to_token, i), ids)

    # -- steps -----------------------------------------------------------------------------------

    def _basic_tokenize(self, strings: tf.Tensor) -> tf.RaggedTensor:
        """Google's BasicTokenizer on a rank-1 batch: the shared normaliser, then ``regex_split``
        on whitespace and around punctuation."""
        t = self._normalizer.tables
        text = self._normalizer.normalize(strings)
        words = tf_text.regex_split(text, f"{t.split_space}|{t.punctuation}", t.punctuation)
        # regex_split forgets the static batch size; a known one is kept for callers (TPU shapes).
        return with_static_rows(words, strings.shape[0])

    def _route(self, strings: tf.Tensor, in_domain: tf.Tensor) -> tf.RaggedTensor:
        """Strings ``[n]`` -> int32 ``[n, (pieces)]``: those ``in_domain`` by the fast path, the
        others by the exact one, back in their order."""
        fast_rows = tf.where(in_domain)[:, 0]
        exact_rows = tf.where(tf.logical_not(in_domain))[:, 0]
        fast = self._fast_tokenize(tf.gather(strings, fast_rows))
        exact = self._exact_tokenize(tf.gather(strings, exact_rows))
        # Row i of the result is row order[i] of [fast; exact].
        order = tf.math.invert_permutation(tf.concat([fast_rows, exact_rows], axis=0))
        return tf.gather(tf.concat([fast, exact], axis=0), order)

    def _fast_tokenize(self, strings: tf.Tensor) -> tf.RaggedTensor:
        """Strings matching ``_fast_domain`` ``[n]`` -> int32 ``[n, (pieces)]``: tensorflow-text's
        normaliser (or ICU lowercasing) and FastWordpiece with its own pre-tokenization."""
        if self._fast_normalizer is not None:
            strings = self._fast_normalizer.normalize(strings)
        elif self.lowercase:
            strings = tf.strings.lower(strings, encoding="utf-8")
        return self._fast_wordpiece.tokenize(strings)

    def _exact_tokenize(self, strings: tf.Tensor) -> tf.RaggedTensor:
        """Any strings ``[n]`` -> int32 ``[n, (pieces)]`` by the full pipeline.

        Splits as ``CoreOpsTokenizer`` does (spaces around punctuation, then ``tf.strings.split``;
        equal to ``_basic_tokenize``'s ``regex_split``) and leaves the empty strings that makes to
        WordPiece, which gives them no pieces: no ragged validation, whose assertions are costly
        in a ``tf.data`` map.
        """
        t = self._normalizer.tables
        text = self._normalizer.normalize(strings)
        text = tf.strings.regex_replace(text, f"({t.punctuation})|{t.split_space}", r" \1 ")
        words = tf.strings.split(text, sep=" ")
        pieces = self._wordpiece_ids(words.flat_values)
        return tf.RaggedTensor.from_row_splits(
            pieces.values, tf.gather(pieces.row_splits, words.row_splits), validate=False
        )

    def _wordpiece_ids(self, words: tf.Tensor) -> tf.RaggedTensor:
        """Words ``[n]`` -> int32 ``[n, (pieces)]``; too-long words are a single ``[UNK]``, as is
        NUL, which they are replaced by (no vocabulary entry holds NUL, see ``_can_match``)."""
        too_long = tf.strings.length(words, unit="UTF8_CHAR") > self.max_input_chars_per_word
        return self._wordpiece.tokenize(tf.where(too_long, "\x00", words))

    # -- serialization -----------------------------------------------------------------------

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "vocabulary": self._vocabulary.tokens,
                "lowercase": self.lowercase,
                "strip_accents": self.strip_accents,
                "tokenize_chinese_chars": self.tokenize_chinese_chars,
                "max_input_chars_per_word": self.max_input_chars_per_word,
            }
        )
        return config
