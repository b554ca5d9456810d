"""Contextual embeddings of texts from a pretrained bundle, the feature-based (ELMo) way: one vector
per sentence or one per word, read from any layer strategy, streamed in batches.

Sentences go through the bundle's preprocessor (``[CLS] text [SEP]``, truncated to its
``seq_length`` as sentence-transformers truncates to its ``max_seq_length``), the encoder, a layer
strategy and sentence pooling, in one ``tf.function``.

Words are never truncated. A text is split into words with character offsets (``split_words``,
Google's BasicTokenizer boundaries: ``U.S.`` is four words) or given pre-split, and every word is
WordPiece-tokenized on its own; all the pieces of a word belong to it (a given word ``U.S.`` keeps
its four pieces ``u . s .``). The document's pieces are cut into windows of ``seq_length - 2``
pieces whose starts are ``stride`` apart (the last window ends at the last piece), each packed as
``[CLS] window [SEP]``. Every piece takes its vector from the window where it has the most
context, by Google's ``_check_is_max_context`` rule (score ``min(left, right context) + 0.01 *
window length``, the first window on a tie), so a 2,000-word document gets a vector for every word
and a text that fits in one window gets exactly the single-window result. The pieces of a word are
then pooled (``first``, ``mean``, ``max``) with in-graph word ids. The windows of several texts
share encoder batches; results do not depend on how they are grouped.

Length buckets (``length_buckets``, on by default for BERT): rows are grouped by length and each
encoder batch is cut to the smallest of a few widths (16, 32, 64, ... ``seq_length``) that holds its
rows, so short texts cost what they need instead of ``seq_length``; padding is masked, so the
vectors are those of full-width rows (to float rounding), and they come back in input order.

Documented behaviour for odd input:
- an empty text has no words (``vectors`` of shape ``[0, dim]``); as a sentence it is
  ``[CLS] [SEP]`` and gets that vector;
- a word whose WordPieces are all ``[UNK]`` (no vocabulary entry matches it) still gets the
  contextual vector at its ``[UNK]`` position, so two unknown words in the same place are
  indistinguishable; ``WordVectors.unknown`` flags them, and a text made only of such words is
  logged as a warning (first one in full, then a count);
- a given word with no WordPieces at all (the empty string, only control characters) gets a
  zero vector.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import itertools
import logging
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from bertzoo.data.length_buckets import (DEFAULT_WINDOW_BATCHES, LengthBuckets, bucket_width, length_sorted_plan,
                                         real_lengths, resolve_bucket_widths, restore_order)
from bertzoo.features.layer_strategies import LayerStrategy, parse_layer_strategy
from bertzoo.features.pooling import SENTENCE_POOLING, WORD_POOLING, l2_normalize, pool_sentence, pool_words
from bertzoo.text.word_splitter import split_words

if TYPE_CHECKING:
    from bertzoo.families.bert.pretrained_bert import PretrainedBert

__all__ = [
    "Windows",
    "WordVectors",
    "default_stride",
    "document_windows",
    "iter_sentence_embeddings",
    "iter_word_embeddings",
    "sentence_embeddings",
    "word_embeddings",
]

logger = logging.getLogger(__name__)
_MIN_TOKENIZE_CHUNK = 256  # texts per tokenizer call, at least


@dataclasses.dataclass
class WordVectors:
    """The words of one text and a vector for each.

    Attributes:
        words: the words, as written (``text[start:end]``), or as given when pre-split.
        vectors: float32 ``[num_words, dim]``.
        spans: character offsets ``(start, end)`` of each word in the text; None for pre-split words.
        unknown: bool ``[num_words]``, True where every WordPiece of the word is ``[UNK]``.
    """

    words: list[str]
    vectors: np.ndarray
    spans: list[tuple[int, int]] | None
    unknown: np.ndarray

    def __len__(self) -> int:
        return len(self.words)


@dataclasses.dataclass(frozen=True)
class Windows:
    """How a document of WordPieces is cut into overlapping windows.

    Attributes:
        starts: int ``[num_windows]``, the first piece of each window.
        lengths: int ``[num_windows]``, its number of pieces.
        best: int ``[num_pieces]``, the window each piece takes its vector from (most context).
    """

    starts: np.ndarray
    lengths: np.ndarray
    best: np.ndarray


def document_windows(num_pieces: int, window_length: int, stride: int) -> Windows:
    """Windows of at most ``window_length`` pieces starting ``stride`` apart, and each piece's best one.

    The windows are those of Google's ``run_squad.py`` (``doc_stride``); the best window of a piece
    follows its ``_check_is_max_context``: the highest ``min(left, right context) + 0.01 * length``,
    the first window on a tie.

    Args:
        num_pieces: the document's WordPieces (0 gives no windows).
        window_length: pieces per window (``seq_length - 2``).
        stride: pieces between the starts of consecutive windows, 1..``window_length``.

    Example:
        >>> windows = document_windows(10, window_length=6, stride=3)
        >>> windows.starts.tolist(), windows.lengths.tolist(), windows.best.tolist()
        ([0, 3, 6], [6, 6, 4], [0, 0, 0, 0, 0, 1, 1, 1, 2, 2])
    """
    if window_length < 1:
        raise ValueError(f"window_length must be at least 1, got {window_length}")
    if not 1 <= stride <= window_length:
        raise ValueError(f"stride must be between 1 and the window length {window_length}, got {stride}")
    starts, lengths = [], []
    start = 0
    while start < num_pieces:
        length = min(num_pieces - start, window_length)
        starts.append(start)
        lengths.append(length)
        if start + length == num_pieces:
            break
        start += stride
    best = np.zeros(num_pieces, np.int64)
    best_score = np.full(num_pieces, -np.inf)
    for index, (start, length) in enumerate(zip(starts, lengths)):
        position = np.arange(start, start + length)
        score = np.minimum(position - start, start + length - 1 - position) + 0.01 * length
        better = score > best_score[start : start + length]
        best[start : start + length][better] = index
        best_score[start : start + length][better] = score[better]
    return Windows(np.asarray(starts, np.int64), np.asarray(lengths, np.int64), best)


# ------------------------------------------------------------------------------- traced functions

_INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")
# Traced functions, kept per encoder (or preprocessor) while it lives, so that repeated calls (one
# query at a time) reuse them instead of tracing the model again (seconds on a large one). They
# reach their owner through a weak reference: the cache never keeps a model alive.
_TRACED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _traced(owner, key: tuple, build: Callable[[weakref.ref], Callable]) -> Callable:
    """The function ``build(weakref.ref(owner))`` made once per ``owner`` and ``key``."""
    functions = _TRACED.setdefault(owner, {})
    if key not in functions:
        functions[key] = build(weakref.ref(owner))
    return functions[key]


@functools.lru_cache(maxsize=None)
def _word_pooling_function(dim: int, pooling: str) -> Callable:
    """In-graph word pooling of a run of WordPiece vectors, traced once per width and pooling."""
    return tf.function(lambda vectors, word_ids, num_words: pool_words(vectors, word_ids, num_words, pooling),
                       input_signature=[tf.TensorSpec([None, dim], tf.float32), tf.TensorSpec([None], tf.int32),
                                        tf.TensorSpec([], tf.int32)])


def default_stride(seq_length: int) -> int:
    """Half a window of ``seq_length - 2`` pieces: each piece keeps at least a quarter window of context."""
    return max((seq_length - 2) // 2, 1)


def _word_pieces(tokenizer, words: list[str]) -> dict[str, list[int]]:
    """WordPiece ids of every distinct word, each tokenized alone (all the pieces of all its
    basic-tokenizer words belong to it, as ``tagging_data`` aligns words), in one traced call."""
    tokenize = _traced(tokenizer, ("tokenize_words",), lambda tokenizer: tf.function(
        lambda strings: tokenizer().tokenize_words(strings).merge_dims(1, 2),
        input_signature=[tf.TensorSpec([None], tf.string)]))
    unique = list(dict.fromkeys(words))
    if not unique:
        return {}
    return dict(zip(unique, tokenize(tf.constant(unique, tf.string)).to_list()))


# ----------------------------------------------------------------------------------------- sentences


def _feature_bucket_widths(bert: PretrainedBert, length_buckets: LengthBuckets) -> tuple[int, ...] | None:
    """The bucket widths for ``bert``, or None for full-width rows. Cutting padding is exact for
    BERT's masked attention, so other families keep full-width rows (and refuse explicit buckets)."""
    family = getattr(bert, "family", "bert")
    if family != "bert":
        if length_buckets not in (None, False):
            raise ValueError(f"length_buckets: cutting padding is exact for BERT encoders only, not the "
                             f"{family!r} family; pass length_buckets=False")
        return None
    return resolve_bucket_widths(length_buckets, bert.preprocessor.seq_length)


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")


