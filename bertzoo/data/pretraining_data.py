"""BERT pretraining data: Google's static examples and KerasHub-style dynamic masking, one set of rules.

Writing (``create_pretraining_tfrecords``) follows google-research/bert ``create_pretraining_data.py``:
documents are blank-line-separated blocks of lines (one sentence per line); each document is cut into
chunks of about ``max_seq_length - 3`` tokens (sometimes, with ``short_seq_prob``, a shorter random
target); a chunk is split at a random sentence into A and B; half the time (always when the chunk
is one sentence) B comes from another document instead (``next_sentence_labels`` 1 = random,
0 = the actual next text) and the unused sentences are put back; the pair is truncated as Google's
``truncate_seq_pair``; ``dupe_factor`` passes give each document several masks. Differences, all for
bounded memory: documents are read as a stream in buffers of ``documents_per_buffer`` documents, and
shuffling and the random-next document both stay within a buffer; a file's end ends its document.

Reading (``pretraining_dataset``) yields ``(features, labels)`` dicts with static shapes, either the
masks written in the files or fresh masks drawn in ``tf.data`` every epoch (``MaskedLMMasker``).

Masking rules, the same in Python (static) and in-graph (dynamic), as Google's
``create_masked_lm_predictions``: candidates are all tokens except ``[CLS]``, ``[SEP]`` and ``[PAD]``;
``num_to_predict = min(max_predictions_per_seq, max(1, round(num_tokens * masked_lm_prob)))`` where
``num_tokens`` counts the real tokens including ``[CLS]``/``[SEP]`` (Google's ``len(tokens)``; Python's
round-half-even); candidates are visited in random order and taken until ``num_to_predict`` (in
whole-word mode a word is taken whole or skipped when it would overflow); each chosen token is
``[MASK]`` with probability 0.8, a uniformly random vocabulary id with 0.1, unchanged with 0.1;
positions are sorted, labels are the original ids, weights are 1.0 (0.0 for the padding up to
``max_predictions_per_seq``). A word is a candidate token plus the ``##`` tokens that follow it; like
Google, a ``##`` token joins the previous candidate even across ``[SEP]``.

KerasHub's ``MaskedLMMaskGenerator`` is not used: it selects ``ceil(rate * selectable)`` tokens
(no ``max(1, ...)``, specials not counted) and has no whole-word mode.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
import random
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from bertzoo.text.vocabulary import Vocabulary

if TYPE_CHECKING:
    from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer

MASK_RATE = 0.8  # of the chosen tokens: replaced by [MASK]
RANDOM_RATE = 0.1  # replaced by a random id; the remaining 0.1 stay unchanged
SEQUENCE_FEATURES = ("input_ids", "input_mask", "segment_ids")


# -- masking rules ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _MaskingRules:
    """What masking needs from a vocabulary: special ids and the ``##`` continuation table."""

    cls_id: int
    sep_id: int
    pad_id: int
    mask_id: int
    vocabulary_size: int
    is_continuation: np.ndarray  # bool [vocabulary_size]: the token starts with "##"

    @property
    def special_ids(self) -> frozenset[int]:
        return frozenset((self.cls_id, self.sep_id, self.pad_id))


def _as_vocabulary(vocabulary: Vocabulary | Sequence[str] | str | os.PathLike) -> Vocabulary:
    if isinstance(vocabulary, Vocabulary):
        return vocabulary
    if isinstance(vocabulary, (str, os.PathLike)):
        return Vocabulary.from_file(vocabulary)
    return Vocabulary(list(vocabulary))


@functools.lru_cache(maxsize=16)
def _masking_rules(vocabulary: Vocabulary) -> _MaskingRules:
    tokens = vocabulary.tokens
    return _MaskingRules(
        cls_id=vocabulary.cls_id,
        sep_id=vocabulary.sep_id,
        pad_id=vocabulary.pad_id,
        mask_id=vocabulary.mask_id if "[MASK]" in vocabulary else -1,  # -1: no masking possible
        vocabulary_size=len(tokens),
        is_continuation=np.array([t.startswith("##") for t in tokens], dtype=bool),
    )


def _check_masking_args(masked_lm_prob: float, max_predictions_per_seq: int) -> None:
    if not 0.0 < masked_lm_prob <= 1.0:
        raise ValueError(f"masked_lm_prob must be in (0, 1], got {masked_lm_prob}.")
    if int(max_predictions_per_seq) < 1:
        raise ValueError(f"max_predictions_per_seq must be >= 1, got {max_predictions_per_seq}.")


def _num_to_predict(num_tokens: int, masked_lm_prob: float, max_predictions_per_seq: int) -> int:
    return min(max_predictions_per_seq, max(1, round(num_tokens * masked_lm_prob)))


