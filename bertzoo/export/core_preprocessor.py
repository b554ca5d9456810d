"""BERT input packing from core TensorFlow ops only, for SavedModels a stock TensorFlow Serving loads.

``CorePreprocessor`` gives the ``input_word_ids`` / ``input_mask`` / ``input_type_ids`` of
``BertPreprocessor`` with a ``CoreOpsTokenizer`` and a packer in core ops (no KerasHub
``MultiSegmentPacker``, no tensorflow-text). It packs by position with ``BertPreprocessor``'s own
dense ops (``pack_segments``), at a fixed ``seq_length`` or at one given as a tensor (the TF Hub
preprocessor's ``bert_pack_inputs``). The argument checks are ``BertPreprocessor``'s own.
"""

from __future__ import annotations

import tensorflow as tf

from bertzoo.export.core_ops_tokenizer import CoreOpsTokenizer
from bertzoo.families.bert.bert_preprocessor import (
    BertPreprocessor,
    check_seq_length,
    pack_segments,
    segment_batches,
)
from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer

__all__ = ["CorePreprocessor"]


class CorePreprocessor(tf.Module):
    """Strings, or pairs of strings, -> ``input_word_ids`` / ``input_mask`` / ``input_type_ids``
    like ``BertPreprocessor``, from core TensorFlow ops only.

    Packs ``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]`` into int32 ``[batch, seq_length]``.
    A pair is truncated as Google's ``_truncate_seq_pair`` (one token at a time from the end of
    the longer segment, from the second on a tie), computed in closed form: with
    ``budget = seq_length - 3``, segment a keeps ``min(len_a, max(ceil(budget / 2), budget -
    len_b))`` tokens and b the rest of the budget, at most ``len_b``. A single segment keeps its
    first ``seq_length - 2`` tokens. ``input_type_ids`` is 1 for ``b [SEP]``; padding has word id
    ``[PAD]``, mask 0 and type 0.

    Inputs: a batch of strings ``[batch]`` (a scalar gives ``[seq_length]`` outputs), or a pair
    ``(strings_a, strings_b)`` as a tuple or list of two tensors.

    Args:
        tokenizer: a ``CoreOpsTokenizer``, or a ``WordPieceTokenizer`` to take the settings of.
        seq_length: the packed length, at least 3.
        name: the module's name.

    Example:
    >>> pre = CorePreprocessor.from_bert_preprocessor(bert.preprocessor)  # doctest: +SKIP
    >>> pre((tf.constant(["the cat"]), tf.constant(["sat"])))["input_type_ids"]  # doctest: +SKIP
    """

    def __init__(
        self,
        tokenizer: CoreOpsTokenizer | WordPieceTokenizer,
        seq_length: int = 128,
        name: str | None = None,
    ):
        super().__init__(name=name)
        if isinstance(tokenizer, WordPieceTokenizer):
            tokenizer = CoreOpsTokenizer.from_wordpiece_tokenizer(tokenizer)
        if not isinstance(tokenizer, CoreOpsTokenizer):
            raise TypeError(
                "tokenizer must be a CoreOpsTokenizer or a WordPieceTokenizer, "
                f"got {type(tokenizer).__name__}."
            )
        self.seq_length = check_seq_length(seq_length)
        self.tokenizer = tokenizer

    @classmethod
    def from_bert_preprocessor(
        cls, preprocessor: BertPreprocessor, name: str | None = None
    ) -> CorePreprocessor:
        """The core-ops twin of a ``BertPreprocessor``: same tokenizer settings and seq_length."""
        if not isinstance(preprocessor, BertPreprocessor):
            raise TypeError(
                f"preprocessor must be a bertzoo BertPreprocessor, got {type(preprocessor).__name__}."
            )
        return cls(preprocessor.tokenizer, seq_length=preprocessor.seq_length, name=name)

    def __call__(self, inputs) -> dict[str, tf.Tensor]:
        strings, scalar, batch_size = segment_batches(inputs, type(self).__name__)
        outputs = self.pack_token_ids([self.tokenizer.tokenize(s) for s in strings])
        outputs = {k: tf.ensure_shape(v, [batch_size, self.seq_length]) for k, v in outputs.items()}
        if scalar:
            outputs = {k: v[0] for k, v in outputs.items()}
        return outputs

    def pack_token_ids(
        self, token_ids: list[tf.RaggedTensor], seq_length: int | tf.Tensor | None = None
    ) -> dict[str, tf.Tensor]:
        """Packs already-tokenized segments with the truncation of ``__call__``.

        For callers that tokenize separately, e.g. the TF Hub preprocessor's ``bert_pack_inputs``.

        Args:
            token_ids: one or two int32 ``[batch, (tokens)]`` ragged batches (a pair).
            seq_length: the packed length; None means ``self.seq_length``. A scalar tensor gives
                outputs of dynamic length.

        Returns:
            ``input_word_ids`` / ``input_mask`` / ``input_type_ids``, int32 ``[batch, seq_length]``.
        """
        if len(token_ids) not in (1, 2):
            raise ValueError(f"Packs one segment or a pair of two, got {len(token_ids)} segments.")
        if seq_length is None:
            seq_length = self.seq_length
        if isinstance(seq_length, tf.Tensor):
            seq_length = tf.cast(seq_length, tf.int64)
            check = tf.debugging.assert_greater_equal(
                seq_length, tf.constant(3, tf.int64), message="seq_length must be >= 3.")
            with tf.control_dependencies([check]):
                seq_length = tf.identity(seq_length)
        else:
            seq_length = check_seq_length(seq_length)
        return pack_segments(token_ids, seq_length, self.tokenizer)
