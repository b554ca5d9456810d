"""Skip-gram with negative sampling (SGNS) and CBOW, trained as ``word2vec.c`` (tmikolov/word2vec)
trains them, with tf.data feeding a Keras model.

What is kept from ``word2vec.c`` (the rules the published vectors depend on):
- vocabulary: words split on spaces, tabs and newlines; ``</s>`` stands for every newline and is
  row 0; the other words with ``count >= min_count`` follow by falling count (ties: first seen);
- sentences are lines, cut into pieces of at most 1,000 words; windows never cross them; unknown
  words are dropped before windows are taken;
- subsampling of frequent words: a word of count ``cn`` is kept with probability
  ``(sqrt(cn / (sample * train_words)) + 1) * (sample * train_words) / cn`` (``train_words`` the
  total count of the vocabulary), decided per occurrence, before the windows;
- window shrinking: for each centre word a random ``b`` in ``0..window-1`` and the context is the
  ``window - b`` words on either side;
- skip-gram predicts the centre word from each context word's input vector; CBOW from the mean of
  the context's input vectors, and each context vector receives the whole gradient (as
  ``neu1e`` is added to each of them there);
- negatives come from the unigram table: ``table_size`` slots filled with word ids in proportion to
  ``count ** 0.75`` (``InitUnigramTable``), drawn uniformly; a draw of ``</s>`` is replaced by a
  uniform word id in ``1..vocab_size-1``; a negative equal to the target is skipped;
- the gradient of each logit ``f`` is ``label - sigmoid(f)``, with ``sigmoid`` saturated to 0 or 1
  outside ``[-6, 6]`` (``MAX_EXP``); plain SGD, input vectors initialised uniform in
  ``[-0.5/dim, 0.5/dim)``, output vectors zero; the learning rate falls linearly from ``alpha`` to
  ``alpha * 1e-4`` over training.
What differs, by design: examples are shuffled and batched (``word2vec.c`` runs Hogwild threads
over the text in order), so the update of a batch is the sum of its examples' updates computed from
the same weights; the random numbers come from TensorFlow, not word2vec's linear congruential
generator; the learning rate falls per step, not per 10,000 words.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import pathlib
from collections.abc import Iterable

import keras
import numpy as np
import tensorflow as tf

EOS = "</s>"
MAX_SENTENCE_LENGTH = 1000
MAX_EXP = 6.0


@dataclasses.dataclass
class Word2VecVocabulary:
    """The training vocabulary: words (``</s>`` first) and their counts in the corpus."""

    words: list[str]
    counts: np.ndarray

    @property
    def train_words(self) -> int:
        return int(self.counts.sum())

    def __len__(self) -> int:
        return len(self.words)


def read_corpus_lines(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[str]:
    """The lines of one or several UTF-8 text files."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    lines = []
    for path in paths:
        lines.extend(pathlib.Path(path).read_text(encoding="utf-8").splitlines())
    return lines


def build_vocabulary(lines: Iterable[str], min_count: int = 5, lowercase: bool = False) -> Word2VecVocabulary:
    """``word2vec.c``'s ``LearnVocabFromTrainFile`` + ``SortVocab`` on the lines of a corpus."""
    counts: collections.Counter[str] = collections.Counter()
    newlines = 0
    for line in lines:
        counts.update((line.lower() if lowercase else line).split())
        newlines += 1
    kept = sorted(((word, count) for word, count in counts.items() if count >= min_count and word != EOS),
                  key=lambda item: -item[1])  # sorted() is stable: ties stay in first-seen order
    words = [EOS] + [word for word, _ in kept]
    return Word2VecVocabulary(words, np.asarray([newlines + counts.get(EOS, 0)] + [c for _, c in kept], np.int64))


def unigram_table(counts: np.ndarray, table_size: int = 10_000_000, power: float = 0.75) -> np.ndarray:
    """``word2vec.c``'s ``InitUnigramTable``: ``table_size`` word ids in proportion to ``count ** power``."""
    weights = np.asarray(counts, np.float64) ** power
    bounds = np.cumsum(weights) / weights.sum()
    # The C loop writes word i into slot a, then moves to word i + 1 when a / table_size passed word
    # i's cumulative share: slot a holds the first word whose share reaches (a - 1) / table_size.
    # (Equal to the loop whenever every word owns at least one slot, which it may skip otherwise.)
    slots = np.arange(-1, table_size - 1, dtype=np.float64) / table_size
    return np.minimum(np.searchsorted(bounds, slots, side="left"), len(counts) - 1).astype(np.int32)


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """The probability that subsampling keeps one occurrence of each word (1 where ``sample <= 0``)."""
    counts = np.asarray(counts, np.float64)
    if sample <= 0:
        return np.ones(len(counts), np.float32)
    threshold = sample * counts.sum()
    ran = (np.sqrt(counts / threshold) + 1) * threshold / np.maximum(counts, 1)
    return np.minimum(ran, 1.0).astype(np.float32)