def _batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _progress_bar(items: Iterable, progress: bool | None, unit: str):
    total = len(items) if hasattr(items, "__len__") else None
    # disable=None: tqdm shows the bar only on a terminal.
    return tqdm(total=total, unit=unit, desc="features", disable=None if progress is None else not progress)


class _UnknownReport:
    """Warns about the first text made only of [UNK] words, then counts the rest."""

    def __init__(self):
        self.count = 0

    def add(self, index: int, what: str) -> None:
        self.count += 1
        if self.count == 1:
            logger.warning("text %d: every word is [UNK] (%s); its vectors carry only position and context. The "
                           "checkpoint's vocabulary does not cover this text (another script or language?)",
                           index, what)

    def close(self) -> None:
        if self.count > 1:
            logger.warning("%d texts in all had only [UNK] words", self.count)


def iter_sentence_embeddings(bert: PretrainedBert, texts: Iterable[str], *, pooling: str = "mean",
                             normalize: bool = True, strategy: str | int | LayerStrategy = "last",
                             batch_size: int = 32, length_buckets: LengthBuckets = None,
                             progress: bool | None = None, jit_compile: bool = False) -> Iterator[np.ndarray]:
    """Streams sentence vectors: float32 ``[b, dim]`` per batch of ``b <= batch_size`` texts, in order.

    Reads ``texts`` lazily, so memory stays flat on any number of texts. Arguments as
    ``sentence_embeddings``; they are checked at the call, before the first batch.
    """
    _check_batch_size(batch_size)
    if isinstance(texts, str):
        raise ValueError("texts must be a list of texts, got a single str; wrap it in a list")
    if pooling not in SENTENCE_POOLING:
        raise ValueError(f"unknown sentence pooling {pooling!r}; choose one of {', '.join(SENTENCE_POOLING)}")
    layers = parse_layer_strategy(strategy, bert.config.num_hidden_layers)
    widths = _feature_bucket_widths(bert, length_buckets)
    preprocess = _traced(bert.preprocessor, ("preprocess", batch_size), lambda preprocessor: tf.function(
        lambda strings: preprocessor()(strings), input_signature=[tf.TensorSpec([batch_size], tf.string)]))
    tokenizer = bert.tokenizer
    special = (tokenizer.cls_id, tokenizer.sep_id, tokenizer.unk_id)
    width = None if widths else bert.preprocessor.seq_length  # None: one graph for every bucket width

    def build(encoder):
        cls_id, sep_id, unk_id = special
        spec = tf.TensorSpec([batch_size, width], tf.int32)

        @tf.function(input_signature=[{name: spec for name in _INPUT_NAMES}], jit_compile=jit_compile)
        def encode(inputs):
            outputs = encoder()(inputs, training=False)
            vectors = pool_sentence(layers(outputs, dtype=tf.float32), inputs["input_mask"], pooling)
            if normalize:
                vectors = l2_normalize(vectors)
            ids = inputs["input_word_ids"]
            words = (inputs["input_mask"] > 0) & (ids != cls_id) & (ids != sep_id)
            all_unknown = tf.reduce_any(words, axis=1) & tf.reduce_all((ids == unk_id) | ~words, axis=1)
            return vectors, all_unknown

        return encode

    encode = _traced(bert.encoder, ("sentence", layers, pooling, normalize, batch_size, width, special, jit_compile),
                     build)
    if widths is None:
        return _sentence_batches(lambda strings: encode(preprocess(strings)), texts, batch_size, progress)
    return _bucketed_sentence_batches(preprocess, encode, texts, batch_size, widths, progress)


