"""Scaled dot-product attention: the one place every bertzoo encoder computes attention.

Keeping it in one function means a faster kernel (fused, flash) is a one-place change. Scores and
softmax are computed in float32 whatever the compute dtype, so mixed precision does not lose the
small differences between large logits.
"""

from __future__ import annotations

import math
from typing import Callable

from keras import ops

# Added to the scores of padding keys; exp() of it is exactly 0 in float32.
MASKED_SCORE = -1e9


def dot_product_attention(
    query,
    key,
    value,
    key_mask=None,
    dropout: Callable | None = None,
    training: bool | None = None,
    causal: bool = False,
):
    """Multi-head attention over projected inputs.

    Args:
        query: ``[batch, query_length, heads, head_size]``.
        key: ``[batch, key_length, heads, head_size]``.
        value: ``[batch, key_length, heads, head_size]``.
        key_mask: ``[batch, key_length]``, 1 for keys that may be attended to, 0 for padding; or
            ``[batch, query_length, key_length]``, a mask per query (causal decoders: key position
            at most the query's, and not padding).
        dropout: applied to the attention probabilities (BERT's attention dropout), e.g. a
            ``keras.layers.Dropout``; called with ``training``.
        training: whether dropout is active.
        causal: query ``i`` may attend only to keys ``j <= i + key_length - query_length`` (a
            decoder's self-attention; with equal lengths, keys up to its own position). Combined
            with ``key_mask``.

    Returns:
        ``[batch, query_length, heads, head_size]`` in the dtype of ``query``.
    """
    head_size = ops.shape(query)[-1]
    scores = ops.einsum("bqhd,bkhd->bhqk", query, key)
    scores = ops.cast(scores, "float32") / math.sqrt(head_size)
    if key_mask is not None:
        allowed = ops.cast(key_mask, "bool")
        # [batch, key] -> [batch, 1, 1, key]; [batch, query, key] -> [batch, 1, query, key].
        allowed = allowed[:, None, None, :] if len(allowed.shape) == 2 else allowed[:, None, :, :]
        scores = ops.where(allowed, scores, MASKED_SCORE)
    if causal:
        query_length, key_length = ops.shape(query)[1], ops.shape(key)[1]
        query_positions = ops.arange(query_length)[:, None] + (key_length - query_length)
        allowed = ops.arange(key_length)[None, :] <= query_positions
        scores = ops.where(allowed[None, None], scores, MASKED_SCORE)
    probabilities = ops.softmax(scores, axis=-1)
    probabilities = ops.cast(probabilities, query.dtype)
    if dropout is not None:
        probabilities = dropout(probabilities, training=training)
    return ops.einsum("bhqk,bkhd->bqhd", probabilities, value)