def _masked_lm_predictions(
    token_ids: Sequence[int],
    rules: _MaskingRules,
    rng: random.Random,
    masked_lm_prob: float,
    max_predictions_per_seq: int,
    whole_word_masking: bool,
) -> tuple[list[int], list[int], list[int]]:
    special, is_continuation = rules.special_ids, rules.is_continuation
    words: list[list[int]] = []
    for i, token_id in enumerate(token_ids):
        if token_id in special:
            continue
        if whole_word_masking and words and is_continuation[token_id]:
            words[-1].append(i)
        else:
            words.append([i])
    rng.shuffle(words)
    num_to_predict = _num_to_predict(len(token_ids), masked_lm_prob, max_predictions_per_seq)

    output_ids = list(token_ids)
    positions: list[int] = []
    for word in words:
        if len(positions) >= num_to_predict:
            break
        if len(positions) + len(word) > num_to_predict:
            continue  # a whole word that would overflow is skipped, as Google does
        for i in word:
            if rng.random() < MASK_RATE:
                output_ids[i] = rules.mask_id
            elif rng.random() < 0.5:
                pass  # kept unchanged
            else:
                output_ids[i] = rng.randint(0, rules.vocabulary_size - 1)
            positions.append(i)
    positions.sort()
    return output_ids, positions, [token_ids[i] for i in positions]


def create_masked_lm_predictions(
    token_ids: Sequence[int],
    vocabulary: Vocabulary,
    rng: random.Random,
    *,
    masked_lm_prob: float = 0.15,
    max_predictions_per_seq: int = 20,
    whole_word_masking: bool = False,
) -> tuple[list[int], list[int], list[int]]:
    """Google's masked-LM masking of one unpadded sequence, in Python (the static path).

    Args:
        token_ids: the ids of ``[CLS] A [SEP] B [SEP]``, without padding.
        vocabulary: gives the ``[CLS]``/``[SEP]``/``[PAD]``/``[MASK]`` ids and the ``##`` pieces.
        rng: the random source (``random.Random``), so results are reproducible.
        masked_lm_prob: the fraction of ``len(token_ids)`` to predict.
        max_predictions_per_seq: the most predictions per sequence.
        whole_word_masking: choose whole words (a token and its ``##`` continuations).

    Returns:
        ``(output_ids, masked_lm_positions, masked_lm_ids)``: the masked sequence, the sorted
        chosen positions and their original ids.
    """
    _check_masking_args(masked_lm_prob, max_predictions_per_seq)
    vocabulary.mask_id  # noqa: B018  (a clear error when the vocabulary has no [MASK])
    return _masked_lm_predictions(
        token_ids, _masking_rules(vocabulary), rng, masked_lm_prob, int(max_predictions_per_seq),
        whole_word_masking)


def _mask_batch_in_graph(
    input_word_ids: tf.Tensor,
    input_mask: tf.Tensor,
    seed: tf.Tensor,
    *,
    rules: _MaskingRules,
    is_continuation: tf.Tensor,
    masked_lm_prob: float,
    max_predictions_per_seq: int,
    whole_word_masking: bool,
) -> dict[str, tf.Tensor]:
    """The masking rules on a dense batch ``[batch, seq_length]``, with stateless random ops."""
    ids = tf.cast(input_word_ids, tf.int32)
    batch_size, seq_length = tf.shape(ids)[0], tf.shape(ids)[1]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=3)

    real = tf.cast(input_mask, tf.int32) > 0
    special = (ids == rules.cls_id) | (ids == rules.sep_id) | (ids == rules.pad_id)
    candidate = real & ~special
    num_tokens = tf.reduce_sum(tf.cast(real, tf.float64), axis=1)
    num_to_predict = tf.cast(tf.round(num_tokens * tf.constant(masked_lm_prob, tf.float64)), tf.int32)
    num_to_predict = tf.minimum(max_predictions_per_seq, tf.maximum(1, num_to_predict))[:, None]

    # Words: a candidate starts one unless it is a "##" piece after an earlier candidate.
    word_start = candidate
    if whole_word_masking:
        continues = tf.gather(is_continuation, tf.clip_by_value(ids, 0, rules.vocabulary_size - 1))
        earlier = tf.cumsum(tf.cast(candidate, tf.int32), axis=1, exclusive=True) > 0
        word_start = candidate & ~(continues & earlier)
    word_index = tf.maximum(tf.cumsum(tf.cast(word_start, tf.int32), axis=1) - 1, 0)
    num_words = tf.reduce_sum(tf.cast(word_start, tf.int32), axis=1, keepdims=True)
    positions = tf.range(seq_length)[None, :]
    segment = tf.where(candidate, word_index + tf.range(batch_size)[:, None] * seq_length,
                       batch_size * seq_length)
    word_length = tf.math.unsorted_segment_sum(
        tf.reshape(tf.cast(candidate, tf.int32), [-1]), tf.reshape(segment, [-1]),
        batch_size * seq_length + 1)[:-1]
    word_length = tf.reshape(word_length, [batch_size, seq_length])

    # Visit the words in random order; take each that still fits (Google's greedy loop).
    scores = tf.random.stateless_uniform([batch_size, seq_length], seed=seeds[0])
    scores = tf.where(positions < num_words, scores, 2.0)
    order = tf.argsort(scores, axis=1, stable=True)
    shuffled_length = tf.gather(word_length, order, batch_dims=1)
    if whole_word_masking:
        def take_if_fits(state, length):
            count, _ = state
            fits = (count + length <= num_to_predict[:, 0]) & (length > 0)
            return count + tf.where(fits, length, 0), fits

        _, taken = tf.scan(
            take_if_fits, tf.transpose(shuffled_length),
            initializer=(tf.zeros([batch_size], tf.int32), tf.zeros([batch_size], tf.bool)))
        taken = tf.transpose(taken)
    else:  # every word is one token: the first num_to_predict of the shuffled candidates
        taken = (positions < num_to_predict) & (shuffled_length > 0)
    word_taken = tf.gather(taken, tf.argsort(order, axis=1), batch_dims=1)
    selected = candidate & tf.gather(word_taken, word_index, batch_dims=1)

    # 80% [MASK], 10% a random id, 10% unchanged.
    draw = tf.random.stateless_uniform([batch_size, seq_length], seed=seeds[1])
    random_ids = tf.random.stateless_uniform(
        [batch_size, seq_length], seed=seeds[2], minval=0, maxval=rules.vocabulary_size,
        dtype=tf.int32)
    masked_ids = tf.where(selected & (draw < MASK_RATE), rules.mask_id, ids)
    masked_ids = tf.where(selected & (draw >= MASK_RATE + RANDOM_RATE), random_ids, masked_ids)

    # Chosen positions first, in order, padded to max_predictions_per_seq.
    k = tf.minimum(max_predictions_per_seq, seq_length)
    _, index = tf.math.top_k(-tf.where(selected, positions, positions + seq_length), k=k)
    weights = tf.gather(selected, index, batch_dims=1)
    pad = [[0, 0], [0, max_predictions_per_seq - k]]
    masked_lm_positions = tf.pad(tf.where(weights, index, 0), pad)
    masked_lm_ids = tf.pad(tf.where(weights, tf.gather(ids, index, batch_dims=1), 0), pad)
    masked_lm_weights = tf.pad(tf.cast(weights, tf.float32), pad)
    for tensor in (masked_lm_positions, masked_lm_ids, masked_lm_weights):
        tensor.set_shape([input_word_ids.shape[0], max_predictions_per_seq])
    masked_ids.set_shape(input_word_ids.shape)
    return {
        "input_word_ids": masked_ids,
        "masked_lm_positions": masked_lm_positions,
        "masked_lm_ids": masked_lm_ids,
        "masked_lm_weights": masked_lm_weights,
    }


