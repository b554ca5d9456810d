"""Packs raw sentences (or sentence pairs) into BERT's fixed-length model inputs."""

from __future__ import annotations

import keras
import tensorflow as tf

from bertzoo.text.basic_normalizer import as_string_batch
from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer



def check_seq_length(seq_length: int) -> int:
    """``seq_length`` if it can hold a packed input, else ValueError (shared by the preprocessors)."""
    if isinstance(seq_length, bool) or not isinstance(seq_length, int) or seq_length < 3:
        raise ValueError(
            "seq_length must be an int >= 3: [CLS] and [SEP] plus at least one token, or "
            f"[CLS] [SEP] [SEP] for a pair; got {seq_length!r}."
        )
    return seq_length


def split_segments(inputs) -> list:
    """A preprocessor's inputs as a list of segments: ``[a, b]`` for a pair (a tuple or list of
    two tensors), else ``[inputs]``; a list of two Python strings is a batch, not a pair."""
    is_pair = (
        isinstance(inputs, (tuple, list))
        and len(inputs) == 2
        and not any(isinstance(x, (str, bytes)) for x in inputs)
    )
    return list(inputs) if is_pair else [inputs]


def segment_batches(inputs, owner: str) -> tuple[list[tf.Tensor], bool, int | None]:
    """The segments of a preprocessor's inputs as rank-1 string batches, whether they were
    scalars, and the static batch size if known; errors (naming ``owner``) for a pair that mixes a
    scalar with a batch or whose static batch sizes differ."""
    batches = [as_string_batch(s, owner) for s in split_segments(inputs)]
    if len({scalar for _, scalar in batches}) > 1:
        raise ValueError("A pair must be two scalars or two batches of strings, not one of each.")
    strings = [s for s, _ in batches]
    sizes = [s.shape[0] for s in strings]
    if len(strings) == 2 and None not in sizes and sizes[0] != sizes[1]:
        raise ValueError(
            f"The two segments of a pair must have the same batch size, got {sizes[0]} and {sizes[1]}."
        )
    batch_size = next((b for b in sizes if b is not None), None)
    return strings, batches[0][1], batch_size