def _check_texts(chunk: list, first_index: int) -> None:
    for offset, text in enumerate(chunk):
        if not isinstance(text, str):
            raise ValueError(f"text {first_index + offset} is a {type(text).__name__}, not a str: {text!r:.60}")


def _padded(chunk: list[str], batch_size: int) -> tf.Tensor:
    """A chunk of texts filled up with empty ones to ``batch_size``: one static shape, one trace."""
    return tf.constant(chunk + [""] * (batch_size - len(chunk)), tf.string)


def _sentence_batches(encode, texts: Iterable[str], batch_size: int, progress: bool | None) -> Iterator[np.ndarray]:
    unknown = _UnknownReport()
    with _progress_bar(texts, progress, "text") as bar:
        done = 0
        for chunk in _batched(texts, batch_size):
            _check_texts(chunk, done)
            vectors, all_unknown = encode(_padded(chunk, batch_size))
            for offset in np.flatnonzero(all_unknown.numpy()[: len(chunk)]):
                unknown.add(done + int(offset), f"{chunk[offset][:60]!r}")
            done += len(chunk)
            bar.update(len(chunk))
            yield vectors.numpy()[: len(chunk)]
    unknown.close()


def _bucketed_sentence_batches(preprocess, encode, texts: Iterable[str], batch_size: int, widths: tuple[int, ...],
                               progress: bool | None) -> Iterator[np.ndarray]:
    """As ``_sentence_batches``, a window of ``DEFAULT_WINDOW_BATCHES`` batches at a time: the window's
    texts are packed, sorted by length, encoded in batches cut to their bucket width, and yielded
    back in input order, ``batch_size`` at a time."""
    unknown = _UnknownReport()
    with _progress_bar(texts, progress, "text") as bar:
        done = 0
        for window in _batched(texts, batch_size * DEFAULT_WINDOW_BATCHES):
            _check_texts(window, done)
            packed = [{name: value.numpy()[: len(chunk)]
                       for name, value in preprocess(_padded(chunk, batch_size)).items()}
                      for chunk in _batched(window, batch_size)]
            inputs = {name: np.concatenate([part[name] for part in packed]) for name in packed[0]}
            order, batch_widths = length_sorted_plan(real_lengths(inputs["input_mask"]), batch_size, widths)
            vectors, all_unknown = [], []
            for start, width in zip(range(0, len(order), batch_size), batch_widths):
                rows = order[start : start + batch_size]
                batch = {name: np.zeros((batch_size, width), value.dtype) for name, value in inputs.items()}
                for name, value in inputs.items():
                    batch[name][: len(rows)] = value[rows, :width]
                batch_vectors, batch_unknown = encode(batch)
                vectors.append(batch_vectors.numpy()[: len(rows)])
                all_unknown.append(batch_unknown.numpy()[: len(rows)])
            vectors = restore_order(np.concatenate(vectors), order)
            for offset in np.flatnonzero(restore_order(np.concatenate(all_unknown), order)):
                unknown.add(done + int(offset), f"{window[offset][:60]!r}")
            for start in range(0, len(window), batch_size):
                bar.update(min(batch_size, len(window) - start))
                yield vectors[start : start + batch_size]
            done += len(window)
    unknown.close()


