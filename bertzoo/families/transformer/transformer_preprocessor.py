"""TransformerPreprocessor: raw strings -> the Transformer encoder's inputs (and seq2seq targets)."""

from __future__ import annotations

import base64

import keras
import tensorflow as tf

from bertzoo.families.transformer.sentencepiece_tokenizer import SentencePieceTokenizer


def pack_source(pieces: tf.RaggedTensor, seq_length: int, eos_id: int, pad_id: int = 0):
    """``pieces </s>`` truncated to ``seq_length`` and padded: (ids, mask), int32 ``[batch, seq_length]``."""
    pieces = pieces[:, : seq_length - 1]
    eos = tf.fill([pieces.nrows(), 1], tf.constant(eos_id, pieces.dtype))
    ids = tf.concat([pieces, eos], axis=1).to_tensor(default_value=pad_id, shape=[None, seq_length])
    mask = tf.cast(tf.sequence_mask(pieces.row_lengths() + 1, seq_length), tf.int32)
    return ids, mask


def pack_target(pieces: tf.RaggedTensor, seq_length: int, bos_id: int, eos_id: int, pad_id: int = 0):
    """Teacher forcing: decoder inputs ``<s> pieces`` and labels ``pieces </s>`` (truncated to
    ``seq_length``), and label weights (1 on real label tokens), each int32/float32 ``[batch, seq_length]``."""
    pieces = pieces[:, : seq_length - 1]
    rows = pieces.nrows()
    bos = tf.fill([rows, 1], tf.constant(bos_id, pieces.dtype))
    eos = tf.fill([rows, 1], tf.constant(eos_id, pieces.dtype))
    decoder_inputs = tf.concat([bos, pieces], axis=1).to_tensor(default_value=pad_id, shape=[None, seq_length])
    labels = tf.concat([pieces, eos], axis=1).to_tensor(default_value=pad_id, shape=[None, seq_length])
    weights = tf.cast(tf.sequence_mask(pieces.row_lengths() + 1, seq_length), tf.float32)
    return decoder_inputs, labels, weights


@keras.saving.register_keras_serializable(package="bertzoo")
class TransformerPreprocessor(keras.layers.Layer):
    """A batch of strings -> ``input_word_ids`` (``pieces </s>``, padded), ``input_mask``,
    ``input_type_ids`` (zeros): the encoder contract's inputs, ``seq_length`` wide.

    Args:
        tokenizer: a ``SentencePieceTokenizer``.
        seq_length: tokens per example, ``</s>`` included; longer texts are truncated.

    Example:
        >>> preprocessor = TransformerPreprocessor(tokenizer, seq_length=16)
        >>> preprocessor(["ein kleiner Test"])["input_word_ids"].shape
        TensorShape([1, 16])
    """

    def __init__(self, tokenizer: SentencePieceTokenizer, seq_length: int = 128, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False  # strings (a Python list too) go to call() as they are
        self._allow_non_tensor_positional_args = True
        if seq_length < 2:
            raise ValueError(f"seq_length must be at least 2 (a token and </s>), got {seq_length}")
        self.tokenizer = tokenizer
        self.seq_length = seq_length

    def call(self, strings):
        strings = tf.convert_to_tensor(strings, tf.string)
        ids, mask = pack_source(self.tokenizer.tokenize(strings), self.seq_length, self.tokenizer.eos_id,
                                self.tokenizer.pad_id)
        return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": tf.zeros_like(ids)}

    def get_config(self):
        config = super().get_config()
        config.update(seq_length=self.seq_length,
                      sentencepiece_model=base64.b64encode(self.tokenizer.model_proto).decode("ascii"))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        model = base64.b64decode(config.pop("sentencepiece_model"))
        return cls(SentencePieceTokenizer(model), **config)
