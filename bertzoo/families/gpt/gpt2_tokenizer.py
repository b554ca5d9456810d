"""GPT-2's byte-level BPE tokenizer, in-graph from core TensorFlow ops, equal to OpenAI's ``encoder.py``.

OpenAI's ``src/encoder.py`` (openai/gpt-2) is the reference: the text is cut by the regular expression
``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+``, each piece's
UTF-8 bytes are merged by rank (lowest first, every non-overlapping occurrence, left to right), and
the merged tokens are looked up in ``encoder.json``.

keras-hub 0.32's ``GPT2Tokenizer`` differs from it: its split keeps newline runs together, so
``"a\\n\\nb"`` gives ``[64, 628, 65]`` where OpenAI's encoder gives ``[64, 198, 198, 65]``.

How the graph stays equal to the regular expression without a regex split (tensorflow-text's ops
are not in a stock TensorFlow Serving, and RE2 has no lookahead): every character is given its
class under the ``regex`` package's own Unicode tables (letter, number, whitespace, space, other),
and where a piece starts is decided from a character's neighbours alone. A character starts a piece
when it follows a different class, except that a space (U+0020) before a letter, number or other
character joins it; inside a whitespace run only the last character before a non-space starts a
new piece (that is ``\\s+(?!\\S)`` backtracking by one); an apostrophe that starts a piece and is
followed by ``s t m d`` or ``re ve ll`` is a contraction of its own. The merge loop is a
``tf.while_loop`` over every word of the batch at once; words that are a single vocabulary token
(checked at construction by the same loop) skip it through a hash table.
"""

from __future__ import annotations

import functools
import json
import os
import types
from collections.abc import Iterable

import keras
import numpy as np
import regex
import tensorflow as tf

from bertzoo.errors import ConfigError
from bertzoo.families.gpt.bpe_vocabulary import (
    END_OF_TEXT,
    bpe_from_tiktoken_ranks,
    byte_decoder,
    read_bpe_merges,
    read_encoder_json,
    read_tiktoken_ranks,
)
from bertzoo.text.basic_normalizer import as_string_batch, with_static_rows

__all__ = ["GPT2Tokenizer", "character_classes"]

# Character classes of the pre-split. EDGE stands for the start or end of a text segment.
LETTER, NUMBER, OTHER, WHITESPACE, SPACE, EDGE = 0, 1, 2, 3, 4, 5
_APOSTROPHE = ord("'")
_CONTRACTION_2 = [ord(c) for c in "stmd"]
_CONTRACTION_3 = [(ord(a), ord(b)) for a, b in ("re", "ve", "ll")]
_NO_RANK = np.iinfo(np.int32).max


@functools.lru_cache(maxsize=None)
def character_classes() -> tuple[np.ndarray, np.ndarray]:
    """The pre-split's classes of all code points as ranges: ``(starts, classes)``, where code point
    ``c`` has ``classes[searchsorted(starts, c, side="right") - 1]``.

    Read from the ``regex`` package's ``\\p{L}``, ``\\p{N}`` and ``\\s`` (what OpenAI's encoder uses),
    so the graph follows the same Unicode version as the reference on this machine.
    """
    everything = "".join(map(chr, range(0x110000)))
    classes = np.full(0x110000, OTHER, np.int8)
    for pattern, cls in ((r"\p{L}", LETTER), (r"\p{N}", NUMBER), (r"\s", WHITESPACE)):
        hits = [m.start() for m in regex.finditer(pattern, everything)]
        classes[hits] = cls
    classes[ord(" ")] = SPACE
    change = np.flatnonzero(np.diff(classes)) + 1
    starts = np.concatenate([[0], change]).astype(np.int32)
    return starts, classes[starts].astype(np.int32)


def _shift_right(x: tf.Tensor, by: int, fill) -> tf.Tensor:
    n = tf.shape(x)[0]
    return tf.concat([tf.fill([by], tf.constant(fill, x.dtype)), x], 0)[:n]


def _shift_left(x: tf.Tensor, by: int, fill) -> tf.Tensor:
    return tf.concat([x, tf.fill([by], tf.constant(fill, x.dtype))], 0)[by:]


