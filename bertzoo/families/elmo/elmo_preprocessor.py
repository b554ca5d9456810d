"""Packs raw sentences into ELMo's fixed-length inputs: ``<S> words... </S>`` as character ids."""

from __future__ import annotations

import keras
import tensorflow as tf

from bertzoo.families.elmo.elmo_tokenizer import BEGIN_SENTENCE, END_SENTENCE, ElmoTokenizer
from bertzoo.text.basic_normalizer import as_string_batch


@keras.saving.register_keras_serializable(package="bertzoo")
class ElmoPreprocessor(keras.layers.Layer):
    """Strings ``[batch]`` -> ``input_char_ids`` ``[batch, seq_length, max_chars]`` and the contract's
    ``input_word_ids`` / ``input_mask`` / ``input_type_ids`` ``[batch, seq_length]`` (int32).

    Each sentence becomes ``<S> w_1 ... w_n </S>`` (bilm-tf's ``Batcher``: the boundary tokens are
    positions of their own, so word ``i`` sits at position ``i``), split into words by the
    tokenizer's ``word_split``. Sentences of more than ``seq_length - 2`` words keep their first
    ``seq_length - 2`` (the fixed length is for static shapes; the LSTM itself has no limit).
    ``input_mask`` is 1 on ``<S>``, the words and ``</S>``; ``input_type_ids`` is 0;
    ``input_word_ids`` are vocabulary ids when the tokenizer has a vocabulary (the language model's
    targets), else 0 (ELMo reads characters only).

    Args:
        tokenizer: an ``ElmoTokenizer`` (or its serialized config).
        seq_length: positions per row, ``<S>`` and ``</S>`` included (at least 3).
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> pre = ElmoPreprocessor(ElmoTokenizer(), seq_length=6)
        >>> pre(tf.constant(["a stick"]))["input_mask"].numpy().tolist()
        [[1, 1, 1, 1, 0, 0]]
    """

    def __init__(self, tokenizer: ElmoTokenizer, seq_length: int = 128, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True
        if isinstance(tokenizer, dict):
            tokenizer = keras.saving.deserialize_keras_object(tokenizer)
        if not isinstance(tokenizer, ElmoTokenizer):
            raise TypeError(f"tokenizer must be a bertzoo ElmoTokenizer, got {type(tokenizer).__name__}")
        if isinstance(seq_length, bool) or not isinstance(seq_length, int) or seq_length < 3:
            raise ValueError(f"seq_length must be an int >= 3 (<S>, a word, </S>), got {seq_length!r}")
        self.tokenizer = tokenizer
        self.seq_length = seq_length

    def words(self, strings) -> tf.RaggedTensor:
        """The packed words ``[batch, (<S> words </S>)]`` of each string, truncated to ``seq_length``."""
        strings, _ = as_string_batch(strings, type(self).__name__)
        words = self.tokenizer.split(strings)[:, : self.seq_length - 2]
        batch = tf.shape(strings)[0]
        begin = tf.RaggedTensor.from_tensor(tf.fill([batch, 1], BEGIN_SENTENCE))
        end = tf.RaggedTensor.from_tensor(tf.fill([batch, 1], END_SENTENCE))
        return tf.concat([begin, words, end], axis=1)

    def call(self, strings) -> dict[str, tf.Tensor]:
        strings, scalar = as_string_batch(strings, type(self).__name__)
        words = self.words(strings)
        batch = strings.shape[0]
        char_ids = self.tokenizer.char_ids(words)
        width = self.tokenizer.max_characters_per_token
        char_ids = tf.pad(char_ids, [[0, 0], [0, self.seq_length - tf.shape(char_ids)[1]], [0, 0]])
        mask = tf.sequence_mask(words.row_lengths(), self.seq_length, tf.int32)
        if self.tokenizer.vocabulary is not None:
            word_ids = self.tokenizer.word_ids(words).to_tensor(0, shape=[None, self.seq_length])
        else:
            word_ids = tf.zeros_like(mask)
        outputs = {"input_word_ids": tf.cast(word_ids, tf.int32), "input_mask": mask,
                   "input_type_ids": tf.zeros_like(mask)}
        outputs = {k: tf.ensure_shape(v, [batch, self.seq_length]) for k, v in outputs.items()}
        outputs["input_char_ids"] = tf.ensure_shape(char_ids, [batch, self.seq_length, width])
        if scalar:
            outputs = {k: v[0] for k, v in outputs.items()}
        return outputs

    def compute_output_spec(self, strings) -> dict[str, keras.KerasTensor]:
        shape = tuple(strings.shape) + (self.seq_length,)
        specs = {k: keras.KerasTensor(shape, dtype="int32") for k in ("input_word_ids", "input_mask", "input_type_ids")}
        specs["input_char_ids"] = keras.KerasTensor(shape + (self.tokenizer.max_characters_per_token,), dtype="int32")
        return specs

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
                       "seq_length": self.seq_length})
        return config

    @classmethod
    def from_config(cls, config: dict) -> "ElmoPreprocessor":
        config = dict(config)
        config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        return cls(**config)