def sentence_embeddings(bert: PretrainedBert, texts: Iterable[str], pooling: str = "mean", normalize: bool = True,
                        *, batch_size: int = 32, strategy: str | int | LayerStrategy = "last",
                        length_buckets: LengthBuckets = None, progress: bool | None = None,
                        jit_compile: bool = False) -> np.ndarray:
    """One vector per text: pooled contextual vectors of a layer strategy.

    ``pooling="mean"`` with ``normalize=True`` on the ``last`` layer is the sentence-transformers
    pipeline (Transformer -> Pooling(mean) -> Normalize) of models such as all-MiniLM-L6-v2. Texts
    longer than the preprocessor's ``seq_length - 2`` pieces are truncated, as sentence-transformers
    truncates at its ``max_seq_length``.

    Args:
        bert: a pretrained bundle (``bertzoo.load_pretrained``); its ``seq_length`` applies.
        texts: strings (a list, or any iterable: it is read in batches).
        pooling: ``cls``, ``mean`` (over real tokens, ``[CLS]``/``[SEP]`` included) or ``max``.
        normalize: divide each vector by its L2 norm.
        batch_size: texts per encoder call.
        strategy: layer strategy (``last``, ``sum_last_four``, ``layer=3``, ...; see ``layer_strategies``).
        length_buckets: None or True: texts grouped by length, each batch cut to the smallest of
            16, 32, 64, ... ``seq_length`` tokens that holds it (BERT only; the same vectors, to
            float rounding, for a fraction of the compute on short texts); a list of widths: those;
            False: every text padded to ``seq_length``.
        progress: show a tqdm progress bar; None shows it on a terminal only.
        jit_compile: compile the encoder call with XLA, once per batch width. Faster inference
            on CPUs where XLA's matmul beats oneDNN's (an AVX2 host: BERT-Base +16%), slower on
            AVX-512 ones (benchmarks/README.md); the same vectors to float rounding.

    Returns:
        float32 ``[num_texts, dim]`` (``dim`` = hidden size, 4x for ``concat_last_four``).

    Example:
        >>> bert = bertzoo.load_pretrained(path, seq_length=128)  # doctest: +SKIP
        >>> vectors = sentence_embeddings(bert, ["A man plays guitar.", "Someone strums a guitar."])  # doctest: +SKIP
        >>> float(vectors[0] @ vectors[1])  # cosine: the vectors have unit norm  # doctest: +SKIP
        0.77
    """
    layers = parse_layer_strategy(strategy, bert.config.num_hidden_layers)
    batches = list(iter_sentence_embeddings(bert, texts, pooling=pooling, normalize=normalize, strategy=layers,
                                            batch_size=batch_size, length_buckets=length_buckets, progress=progress,
                                            jit_compile=jit_compile))
    if not batches:
        return np.zeros((0, layers.output_dim(bert.config.hidden_size)), np.float32)
    return np.concatenate(batches)