def kept_lengths(token_ids: list[tf.RaggedTensor], seq_length: int | tf.Tensor) -> list[tf.Tensor]:
    """How many tokens of each segment (int64 ``[batch]``) Google's packing keeps.

    A single segment keeps ``min(n, seq_length - 2)``. A pair must fit ``room = seq_length - 3``;
    ``_truncate_seq_pair`` pops from the longer segment (the second on a tie) until it does, so
    a segment shorter than its share is kept whole and the other gets the rest, and two long ones
    end at ``ceil(room / 2)`` for a and ``floor(room / 2)`` for b. ``seq_length`` may be an int64
    scalar tensor. A pair whose batch sizes are known only at run time (a serving signature) is
    checked to agree: a clear error, not a gather's.
    """
    lengths = [ids.row_lengths() for ids in token_ids]
    if len(lengths) == 1:
        return [tf.minimum(lengths[0], seq_length - 2)]
    if None in (token_ids[0].shape[0], token_ids[1].shape[0]):
        with tf.control_dependencies([tf.debugging.assert_equal(
                token_ids[0].nrows(), token_ids[1].nrows(),
                message="The two segments of a pair differ in batch size.")]):
            lengths = [tf.identity(n) for n in lengths]
    a, b = lengths
    room = seq_length - 3
    kept_a = tf.minimum(a, tf.maximum(room - b, (room + 1) // 2))
    return [kept_a, tf.minimum(b, room - kept_a)]


def pack_segments(
    token_ids: list[tf.RaggedTensor], seq_length: int | tf.Tensor, vocab
) -> dict[str, tf.Tensor]:
    """One or two int32 ``[batch, (tokens)]`` segments -> ``input_word_ids`` / ``input_mask`` /
    ``input_type_ids`` int32 ``[batch, seq_length]``, truncated as Google's ``_truncate_seq_pair``.

    By position, in dense ops: [CLS] at 0, segment a from 1, each segment followed by [SEP]; the
    special ids come from ``vocab`` (a tokenizer with ``cls_id``, ``sep_id``, ``pad_id``). Core
    ops only, so the serving preprocessor packs with it too. ``seq_length`` may be an int64 scalar
    tensor (the TF Hub preprocessor's ``bert_pack_inputs``): the outputs' width is then dynamic.
    """
    lengths = [tf.cast(n, tf.int32)[:, tf.newaxis] for n in kept_lengths(token_ids, seq_length)]
    if isinstance(seq_length, int):
        position = tf.range(seq_length, dtype=tf.int32)[tf.newaxis, :]

        def rows_of(width):  # to_tensor's shape: [batch, width]
            return [None, width]
    else:
        position = tf.range(tf.cast(seq_length, tf.int32))[tf.newaxis, :]

        def rows_of(width):
            return tf.stack([tf.constant(-1, tf.int64), tf.cast(width, tf.int64)])
    if len(token_ids) == 1:  # the common case, in the fewest ops
        # [CLS], then a's first seq_length - 1 tokens, [PAD] past its end; its [SEP] goes right
        # after the kept ones, over the last kept-out token or over padding.
        a_at = tf.pad(token_ids[0].to_tensor(vocab.pad_id, shape=rows_of(seq_length - 1)),
                      [[0, 0], [1, 0]], constant_values=vocab.cls_id)
        end = 1 + lengths[0]
        return {
            "input_word_ids": tf.where(position == end, vocab.sep_id, a_at),
            "input_mask": tf.cast(position <= end, tf.int32),
            "input_type_ids": tf.zeros_like(a_at),
        }
    # A pair. Each segment's first seq_length tokens, as [batch, seq_length] (zeros past the end).
    dense = [ids.to_tensor(0, shape=rows_of(seq_length)) for ids in token_ids]
    end_a = 1 + lengths[0]  # where a's [SEP] goes
    a_at = tf.pad(dense[0][:, :-1], [[0, 0], [1, 0]])  # a's token i at position i + 1
    start = end_a + 1
    end = start + lengths[1]  # where b's [SEP] goes
    b_at = tf.gather(dense[1], tf.maximum(position - start, 0), batch_dims=1)
    word_ids = tf.where(position < end_a, a_at, vocab.pad_id)
    word_ids = tf.where((position >= start) & (position < end), b_at, word_ids)
    word_ids = tf.where((position == end_a) | (position == end), vocab.sep_id, word_ids)
    return {
        "input_word_ids": tf.where(position == 0, vocab.cls_id, word_ids),
        "input_mask": tf.cast(position <= end, tf.int32),
        "input_type_ids": tf.cast((position >= start) & (position <= end), tf.int32),
    }


@keras.saving.register_keras_serializable(package="bertzoo")
class BertPreprocessor(keras.layers.Layer):
    """Strings, or pairs of strings, -> the encoder's ``input_word_ids`` / ``input_mask`` /
    ``input_type_ids``, each int32 ``[batch, seq_length]``.

    Tokenizes with ``tokenizer`` and packs ``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]``. Too-long
    inputs are truncated as Google's ``_truncate_seq_pair``: one token at a time from the end of
    the longer segment, from the second segment on a tie; a single segment keeps its first
    ``seq_length - 2`` tokens. The kept lengths are computed in closed form (``kept_lengths``)
    and the rows built by dense ``tf.where`` / ``tf.gather`` over positions, a few ops with no
    ragged validation (packing was the larger cost once tokenization got fast); the tests prove it
    equal to the rule for random lengths. ``input_type_ids`` is 0 for ``[CLS] a [SEP]`` and 1
    for ``b [SEP]``; padding has word id ``[PAD]``, mask 0 and type 0. Special ids come from the
    tokenizer's vocabulary. The output's last dimension is static.

    Inputs: a batch of strings ``[batch]`` (a scalar gives ``[seq_length]`` outputs), or a pair
    ``(strings_a, strings_b)`` as a tuple or list of two tensors. A list of two Python strings is
    a batch of two sentences, not a pair.

    Args:
        tokenizer: the ``WordPieceTokenizer`` of the checkpoint (or its serialized config).
        seq_length: the packed length, at least 3 (``[CLS] [SEP]`` plus one token, or
            ``[CLS] [SEP] [SEP]`` for a pair, whose segments are then both empty).
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
    >>> pre = BertPreprocessor(tokenizer, seq_length=8)  # doctest: +SKIP
    >>> pre((tf.constant(["the cat"]), tf.constant(["sat"])))["input_type_ids"]  # doctest: +SKIP
    [[0, 0, 0, 0, 1, 1, 0, 0]]
    """

    def __init__(self, tokenizer: WordPieceTokenizer, seq_length: int = 128, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

        if isinstance(tokenizer, dict):
            tokenizer = keras.saving.deserialize_keras_object(tokenizer)
        if not isinstance(tokenizer, WordPieceTokenizer):
            raise TypeError(
                f"tokenizer must be a bertzoo WordPieceTokenizer, got {type(tokenizer).__name__}."
            )
        self.seq_length = check_seq_length(seq_length)
        self.tokenizer = tokenizer

    def call(self, inputs) -> dict[str, tf.Tensor]:
        strings, scalar, batch_size = segment_batches(inputs, type(self).__name__)
        outputs = pack_segments([self.tokenizer.tokenize(s) for s in strings], self.seq_length, self.tokenizer)
        outputs = {k: tf.ensure_shape(v, [batch_size, self.seq_length]) for k, v in outputs.items()}
        if scalar:
            outputs = {k: v[0] for k, v in outputs.items()}
        return outputs

    def compute_output_spec(self, inputs) -> dict[str, keras.KerasTensor]:
        first = split_segments(inputs)[0]
        shape = tuple(first.shape) + (self.seq_length,)
        return {
            k: keras.KerasTensor(shape, dtype="int32")
            for k in ("input_word_ids", "input_mask", "input_type_ids")
        }

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
                "seq_length": self.seq_length,
            }
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> BertPreprocessor:
        config = dict(config)
        config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        return cls(**config)
