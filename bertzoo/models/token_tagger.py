"""TokenTagger: the Keras task on raw sentences for token tagging (NER, POS, chunking).

Words get their tag at their first WordPiece (``bertzoo.data.tagging_data``), the other pieces
are left out of the loss; ``predict`` turns tags back into entities with character offsets, the
same figures ``bertzoo predict`` gives for an NER model.
"""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from bertzoo.data.tagging_data import decode_tags, encode_tagged_sentences, entities_with_offsets, tag_probabilities
from bertzoo.models.bert_tagger import BertTagger, tagging_loss_terms, tagging_metric_terms
from bertzoo.models.task import Task, load_bundle
from bertzoo.text.word_splitter import Word, split_words

IGNORED = -1  # the label of positions outside the loss ([CLS], [SEP], padding, a word's later pieces)


def _masked(y_true, y_pred):
    y_true = ops.cast(y_true, "int32")
    weights = ops.cast(ops.not_equal(y_true, IGNORED), "float32")
    return ops.maximum(y_true, 0), ops.cast(y_pred, "float32"), weights


@keras.saving.register_keras_serializable(package="bertzoo")
class MaskedTagLoss(keras.losses.Loss):
    """Mean cross-entropy over the positions whose label is not ``IGNORED`` (-1)."""

    def __init__(self, name: str = "masked_tag_loss", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        labels, logits, weights = _masked(y_true, y_pred)
        losses = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        return ops.sum(losses * weights) / ops.maximum(ops.sum(weights), 1.0)


@keras.saving.register_keras_serializable(package="bertzoo")
class MaskedTagAccuracy(keras.metrics.Metric):
    """Share of labelled words (first pieces) whose argmax tag is right."""

    def __init__(self, name: str = "token_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels, logits, weights = _masked(y_true, y_pred)
        correct = ops.cast(ops.equal(ops.cast(ops.argmax(logits, axis=-1), "int32"), labels), "float32")
        self.correct.assign_add(ops.sum(correct * weights))
        self.total.assign_add(ops.sum(weights))

    def result(self):
        return self.correct / ops.maximum(self.total, 1.0)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)


def _words_of(sentence, index: int) -> tuple[list[Word], str]:
    """A raw string (split with ``split_words``) or a list of words (joined by spaces) -> (words with offsets, text)."""
    if isinstance(sentence, str):
        return split_words(sentence), sentence
    if hasattr(sentence, "tolist"):
        sentence = sentence.tolist()
    if not isinstance(sentence, (list, tuple)) or not all(isinstance(word, str) for word in sentence):
        raise TypeError(f"x[{index}]: expected a string or a list of words, got {sentence!r:.60}")
    words, start = [], 0
    for word in sentence:
        words.append(Word(word, start, start + len(word)))
        start += len(word) + 1
    return words, " ".join(sentence)


@keras.saving.register_keras_serializable(package="bertzoo")
class TokenTagger(Task):
    """A token tagger that takes raw sentences and answers with tags and entities.

    ``x``: sentences, each a raw string (split into words with ``bertzoo.text.word_splitter``) or
    a list of words (CoNLL style). ``y``: one tag per word of each sentence. ``predict`` gives one
    dict per sentence: ``text``, ``words``, ``tags`` and ``entities`` (``type``, ``text``,
    ``start_char`` / ``end_char`` into the text, end exclusive, ``score``; BIO/IOB2 tags read with
    conlleval's rules). A list of words is read as the words joined by single spaces.

    Args:
        network: a ``BertTagger``.
        preprocessor: the checkpoint's preprocessor (its tokenizer and ``seq_length`` are used).
        tags: the tag set, index = id.

    Example:
        >>> tagger = TokenTagger.from_pretrained("path/or/name", tags=["O", "B-PER", "I-PER"])
        >>> tagger.fit([["Ada", "spoke"]], [["B-PER", "O"]])                 # doctest: +SKIP
        >>> tagger.predict(["Ada Lovelace spoke."])[0]["entities"][0]["text"]  # doctest: +SKIP
        'Ada Lovelace'
    """

    monitor = ("val_token_accuracy", "max")

    def __init__(self, network: BertTagger, preprocessor, tags: list[str] | None = None, **kwargs):
        super().__init__(network, preprocessor, **kwargs)
        if tags is None:
            tags = [str(i) for i in range(network.num_classes)]
        if len(tags) != network.num_classes:
            raise ValueError(f"{len(tags)} tags for {network.num_classes} classes")
        self.tags = [str(tag) for tag in tags]

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, *, tags: list[str], seq_length: int = 128,
                        dropout_rate: float = 0.1, **load_options: Any) -> TokenTagger:
        """A tagger on a pretrained encoder (``bertzoo.load_pretrained``: a directory or a name).

        Args:
            tags: the tag set (``"O"``, ``"B-PER"``, ...), index = id.
            seq_length: WordPieces per row; a longer sentence takes several rows of whole words.
        """
        if not tags:
            raise ValueError("give the tag set: tags=['O', 'B-PER', ...]")
        bert, _ = load_bundle(name_or_path, seq_length, task="TokenTagger", **load_options)
        network = BertTagger(bert.encoder, num_classes=len(tags), dropout_rate=dropout_rate)
        network.build()
        return cls(network, bert.preprocessor, tags=list(tags))

    def get_config(self):
        config = super().get_config()
        config.update(tags=self.tags)
        return config

    # -- data -----------------------------------------------------------------------------------------

    def _sentences(self, x) -> tuple[list[list[Word]], list[str]]:
        if isinstance(x, str):
            x = [x]
        if hasattr(x, "to_numpy"):
            x = x.to_numpy()
        pairs = [_words_of(sentence, index) for index, sentence in enumerate(x)]
        return [words for words, _ in pairs], [text for _, text in pairs]

    def _features(self, words: list[list[Word]], y=None):
        labels = None
        if y is not None:
            labels = [list(row.tolist() if hasattr(row, "tolist") else row)
                      for row in (y.to_numpy() if hasattr(y, "to_numpy") else y)]
            if len(labels) != len(words):
                raise ValueError(f"x has {len(words)} sentences but y has {len(labels)} tag lists")
        return encode_tagged_sentences([[word.text for word in sentence] for sentence in words],
                                       self.preprocessor.tokenizer, seq_length=self.seq_length,
                                       label_names=self.tags, sentences_labels=labels)

    def _dataset(self, x, y=None, sample_weight=None, *, batch_size: int, training: bool,
                 seed: int | None = None) -> tf.data.Dataset:
        """Sentences (and tags) -> batches of rows, ``(inputs, label ids with -1 where ignored)``."""
        if isinstance(x, tf.data.Dataset):
            return super()._dataset(x, y, batch_size=batch_size, training=training, seed=seed)
        if sample_weight is not None:
            raise ValueError("TokenTagger does not take sample_weight")
        features = self._features(self._sentences(x)[0], y)
        inputs = features.inputs()
        if y is None:
            dataset = tf.data.Dataset.from_tensor_slices(inputs)
        else:
            labels = np.where(features.label_weights > 0, features.label_ids, IGNORED).astype(np.int32)
            dataset = tf.data.Dataset.from_tensor_slices((inputs, labels))
        if training:
            dataset = dataset.shuffle(len(features), seed=seed, reshuffle_each_iteration=True)
        return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    def _preprocess(self, x):
        return x  # a tf.data given by the user already holds the int inputs

    def _host_labels(self, y):
        return list(y)

    def _split(self, x, y, validation_split: float):
        x, y = list(x.to_numpy() if hasattr(x, "to_numpy") else x), list(y)
        cut = len(x) - int(np.ceil(len(x) * validation_split))
        if not 0.0 < validation_split < 1.0 or cut <= 0 or cut >= len(x):
            raise ValueError(f"validation_split {validation_split} of {len(x)} sentences leaves one side empty")
        return x[:cut], y[:cut], (x[cut:], y[cut:])

    # -- objective ------------------------------------------------------------------------------------

    def default_loss(self):
        return MaskedTagLoss()

    def default_metrics(self):
        return [MaskedTagAccuracy()]

    def loss_terms(self, labels, outputs) -> dict:
        return tagging_loss_terms(*self._trainer_terms(labels, outputs))

    def metric_terms(self, labels, outputs) -> dict:
        return tagging_metric_terms(*self._trainer_terms(labels, outputs))

    @staticmethod
    def _trainer_terms(labels, outputs):
        labels = ops.cast(labels, "int32")
        return ({"label_ids": ops.maximum(labels, 0), "label_weights": ops.cast(ops.not_equal(labels, IGNORED), "float32")},
                {"logits": outputs})

    def to_finetuned(self):
        from bertzoo.models.finetuned import FinetunedModel

        settings = {"word_column": 0, "label_column": -1, "dropout_rate": self.network.dropout_rate}
        return FinetunedModel(task="ner", model=self.network, bert=self.pretrained_bundle(),
                              label_names=self.tags, settings=settings)

    # -- answers --------------------------------------------------------------------------------------

    def predict(self, x, batch_size: int | None = None, **kwargs) -> list[dict]:
        """One dict per sentence: ``text``, ``words``, ``tags``, ``entities``."""
        self._check_strategy()
        kwargs.setdefault("verbose", 0)
        words, texts = self._sentences(x)
        features = self._features(words)
        dataset = tf.data.Dataset.from_tensor_slices(features.inputs()).batch(batch_size or 32)
        return self._answers(words, texts, features, keras.Model.predict(self, dataset, **kwargs))

    def decode(self, x, outputs) -> list[dict]:
        words, texts = self._sentences(x)
        return self._answers(words, texts, self._features(words), outputs)

    def _answers(self, words, texts, features, logits) -> list[dict]:
        logits = np.asarray(logits)
        tags = decode_tags(features, logits, self.tags)
        probabilities = tag_probabilities(features, logits)
        results = []
        for sentence_words, text, sentence_tags, word_probabilities in zip(words, texts, tags, probabilities):
            entities = entities_with_offsets(sentence_words, sentence_tags, text, word_probabilities)
            for entity in entities:
                entity["start_char"], entity["end_char"] = entity["start"], entity["end"]
            results.append({"text": text, "words": [word.text for word in sentence_words], "tags": sentence_tags,
                            "entities": entities})
        return results
