"""Label-smoothed cross-entropy, as the Transformer was trained (section 5.4, epsilon_ls 0.1)."""

from __future__ import annotations

from keras import ops


def label_smoothed_cross_entropy(labels, logits, weights=None, smoothing: float = 0.1):
    """Per-token cross-entropy against the smoothed target distribution.

    The target puts ``1 - smoothing`` on the true token and spreads ``smoothing`` evenly over the
    other ``vocab - 1`` tokens (tensor2tensor's ``smoothing_cross_entropy``). Like tensor2tensor,
    the constant ``-sum(q log q)`` of the smoothed distribution is subtracted, so a perfect
    prediction of the smoothed target costs 0 (the loss is the KL divergence, whose gradient is the
    cross-entropy's). Positions with weight 0 (padding) contribute nothing.

    Args:
        labels: int ``[...]`` true token ids.
        logits: float ``[..., vocab]``.
        weights: float ``[...]``, e.g. 1 for real target tokens and 0 for padding; None: all 1.
        smoothing: ``epsilon_ls``.

    Returns:
        ``(loss_sum, weight_sum)``: the summed weighted loss and the summed weights (the trainer's
        loss terms; their ratio is the mean per real token).
    """
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    logits = ops.cast(logits, "float32")
    vocab = ops.shape(logits)[-1]
    confidence = 1.0 - smoothing
    low = smoothing / ops.cast(vocab - 1, "float32")
    log_probs = ops.log_softmax(logits, axis=-1)
    true_log_prob = ops.take_along_axis(log_probs, ops.expand_dims(ops.cast(labels, "int32"), -1), axis=-1)[..., 0]
    # -sum_k q_k log p_k with q = low everywhere except confidence at the label.
    cross_entropy = -(confidence - low) * true_log_prob - low * ops.sum(log_probs, axis=-1)
    entropy = -(confidence * ops.log(confidence) + ops.cast(vocab - 1, "float32") * low * ops.log(low + 1e-20))
    losses = cross_entropy - entropy
    weights = ops.ones_like(losses) if weights is None else ops.cast(weights, "float32")
    return ops.sum(losses * weights), ops.sum(weights)
