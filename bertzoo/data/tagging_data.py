"""Token tagging (NER) data: word-level labels <-> WordPiece rows, and predictions back to words.

The alignment is the one of the BERT paper's CoNLL-2003 experiment: every word is WordPiece-tokenized
on its own, its label goes to its first piece, and the other pieces (``##`` continuations, and the
further basic-tokenizer words of a word like ``U.S.`` -> ``u . s .``) are left out of the loss
(``label_weights`` 0). A prediction is read off each word's first piece.

Where Google's and most NER scripts truncate a long sentence (its last words are then never
predicted), ``encode_tagged_sentences`` cuts it into consecutive rows of whole words, so every word
with a piece gets a prediction; ``sentence_index`` and ``word_index`` map rows back. A word that
tokenizes to nothing (only control characters) has no position: it is left out of the loss and
decoded as ``"O"``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from bertzoo.metrics.entity_metrics import extract_entities

if TYPE_CHECKING:
    from bertzoo.text.word_splitter import Word
    from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer

__all__ = [
    "TaggingFeatures",
    "decode_tags",
    "encode_tagged_sentences",
    "entities_with_offsets",
    "tag_probabilities",
    "tagging_dataset",
]

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")
_TOKENIZE_CHUNK = 4096  # distinct words per tokenizer call
_OUTSIDE = "O"


@dataclasses.dataclass
class TaggingFeatures:
    """Packed rows ``[CLS] pieces [SEP] [PAD]...`` of tagged sentences, and the map back to words.

    Attributes:
        input_word_ids: int32 ``[n, seq_length]`` WordPiece ids, padded with the ``[PAD]`` id.
        input_mask: int32 ``[n, seq_length]``, 1 for ``[CLS]``, pieces and ``[SEP]``, 0 for padding.
        input_type_ids: int32 ``[n, seq_length]``, all 0 (one segment).
        label_ids: int32 ``[n, seq_length]``, the word's label id at its first piece, else 0.
        label_weights: float32 ``[n, seq_length]``, 1.0 at the first piece of each labelled word,
            0 at ``[CLS]``, ``[SEP]``, padding and the word's other pieces.
        sentence_index: int32 ``[n]``, the input sentence each row belongs to (a long sentence
            takes several consecutive rows).
        word_index: int32 ``[n, seq_length]``, at the first piece of a word its index in its
            sentence, -1 elsewhere.
        num_sentences: how many sentences were encoded (each has at least one row).
        num_words: the number of words of each sentence.
        has_labels: whether labels were given (False for prediction: labels and weights are 0).
    """

    input_word_ids: np.ndarray
    input_mask: np.ndarray
    input_type_ids: np.ndarray
    label_ids: np.ndarray
    label_weights: np.ndarray
    sentence_index: np.ndarray
    word_index: np.ndarray
    num_sentences: int
    num_words: list[int]
    has_labels: bool = False

    def __len__(self) -> int:
        return int(self.input_word_ids.shape[0])

    @property
    def seq_length(self) -> int:
        return int(self.input_word_ids.shape[1])

    def inputs(self) -> dict[str, np.ndarray]:
        """The model inputs: ``input_word_ids``, ``input_mask``, ``input_type_ids``."""
        return {name: getattr(self, name) for name in INPUT_NAMES}


def _check_sentences(sentences_words, sentences_labels) -> None:
    """Clear errors for a sentence given as a string and for words/labels of unequal lengths."""
    if isinstance(sentences_words, str):
        raise ValueError("sentences_words must be a sequence of sentences (each a list of words), got a str.")
    for index, words in enumerate(sentences_words):
        if isinstance(words, str):
            raise ValueError(f"sentence {index} is a str ({words[:40]!r}); each sentence must be a list of words.")
        for word in words:
            if not isinstance(word, str):
                raise ValueError(f"sentence {index}: words must be str, found {word!r}.")
    if sentences_labels is None:
        return
    if len(sentences_labels) != len(sentences_words):
        raise ValueError(
            f"sentences_labels has {len(sentences_labels)} sentences but sentences_words has "
            f"{len(sentences_words)}.")
    for index, (words, labels) in enumerate(zip(sentences_words, sentences_labels)):
        if isinstance(labels, str) or len(labels) != len(words):
            raise ValueError(
                f"sentence {index} has {len(words)} words but {1 if isinstance(labels, str) else len(labels)} "
                f"labels; words: {list(words)[:10]}.")


def _word_pieces(tokenizer: WordPieceTokenizer, words: Sequence[str]) -> dict[str, list[int]]:
    """WordPiece ids of every distinct word, each tokenized alone, in batched tokenizer calls.

    All the pieces of all the basic-tokenizer words of one word belong to that word.
    """
    unique = list(dict.fromkeys(words))
    pieces: dict[str, list[int]] = {}
    for begin in range(0, len(unique), _TOKENIZE_CHUNK):
        chunk = unique[begin : begin + _TOKENIZE_CHUNK]
        tokenized = tokenizer.tokenize_words(tf.constant(chunk, tf.string)).to_list()
        for word, basic_words in zip(chunk, tokenized):
            pieces[word] = [piece for basic_word in basic_words for piece in basic_word]
    return pieces


def _chunks(word_pieces: list[list[int]], max_pieces: int) -> list[list[int]]:
    """Cuts a sentence into consecutive runs of whole words of at most ``max_pieces`` pieces.

    A word with more pieces than fit is truncated (it then fills a row of its own). Pieceless
    words ride along with the run they fall in. Always at least one (possibly empty) run.
    """
    runs: list[list[int]] = [[]]
    used = 0
    for index, pieces in enumerate(word_pieces):
        size = min(len(pieces), max_pieces)
        if size and used + size > max_pieces:
            runs.append([])
            used = 0
        runs[-1].append(index)
        used += size
    return runs


def encode_tagged_sentences(
    sentences_words: Sequence[Sequence[str]],
    tokenizer: WordPieceTokenizer,
    *,
    seq_length: int,
    label_names: Sequence[str] | None = None,
    sentences_labels: Sequence[Sequence[str]] | None = None,
) -> TaggingFeatures:
    """Packs word-tokenized sentences (with word-level labels) into fixed-length BERT rows.

    Each row is ``[CLS] pieces [SEP]`` padded with the ``[PAD]`` id; the label of a word sits at
    its first WordPiece with weight 1, every other position has weight 0. A sentence longer than
    ``seq_length - 2`` pieces is cut into several rows of whole words.

    Args:
        sentences_words: the words of each sentence (e.g. ``ConllSentence.words``).
        tokenizer: a ``WordPieceTokenizer`` with the checkpoint's vocabulary and casing.
        seq_length: the fixed row length (at least 3).
        label_names: the tag set, index = label id; required with ``sentences_labels``.
        sentences_labels: one tag per word, or None for prediction (labels and weights all 0).

    Returns:
        A ``TaggingFeatures``.

    Raises:
        ValueError: for a sentence whose words and labels differ in number, a label outside
            ``label_names`` (naming the sentence, word and label), or ``seq_length < 3``.

    Example:
        >>> features = encode_tagged_sentences(
        ...     [["John", "lives", "in", "U.S."]], tokenizer, seq_length=16,
        ...     label_names=["O", "B-PER", "B-LOC"],
        ...     sentences_labels=[["B-PER", "O", "O", "B-LOC"]])  # doctest: +SKIP
    """
    if seq_length < 3:
        raise ValueError(f"seq_length must be at least 3 ([CLS], one piece, [SEP]), got {seq_length}.")
    _check_sentences(sentences_words, sentences_labels)
    label_ids: dict[str, int] = {}
    if sentences_labels is not None:
        if label_names is None:
            raise ValueError("sentences_labels were given without label_names; pass the tag set, "
                             "e.g. label_names=['O', 'B-PER', 'I-PER', ...].")
        label_ids = {name: index for index, name in enumerate(label_names)}
        for index, (words, labels) in enumerate(zip(sentences_words, sentences_labels)):
            for word, label in zip(words, labels):
                if label not in label_ids:
                    raise ValueError(
                        f"sentence {index}, word {word!r}: label {label!r} is not in the label set "
                        f"{list(label_names)}.")

    pieces_of = _word_pieces(tokenizer, [word for words in sentences_words for word in words])
    max_pieces = seq_length - 2
    rows: list[tuple[int, list[int], list[int], list[int], list[float]]] = []
    for sentence, words in enumerate(sentences_words):
        labels = sentences_labels[sentence] if sentences_labels is not None else None
        word_pieces = [pieces_of[word] for word in words]
        for run in _chunks(word_pieces, max_pieces):
            ids, word_index, row_labels, weights = [tokenizer.cls_id], [-1], [0], [0.0]
            for index in run:
                pieces = word_pieces[index][:max_pieces]
                if not pieces:
                    continue
                ids.extend(pieces)
                word_index.extend([index] + [-1] * (len(pieces) - 1))
                row_labels.extend([label_ids[labels[index]] if labels is not None else 0] + [0] * (len(pieces) - 1))
                weights.extend([1.0 if labels is not None else 0.0] + [0.0] * (len(pieces) - 1))
            ids.append(tokenizer.sep_id)
            word_index.append(-1)
            row_labels.append(0)
            weights.append(0.0)
            rows.append((sentence, ids, word_index, row_labels, weights))

    n = len(rows)
    input_word_ids = np.full((n, seq_length), tokenizer.pad_id, np.int32)
    input_mask = np.zeros((n, seq_length), np.int32)
    label_id_array = np.zeros((n, seq_length), np.int32)
    label_weights = np.zeros((n, seq_length), np.float32)
    word_index_array = np.full((n, seq_length), -1, np.int32)
    for row, (_, ids, word_index, row_labels, weights) in enumerate(rows):
        length = len(ids)
        input_word_ids[row, :length] = ids
        input_mask[row, :length] = 1
        label_id_array[row, :length] = row_labels
        label_weights[row, :length] = weights
        word_index_array[row, :length] = word_index
    return TaggingFeatures(
        input_word_ids=input_word_ids,
        input_mask=input_mask,
        input_type_ids=np.zeros((n, seq_length), np.int32),
        label_ids=label_id_array,
        label_weights=label_weights,
        sentence_index=np.asarray([row[0] for row in rows], np.int32),
        word_index=word_index_array,
        num_sentences=len(sentences_words),
        num_words=[len(words) for words in sentences_words],
        has_labels=sentences_labels is not None,
    )


def tagging_dataset(
    features: TaggingFeatures,
    batch_size: int,
    *,
    training: bool,
    shuffle_seed: int | None = None,
) -> tf.data.Dataset:
    """Features -> a batched ``tf.data.Dataset``.

    Training yields ``(inputs, labels)``, shuffled, repeated, with ``drop_remainder=True`` (a
    static batch size); evaluation yields ``inputs`` alone in row order, once, so the i-th output
    row belongs to row i of ``features`` (the last batch may be smaller).

    Args:
        features: from ``encode_tagged_sentences`` (with labels, for training).
        batch_size: rows per batch.
        training: shuffle, repeat, drop the remainder and add the labels.
        shuffle_seed: seed of the training shuffle.

    Returns:
        ``inputs``: ``input_word_ids``, ``input_mask``, ``input_type_ids``, int32
        ``[batch, seq_length]``; ``labels``: ``label_ids`` int32 and ``label_weights`` float32,
        ``[batch, seq_length]``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if len(features) == 0:
        raise ValueError("features has no rows.")
    inputs = features.inputs()
    if not training:
        return tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size)
    if not features.has_labels:
        raise ValueError("training needs labelled features; encode them with label_names and sentences_labels.")
    labels = {"label_ids": features.label_ids, "label_weights": features.label_weights}
    dataset = tf.data.Dataset.from_tensor_slices((inputs, labels))
    dataset = dataset.shuffle(len(features), seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.repeat().batch(batch_size, drop_remainder=True)


def decode_tags(
    features: TaggingFeatures,
    logits: np.ndarray | Mapping[str, np.ndarray],
    label_names: Sequence[str],
) -> list[list[str]]:
    """Per-row logits -> one predicted tag per word of each sentence.

    A word's tag is the argmax at its first piece; a word without pieces gets ``"O"`` (or
    ``label_names[0]`` when there is no ``"O"``).

    Args:
        features: what the logits were computed from.
        logits: ``[n, seq_length, num_labels]`` (rows in the order of ``features``), or the
            model's output dict holding ``"logits"``.
        label_names: the tag set, index = label id.

    Returns:
        For each sentence, its tags, as many as it has words.

    Example:
        >>> outputs = tagger.predict(tagging_dataset(features, 32, training=False))  # doctest: +SKIP
        >>> decode_tags(features, outputs, label_names)  # doctest: +SKIP
        [['B-PER', 'O', 'O', 'B-LOC']]
    """
    if isinstance(logits, Mapping):
        logits = logits["logits"]
    logits = np.asarray(logits)
    expected = (len(features), features.seq_length, len(label_names))
    if logits.shape != expected:
        raise ValueError(
            f"logits have shape {logits.shape}, expected {expected}: "
            f"(rows of the features, seq_length, number of label_names).")
    default = _OUTSIDE if _OUTSIDE in label_names else label_names[0]
    tags = [[default] * count for count in features.num_words]
    rows, positions = np.nonzero(features.word_index >= 0)
    predicted = np.argmax(logits[rows, positions], axis=-1)
    for row, position, label_id in zip(rows, positions, predicted):
        tags[features.sentence_index[row]][features.word_index[row, position]] = label_names[label_id]
    return tags


def tag_probabilities(features: TaggingFeatures, logits: np.ndarray | Mapping[str, np.ndarray]) -> list[list[float]]:
    """The softmax probability of each word's predicted tag (the one ``decode_tags`` reads).

    Read at the word's first piece, like the tag; a word without pieces was not predicted and
    gets 0.0. These make the ``score`` of ``entities_with_offsets``.

    Args:
        features: what the logits were computed from.
        logits: ``[n, seq_length, num_labels]``, or the model's output dict holding ``"logits"``.

    Returns:
        For each sentence, one probability per word.
    """
    if isinstance(logits, Mapping):
        logits = logits["logits"]
    logits = np.asarray(logits, np.float32)
    probabilities = [[0.0] * count for count in features.num_words]
    rows, positions = np.nonzero(features.word_index >= 0)
    first = logits[rows, positions]
    exp = np.exp(first - first.max(axis=-1, keepdims=True))
    best = exp.max(axis=-1) / exp.sum(axis=-1)
    for row, position, probability in zip(rows, positions, best):
        probabilities[features.sentence_index[row]][features.word_index[row, position]] = float(probability)
    return probabilities


def entities_with_offsets(words: Sequence[Word], tags: Sequence[str], text: str,
                          probabilities: Sequence[float] | None = None) -> list[dict]:
    """The entities of a BIO/IOB2 tag sequence as character spans of the raw text.

    Entities are read with conlleval's rules (``extract_entities``); each spans from its first
    word's start to its last word's end, so it keeps the text between its words as written.

    Args:
        words: the words of ``text`` with their offsets (``split_words(text)``).
        tags: one tag per word (``decode_tags``).
        text: the raw text.
        probabilities: one per word (``tag_probabilities``); when given, each entity gets a
            ``score``, the mean probability of its words' tags.

    Returns:
        One dict per entity: ``type``, ``text`` (``== text[start:end]``), ``start``, ``end``
        (character offsets, end exclusive), ``word_start``, ``word_end`` (word indices, end
        exclusive), and ``score`` with ``probabilities``.

    Example:
        >>> text = "Ada Lovelace met Babbage."
        >>> entities_with_offsets(split_words(text), ["B-PER", "I-PER", "O", "B-PER", "O"], text)[0]
        {'type': 'PER', 'text': 'Ada Lovelace', 'start': 0, 'end': 12, 'word_start': 0, 'word_end': 2}
    """
    if len(words) != len(tags):
        raise ValueError(f"{len(words)} words but {len(tags)} tags; give one tag per word.")
    if probabilities is not None and len(probabilities) != len(words):
        raise ValueError(f"{len(words)} words but {len(probabilities)} probabilities; give one per word.")
    entities = []
    for entity in extract_entities(list(tags)):
        first, last = words[entity.start], words[entity.end - 1]
        for word in (first, last):
            if text[word.start : word.end] != word.text:
                raise ValueError(
                    f"word {word.text!r} at [{word.start}, {word.end}) is not in the text (found "
                    f"{text[word.start:word.end]!r}); the words must come from split_words(text).")
        found = {
            "type": entity.type,
            "text": text[first.start : last.end],
            "start": first.start,
            "end": last.end,
            "word_start": entity.start,
            "word_end": entity.end,
        }
        if probabilities is not None:
            found["score"] = float(np.mean(np.asarray(probabilities[entity.start : entity.end], np.float64)))
        entities.append(found)
    return entities
