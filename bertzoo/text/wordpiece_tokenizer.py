"""In-graph BERT tokenization following Google's ``tokenization.py`` rules exactly.

Google's BasicTokenizer + WordpieceTokenizer (google-research/bert) is the reference; tensorflow-text's
``BertTokenizer`` and KerasHub normalise some characters differently (their NFKC case folding maps
full-width forms and ligatures), so the pipeline is assembled from lower-level ops whose character
classes are built from Python's ``unicodedata`` (what the reference uses), not from the Unicode
version compiled into RE2 or ICU.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import unicodedata

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from bertzoo.text.vocabulary import Vocabulary

# Google's CJK ideograph blocks (``_is_chinese_char``), inclusive.
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
# A vocabulary entry that can never match a word (words never contain spaces); it stands in for
# entries FastWordpiece cannot hold and for earlier duplicates, so ids stay equal to line numbers.
_UNMATCHABLE = " <bertzoo unmatchable {}> "
# Lookup default meaning "this character maps to itself": no mapped value ever contains NUL.
_IDENTITY = "\x00"


def _re2_class(code_points: list[int], negate: bool = False) -> str:
    """An RE2 character class matching exactly ``code_points`` (sorted ascending)."""
    parts = []
    start = prev = None
    for cp in code_points + [None]:
        if cp is not None and prev is not None and cp == prev + 1:
            prev = cp
            continue
        if start is not None:
            parts.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        start = prev = cp
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


@dataclasses.dataclass(frozen=True)
class _UnicodeTables:
    """Google's character classes as RE2 patterns, and per-character rewrite maps."""

    control: str  # removed by _clean_text: NUL, U+FFFD, Cc/Cf except \t \n \r
    whitespace: str  # mapped to " " by _clean_text: " " \t \n \r and Zs
    split_space: str  # what Python's str.split() splits on
    punctuation: str  # _is_punctuation: ASCII symbols and every P* category
    cjk: str  # _is_chinese_char
    strip_accents: dict  # char -> NFD(char) without Mn, for every char it changes
    lowercase: dict  # char -> char.lower(), for every char it changes


@functools.lru_cache(maxsize=None)
def _unicode_tables() -> _UnicodeTables:
    """Scans every code point once per process (about a second) to build the classes."""
    control, whitespace, split_space, punctuation, cjk = [], [], [], [], []
    strip_accents, lowercase = {}, {}
    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp <= 0xDFFF:  # surrogates never occur in valid UTF-8
            continue
        char = chr(cp)
        category = unicodedata.category(char)
        if cp in (0, 0xFFFD) or (category in ("Cc", "Cf") and char not in "\t\n\r"):
            control.append(cp)
        if char in " \t\n\r" or category == "Zs":
            whitespace.append(cp)
        if char.isspace():
            split_space.append(cp)
        if (33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126) or category[0] == "P":
            punctuation.append(cp)
        if any(lo <= cp <= hi for lo, hi in CJK_RANGES):
            cjk.append(cp)
        if category == "Mn":
            strip_accents[char] = ""
        elif not unicodedata.is_normalized("NFD", char):
            nfd = unicodedata.normalize("NFD", char)
            strip_accents[char] = "".join(c for c in nfd if unicodedata.category(c) != "Mn")
        lower = char.lower()
        if lower != char:
            lowercase[char] = lower
    return _UnicodeTables(
        control=_re2_class(control),
        whitespace=_re2_class(whitespace),
        split_space=_re2_class(split_space),
        punctuation=_re2_class(punctuation),
        cjk=_re2_class(cjk),
        strip_accents=strip_accents,
        lowercase=lowercase,
    )