@keras.saving.register_keras_serializable(package="bertzoo")
class MaskedLMMasker(keras.layers.Layer):
    """Masks packed BERT inputs for the masked-LM task, in-graph (dynamic masking in ``tf.data``).

    Applies the same rules as Google's ``create_masked_lm_predictions`` (see the module docstring)
    to a dense batch, with static output shapes, so it runs inside ``tf.data.Dataset.map`` and
    every epoch gets fresh masks. Randomness is stateless: pass ``seed`` (an int ``[2]`` tensor,
    e.g. from ``tf.data.Dataset.random``) for reproducible masks, else a fresh seed is drawn.

    Args:
        vocabulary: a ``Vocabulary``, a list of tokens, or the path to a ``vocab.txt``; gives the
            special ids, the vocabulary size for random replacements, and the ``##`` pieces.
        max_predictions_per_seq: the masked-LM outputs are padded to this length.
        masked_lm_prob: the fraction of real tokens (``[CLS]``/``[SEP]`` included) to predict.
        whole_word_masking: choose whole words (a token and its ``##`` continuations).
        seed: op-level seed for the seed drawn when ``call`` gets none.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
    >>> masker = MaskedLMMasker(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"],
    ...                         max_predictions_per_seq=2)
    >>> out = masker({"input_word_ids": [[2, 5, 6, 3, 0]], "input_mask": [[1, 1, 1, 1, 0]]})
    >>> out["masked_lm_positions"].shape
    TensorShape([1, 2])
    """

    def __init__(
        self,
        vocabulary: Vocabulary | Sequence[str] | str | os.PathLike,
        max_predictions_per_seq: int = 20,
        masked_lm_prob: float = 0.15,
        whole_word_masking: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

        _check_masking_args(masked_lm_prob, max_predictions_per_seq)
        self._vocabulary = _as_vocabulary(vocabulary)
        self._vocabulary.mask_id  # noqa: B018  (a clear error when there is no [MASK])
        self._rules = _masking_rules(self._vocabulary)
        self.max_predictions_per_seq = int(max_predictions_per_seq)
        self.masked_lm_prob = float(masked_lm_prob)
        self.whole_word_masking = bool(whole_word_masking)
        self.seed = seed
        with tf.init_scope():
            self._is_continuation = tf.constant(self._rules.is_continuation)

    @property
    def vocabulary(self) -> Vocabulary:
        return self._vocabulary

    def call(self, inputs, seed=None) -> dict[str, tf.Tensor]:
        """Masks ``inputs``.

        Args:
            inputs: a dict with int ``input_word_ids`` ``[batch, seq_length]`` (or ``[seq_length]``)
                and ``input_mask`` (1 for real tokens; derived from ``[PAD]`` when absent); other
                entries pass through. A bare id tensor is accepted too.
            seed: optional int ``[2]`` tensor for the stateless random ops.

        Returns:
            The inputs with ``input_word_ids`` masked, plus ``masked_lm_positions`` and
            ``masked_lm_ids`` (int32) and ``masked_lm_weights`` (float32), each
            ``[batch, max_predictions_per_seq]``.
        """
        inputs = dict(inputs) if isinstance(inputs, dict) else {"input_word_ids": inputs}
        ids = tf.convert_to_tensor(inputs["input_word_ids"])
        if "input_mask" in inputs:
            input_mask = tf.convert_to_tensor(inputs["input_mask"])
        else:
            input_mask = tf.cast(tf.not_equal(ids, self._rules.pad_id), tf.int32)
        unbatched = ids.shape.rank == 1
        if unbatched:
            ids, input_mask = ids[tf.newaxis], input_mask[tf.newaxis]
        if seed is None:
            seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64, seed=self.seed)
        outputs = _mask_batch_in_graph(
            ids, input_mask, seed, rules=self._rules, is_continuation=self._is_continuation,
            masked_lm_prob=self.masked_lm_prob, max_predictions_per_seq=self.max_predictions_per_seq,
            whole_word_masking=self.whole_word_masking)
        outputs["input_word_ids"] = tf.cast(outputs["input_word_ids"], ids.dtype)
        if unbatched:
            outputs = {name: tensor[0] for name, tensor in outputs.items()}
        inputs.update(outputs)
        return inputs

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "vocabulary": self._vocabulary.tokens,
            "max_predictions_per_seq": self.max_predictions_per_seq,
            "masked_lm_prob": self.masked_lm_prob,
            "whole_word_masking": self.whole_word_masking,
            "seed": self.seed,
        })
        return config


