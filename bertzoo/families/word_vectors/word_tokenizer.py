"""``WordTokenizer``: raw strings -> word ids of a vector table, in-graph.

Words are split at the boundaries of Google's BasicTokenizer (whitespace; every punctuation
character and CJK ideograph a word of its own), the boundaries ``bertzoo.text.split_words`` and
``bertzoo.features`` use, so word alignment is the same as BERT's. Text is cleaned as BERT's and
lower-cased only when the vectors are (GloVe 6B: lower-cased; accents are kept either way). A word
that has no vector is ``[UNK]``.

Id layout: 0 ``[PAD]``, 1 ``[UNK]``, then the table's words in order (word i -> id i + 2). Word
vectors have no sentence markers: ``cls_id`` and ``sep_id`` are the padding id, whose zero vector
no word reads, so callers that pack ``[CLS] ... [SEP]`` around windows (``features.word_embeddings``)
still get each word's own vector.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from bertzoo.families.word_vectors.word_vectors_config import SPECIAL_TOKENS
from bertzoo.text.basic_normalizer import BasicNormalizer, as_string_batch, with_static_rows

PAD_ID = 0
UNK_ID = 1


@keras.saving.register_keras_serializable(package="bertzoo")
class WordTokenizer(keras.layers.Layer):
    """Strings ``[batch]`` -> int32 word ids ``[batch, (words)]``.

    Args:
        words: the vector table's words, in its order (ids 2..); a repeated word keeps its first id.
        lowercase: lower-case the text first (as the vectors were trained).

    Example:
        >>> tokenizer = WordTokenizer(["the", "cat", ","], lowercase=True)
        >>> tokenizer(tf.constant(["The cat, the dog"])).to_list()
        [[2, 3, 4, 2, 1]]
    """

    def __init__(self, words: Sequence[str], lowercase: bool = False, **kwargs):
        kwargs.setdefault("dtype", "int32")
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.words = list(words)
        self.lowercase = bool(lowercase)
        self._normalizer = BasicNormalizer(lowercase=self.lowercase, strip_accents=False)
        first_id: dict[str, int] = {}
        for index, word in enumerate(self.words):
            first_id.setdefault(word, index + len(SPECIAL_TOKENS))
        unique, ids = list(first_id), list(first_id.values())
        with tf.init_scope():
            self._table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(tf.constant(unique or [""], tf.string),
                                                    tf.constant(ids or [UNK_ID], tf.int32)),
                default_value=UNK_ID)

    @property
    def vocabulary_size(self) -> int:
        return len(self.words) + len(SPECIAL_TOKENS)

    @property
    def pad_id(self) -> int:
        return PAD_ID

    @property
    def unk_id(self) -> int:
        return UNK_ID

    @property
    def cls_id(self) -> int:
        """No sentence marker in word vectors: the padding id (a zero vector)."""
        return PAD_ID

    @property
    def sep_id(self) -> int:
        """No sentence marker in word vectors: the padding id (a zero vector)."""
        return PAD_ID

    def split(self, strings) -> tf.RaggedTensor:
        """Strings ``[batch]`` -> normalised words ``[batch, (words)]``."""
        strings, _ = as_string_batch(strings, "WordTokenizer")
        tables = self._normalizer.tables
        text = self._normalizer.normalize(strings)
        words = tf_text.regex_split(text, f"{tables.split_space}|{tables.punctuation}", tables.punctuation)
        return with_static_rows(words, strings.shape[0])

    def tokenize(self, strings) -> tf.RaggedTensor:
        """Strings ``[batch]`` -> word ids ``[batch, (words)]``."""
        return tf.ragged.map_flat_values(self._table.lookup, self.split(strings))

    def tokenize_words(self, strings) -> tf.RaggedTensor:
        """Strings ``[batch]`` -> ids ``[batch, (words), 1]``: one "piece" per word (the WordPiece
        tokenizer's interface, which ``bertzoo.features`` reads)."""
        ids = self.tokenize(strings)
        flat = ids.flat_values
        return ids.with_flat_values(tf.RaggedTensor.from_row_lengths(flat, tf.ones_like(flat, tf.int64)))

    def call(self, strings) -> tf.RaggedTensor:
        return self.tokenize(strings)

    def ids_to_words(self, ids) -> list[str]:
        """Ids -> words (``[PAD]``, ``[UNK]`` for the special ids)."""
        vocabulary = list(SPECIAL_TOKENS) + self.words
        return [vocabulary[int(i)] for i in ids]

    def build(self, input_shape=None):
        self.built = True  # no weights: the lookup table is made from the config

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"words": self.words, "lowercase": self.lowercase})
        return config
