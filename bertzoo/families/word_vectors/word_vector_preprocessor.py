"""``WordVectorPreprocessor``: raw strings (or pairs) -> the encoder contract's inputs for word vectors."""

from __future__ import annotations

import keras
import tensorflow as tf

from bertzoo.families.word_vectors.word_tokenizer import PAD_ID, WordTokenizer
from bertzoo.text.basic_normalizer import as_string_batch


def segment_batches(inputs, owner: str) -> tuple[list[tf.Tensor], bool, int | None]:
    """The segments of the inputs as rank-1 string batches (a pair: a tuple or list of two tensors;
    a list of two Python strings is a batch), whether they were scalars, and the static batch size."""
    is_pair = (isinstance(inputs, (tuple, list)) and len(inputs) == 2
               and not any(isinstance(x, (str, bytes)) for x in inputs))
    batches = [as_string_batch(s, owner) for s in (list(inputs) if is_pair else [inputs])]
    if len({scalar for _, scalar in batches}) > 1:
        raise ValueError(f"{owner}: a pair must be two scalars or two batches of strings, not one of each.")
    strings = [s for s, _ in batches]
    sizes = [s.shape[0] for s in strings]
    if len(strings) == 2 and None not in sizes and sizes[0] != sizes[1]:
        raise ValueError(f"{owner}: the two segments of a pair must have the same batch size, got {sizes}.")
    return strings, batches[0][1], next((b for b in sizes if b is not None), None)


def truncated_pair_lengths(length_a: tf.Tensor, length_b: tf.Tensor, seq_length: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Google's ``_truncate_seq_pair`` in closed form: tokens are dropped from the end of the longer
    segment, from the second on a tie, until the pair fits in ``seq_length``."""
    total_fits = length_a + length_b <= seq_length
    kept_a = tf.minimum(length_a, tf.maximum((seq_length + 1) // 2, seq_length - length_b))
    kept_a = tf.where(total_fits, length_a, kept_a)
    kept_b = tf.where(total_fits, length_b, seq_length - kept_a)
    return kept_a, kept_b


@keras.saving.register_keras_serializable(package="bertzoo")
class WordVectorPreprocessor(keras.layers.Layer):
    """Strings ``[batch]``, or a pair ``(strings_a, strings_b)``, -> ``input_word_ids``,
    ``input_mask``, ``input_type_ids``, each int32 ``[batch, seq_length]``.

    No ``[CLS]``/``[SEP]``: word vectors have no sentence markers, so the row holds the words only
    (a pair: the words of a, type 0, then those of b, type 1). Too-long inputs keep their first
    ``seq_length`` words; a pair is truncated by Google's ``_truncate_seq_pair`` rule.

    Args:
        tokenizer: the ``WordTokenizer`` of the vectors.
        seq_length: the packed length (>= 1).

    Example:
        >>> pre = WordVectorPreprocessor(WordTokenizer(["the", "cat"]), seq_length=4)
        >>> pre(tf.constant(["the cat sat"]))["input_word_ids"].numpy().tolist()
        [[2, 3, 1, 0]]
    """

    def __init__(self, tokenizer: WordTokenizer | dict, seq_length: int = 128, **kwargs):
        kwargs.setdefault("dtype", "int32")
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        if isinstance(tokenizer, dict):
            tokenizer = keras.saving.deserialize_keras_object(tokenizer)
        if isinstance(seq_length, bool) or not isinstance(seq_length, int) or seq_length < 1:
            raise ValueError(f"seq_length must be a positive int, got {seq_length!r}")
        self.tokenizer = tokenizer
        self.seq_length = seq_length

    def call(self, inputs) -> dict[str, tf.Tensor]:
        strings, scalar, batch_size = segment_batches(inputs, "WordVectorPreprocessor")
        segments = [self.tokenizer.tokenize(s) for s in strings]
        if len(segments) == 1:
            ids = segments[0][:, : self.seq_length]
            types = tf.zeros_like(ids)
        else:
            a, b = segments
            kept_a, kept_b = truncated_pair_lengths(a.row_lengths(), b.row_lengths(), self.seq_length)
            a = tf.ragged.boolean_mask(a, tf.ragged.range(a.row_lengths()) < tf.expand_dims(kept_a, 1))
            b = tf.ragged.boolean_mask(b, tf.ragged.range(b.row_lengths()) < tf.expand_dims(kept_b, 1))
            ids = tf.concat([a, b], axis=1)
            types = tf.concat([tf.zeros_like(a), tf.ones_like(b)], axis=1)
        shape = [batch_size, self.seq_length]
        word_ids = ids.to_tensor(default_value=PAD_ID, shape=shape)
        outputs = {"input_word_ids": word_ids,
                   "input_mask": tf.ones_like(ids).to_tensor(default_value=0, shape=shape),
                   "input_type_ids": types.to_tensor(default_value=0, shape=shape)}
        if scalar:
            outputs = {name: value[0] for name, value in outputs.items()}
        return outputs

    def build(self, input_shape=None):
        self.built = True  # no weights: the lookup table is made from the config

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
                       "seq_length": self.seq_length})
        return config
