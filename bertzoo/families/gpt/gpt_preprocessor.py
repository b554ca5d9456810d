"""GPTPreprocessor: strings (or pairs of strings) -> the decoder's input dict, GPT style.

GPT-2 has no special tokens around its inputs: a text's ids, cut to ``seq_length`` and padded on
the right. GPT-1's fine-tuning frames inputs with its start, delimiter and classify tokens
(``[start] a [delimiter] b [classify]``, each part cut to half the room as in finetune-transformer-lm's
``transform_roc``); pass their ids to frame GPT-2 the same way. GPT-2's tokenizer runs in-graph;
GPT-1's runs on the host (its spaCy-style pre-tokenization), reached through ``tf.py_function``,
so a GPT-1 preprocessor works in ``tf.data`` but not inside an exported SavedModel.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def tokenize_batch(tokenizer, strings) -> tf.RaggedTensor:
    """A batch of strings -> int32 ragged ids, in-graph for a Keras tokenizer, else on the host."""
    strings = tf.convert_to_tensor(strings, tf.string)
    if isinstance(tokenizer, keras.layers.Layer):
        return tf.cast(tokenizer(strings), tf.int32)

    def encode(batch):
        rows = [tokenizer.encode(text.decode("utf-8")) for text in batch.numpy()]
        return (np.asarray([i for row in rows for i in row], np.int32),
                np.asarray([len(row) for row in rows], np.int64))

    values, lengths = tf.py_function(encode, [strings], (tf.int32, tf.int64))
    values.set_shape([None])
    lengths.set_shape([None])
    return tf.RaggedTensor.from_row_lengths(values, lengths)


@keras.saving.register_keras_serializable(package="bertzoo")
class GPTPreprocessor(keras.layers.Layer):
    """Packs token ids into ``input_word_ids`` / ``input_mask`` / ``input_type_ids`` of ``seq_length``.

    Args:
        tokenizer: ``GPT2Tokenizer`` (in-graph) or ``GPT1Tokenizer`` (host).
        seq_length: the fixed output length.
        start_id, delimiter_id, classify_id: framing tokens (GPT-1's); None leaves them out (a
            pair then has no delimiter between its parts, so pairs need ``delimiter_id``).
        pad_id: the id written into padding (masked out; GPT-2's end-of-text by default).

    Example:
        >>> preprocessor = GPTPreprocessor(tokenizer, seq_length=16)
        >>> preprocessor(["Hello world"])["input_mask"]
    """

    def __init__(self, tokenizer, seq_length: int = 128, start_id: int | None = None,
                 delimiter_id: int | None = None, classify_id: int | None = None, pad_id: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.tokenizer = tokenizer
        self.seq_length = seq_length
        self.start_id, self.delimiter_id, self.classify_id = start_id, delimiter_id, classify_id
        if pad_id is None:
            pad_id = getattr(tokenizer, "end_of_text_id", 0) if _has_end_of_text(tokenizer) else 0
        self.pad_id = pad_id
        self.built = True

    def _framing(self, pair: bool) -> int:
        return sum(i is not None for i in (self.start_id, self.classify_id)) + (1 if pair else 0)

    def call(self, inputs):
        pair = isinstance(inputs, (tuple, list)) and len(inputs) == 2 and not isinstance(inputs[0], str)
        if pair and self.delimiter_id is None:
            raise ValueError("GPTPreprocessor: a pair of inputs needs delimiter_id (GPT-1's delimiter token)")
        parts = [tokenize_batch(self.tokenizer, x) for x in (inputs if pair else [inputs])]
        room = self.seq_length - self._framing(pair)
        if room < len(parts):
            raise ValueError(f"GPTPreprocessor: seq_length {self.seq_length} leaves no room for text")
        share = room // len(parts)
        pieces = []
        batch = parts[0].nrows()

        def token(value):
            return tf.RaggedTensor.from_tensor(tf.fill([batch, 1], tf.constant(value, tf.int32)))

        if self.start_id is not None:
            pieces.append(token(self.start_id))
        for index, part in enumerate(parts):
            if index:
                pieces.append(token(self.delimiter_id))
            pieces.append(part[:, :share])
        if self.classify_id is not None:
            pieces.append(token(self.classify_id))
        ids = tf.concat(pieces, axis=1)
        word_ids = ids.to_tensor(default_value=self.pad_id, shape=[None, self.seq_length])
        mask = tf.ones_like(ids).to_tensor(default_value=0, shape=[None, self.seq_length])
        return {"input_word_ids": word_ids, "input_mask": mask, "input_type_ids": tf.zeros_like(word_ids)}

    def get_config(self):
        config = super().get_config()
        config.update(tokenizer=keras.saving.serialize_keras_object(self.tokenizer), seq_length=self.seq_length,
                      start_id=self.start_id, delimiter_id=self.delimiter_id, classify_id=self.classify_id,
                      pad_id=self.pad_id)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        return cls(**config)


def _has_end_of_text(tokenizer) -> bool:
    try:
        tokenizer.end_of_text_id
    except Exception:  # a vocabulary without the token
        return False
    return True
