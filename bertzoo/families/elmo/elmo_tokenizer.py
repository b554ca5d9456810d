"""ELMo's character ids: words -> ``[max_characters_per_token]`` byte ids, in-graph.

The conventions of allenai/bilm-tf (``bilm/data.py``, ``UnicodeCharsVocabulary`` and ``Batcher``),
which every released ELMo model was trained with:

- a word's characters are the bytes of its UTF-8 encoding (ids 0-255), truncated to
  ``max_characters_per_token - 2`` bytes (a longer word is cut, as the original does: its first 48
  bytes with the default 50; a multi-byte character may be cut in the middle);
- each word is ``<begin word> bytes... <end word>`` padded with ``<padding>``; the specials are
  256 ``<begin sentence>``, 257 ``<end sentence>``, 258 ``<begin word>``, 259 ``<end word>``,
  260 ``<padding>``;
- the sentence-boundary tokens are words of their own: ``<S>`` is ``<begin word> <begin sentence>
  <end word>`` and ``</S>`` is ``<begin word> <end sentence> <end word>`` (also when they appear as
  text: the word ``<S>`` is the boundary token, as in bilm-tf's vocabulary);
- at inference every id is shifted by +1, so that 0 means "no token" (a padded position); the
  character embedding has an extra all-zero row 0 for it (262 rows).

Words come from the text by ``word_split``:

- ``"whitespace"`` (default, the original rule): the text is already tokenized, words are
  separated by whitespace exactly as Python's ``str.split()`` (bilm-tf's ``sentence.split()``; the released models were trained
  on the tokenized 1B Word Benchmark, ``"Hello , world ."``);
- ``"punctuation"``: raw text split at Google's BasicTokenizer boundaries without lowercasing
  (whitespace, and each punctuation character a word of its own: ``"world."`` -> ``world .``).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from bertzoo.errors import ConfigError
from bertzoo.text.basic_normalizer import BasicNormalizer, as_string_batch

BEGIN_SENTENCE_CHAR = 256
END_SENTENCE_CHAR = 257
BEGIN_WORD_CHAR = 258
END_WORD_CHAR = 259
PADDING_CHAR = 260
BEGIN_SENTENCE = "<S>"
END_SENTENCE = "</S>"
UNKNOWN = "<UNK>"
WORD_SPLITS = ("whitespace", "punctuation")
# Python's str.split() separators (str.isspace), so "whitespace" splits exactly as bilm-tf's sentence.split()
_PYTHON_WHITESPACE = "[" + "".join(f"\\x{{{cp:04x}}}" for cp in range(0x3001) if chr(cp).isspace()) + "]+"


def word_char_ids(word: str, max_characters_per_token: int = 50) -> np.ndarray:
    """The shifted (+1) character ids of one word, int32 ``[max_characters_per_token]`` (host side)."""
    if word in (BEGIN_SENTENCE, END_SENTENCE):
        code = np.full(max_characters_per_token, PADDING_CHAR, np.int32)
        code[:3] = (BEGIN_WORD_CHAR, BEGIN_SENTENCE_CHAR if word == BEGIN_SENTENCE else END_SENTENCE_CHAR,
                    END_WORD_CHAR)
        return code + 1
    encoded = word.encode("utf-8", "ignore")[: max_characters_per_token - 2]
    code = np.full(max_characters_per_token, PADDING_CHAR, np.int32)
    code[0] = BEGIN_WORD_CHAR
    code[1 : len(encoded) + 1] = list(encoded)
    code[len(encoded) + 1] = END_WORD_CHAR
    return code + 1


@keras.saving.register_keras_serializable(package="bertzoo")
class ElmoTokenizer(keras.layers.Layer):
    """Strings -> words -> ELMo character ids (and word ids when there is a vocabulary), in-graph.

    Args:
        max_characters_per_token: characters per word with the begin/end-of-word marks (50).
        word_split: ``"whitespace"`` (pre-tokenized text, the original) or ``"punctuation"``; see the
            module docstring.
        vocabulary: optional word list (bilm-tf's ``vocab.txt``: one word per line, ``<S>``, ``</S>``
            and ``<UNK>`` among them). It gives ``word_ids`` (the language model's targets); ELMo
            itself reads only characters, so released models have none.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> tokenizer = ElmoTokenizer()
        >>> tokenizer.char_ids(tokenizer.split(tf.constant(["a b"])))[0, 0, :4].numpy().tolist()
        [259, 98, 260, 261]
    """

    def __init__(self, max_characters_per_token: int = 50, word_split: str = "whitespace",
                 vocabulary: Sequence[str] | None = None, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True
        if isinstance(max_characters_per_token, bool) or not isinstance(max_characters_per_token, int) or (
                max_characters_per_token < 3):
            raise ConfigError(f"max_characters_per_token must be an int >= 3, got {max_characters_per_token!r}")
        if word_split not in WORD_SPLITS:
            raise ConfigError(f"word_split must be one of {WORD_SPLITS}, got {word_split!r}")
        self.max_characters_per_token = max_characters_per_token
        self.word_split = word_split
        self.vocabulary = None if vocabulary is None else [str(word) for word in vocabulary]
        if self.vocabulary is not None:
            missing = [w for w in (BEGIN_SENTENCE, END_SENTENCE, UNKNOWN) if w not in self.vocabulary]
            if missing:
                raise ConfigError(f"an ELMo vocabulary needs the words {missing} (bilm-tf's <S>, </S>, <UNK>)")
            self._word_index = {word: i for i, word in enumerate(self.vocabulary)}
        with tf.init_scope():
            byte_keys = tf.constant([bytes([b]) for b in range(256)])
            self._byte_table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(byte_keys, tf.range(256, dtype=tf.int32)), default_value=0)
            self._word_table = None
            if self.vocabulary is not None:
                self._word_table = tf.lookup.StaticHashTable(
                    tf.lookup.KeyValueTensorInitializer(tf.constant(self.vocabulary),
                                                        tf.range(len(self.vocabulary), dtype=tf.int32)),
                    default_value=self._word_index[UNKNOWN])
        self._normalizer = BasicNormalizer(lowercase=False, strip_accents=False) if word_split == "punctuation" \
            else None

    # --------------------------------------------------------------------------------- vocabulary
    @property
    def vocabulary_size(self) -> int:
        if self.vocabulary is None:
            raise ValueError("this ElmoTokenizer has no vocabulary (a released ELMo reads characters only)")
        return len(self.vocabulary)

    def word_id(self, word: str) -> int:
        """The vocabulary id of ``word`` (``<UNK>``'s id when absent)."""
        self.vocabulary_size  # noqa: B018 - raises without a vocabulary
        return self._word_index.get(word, self._word_index[UNKNOWN])

    # ------------------------------------------------------------------------------------ in-graph
    def split(self, strings) -> tf.RaggedTensor:
        """Strings ``[batch]`` -> words ``[batch, (words)]`` by ``word_split``."""
        strings, _ = as_string_batch(strings, type(self).__name__)
        if self._normalizer is None:
            return tf_text.regex_split(strings, _PYTHON_WHITESPACE)
        text = self._normalizer.normalize(strings)
        tables = self._normalizer.tables
        return tf_text.regex_split(text, f"{tables.split_space}|{tables.punctuation}", tables.punctuation)

    def char_ids(self, words) -> tf.Tensor:
        """Words ``[batch, (words)]`` (ragged) -> shifted char ids int32 ``[batch, max_words, max_chars]``.

        Positions past a row's words are 0 (no token).
        """
        width = self.max_characters_per_token
        words = words if isinstance(words, tf.RaggedTensor) else tf.RaggedTensor.from_tensor(words)
        byte_strings = tf.strings.bytes_split(words)  # [batch, (words), (bytes)]
        byte_ids = tf.ragged.map_flat_values(self._byte_table.lookup, byte_strings)
        num_words = tf.shape(words.to_tensor(""), out_type=tf.int64)[1]
        batch = words.nrows(out_type=tf.int64)
        # the first width - 2 bytes, padded; the end-of-word mark goes after the (truncated) bytes
        middle = byte_ids.to_tensor(default_value=PADDING_CHAR, shape=tf.stack([batch, num_words, width - 2]))
        lengths = tf.minimum(tf.cast(byte_strings.row_lengths(axis=2).to_tensor(0), tf.int32), width - 2)
        column_shape = tf.stack([batch, num_words, 1])
        codes = tf.concat([tf.fill(column_shape, BEGIN_WORD_CHAR), middle, tf.fill(column_shape, PADDING_CHAR)],
                          axis=-1)
        positions = tf.range(width, dtype=tf.int32)
        codes = tf.where(positions == lengths[..., tf.newaxis] + 1, END_WORD_CHAR, codes)
        dense_words = words.to_tensor("")
        for token, char in ((BEGIN_SENTENCE, BEGIN_SENTENCE_CHAR), (END_SENTENCE, END_SENTENCE_CHAR)):
            special = tf.constant(word_char_ids(token, width) - 1, tf.int32)
            codes = tf.where((dense_words == token)[..., tf.newaxis], special, codes)
        is_word = tf.sequence_mask(words.row_lengths(), num_words)[..., tf.newaxis]
        return tf.where(is_word, codes + 1, 0)

    def word_ids(self, words) -> tf.Tensor:
        """Words (ragged) -> vocabulary ids, ragged int32 (``<UNK>`` for unknown words)."""
        if self._word_table is None:
            raise ValueError("this ElmoTokenizer has no vocabulary, so it cannot give word ids")
        return tf.ragged.map_flat_values(self._word_table.lookup, words)

    def call(self, strings) -> tf.RaggedTensor:
        return self.split(strings)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"max_characters_per_token": self.max_characters_per_token, "word_split": self.word_split,
                       "vocabulary": self.vocabulary})
        return config