def _utf8_bytes(code_points: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Code points ``[n]`` -> their UTF-8 bytes as int32 ``[n, 4]`` and their byte counts ``[n]``."""
    cp = code_points
    count = tf.where(cp < 0x80, 1, tf.where(cp < 0x800, 2, tf.where(cp < 0x10000, 3, 4)))

    def bits(shift, mask, lead):
        return tf.bitwise.bitwise_or(tf.bitwise.bitwise_and(tf.bitwise.right_shift(cp, shift), mask), lead)

    first = tf.where(
        count == 1,
        cp,
        tf.where(count == 2, bits(6, 0x1F, 0xC0), tf.where(count == 3, bits(12, 0x0F, 0xE0), bits(18, 0x07, 0xF0))),
    )
    second = tf.where(count == 2, bits(0, 0x3F, 0x80), tf.where(count == 3, bits(6, 0x3F, 0x80), bits(12, 0x3F, 0x80)))
    third = tf.where(count == 3, bits(0, 0x3F, 0x80), bits(6, 0x3F, 0x80))
    fourth = bits(0, 0x3F, 0x80)
    return tf.stack([first, second, third, fourth], axis=1), count


def _special_pattern_overlaps(specials: list[str]) -> tuple[str, str] | None:
    """Two special tokens (or one with itself) that can overlap in a text, else None: one inside
    the other, or a proper suffix of one equal to a prefix of the other."""
    for a in specials:
        for b in specials:
            if a != b and a in b:
                return a, b
            if any(a[-k:] == b[:k] for k in range(1, min(len(a), len(b)))):
                return a, b
    return None


@keras.saving.register_keras_serializable(package="bertzoo")
class GPT2Tokenizer(keras.layers.Layer):
    """Raw strings -> GPT-2 token ids, in-graph, equal to OpenAI's ``encoder.py``.

    Core TensorFlow ops only (``tf.strings``, ``tf.lookup``, ``tf.while_loop``, ragged tensors), so
    a SavedModel holding it loads in a stock TensorFlow Serving. Text that is not valid UTF-8 has
    each bad sequence replaced by U+FFFD first (as Python's ``bytes.decode(errors="replace")``).

    Special tokens: as in OpenAI's encoder, ``"<|endoftext|>"`` inside text is ordinary text by
    default (``"<|"``, ``"endoftext"``, ``"|>"``). ``allowed_special`` (as tiktoken's) names the
    special tokens that map to their own id where they appear in text: a set of names or ``"all"``;
    the text between them is split as if it ended there. A name that is not one of the
    tokenizer's ``special_tokens`` is a ValueError naming it.

    Args:
        encoder: ``encoder.json``'s contents, token (in GPT-2's byte alphabet) -> id.
        merges: ``vocab.bpe``'s merges in rank order, as (left, right) pairs.
        special_tokens: the encoder's tokens that are special rather than text; None means
            ``["<|endoftext|>"]`` when the encoder has it.
        allowed_special: the special tokens recognised in text by default (``call`` and
            ``encode`` take their own too): a collection of names or ``"all"``.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ...).

    Example:
    >>> tokenizer = GPT2Tokenizer.from_files("encoder.json", "vocab.bpe")  # doctest: +SKIP
    >>> tokenizer(["Hello world", "a\\n\\nb"])  # doctest: +SKIP
    <tf.RaggedTensor [[15496, 995], [64, 198, 198, 65]]>
    """

    def __init__(
        self,
        encoder: dict[str, int],
        merges: list[tuple[str, str]],
        special_tokens: list[str] | None = None,
        allowed_special: Iterable[str] | str = (),
        **kwargs,
    ):
        super().__init__(**kwargs)
        # A preprocessing layer: string inputs, no weights, no autocasting.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

        if not isinstance(encoder, dict) or not encoder:
            raise ConfigError("GPT2Tokenizer: encoder must be a non-empty dict of token -> id (encoder.json)")
        # Held in a namespace: Keras would track a 50,000-entry dict and list item by item.
        self._vocabulary = types.SimpleNamespace(
            encoder={str(t): int(i) for t, i in encoder.items()},
            merges=[self._check_merge(n, m) for n, m in enumerate(merges)],
        )
        if special_tokens is None:
            special_tokens = [END_OF_TEXT] if END_OF_TEXT in self._vocabulary.encoder else []
        self.special_tokens = tuple(special_tokens)
        for name in self.special_tokens:
            if name not in self._vocabulary.encoder:
                raise ConfigError(f"GPT2Tokenizer: special token {name!r} is not in the encoder")
        overlap = _special_pattern_overlaps(self.special_tokens)
        if overlap:
            raise ConfigError(f"GPT2Tokenizer: special tokens {overlap[0]!r} and {overlap[1]!r} can overlap in a text, which is not supported")
        self.allowed_special = self._resolve_allowed(allowed_special)
        self._vocabulary.decoder = {i: t for t, i in self._vocabulary.encoder.items()}
        self._vocabulary_size = max(self._vocabulary.encoder.values()) + 1
        # A namespace, not a dict: Keras and TensorFlow would track (and try to save) a dict.
        self._traced = types.SimpleNamespace(functions={})
        with tf.init_scope():
            self._build_tables()

    # -- construction ------------------------------------------------------------------------------

    @staticmethod
    def _check_merge(number: int, merge) -> tuple[str, str]:
        if isinstance(merge, str):
            parts = merge.split()
        else:
            parts = list(merge)
        if len(parts) != 2 or not all(isinstance(p, str) and p for p in parts):
            raise ConfigError(f"GPT2Tokenizer: merge {number} must be two non-empty tokens, got {merge!r}")
        return parts[0], parts[1]

    def _resolve_allowed(self, allowed) -> tuple[str, ...]:
        if allowed == "all":
            return tuple(self.special_tokens)
        if isinstance(allowed, str):
            allowed = [allowed]
        allowed = list(allowed or ())
        unknown = [name for name in allowed if name not in self.special_tokens]
        if unknown:
            raise ValueError(
                f"Unknown special token {unknown[0]!r} in allowed_special: this tokenizer's special tokens "
                f"are {list(self.special_tokens)}"
            )
        return tuple(name for name in self.special_tokens if name in allowed)

    def _build_tables(self) -> None:
        """Ids for every byte and merge result (internal ids past the vocabulary for those the
        encoder lacks), the merge table, the id -> bytes table and the single-token word cache."""
        decoder = byte_decoder()
        special = set(self.special_tokens)
        piece_ids: dict[bytes, int] = {}
        for token, i in self._vocabulary.encoder.items():
            if token in special:
                continue
            try:
                data = bytes(decoder[c] for c in token)
            except KeyError as e:
                raise ConfigError(f"GPT2Tokenizer: encoder token {token!r} has {e.args[0]!r}, outside GPT-2's byte alphabet") from None
            piece_ids.setdefault(data, i)
        next_id = self._vocabulary_size

        def id_of(data: bytes) -> int:
            nonlocal next_id
            if data not in piece_ids:
                piece_ids[data] = next_id
                next_id += 1
            return piece_ids[data]

        byte_ids = [id_of(bytes([b])) for b in range(256)]
        keys, values = [], []
        for rank, (left, right) in enumerate(self._vocabulary.merges):
            try:
                a, b = bytes(decoder[c] for c in left), bytes(decoder[c] for c in right)
            except KeyError as e:
                raise ConfigError(f"GPT2Tokenizer: merge {rank} ({left} {right}) has {e.args[0]!r}, outside GPT-2's byte alphabet") from None
            keys.append((a, b))
            values.append((rank, id_of(a + b)))
        self._id_space = next_id
        # A repeated merge takes its last rank, as the original's dict(zip(merges, range(len(merges)))).
        packed_merges = {}
        for (a, b), (rank, merged) in zip(keys, values):
            packed_merges[piece_ids[a] * next_id + piece_ids[b]] = rank * next_id + merged
        pair_keys, pair_values = list(packed_merges), list(packed_merges.values())

        self._byte_ids = tf.constant(byte_ids, tf.int32)
        self._merge_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(pair_keys or [-1], tf.int64), tf.constant(pair_values or [-1], tf.int64)
            ),
            default_value=tf.constant(-1, tf.int64),
        )
        id_bytes = [b""] * self._vocabulary_size
        for token, i in self._vocabulary.encoder.items():
            id_bytes[i] = token.encode("utf-8") if token in special else bytes(decoder[c] for c in token)
        self._id_bytes = tf.constant(id_bytes, tf.string)
        starts, classes = character_classes()
        self._class_starts = tf.constant(starts, tf.int32)
        self._classes = tf.constant(classes, tf.int32)
        self._special_code_points = [
            (np.array([ord(c) for c in name], np.int32), self._vocabulary.encoder[name]) for name in self.special_tokens
        ]

        # Words that are one vocabulary token after merging skip the merge loop.
        candidates = [data for data, i in piece_ids.items() if i < self._vocabulary_size and len(data) > 1]
        cached_words, cached_ids = [], []
        if candidates:
            words = tf.constant(candidates, tf.string)
            merged = self._merge_words_without_cache(words)
            lengths = merged.row_lengths().numpy()
            firsts = merged.values.numpy()[merged.row_starts().numpy()]
            for data, length, first in zip(candidates, lengths, firsts):
                if length == 1 and first == piece_ids[data]:
                    cached_words.append(data)
                    cached_ids.append(int(first))
        self._word_cache = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(cached_words or [b"\x00\x00"], tf.string), tf.constant(cached_ids or [-1], tf.int32)
            ),
            default_value=-1,
        )
        self._cache_size = len(cached_words)

    @classmethod
    def from_files(cls, encoder_json: str | os.PathLike, vocab_bpe: str | os.PathLike, **kwargs) -> "GPT2Tokenizer":
        """A tokenizer from OpenAI's ``encoder.json`` and ``vocab.bpe``."""
        return cls(read_encoder_json(encoder_json), read_bpe_merges(vocab_bpe), **kwargs)

    @classmethod
    def from_tiktoken(cls, path: str | os.PathLike, special_tokens: dict[str, int] | None = None, **kwargs) -> "GPT2Tokenizer":
        """A tokenizer from a tiktoken ranks file (e.g. openai-whisper's ``assets/gpt2.tiktoken``),
        its merges rebuilt by ``bpe_from_tiktoken_ranks``; ``special_tokens`` defaults to
        ``{"<|endoftext|>": number of ranks}``."""
        encoder, merges = bpe_from_tiktoken_ranks(read_tiktoken_ranks(path), special_tokens)
        return cls(encoder, merges, **kwargs)

    # -- vocabulary ----------------------------------------------------------------------------------

    # Methods, not properties: Keras's saving walks every public attribute that holds a container.
    def get_vocabulary(self) -> dict[str, int]:
        """``encoder.json``'s contents (a copy): token (in GPT-2's byte alphabet) -> id."""
        return dict(self._vocabulary.encoder)

    def get_merges(self) -> list[tuple[str, str]]:
        """``vocab.bpe``'s merges in rank order (a copy)."""
        return list(self._vocabulary.merges)

    @property
    def vocabulary_size(self) -> int:
        """One more than the largest id (50257 for GPT-2)."""
        return self._vocabulary_size

    @property
    def end_of_text_id(self) -> int:
        if END_OF_TEXT not in self._vocabulary.encoder:
            raise ConfigError(f"GPT2Tokenizer: this vocabulary has no {END_OF_TEXT!r} token")
        return self._vocabulary.encoder[END_OF_TEXT]

    def token_to_id(self, token: str) -> int:
        """The id of a token spelled in GPT-2's byte alphabet (``"Ġthe"``) or a special token."""
        if token not in self._vocabulary.encoder:
            raise KeyError(f"{token!r} is not in the GPT-2 vocabulary (tokens are spelled in its byte alphabet, e.g. 'Ġthe')")
        return self._vocabulary.encoder[token]

    def id_to_token(self, token_id: int) -> str:
        if int(token_id) not in self._vocabulary.decoder:
            raise KeyError(f"id {token_id} is not in the GPT-2 vocabulary (size {self.vocabulary_size})")
        return self._vocabulary.decoder[int(token_id)]

    # -- tokenization --------------------------------------------------------------------------------

    def call(self, strings, allowed_special: Iterable[str] | str | None = None) -> tf.RaggedTensor:
        """Strings ``[batch]`` (or a scalar) -> int32 ids ``[batch, (tokens)]`` (or ``[tokens]``)."""
        return self.tokenize(strings, allowed_special)

    def tokenize(self, strings, allowed_special: Iterable[str] | str | None = None) -> tf.RaggedTensor:
        """As ``call``; ``allowed_special`` None means the tokenizer's own."""
        allowed = self.allowed_special if allowed_special is None else self._resolve_allowed(allowed_special)
        strings, scalar = as_string_batch(strings, type(self).__name__)
        if tf.executing_eagerly():
            ids = self._traced_tokenize(allowed)(strings)
        else:
            ids = self._tokenize(strings, allowed)
        ids = with_static_rows(ids, strings.shape[0])
        return ids[0] if scalar else ids

    def _traced_tokenize(self, allowed: tuple[str, ...]):
        """``_tokenize`` traced once per set of allowed special tokens, so eager calls run as a graph."""
        functions = self._traced.functions
        if allowed not in functions:
            functions[allowed] = tf.function(
                lambda strings: self._tokenize(strings, allowed),
                input_signature=[tf.TensorSpec([None], tf.string)],
                autograph=False,
            )
        return functions[allowed]

    def pre_tokenize(self, strings, allowed_special: Iterable[str] | str | None = None) -> tf.RaggedTensor:
        """The pieces the regular expression cuts (before merging): strings ``[batch, (pieces)]``."""
        allowed = self.allowed_special if allowed_special is None else self._resolve_allowed(allowed_special)
        strings, scalar = as_string_batch(strings, type(self).__name__)
        text, words, _ = self._split_words(strings, allowed)
        pieces = tf.RaggedTensor.from_value_rowids(
            tf.strings.substr(tf.gather(text, words["row"]), words["start"], words["length"]),
            words["row"],
            nrows=tf.shape(strings, out_type=tf.int64)[0],
        )
        return pieces[0] if scalar else pieces

    def encode(self, text: str, allowed_special: Iterable[str] | str | None = None) -> list[int]:
        """One string -> its ids, as a Python list."""
        return self.tokenize(tf.constant([text]), allowed_special)[0].numpy().tolist()

    def decode(self, ids) -> str:
        """Ids -> text, as OpenAI's ``decode`` (bad UTF-8 from a cut-off token becomes U+FFFD)."""
        ids = np.asarray(ids, np.int32).reshape([1, -1])
        return self.detokenize(ids)[0].numpy().decode("utf-8")

    def detokenize(self, ids) -> tf.Tensor:
        """Int ids ``[batch, (tokens)]`` (ragged or dense) -> tf.string ``[batch]``; a rank-1 input gives a scalar."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
        ids = tf.cast(ids, tf.int32)
        scalar = ids.shape.rank == 1
        if scalar:
            ids = ids[tf.newaxis] if isinstance(ids, tf.RaggedTensor) else ids[tf.newaxis, :]
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        flat = ids.flat_values
        checks = [
            tf.debugging.assert_non_negative(flat, message="GPT2Tokenizer.detokenize: negative token id"),
            tf.debugging.assert_less(flat, self._vocabulary_size, message="GPT2Tokenizer.detokenize: token id past the vocabulary"),
        ]
        with tf.control_dependencies(checks):
            pieces = ids.with_flat_values(tf.gather(self._id_bytes, flat))
        text = tf.strings.reduce_join(pieces, axis=-1)
        text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)
        return text[0] if scalar else text

    # -- steps ---------------------------------------------------------------------------------------

    def _split_words(self, strings: tf.Tensor, allowed: tuple[str, ...]):
        """The pre-split: which characters start a piece. Returns the cleaned text and, per word
        (flat over the batch): ``row``, byte ``start`` and ``length``, its ``special`` id or -1, and
        per character: ``code_points``, ``word``, ``special_first``."""
        text = tf.strings.unicode_transcode(strings, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)
        chars, offsets = tf.strings.unicode_decode_with_offsets(text, "UTF-8")
        cp = chars.flat_values
        row = chars.value_rowids()
        n = tf.shape(cp, out_type=tf.int64)[0]
        position = tf.range(n)
        row_start = tf.equal(position, tf.gather(chars.row_splits, row))
        row_end = tf.equal(position + 1, tf.gather(chars.row_splits[1:], row))

        cls = tf.gather(self._classes, tf.searchsorted(self._class_starts, cp, side="right") - 1)

        # Special tokens allowed in text: their characters are a word of their own with a fixed id.
        covered = tf.zeros_like(row_start)
        special_first = tf.fill(tf.shape(cp), -1)
        for name in allowed:
            code_points, special_id = next(x for x in self._special_code_points if x[1] == self._vocabulary.encoder[name])
            match = tf.ones_like(row_start)
            for j, c in enumerate(code_points):
                same_row = tf.equal(_shift_left(row, j, -1), row)
                match &= tf.equal(_shift_left(cp, j, -1), int(c)) & same_row
            special_first = tf.where(match, special_id, special_first)
            for j in range(len(code_points)):
                covered |= _shift_right(match, j, False)

        prev_edge = row_start | _shift_right(covered, 1, False)
        next_edge = row_end | _shift_left(covered, 1, False)
        prev = tf.where(prev_edge, EDGE, _shift_right(cls, 1, EDGE))
        nxt = tf.where(next_edge, EDGE, _shift_left(cls, 1, EDGE))

        is_space = cls >= WHITESPACE
        prev_space = (prev == WHITESPACE) | (prev == SPACE)
        next_visible = nxt < WHITESPACE
        start = tf.where(
            prev == EDGE,
            True,
            tf.where(
                is_space,
                tf.logical_not(prev_space) | next_visible,
                tf.where(prev == SPACE, False, tf.where(prev == WHITESPACE, True, tf.not_equal(cls, prev))),
            ),
        )

        # Contractions: an apostrophe starting a piece, then s t m d, or re ve ll.
        next1 = tf.where(next_edge, -1, _shift_left(cp, 1, -1))
        next2 = tf.where(next_edge | _shift_left(next_edge, 1, True), -1, _shift_left(cp, 2, -1))
        opens = tf.equal(cp, _APOSTROPHE) & start & tf.logical_not(covered)
        two = tf.zeros_like(opens)
        for c in _CONTRACTION_2:
            two |= tf.equal(next1, c)
        three = tf.zeros_like(opens)
        for a, b in _CONTRACTION_3:
            three |= tf.equal(next1, a) & tf.equal(next2, b)
        two &= opens
        three &= opens
        inside = _shift_right(two | three, 1, False) | _shift_right(three, 2, False)
        after = _shift_right(two, 2, False) | _shift_right(three, 3, False)
        start = tf.where(inside, False, start | after)
        start = tf.where(covered, special_first >= 0, start)

        word = tf.cumsum(tf.cast(start, tf.int64)) - 1
        num_words = tf.reduce_sum(tf.cast(start, tf.int64))
        _, byte_count = _utf8_bytes(cp)
        word_length = tf.math.unsorted_segment_sum(tf.cast(byte_count, tf.int64), word, num_words)
        words = {
            "row": tf.boolean_mask(row, start),
            "start": tf.boolean_mask(offsets.flat_values, start),
            "length": word_length,
            "special": tf.boolean_mask(special_first, start),
            "count": num_words,
        }
        return text, words, (cp, word)

    def _tokenize(self, strings: tf.Tensor, allowed: tuple[str, ...]) -> tf.RaggedTensor:
        text, words, (cp, word_of_char) = self._split_words(strings, allowed)
        word_text = tf.strings.substr(tf.gather(text, words["row"]), words["start"], words["length"])
        direct = tf.where(words["special"] >= 0, words["special"], self._word_cache.lookup(word_text))

        utf8, count = _utf8_bytes(cp)
        keep = tf.range(4)[tf.newaxis, :] < count[:, tf.newaxis]
        byte_values = tf.boolean_mask(utf8, keep)
        word_of_byte = tf.boolean_mask(tf.broadcast_to(word_of_char[:, tf.newaxis], tf.shape(utf8, out_type=tf.int64)), keep)
        direct_of_byte = tf.gather(direct, word_of_byte)
        first_of_word = tf.not_equal(word_of_byte, _shift_right(word_of_byte, 1, -1))
        pieces = tf.where(direct_of_byte >= 0, direct_of_byte, tf.gather(self._byte_ids, byte_values))
        kept = (direct_of_byte < 0) | first_of_word
        pieces = tf.boolean_mask(pieces, kept)
        word_of_piece = tf.boolean_mask(word_of_byte, kept)

        pieces, word_of_piece = self._merge(pieces, word_of_piece, words["count"])
        check = tf.debugging.assert_less(
            pieces,
            self._vocabulary_size,
            message="GPT2Tokenizer: a merge made a token that encoder.json lacks (OpenAI's encoder raises KeyError here)",
        )
        with tf.control_dependencies([check]):
            pieces = tf.identity(pieces)
        return tf.RaggedTensor.from_value_rowids(
            pieces, tf.gather(words["row"], word_of_piece), nrows=tf.shape(strings, out_type=tf.int64)[0]
        )

    def _merge(self, pieces: tf.Tensor, word: tf.Tensor, num_words: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The BPE loop on all words at once: ids ``[n]`` with their word ``[n]`` (sorted) ->
        merged ids and words. Each round joins, in every word, all non-overlapping occurrences
        (left to right) of its lowest-ranked pair, as OpenAI's ``bpe`` does."""
        id_space = tf.constant(self._id_space, tf.int64)

        def body(pieces, word, _):
            # Pair i is (piece i, piece i + 1); the last piece of a word has none.
            same_word = tf.equal(word, _shift_left(word, 1, -1))
            key = tf.cast(pieces, tf.int64) * id_space + tf.cast(_shift_left(pieces, 1, 0), tf.int64)
            packed = self._merge_table.lookup(key)
            ranked = same_word & (packed >= 0)
            rank = tf.where(ranked, tf.cast(packed // id_space, tf.int32), _NO_RANK)
            best = tf.math.unsorted_segment_min(rank, word, num_words)
            chosen = ranked & tf.equal(rank, tf.gather(best, word))
            # Runs of a chosen pair (only "x x x"): keep every other one from the run's start.
            position = tf.range(tf.size(chosen))
            run_start = chosen & tf.logical_not(_shift_right(chosen, 1, False))
            starts = tf.concat([tf.boolean_mask(position, run_start), [0]], 0)
            run = tf.cumsum(tf.cast(run_start, tf.int32)) - 1
            offset = position - tf.gather(starts, tf.maximum(run, 0))
            take = chosen & tf.equal(offset % 2, 0)
            pieces = tf.where(take, tf.cast(packed % id_space, tf.int32), pieces)
            keep = tf.logical_not(_shift_right(take, 1, False))
            return tf.boolean_mask(pieces, keep), tf.boolean_mask(word, keep), tf.reduce_any(take)

        pieces, word, _ = tf.while_loop(
            lambda p, w, more: more,
            body,
            (pieces, word, tf.constant(True)),
            shape_invariants=(tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([])),
        )
        return pieces, word

    def _merge_words_without_cache(self, words: tf.Tensor) -> tf.RaggedTensor:
        """Byte strings ``[n]``, each one word -> merged ids ``[n, (tokens)]``, without the word cache."""

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)], autograph=False)
        def merge(words):
            split = tf.strings.bytes_split(words)
            values = tf.io.decode_raw(split.flat_values, tf.uint8)[:, 0]
            pieces = tf.gather(self._byte_ids, tf.cast(values, tf.int32))
            word = split.value_rowids()
            pieces, word = self._merge(pieces, word, split.nrows())
            return tf.RaggedTensor.from_value_rowids(pieces, word, nrows=split.nrows())

        return merge(words)

    # -- serialization -------------------------------------------------------------------------------

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "encoder": self._vocabulary.encoder,
                "merges": [list(m) for m in self._vocabulary.merges],
                "special_tokens": list(self.special_tokens),
                "allowed_special": list(self.allowed_special),
            }
        )
        return config