# ------------------------------------------------------------------------------------------- words


@dataclasses.dataclass
class _Document:
    """One text on its way through the windows: pieces, and their vectors as windows come back."""

    index: int
    words: list[str]
    spans: list[tuple[int, int]] | None
    pieces: np.ndarray  # int32 [num_pieces]
    piece_words: np.ndarray  # int32 [num_pieces], the word of each piece
    unknown: np.ndarray  # bool [num_words]
    vectors: np.ndarray  # float32 [num_pieces, dim]
    rows_left: int = 0


@dataclasses.dataclass
class _Row:
    """One window packed as ``[CLS] pieces [SEP]``; ``positions`` hold the pieces it gives vectors for."""

    document: _Document
    word_ids: np.ndarray  # int32 [length] input_word_ids, unpadded
    positions: np.ndarray  # positions in the row whose vectors are kept
    pieces: np.ndarray  # the document's piece index at each kept position


class _WordExtractor:
    """Streams texts (or pre-split words) -> ``WordVectors``, batching windows of many texts together."""

    def __init__(self, bert: PretrainedBert, layers: LayerStrategy, pooling: str, batch_size: int,
                 stride: int | None, widths: tuple[int, ...] | None, jit_compile: bool = False):
        self.tokenizer = bert.tokenizer
        self.seq_length = bert.preprocessor.seq_length
        self.window_length = self.seq_length - 2
        self.stride = default_stride(self.seq_length) if stride is None else stride
        if isinstance(self.stride, bool) or not isinstance(self.stride, int) or not (
                1 <= self.stride <= self.window_length):
            raise ValueError(f"stride must be an int between 1 and seq_length - 2 = {self.window_length} pieces, "
                             f"got {stride!r}")
        self.batch_size = batch_size
        self.dim = layers.output_dim(bert.config.hidden_size)
        self.widths = widths  # None: every row padded to seq_length
        width = None if widths else self.seq_length
        spec = tf.TensorSpec([batch_size, width], tf.int32)

        def build(encoder):
            # XLA compiles the encoder and the layer strategy; the mask's dynamic shape stays outside.
            @tf.function(jit_compile=jit_compile)
            def vectors(inputs):
                return layers(encoder()(inputs, training=False), dtype=tf.float32)

            @tf.function(input_signature=[{name: spec for name in _INPUT_NAMES}, tf.TensorSpec(spec.shape, tf.bool)])
            def encode(inputs, keep):
                return tf.boolean_mask(vectors(inputs), keep)

            return encode

        self._encode = _traced(bert.encoder, ("words", layers, batch_size, width, jit_compile), build)
        self._pool = _word_pooling_function(self.dim, pooling)
        self._unknown = _UnknownReport()

    def __call__(self, items: Iterable[str | Sequence[str]], bar) -> Iterator[WordVectors]:
        pending: collections.deque[_Document] = collections.deque()
        rows: list[_Row] = []
        count = 0
        for chunk in _batched(items, max(self.batch_size, _MIN_TOKENIZE_CHUNK)):
            for document in self._documents(chunk, count):
                rows.extend(self._rows(document))
                pending.append(document)
            count += len(chunk)
            if self.widths:  # rows of similar length share a batch (results are filed by row, in any order)
                rows.sort(key=lambda row: len(row.word_ids))
            while len(rows) >= self.batch_size:
                self._run(rows[: self.batch_size])
                del rows[: self.batch_size]
                yield from self._finished(pending, bar)
        if rows:
            self._run(rows)
        yield from self._finished(pending, bar)
        self._unknown.close()

    def _documents(self, chunk: list, first_index: int) -> list[_Document]:
        """Words and WordPieces of a chunk of items, with one tokenizer call for its distinct words."""
        split: list[tuple[list[str], list[tuple[int, int]] | None]] = []
        for offset, item in enumerate(chunk):
            index = first_index + offset
            if isinstance(item, str):
                words = split_words(item)
                split.append(([w.text for w in words], [(w.start, w.end) for w in words]))
            elif isinstance(item, (list, tuple)) and all(isinstance(word, str) for word in item):
                split.append((list(item), None))
            else:
                raise ValueError(f"item {index} must be a text (str) or a list of words (str), got "
                                 f"{type(item).__name__}: {item!r:.60}")
        pieces_of = _word_pieces(self.tokenizer, [word for words, _ in split for word in words])
        unk_id = self.tokenizer.unk_id
        documents = []
        for offset, (words, spans) in enumerate(split):
            word_pieces = [pieces_of[word] for word in words]
            pieces = np.asarray([p for ps in word_pieces for p in ps], np.int32)
            unknown = np.asarray([bool(ps) and all(p == unk_id for p in ps) for ps in word_pieces], bool)
            if words and unknown.all():
                self._unknown.add(first_index + offset, f"words {words[:8]}")
            documents.append(_Document(
                index=first_index + offset, words=words, spans=spans, pieces=pieces,
                piece_words=np.repeat(np.arange(len(words), dtype=np.int32), [len(ps) for ps in word_pieces]),
                unknown=unknown, vectors=np.zeros((len(pieces), self.dim), np.float32)))
        return documents

    def _rows(self, document: _Document) -> list[_Row]:
        windows = document_windows(len(document.pieces), self.window_length, self.stride)
        rows = []
        cls_id, sep_id = self.tokenizer.cls_id, self.tokenizer.sep_id
        for index, (start, length) in enumerate(zip(windows.starts, windows.lengths)):
            pieces = np.flatnonzero(windows.best[start : start + length] == index) + start
            word_ids = np.concatenate([[cls_id], document.pieces[start : start + length], [sep_id]]).astype(np.int32)
            rows.append(_Row(document, word_ids, pieces - start + 1, pieces))
        document.rows_left = len(rows)
        return rows

    def _run(self, rows: list[_Row]) -> None:
        """Encodes up to ``batch_size`` rows (padded to ``seq_length``, or to their bucket width) and
        files the kept vectors."""
        longest = max(len(row.word_ids) for row in rows)
        width = int(bucket_width([longest], self.widths)[0]) if self.widths else self.seq_length
        shape = (self.batch_size, width)
        word_ids = np.full(shape, self.tokenizer.pad_id, np.int32)
        mask = np.zeros(shape, np.int32)
        keep = np.zeros(shape, bool)
        for index, row in enumerate(rows):
            word_ids[index, : len(row.word_ids)] = row.word_ids
            mask[index, : len(row.word_ids)] = 1
            keep[index, row.positions] = True
        inputs = {"input_word_ids": word_ids, "input_mask": mask, "input_type_ids": np.zeros(shape, np.int32)}
        kept = self._encode(inputs, keep).numpy()  # row-major: row by row, positions in order
        begin = 0
        for row in rows:
            row.document.vectors[row.pieces] = kept[begin : begin + len(row.pieces)]
            row.document.rows_left -= 1
            begin += len(row.pieces)

    def _finished(self, pending: collections.deque, bar) -> Iterator[WordVectors]:
        """Pools the words of the documents at the front of the queue whose windows all came back."""
        done = []
        while pending and pending[0].rows_left == 0:
            done.append(pending.popleft())
        if not done:
            return
        offsets = np.cumsum([0] + [len(d.words) for d in done])
        word_ids = np.concatenate([d.piece_words + offset for d, offset in zip(done, offsets)]).astype(np.int32)
        vectors = np.concatenate([d.vectors for d in done])
        pooled = self._pool(vectors, word_ids, np.int32(offsets[-1])).numpy()
        for document, begin, end in zip(done, offsets[:-1], offsets[1:]):
            bar.update(1)
            yield WordVectors(document.words, pooled[begin:end], document.spans, document.unknown)


