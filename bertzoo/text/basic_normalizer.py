"""Google's BasicTokenizer text normalisation (``tokenization.py``) in core TensorFlow ops.

Shared by the training tokenizer (``WordPieceTokenizer``, tensorflow-text) and the serving one
(``bertzoo.export.CoreOpsTokenizer``, core ops only), so both clean, space, lowercase and strip
accents by the very same steps and differ only in how they split words and run WordPiece.
Character classes are built from Python's ``unicodedata`` (what the reference uses), not from the
Unicode version compiled into RE2 or ICU. Nothing here may use a tensorflow-text op.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import unicodedata

import tensorflow as tf

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


def as_string_batch(strings, owner: str) -> tuple[tf.Tensor, bool]:
    """A rank-1 tf.string batch, and whether the input was a scalar: the input check of both
    tokenizers (and the preprocessors), with errors naming ``owner``."""
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


def with_static_rows(ragged: tf.RaggedTensor, batch_size: int | None) -> tf.RaggedTensor:
    """Restores a static batch size that ragged ops forgot, for callers that need it (TPU shapes)."""
    if batch_size is None:
        return ragged
    row_splits = tf.ensure_shape(ragged.row_splits, [batch_size + 1])
    return tf.RaggedTensor.from_row_splits(ragged.values, row_splits, validate=False)


class BasicNormalizer(tf.Module):
    """Strings -> text normalised as Google's BasicTokenizer does before it splits words.

    The steps, in order: decode as UTF-8 dropping invalid bytes; drop NUL, U+FFFD and Cc/Cf
    controls (keeping tab, newline, return) and map Zs and ``\\t\\n\\r`` to spaces; put spaces
    around CJK ideographs; lowercase as Python's ``str.lower`` (final sigma decided by Python's
    rule before ``tf.strings.lower``, and ICU's missing Unicode 14 capitals rewritten after); strip
    accents per character (NFD, drop Mn). Splitting on whitespace and punctuation is left to the
    caller, with ``tables.split_space`` and ``tables.punctuation``.

    Core ops only, and the lookup table is built at construction from the settings alone, so a
    Keras layer rebuilds it from its config. A ``tf.Module`` so that the layer or SavedModel
    holding it tracks the table.

    Args:
        lowercase: lowercase the text (an uncased checkpoint).
        strip_accents: NFD-decompose and drop combining marks; None means "same as lowercase".
        tokenize_chinese_chars: put spaces around CJK ideographs.
        name: the module's name.
    """

    def __init__(
        self,
        lowercase: bool,
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
        name: str | None = None,
    ):
        super().__init__(name=name)
        self.lowercase = bool(lowercase)
        self.strip_accents = None if strip_accents is None else bool(strip_accents)
        self.tokenize_chinese_chars = bool(tokenize_chinese_chars)
        self.tables = _unicode_tables()

        char_map = {}
        do_strip = self.lowercase if self.strip_accents is None else self.strip_accents
        if do_strip:
            char_map.update(self.tables.strip_accents)
        if self.lowercase:
            strip = self.tables.strip_accents
            for char, lower in _lowercase_fixes().items():
                char_map[char] = "".join(strip.get(c, c) for c in lower) if do_strip else lower
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

    def normalize(self, strings: tf.Tensor) -> tf.Tensor:
        """UTF-8 strings ``[batch]`` -> normalised UTF-8 strings ``[batch]``, not yet split."""
        t = self.tables
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
        return text

    def _lower_capital_sigma(self, text: tf.Tensor) -> tf.Tensor:
        """Lowercases every U+03A3 with Python's final-sigma rule, so ICU never decides it."""

        def rewrite():
            final = tf.strings.regex_replace(text, _final_sigma_pattern(), "\\1\u03c2\\2\\3")
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