@functools.lru_cache(maxsize=None)
def _lowercase_fixes() -> dict:
    """Characters Python lowercases but ``tf.strings.lower`` (ICU) leaves alone.

    The ICU inside TensorFlow 2.21 predates Unicode 14, so it does not lowercase e.g. U+2C2F,
    U+A7C0 or the Vithkuqi capitals U+10570.. that Python 3.11 (Unicode 14) does; these are
    rewritten after ``tf.strings.lower``.
    """
    lowercase = _unicode_tables().lowercase
    chars = list(lowercase)
    with tf.init_scope():
        lowered = tf.strings.lower([c.encode("utf-8") for c in chars], encoding="utf-8").numpy()
    return {c: lowercase[c] for c, got in zip(chars, lowered) if got.decode("utf-8") == c}


@functools.lru_cache(maxsize=None)
def _final_sigma_pattern() -> str:
    """RE2 pattern for a capital sigma that Python's ``str.lower`` turns into final sigma.

    Python maps U+03A3 to U+03C2 in the context ``cased case-ignorable* _ !(case-ignorable*
    cased)``, with its own Unicode 14 ``Cased`` / ``Case_Ignorable`` properties; ICU decides with
    its older data (it does not know e.g. U+2C2F as cased). The properties are read off Python
    itself: ``c + "Σ"`` ends in final sigma iff c is cased and not case-ignorable, and
    ``"A" + c + "Σ"`` iff c is case-ignorable or cased. Groups: 1 before, 2 after, 3 the
    character (or end) that closes the context.
    """
    cased, ignorable = [], []
    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        char = chr(cp)
        if (char + "\u03a3").lower()[-1] == "\u03c2":
            cased.append(cp)
        elif ("A" + char + "\u03a3").lower()[-1] == "\u03c2":
            ignorable.append(cp)
    cased_class, ignorable_class = _re2_class(cased), _re2_class(ignorable)
    neither = _re2_class(sorted(cased + ignorable), negate=True)
    return f"({cased_class}{ignorable_class}*)\u03a3({ignorable_class}*)($|{neither})"