def context_offsets(window: int) -> np.ndarray:
    return np.asarray([d for d in range(-window, window + 1) if d != 0], np.int32)


def training_dataset(lines: list[str], vocabulary: Word2VecVocabulary, *, model: str = "skipgram", window: int = 5,
                     sample: float = 1e-3, negative: int = 5, batch_size: int = 1024, table_size: int = 10_000_000,
                     lowercase: bool = False, seed: int | None = None, shuffle_buffer: int = 100_000,
                     repeat: bool = True) -> tf.data.Dataset:
    """Batches of ``(features, labels)`` for ``Word2VecModel``, made in tf.data as ``word2vec.c`` makes them.

    Features: ``context_ids`` int32 ``[batch, 1]`` (skip-gram: one context word) or ``[batch, 2 *
    window]`` (CBOW, -1 where the shrunk window has no word), ``target_ids`` ``[batch]`` and
    ``negative_ids`` ``[batch, negative]``. Labels: ``{"target_ids": [batch]}``.
    """
    if model not in ("skipgram", "cbow"):
        raise ValueError(f"model must be 'skipgram' or 'cbow', got {model!r}")
    keys = tf.constant(vocabulary.words[1:], tf.string)
    lookup = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, tf.range(1, len(vocabulary), dtype=tf.int32)), default_value=-1)
    keep = tf.constant(keep_probabilities(vocabulary.counts, sample))
    table = tf.constant(unigram_table(vocabulary.counts, table_size))
    offsets = tf.constant(context_offsets(window))
    vocab_size = len(vocabulary)
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=4)

    def sentence_ids(line):
        text = tf.strings.lower(line) if lowercase else line
        ids = lookup.lookup(tf.strings.split(text))
        return tf.boolean_mask(ids, ids >= 0)

    def subsample(ids):
        u = tf.random.uniform(tf.shape(ids), seed=int(seeds[0]))
        return tf.boolean_mask(ids, tf.gather(keep, ids) >= u)

    def pairs(ids):
        length = tf.shape(ids)[0]
        positions = tf.range(length)
        shrink = tf.random.uniform([length], 0, window, tf.int32, seed=int(seeds[1]))
        context_positions = positions[:, None] + offsets[None, :]
        valid = ((context_positions >= 0) & (context_positions < length)
                 & (tf.abs(offsets)[None, :] <= (window - shrink)[:, None]))
        contexts = tf.where(valid, tf.gather(ids, tf.clip_by_value(context_positions, 0, tf.maximum(length - 1, 0))),
                            -1)
        if model == "skipgram":
            centres = tf.broadcast_to(ids[:, None], tf.shape(contexts))
            return tf.data.Dataset.from_tensor_slices((tf.boolean_mask(contexts, valid)[:, None],
                                                       tf.boolean_mask(centres, valid)))
        has_context = tf.reduce_any(valid, axis=1)
        return tf.data.Dataset.from_tensor_slices((tf.boolean_mask(contexts, has_context),
                                                   tf.boolean_mask(ids, has_context)))

    def chunks(ids):  # MAX_SENTENCE_LENGTH words at most per sentence
        length = tf.shape(ids)[0]
        pieces = (length + MAX_SENTENCE_LENGTH - 1) // MAX_SENTENCE_LENGTH
        return tf.data.Dataset.range(tf.cast(pieces, tf.int64)).map(
            lambda i: ids[tf.cast(i, tf.int32) * MAX_SENTENCE_LENGTH : (tf.cast(i, tf.int32) + 1) * MAX_SENTENCE_LENGTH])

    def negatives(context_ids, target_ids):
        size = tf.shape(target_ids)[0]
        slots = tf.random.uniform([size, negative], 0, table_size, tf.int32, seed=int(seeds[2]))
        drawn = tf.gather(table, slots)
        uniform = tf.random.uniform([size, negative], 1, max(vocab_size, 2), tf.int32, seed=int(seeds[3]))
        drawn = tf.where(drawn == 0, uniform, drawn)
        features = {"context_ids": context_ids, "target_ids": target_ids, "negative_ids": drawn}
        return features, {"target_ids": target_ids}

    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(lines or [""], tf.string))
    if repeat:
        dataset = dataset.repeat()
    dataset = (dataset.map(sentence_ids).map(subsample).flat_map(chunks).flat_map(pairs)
               .shuffle(shuffle_buffer, seed=seed).batch(batch_size, drop_remainder=True).map(negatives))
    return dataset.prefetch(tf.data.AUTOTUNE)