def iter_word_embeddings(bert: PretrainedBert, texts_or_words: Iterable[str | Sequence[str]], *,
                         strategy: str | int | LayerStrategy = "last", word_pooling: str = "first",
                         batch_size: int = 32, stride: int | None = None, length_buckets: LengthBuckets = None,
                         progress: bool | None = None, jit_compile: bool = False) -> Iterator[WordVectors]:
    """Streams ``WordVectors``, one per input item, in order; reads the input lazily (flat memory).

    Arguments as ``word_embeddings``; they are checked at the call, before the first text.
    """
    _check_batch_size(batch_size)
    if word_pooling not in WORD_POOLING:
        raise ValueError(f"unknown word pooling {word_pooling!r}; choose one of {', '.join(WORD_POOLING)}")
    if isinstance(texts_or_words, str):
        raise ValueError("texts_or_words must be a list of texts or of word lists, got a single str; "
                         "wrap it in a list")
    layers = parse_layer_strategy(strategy, bert.config.num_hidden_layers)
    extractor = _WordExtractor(bert, layers, word_pooling, batch_size, stride,
                               _feature_bucket_widths(bert, length_buckets), jit_compile)
    return _word_results(extractor, texts_or_words, progress)


def _word_results(extractor: _WordExtractor, items: Iterable, progress: bool | None) -> Iterator[WordVectors]:
    with _progress_bar(items, progress, "text") as bar:
        yield from extractor(items, bar)