@keras.saving.register_keras_serializable(package="bertzoo")
class WordPieceTokenizer(keras.layers.Layer):
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
        char_map = {}
        do_strip = self.lowercase if self.strip_accents is None else self.strip_accents
        if do_strip:
            char_map.update(self._tables.strip_accents)
        if self.lowercase:
            strip = self._tables.strip_accents
            for char, lower in _lowercase_fixes().items():
                char_map[char] = "".join(strip.get(c, c) for c in lower) if do_strip else lower

        tokens = self._vocabulary.tokens
        last_id = {token: i for i, token in enumerate(tokens)}
        wordpiece_vocab = [
            t if self._can_match(t) and last_id[t] == i else _UNMATCHABLE.format(i)
            for i, t in enumerate(tokens)
        ]
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

    # -- vocabulary ----------------------------------------------------------------------------

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

    # -- tokenization --------------------------------------------------------------------------

    def basic_tokenize(self, strings) -> tf.RaggedTensor:
        """Google's BasicTokenizer: strings ``[batch]`` -> words ``[batch, (words)]`` (tf.string).

        Args:
            strings: a rank-1 batch of strings (a scalar gives ``[words]``).
        """
        strings, scalar = self._as_batch(strings)
        words = self._basic_tokenize(strings)
        return words[0] if scalar else words

    def tokenize_words(self, strings) -> tf.RaggedTensor:
        """WordPiece ids grouped by word: int32 ``[batch, (words), (pieces)]``.

        Args:
            strings: a rank-1 batch of strings (a scalar gives ``[(words), (pieces)]``).
        """
        strings, scalar = self._as_batch(strings)
        words = self._basic_tokenize(strings)
        pieces = words.with_flat_values(self._wordpiece_ids(words.flat_values))
        return pieces[0] if scalar else pieces

    def tokenize(self, strings) -> tf.RaggedTensor:
        """WordPiece ids: strings ``[batch]`` -> int32 ``[batch, (pieces)]``.

        Args:
            strings: a rank-1 batch of strings (a scalar gives a dense ``[pieces]``).
        """
        strings, scalar = self._as_batch(strings)
        words = self._basic_tokenize(strings)
        pieces = words.with_flat_values(self._wordpiece_ids(words.flat_values))
        pieces = pieces.merge_dims(1, 2)
        return pieces[0] if scalar else pieces

    def call(self, strings) -> tf.RaggedTensor:
        return self.tokenize(strings)

    def ids_to_tokens(self, ids) -> tf.Tensor | tf.RaggedTensor:
        """Token strings for ids of any shape, ragged or dense (for debugging and tests)."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
        return tf.ragged.map_flat_values(lambda i: tf.gather(self._id_to_token, i), ids)

    # -- steps -----------------------------------------------------------------------------------

    def _as_batch(self, strings) -> tuple[tf.Tensor, bool]:
        if isinstance(strings, tf.RaggedTensor) or isinstance(strings, tf.SparseTensor):
            raise TypeError(f"{type(self).__name__} expected a dense tf.string tensor, got {type(strings).__name__}.")
        try:
            strings = tf.convert_to_tensor(strings)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{type(self).__name__} expected a tf.string tensor: {e}") from None
        if strings.dtype != tf.string:
            raise TypeError(
                f"{type(self).__name__} expected a tf.string tensor, got dtype {strings.dtype.name}."
            )
        rank = strings.shape.rank
        if rank == 0:
            return strings[tf.newaxis], True
        if rank is None:
            return tf.reshape(strings, [-1]), False
        if rank != 1:
            raise ValueError(
                f"{type(self).__name__} expected a scalar or a rank-1 batch of strings, "
                f"got shape {strings.shape}."
            )
        return strings, False

    def _basic_tokenize(self, strings: tf.Tensor) -> tf.RaggedTensor:
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
        words = tf_text.regex_split(text, f"{t.split_space}|{t.punctuation}", t.punctuation)
        # regex_split forgets the static batch size; a known one is kept for callers (TPU shapes).
        batch_size = strings.shape[0]
        row_splits = tf.ensure_shape(words.row_splits, [None if batch_size is None else batch_size + 1])
        return tf.RaggedTensor.from_row_splits(words.values, row_splits, validate=False)

    def _lower_capital_sigma(self, text: tf.Tensor) -> tf.Tensor:
        """Lowercases every U+03A3 with Python's final-sigma rule, so ICU never decides it."""

        def rewrite():
            final = tf.strings.regex_replace(text, _final_sigma_pattern(), "\\1\u03c2\\2\\3")
            return tf.strings.regex_replace(final, "\u03a3", "\u03c3")

        has_sigma = tf.reduce_any(tf.strings.regex_full_match(text, "(?s).*\u03a3.*"))
        return tf.cond(has_sigma, rewrite, lambda: tf.identity(text))

    def _map_chars(self, text: tf.Tensor) -> tf.Tensor:
        """Rewrites each character through ``self._char_map`` (accents, lowercase fixes)."""

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
        """Words ``[n]`` -> int32 ``[n, (pieces)]``; too-long words are a single ``[UNK]``."""
        pieces = self._wordpiece.tokenize(words)
        too_long = tf.strings.length(words, unit="UTF8_CHAR") > self.max_input_chars_per_word
        keep = tf.repeat(tf.logical_not(too_long), pieces.row_lengths())
        kept = tf.RaggedTensor.from_row_lengths(
            tf.boolean_mask(pieces.values, keep),
            tf.where(too_long, tf.zeros_like(pieces.row_lengths()), pieces.row_lengths()),
        )
        n_long = tf.reduce_sum(tf.cast(too_long, tf.int64))
        unk = tf.RaggedTensor.from_row_lengths(
            tf.fill([n_long], tf.constant(self.unk_id, tf.int32)), tf.cast(too_long, tf.int64)
        )
        return tf.concat([kept, unk], axis=1)

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