@tf.custom_gradient
def _word2vec_logit_loss(logits, labels, weights):
    """Cross-entropy of the logits, whose gradient is ``word2vec.c``'s: ``sigmoid(f) - label`` with
    ``sigmoid`` saturated to 0 / 1 outside ``[-MAX_EXP, MAX_EXP]``."""
    loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits) * weights
    saturated = tf.where(logits > MAX_EXP, 1.0, tf.where(logits < -MAX_EXP, 0.0, tf.sigmoid(logits)))

    def grad(upstream):
        return upstream * (saturated - labels) * weights, None, None

    return loss, grad


@keras.saving.register_keras_serializable(package="bertzoo")
class Word2VecModel(keras.Model):
    """word2vec's two tables and its prediction: input vectors (``syn0``, the word vectors kept) and
    output vectors (``syn1neg``), and the logits of the target and the negatives.

    Args:
        vocab_size: rows of each table (``</s>`` included).
        dim: the vectors' dimension.
        model: ``skipgram`` (one context word in) or ``cbow`` (mean of the context words in).

    Call: ``{"context_ids", "target_ids", "negative_ids"}`` -> ``{"logits": [batch, 1 + negative],
    "weights": [batch, 1 + negative]}`` (weight 0 for a negative equal to the target).
    """

    def __init__(self, vocab_size: int, dim: int, model: str = "skipgram", **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.dim, self.model_type = vocab_size, dim, model
        self.word_vectors = keras.layers.Embedding(
            vocab_size, dim, embeddings_initializer=keras.initializers.RandomUniform(-0.5 / dim, 0.5 / dim),
            name="word_vectors")
        self.output_vectors = keras.layers.Embedding(vocab_size, dim, embeddings_initializer="zeros",
                                                     name="output_vectors")

    def call(self, inputs):
        context_ids = tf.convert_to_tensor(inputs["context_ids"])
        present = tf.cast(context_ids >= 0, tf.float32)[..., None]
        vectors = self.word_vectors(tf.maximum(context_ids, 0)) * present
        summed = tf.reduce_sum(vectors, axis=1)
        if self.model_type == "cbow":
            mean = summed / tf.maximum(tf.reduce_sum(present, axis=1), 1.0)
            hidden = summed + tf.stop_gradient(mean - summed)  # forward: the mean; backward: the whole gradient
        else:
            hidden = summed
        targets = tf.concat([tf.convert_to_tensor(inputs["target_ids"])[:, None],
                             tf.convert_to_tensor(inputs["negative_ids"])], axis=1)
        logits = tf.einsum("bd,bkd->bk", hidden, self.output_vectors(targets))
        weights = tf.concat([tf.ones_like(logits[:, :1]),
                             tf.cast(tf.not_equal(targets[:, 1:], targets[:, :1]), logits.dtype)], axis=1)
        return {"logits": logits, "weights": weights}

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim, "model": self.model_type}


def word2vec_loss(labels: dict, outputs: dict) -> dict:
    """The trainer's loss term: the summed word2vec loss of each example (one count per example), so
    that SGD with learning rate ``alpha * batch`` on the mean takes ``word2vec.c``'s step per example."""
    logits = outputs["logits"]
    targets = tf.concat([tf.ones_like(logits[:, :1]), tf.zeros_like(logits[:, 1:])], axis=1)
    losses = _word2vec_logit_loss(logits, targets, outputs["weights"])
    return {"word2vec": (tf.reduce_sum(losses), tf.cast(tf.shape(logits)[0], tf.float32))}


class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``word2vec.c``'s learning rate: ``alpha * (1 - progress)``, floored at ``alpha * 1e-4``."""

    def __init__(self, alpha: float, total_steps: int):
        self.alpha, self.total_steps = float(alpha), int(total_steps)

    def __call__(self, step):
        progress = tf.cast(step, tf.float32) / float(self.total_steps + 1)
        return self.alpha * tf.maximum(1.0 - progress, 1e-4)

    def get_config(self):
        return {"alpha": self.alpha, "total_steps": self.total_steps}