# -- writing static examples ---------------------------------------------------------------------


@dataclasses.dataclass
class _Instance:
    token_ids: list[int]  # [CLS] A [SEP] B [SEP]
    segment_ids: list[int]
    is_random_next: bool


def _resolve_input_files(input_files: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """Paths and glob patterns -> files; FileNotFoundError names what matched nothing."""
    if isinstance(input_files, (str, os.PathLike)):
        input_files = [input_files]
    files = []
    for entry in input_files:
        entry = os.fspath(entry)
        if any(c in entry for c in "*?["):
            matched = sorted(tf.io.gfile.glob(entry))
            if not matched:
                raise FileNotFoundError(f"No input file matches {entry}.")
            files.extend(matched)
        elif tf.io.gfile.exists(entry) and not tf.io.gfile.isdir(entry):
            files.append(entry)
        else:
            raise FileNotFoundError(f"Input file {entry} does not exist.")
    if not files:
        raise ValueError("No input files given.")
    return files


def _read_documents(
    files: Sequence[str], tokenize, lines_per_batch: int, stats: dict
) -> Iterator[list[list[int]]]:
    """Streams documents (lists of tokenized sentences) from ``files``, tokenizing line batches.

    A blank line (or a file's end) ends a document; lines that tokenize to nothing are dropped.
    """

    def line_batches(path):
        batch = []
        with tf.io.gfile.GFile(path, "rb") as f:
            for raw in f:
                batch.append(raw.decode("utf-8", errors="ignore").strip())
                if len(batch) >= lines_per_batch:
                    yield batch
                    batch = []
        if batch:
            yield batch

    for path in files:
        document: list[list[int]] = []
        for batch in line_batches(path):
            sentences = [line for line in batch if line]
            token_ids = iter(tokenize(sentences) if sentences else [])
            for line in batch:
                if not line:
                    if document:
                        yield document
                        document = []
                    continue
                ids = next(token_ids)
                if ids:
                    document.append(ids)
                    stats["sentences"] += 1
        if document:
            yield document


def _truncate_seq_pair(tokens_a: list[int], tokens_b: list[int], max_num_tokens: int,
                       rng: random.Random) -> None:
    """Google's ``truncate_seq_pair``: drop from the longer one, randomly at its front or back."""
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def _instances_from_document(
    documents: list[list[list[int]]], document_index: int, max_seq_length: int,
    short_seq_prob: float, rules: _MaskingRules, rng: random.Random,
) -> list[_Instance]:
    """Google's ``create_instances_from_document`` on ids; random B from ``documents``."""
    document = documents[document_index]
    max_num_tokens = max_seq_length - 3
    target_seq_length = max_num_tokens
    if rng.random() < short_seq_prob:
        target_seq_length = rng.randint(2, max_num_tokens)

    instances = []
    chunk: list[list[int]] = []
    chunk_length = 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        chunk_length += len(document[i])
        if i == len(document) - 1 or chunk_length >= target_seq_length:
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            tokens_a = [t for sentence in chunk[:a_end] for t in sentence]
            tokens_b: list[int] = []
            is_random_next = len(chunk) == 1 or rng.random() < 0.5
            if is_random_next:
                target_b_length = target_seq_length - len(tokens_a)
                for _ in range(10):
                    random_index = rng.randint(0, len(documents) - 1)
                    if random_index != document_index:
                        break
                if random_index == document_index:
                    random_index = (document_index + 1) % len(documents)
                random_document = documents[random_index]
                for sentence in random_document[rng.randint(0, len(random_document) - 1):]:
                    tokens_b.extend(sentence)
                    if len(tokens_b) >= target_b_length:
                        break
                i -= len(chunk) - a_end  # put the unused sentences back
            else:
                tokens_b = [t for sentence in chunk[a_end:] for t in sentence]
            _truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
            instances.append(_Instance(
                token_ids=[rules.cls_id, *tokens_a, rules.sep_id, *tokens_b, rules.sep_id],
                segment_ids=[0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1),
                is_random_next=is_random_next,
            ))
            chunk, chunk_length = [], 0
        i += 1
    return instances


def _int64_feature(values) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def _float_feature(values) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def _serialize(token_ids, segment_ids, positions, labels, is_random_next, rules,
               max_seq_length, max_predictions_per_seq) -> bytes:
    pad = max_seq_length - len(token_ids)
    pad_predictions = max_predictions_per_seq - len(positions)
    features = {
        "input_ids": _int64_feature(list(token_ids) + [rules.pad_id] * pad),
        "input_mask": _int64_feature([1] * len(token_ids) + [0] * pad),
        "segment_ids": _int64_feature(list(segment_ids) + [0] * pad),
        "masked_lm_positions": _int64_feature(list(positions) + [0] * pad_predictions),
        "masked_lm_ids": _int64_feature(list(labels) + [0] * pad_predictions),
        "masked_lm_weights": _float_feature([1.0] * len(positions) + [0.0] * pad_predictions),
        "next_sentence_labels": _int64_feature([1 if is_random_next else 0]),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def shard_paths(output_prefix: str, num_shards: int) -> list[str]:
    """The files ``create_pretraining_tfrecords`` writes: ``{prefix}-00000-of-00004.tfrecord``, ..."""
    return [f"{output_prefix}-{i:05d}-of-{num_shards:05d}.tfrecord" for i in range(num_shards)]


def _incomplete_path(path: str) -> str:
    directory, name = os.path.split(path)
    return os.path.join(directory, f".incomplete-{name}")


def create_pretraining_tfrecords(
    input_files: str | os.PathLike | Sequence[str | os.PathLike],
    tokenizer: WordPieceTokenizer,
    output_prefix: str | os.PathLike,
    *,
    max_seq_length: int = 128,
    max_predictions_per_seq: int = 20,
    masked_lm_prob: float = 0.15,
    short_seq_prob: float = 0.1,
    dupe_factor: int = 1,
    whole_word_masking: bool = False,
    mask: bool = True,
    num_shards: int = 1,
    seed: int = 12345,
    documents_per_buffer: int = 10_000,
    lines_per_batch: int = 1024,
    progress: bool = True,
) -> dict:
    """Writes BERT pretraining examples as sharded TFRecords, as Google's ``create_pretraining_data.py``.

    Streams the corpus: at most ``documents_per_buffer + 2`` documents are held at once; each
    buffer is shuffled, turned into sentence pairs ``dupe_factor`` times, masked, shuffled and
    written round-robin to ``num_shards`` files. Features keep Google's names: ``input_ids``,
    ``input_mask``, ``segment_ids`` (int64, ``max_seq_length``), ``masked_lm_positions``,
    ``masked_lm_ids`` (int64), ``masked_lm_weights`` (float, ``max_predictions_per_seq``),
    ``next_sentence_labels`` (int64 ``[1]``, 1 = B is a random document). Shards are written under
    hidden ``.incomplete-`` names and renamed when complete, and removed on failure.

    Args:
        input_files: text files (local or ``gs://``) or glob patterns: one sentence per line,
            blank lines between documents.
        tokenizer: a ``WordPieceTokenizer`` (called on batches of lines; its ``vocabulary`` gives
            the special ids).
        output_prefix: shard paths are ``{output_prefix}-00000-of-0000N.tfrecord``.
        max_seq_length: length of ``input_ids`` (``[CLS] A [SEP] B [SEP]`` plus padding).
        max_predictions_per_seq: length of the ``masked_lm_*`` features.
        masked_lm_prob: fraction of the tokens to predict.
        short_seq_prob: probability of a shorter random target length for a document pass.
        dupe_factor: passes over each document, each with new pairs and masks.
        whole_word_masking: mask whole words (a token and its ``##`` continuations).
        mask: False writes unmasked examples (``masked_lm_*`` all zero) for dynamic masking.
        num_shards: the number of output files.
        seed: seeds the ``random.Random`` behind every choice.
        documents_per_buffer: documents held in memory; random-next B and shuffling stay within.
        lines_per_batch: lines tokenized per call of the tokenizer.
        progress: show a ``tqdm`` progress bar (documents read, examples written).

    Returns:
        A summary dict: ``input_files``, ``documents``, ``sentences``, ``examples``,
        ``random_next_examples``, ``buffers``, ``shards`` (paths) and ``examples_per_shard``.

    Raises:
        FileNotFoundError: an input file (or pattern) that does not exist.
        ValueError: a corpus with no documents, or with fewer than two documents (next-sentence
            prediction draws B from another document), or invalid arguments.
    """
    from tqdm.auto import tqdm

    if max_seq_length < 5:
        raise ValueError(f"max_seq_length must be >= 5 ([CLS] A [SEP] B [SEP]), got {max_seq_length}.")
    _check_masking_args(masked_lm_prob, max_predictions_per_seq)
    if not 0.0 <= short_seq_prob <= 1.0:
        raise ValueError(f"short_seq_prob must be in [0, 1], got {short_seq_prob}.")
    for name, value in (("dupe_factor", dupe_factor), ("num_shards", num_shards),
                        ("documents_per_buffer", documents_per_buffer),
                        ("lines_per_batch", lines_per_batch)):
        if int(value) < 1:
            raise ValueError(f"{name} must be >= 1, got {value}.")
    files = _resolve_input_files(input_files)
    vocabulary = tokenizer.vocabulary
    rules = _masking_rules(vocabulary)
    if mask:
        vocabulary.mask_id  # noqa: B018  (raises a clear error when there is no [MASK])

    tokenize_fn = tf.function(
        lambda strings: tokenizer(strings), input_signature=[tf.TensorSpec([None], tf.string)])

    def tokenize(lines: list[str]) -> list[list[int]]:
        ragged = tokenize_fn(tf.constant(lines))
        values, splits = ragged.values.numpy().tolist(), ragged.row_splits.numpy().tolist()
        return [values[start:end] for start, end in itertools.pairwise(splits)]

    rng = random.Random(seed)
    paths = shard_paths(os.fspath(output_prefix), int(num_shards))
    temporary = [_incomplete_path(p) for p in paths]
    directory = os.path.dirname(paths[0])
    if directory:
        tf.io.gfile.makedirs(directory)
    stats = {"documents": 0, "sentences": 0, "examples": 0, "random_next_examples": 0, "buffers": 0}
    examples_per_shard = [0] * num_shards
    bar = tqdm(desc="pretraining data", unit=" documents", disable=not progress)

    def write_buffer(documents: list[list[list[int]]]) -> None:
        rng.shuffle(documents)
        instances = []
        for _ in range(dupe_factor):
            for index in range(len(documents)):
                instances.extend(_instances_from_document(
                    documents, index, max_seq_length, short_seq_prob, rules, rng))
        rng.shuffle(instances)
        for instance in instances:
            token_ids, positions, labels = instance.token_ids, [], []
            if mask:
                token_ids, positions, labels = _masked_lm_predictions(
                    instance.token_ids, rules, rng, masked_lm_prob, max_predictions_per_seq,
                    whole_word_masking)
            shard = stats["examples"] % num_shards
            writers[shard].write(_serialize(
                token_ids, instance.segment_ids, positions, labels, instance.is_random_next,
                rules, max_seq_length, max_predictions_per_seq))
            examples_per_shard[shard] += 1
            stats["examples"] += 1
            stats["random_next_examples"] += instance.is_random_next
        stats["buffers"] += 1
        bar.set_postfix(examples=stats["examples"])

    writers = [tf.io.TFRecordWriter(p) for p in temporary]
    try:
        buffer: list[list[list[int]]] = []
        for document in _read_documents(files, tokenize, int(lines_per_batch), stats):
            buffer.append(document)
            stats["documents"] += 1
            bar.update(1)
            # Hold two documents back, so the last buffer always has a second document for B.
            if len(buffer) >= documents_per_buffer + 2:
                write_buffer(buffer[:documents_per_buffer])
                buffer = buffer[documents_per_buffer:]
        if stats["documents"] == 0:
            raise ValueError(
                f"No documents in {', '.join(files)}: pretraining needs text files with one "
                "sentence per line and blank lines between documents.")
        if stats["documents"] < 2:
            raise ValueError(
                f"Only one document ({stats['sentences']} sentence(s)) in {', '.join(files)}: "
                "next-sentence prediction needs at least two documents, separated by a blank "
                "line, to draw a random second segment from another document.")
        write_buffer(buffer)
        for writer in writers:
            writer.close()
        for tmp, path in zip(temporary, paths):
            tf.io.gfile.rename(tmp, path, overwrite=True)
    except BaseException:
        for writer in writers:
            writer.close()
        for tmp in temporary:
            if tf.io.gfile.exists(tmp):
                tf.io.gfile.remove(tmp)
        raise
    finally:
        bar.close()
    return {
        "input_files": files,
        **stats,
        "shards": paths,
        "examples_per_shard": examples_per_shard,
    }


# -- reading -------------------------------------------------------------------------------------


def _list_files(file_pattern: str | Sequence[str]) -> list[str]:
    patterns = [file_pattern] if isinstance(file_pattern, (str, os.PathLike)) else list(file_pattern)
    files = []
    for pattern in patterns:
        files.extend(sorted(tf.io.gfile.glob(os.fspath(pattern))))
    if not files:
        raise FileNotFoundError(f"No TFRecord files match {file_pattern}.")
    return files


def validate_tfrecords(file_pattern: str | Sequence[str]) -> dict[str, int]:
    """Reads every record of every matching file, to find corrupt or truncated TFRecords.

    ``tf.data`` reports a damaged file only as ``DataLossError: corrupted record at N``, without
    its name; this names it. It reads all the data, so run it once, not before every job.

    Args:
        file_pattern: a path or glob (local or ``gs://``), or a list of them.

    Returns:
        The number of records in each file.

    Raises:
        FileNotFoundError: nothing matches.
        ValueError: ``"{path}: corrupt TFRecord ..."`` for the first damaged file.
    """
    counts = {}
    for path in _list_files(file_pattern):
        try:
            count = tf.data.TFRecordDataset(path).reduce(
                tf.constant(0, tf.int64), lambda n, _: n + 1)
        except tf.errors.DataLossError as e:
            raise ValueError(f"{path}: corrupt TFRecord ({e.message.strip()})") from None
        counts[path] = int(count)
    return counts


def _check_first_example(files: list[str], file_pattern, expected: dict[str, tuple[str, int]],
                         dynamic_masking: bool) -> None:
    """Reads one record and checks feature names, kinds and lengths, so mistakes fail early."""
    for path in files:
        try:
            records = list(tf.data.TFRecordDataset(path).take(1).as_numpy_iterator())
        except tf.errors.DataLossError as e:
            raise ValueError(f"{path}: corrupt TFRecord ({e.message.strip()})") from None
        if records:
            break
    else:
        raise ValueError(f"{file_pattern}: the files hold no records.")
    try:
        example = tf.train.Example.FromString(records[0])
    except Exception as e:  # noqa: BLE001  (protobuf's DecodeError)
        raise ValueError(f"{path}: the records are not tf.train.Example protos ({e}).") from None
    feature = example.features.feature
    for name, (kind, length) in expected.items():
        if name not in feature:
            raise ValueError(
                f"{file_pattern}: feature {name!r} is missing in {path}; pretraining records "
                f"need {', '.join(expected)}.")
        values = getattr(feature[name], kind).value
        if len(values) != length:
            argument = "seq_length" if name in SEQUENCE_FEATURES else "max_predictions_per_seq"
            asked = f"{argument} = {length} was asked for" if name != "next_sentence_labels" else "1 expected"
            raise ValueError(
                f"{file_pattern}: feature {name!r} has length {len(values)} in {path}, but {asked}; "
                "read with the lengths the files were written with.")
    if dynamic_masking and "masked_lm_weights" in feature and any(
            feature["masked_lm_weights"].float_list.value):
        raise ValueError(
            f"{file_pattern}: {path} holds masked examples, but dynamic_masking=True masks again; "
            "write the files with mask=False for dynamic masking.")


def pretraining_dataset(
    file_pattern: str | Sequence[str],
    *,
    seq_length: int,
    max_predictions_per_seq: int,
    global_batch_size: int,
    is_training: bool = True,
    dynamic_masking: bool = False,
    vocabulary: Vocabulary | Sequence[str] | str | os.PathLike | None = None,
    whole_word_masking: bool = False,
    masked_lm_prob: float = 0.15,
    seed: int | None = None,
    input_context: tf.distribute.InputContext | None = None,
    shuffle_buffer_size: int = 10_000,
    validate: bool = False,
) -> tf.data.Dataset:
    """Reads pretraining TFRecords into batches of ``(features, labels)`` for the BERT pretrainer.

    features: ``input_word_ids``, ``input_mask``, ``input_type_ids`` ``[batch, seq_length]`` and
    ``masked_lm_positions`` ``[batch, max_predictions_per_seq]`` (int32); labels:
    ``masked_lm_ids`` (int32), ``masked_lm_weights`` (float32) ``[batch, max_predictions_per_seq]``
    and ``next_sentence_labels`` (int32 ``[batch, 1]``). Training shuffles files and records,
    repeats forever and drops the last partial batch (static shapes); evaluation reads once in
    order. With ``dynamic_masking`` the masks are drawn in ``tf.data`` by ``MaskedLMMasker``, fresh
    on every pass over the data (the files must be written with ``mask=False``).

    Errors: lengths that do not match ``seq_length`` / ``max_predictions_per_seq`` raise a
    ``ValueError`` here, naming the pattern and the feature (one record is read to check). A
    corrupt record found later stops iteration with ``tf.errors.DataLossError: corrupted record
    at N``, which tf.data does not attribute to a file; ``validate=True`` (or
    ``validate_tfrecords``) reads every file first and names it.

    Args:
        file_pattern: TFRecord path or glob (local or ``gs://``), or a list of them.
        seq_length: the length the files were written with (``max_seq_length``).
        max_predictions_per_seq: for static masks, the length written; for dynamic, any.
        global_batch_size: batch size over all replicas; with ``input_context`` each pipeline
            batches ``input_context.get_per_replica_batch_size(global_batch_size)``.
        is_training: shuffle, repeat and drop the remainder.
        dynamic_masking: mask in ``tf.data`` instead of using the written masks.
        vocabulary: needed for dynamic masking (special ids, size, ``##`` pieces).
        whole_word_masking: dynamic masking chooses whole words.
        masked_lm_prob: dynamic masking's fraction of tokens to predict.
        seed: seeds file and record shuffling and the masks; None is nondeterministic.
        input_context: from ``strategy.distribute_datasets_from_function``; files are sharded
            per input pipeline (records, when there are fewer files than pipelines).
        shuffle_buffer_size: records in the training shuffle buffer.
        validate: read every file first (``validate_tfrecords``) so corruption names the file.

    Raises:
        FileNotFoundError: nothing matches ``file_pattern``.
        ValueError: mismatched feature lengths, missing features, a corrupt first record, or
            ``dynamic_masking`` without ``vocabulary``.
    """
    if dynamic_masking and vocabulary is None:
        raise ValueError("dynamic_masking=True needs the vocabulary (its special ids and size).")
    files = _list_files(file_pattern)
    if validate:
        validate_tfrecords(files)
    expected = {
        "input_ids": ("int64_list", seq_length),
        "input_mask": ("int64_list", seq_length),
        "segment_ids": ("int64_list", seq_length),
        "next_sentence_labels": ("int64_list", 1),
    }
    if not dynamic_masking:
        expected.update({
            "masked_lm_positions": ("int64_list", max_predictions_per_seq),
            "masked_lm_ids": ("int64_list", max_predictions_per_seq),
            "masked_lm_weights": ("float_list", max_predictions_per_seq),
        })
    _check_first_example(files, file_pattern, expected, dynamic_masking)
    feature_spec = {
        name: tf.io.FixedLenFeature([length], tf.float32 if kind == "float_list" else tf.int64)
        for name, (kind, length) in expected.items()
    }
    masker = None
    if dynamic_masking:
        masker = MaskedLMMasker(
            vocabulary, max_predictions_per_seq=max_predictions_per_seq,
            masked_lm_prob=masked_lm_prob, whole_word_masking=whole_word_masking)

    batch_size = global_batch_size
    num_pipelines, pipeline_id = 1, 0
    if input_context is not None:
        batch_size = input_context.get_per_replica_batch_size(global_batch_size)
        num_pipelines, pipeline_id = input_context.num_input_pipelines, input_context.input_pipeline_id
    shard_files = num_pipelines > 1 and len(files) >= num_pipelines

    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shard_files:
        dataset = dataset.shard(num_pipelines, pipeline_id)
    if is_training:
        # With a seed, a new iterator replays the same stream (fixed shuffle seeds): what makes runs
        # under different strategies, and resumed runs, see the same batches. The stream repeats
        # forever, so each pass over the data still meets different shuffles and masks.
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=seed is None).repeat()
    dataset = dataset.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 8) if is_training else 1,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=not is_training or seed is not None,
    )
    if num_pipelines > 1 and not shard_files:
        dataset = dataset.shard(num_pipelines, pipeline_id)
    if is_training:
        dataset = dataset.shuffle(shuffle_buffer_size, seed=seed, reshuffle_each_iteration=seed is None)
    dataset = dataset.batch(batch_size, drop_remainder=is_training)
    # One stateless seed pair per batch: (seed, index of the batch in this pipeline's stream). Masks
    # are a function of the seed and the batch's place in the stream alone, never of how many
    # iterators were made; later epochs are later batches, so they draw fresh masks.
    base_seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    seeds = tf.data.Dataset.counter(dtype=tf.int64).map(
        lambda index: tf.stack([tf.constant(base_seed, tf.int64), index * num_pipelines + pipeline_id]))
    dataset = tf.data.Dataset.zip((dataset, seeds))

    def to_inputs(serialized, seed_pair):
        example = tf.io.parse_example(serialized, feature_spec)
        features = {
            "input_word_ids": tf.cast(example["input_ids"], tf.int32),
            "input_mask": tf.cast(example["input_mask"], tf.int32),
            "input_type_ids": tf.cast(example["segment_ids"], tf.int32),
        }
        if masker is not None:
            masked = masker(features, seed=seed_pair)
            features["input_word_ids"] = masked["input_word_ids"]
            masked_lm = {name: masked[name] for name in (
                "masked_lm_positions", "masked_lm_ids", "masked_lm_weights")}
        else:
            masked_lm = {
                "masked_lm_positions": tf.cast(example["masked_lm_positions"], tf.int32),
                "masked_lm_ids": tf.cast(example["masked_lm_ids"], tf.int32),
                "masked_lm_weights": tf.cast(example["masked_lm_weights"], tf.float32),
            }
        features["masked_lm_positions"] = masked_lm["masked_lm_positions"]
        labels = {
            "masked_lm_ids": masked_lm["masked_lm_ids"],
            "masked_lm_weights": masked_lm["masked_lm_weights"],
            "next_sentence_labels": tf.cast(example["next_sentence_labels"], tf.int32),
        }
        return features, labels

    dataset = dataset.map(to_inputs, num_parallel_calls=tf.data.AUTOTUNE,
                          deterministic=not is_training or seed is not None)
    return dataset.prefetch(tf.data.AUTOTUNE)
