"""Packs raw sentences (or sentence pairs) into BERT's fixed-length model inputs."""

from __future__ import annotations

import keras
import keras_hub
import tensorflow as tf

from bertzoo.text.basic_normalizer import as_string_batch
from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer

# Packed with this pad value, real tokens (ids >= 0) and padding can be told apart exactly.
_PACKER_PAD = -1


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


@keras.saving.register_keras_serializable(package="bertzoo")
class BertPreprocessor(keras.layers.Layer):
    """Strings, or pairs of strings, -> the encoder's ``input_word_ids`` / ``input_mask`` /
    ``input_type_ids``, each int32 ``[batch, seq_length]``.

    Tokenizes with ``tokenizer`` and packs ``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]``. Too-long
    inputs are truncated as Google's ``_truncate_seq_pair``: one token at a time from the end of
    the longer segment, from the second segment on a tie; a single segment keeps its first
    ``seq_length - 2`` tokens. (KerasHub's round-robin ``MultiSegmentPacker`` does the packing; the
    tests prove it equal to that rule for random lengths.) ``input_type_ids`` is 0 for
    ``[CLS] a [SEP]`` and 1 for ``b [SEP]``; padding has word id ``[PAD]``, mask 0 and type 0.
    Special ids come from the tokenizer's vocabulary. The output's last dimension is static.

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
        self._packer = keras_hub.layers.MultiSegmentPacker(
            sequence_length=seq_length,
            start_value=tokenizer.cls_id,
            end_value=tokenizer.sep_id,
            pad_value=_PACKER_PAD,
            truncate="round_robin",
        )

    def call(self, inputs) -> dict[str, tf.Tensor]:
        strings, scalar, batch_size = segment_batches(inputs, type(self).__name__)
        token_ids = [self.tokenizer.tokenize(s) for s in strings]
        word_ids, type_ids = self._packer(tuple(token_ids) if len(token_ids) > 1 else token_ids[0])
        is_token = tf.not_equal(word_ids, _PACKER_PAD)
        outputs = {
            "input_word_ids": tf.where(is_token, word_ids, self.tokenizer.pad_id),
            "input_mask": tf.cast(is_token, tf.int32),
            "input_type_ids": tf.where(is_token, type_ids, 0),
        }
        outputs = {
            k: tf.ensure_shape(tf.cast(v, tf.int32), [batch_size, self.seq_length])
            for k, v in outputs.items()
        }
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