def word_embeddings(bert: PretrainedBert, texts_or_words: Iterable[str | Sequence[str]],
                    strategy: str | int | LayerStrategy = "last", word_pooling: str = "first", *,
                    batch_size: int = 32, stride: int | None = None, length_buckets: LengthBuckets = None,
                    progress: bool | None = None, jit_compile: bool = False) -> list[WordVectors]:
    """One vector per word of each text, from any layer strategy, for texts of any length.

    Args:
        bert: a pretrained bundle; its preprocessor's ``seq_length`` sets the window size.
        texts_or_words: texts (split into words at BasicTokenizer boundaries, with offsets), or
            pre-split words (a list of words per item, e.g. CoNLL sentences).
        strategy: layer strategy (see ``layer_strategies``): ``concat_last_four`` gives 4x hidden.
        word_pooling: ``first`` (the word's first WordPiece, as the BERT paper's NER), ``mean``
            or ``max`` over its WordPieces.
        batch_size: windows per encoder call (the windows of several texts share a batch).
        stride: pieces between window starts for texts longer than ``seq_length - 2`` pieces
            (default half a window, so each piece keeps at least a quarter window of context).
        length_buckets: as ``sentence_embeddings``: windows grouped by length, each batch cut to
            its bucket width (the same vectors); False pads every window to ``seq_length``.
        progress: show a tqdm progress bar; None shows it on a terminal only.
        jit_compile: compile the encoder call with XLA (see ``sentence_embeddings``).

    Returns:
        A ``WordVectors`` per item: ``words``, float32 ``vectors`` ``[num_words, dim]``, ``spans``
        (character offsets; None for pre-split words), ``unknown`` (all-``[UNK]`` words).

    Example:
        >>> result = word_embeddings(bert, ["Ada Lovelace met Babbage."], "concat_last_four")  # doctest: +SKIP
        >>> result[0].words, result[0].vectors.shape  # doctest: +SKIP
        (['Ada', 'Lovelace', 'met', 'Babbage', '.'], (5, 1536))
    """
    return list(iter_word_embeddings(bert, texts_or_words, strategy=strategy, word_pooling=word_pooling,
                                     batch_size=batch_size, stride=stride, length_buckets=length_buckets,
                                     progress=progress, jit_compile=jit_compile))
