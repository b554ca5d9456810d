"""Host-side arrays -> batched ``tf.data`` pipelines with the static shapes training needs."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import tensorflow as tf


def batched_dataset(inputs: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray] | None = None, *,
                    batch_size: int, training: bool, seed: int | None = None) -> tf.data.Dataset:
    """Equal-length arrays (already tokenized and packed on the host) as a batched dataset.

    Training yields ``(inputs, labels)`` reshuffled every epoch, repeated, in batches of exactly
    ``batch_size`` (``drop_remainder=True``: the static shape a TPU and XLA need). Evaluation yields
    the rows in order, once, the last batch possibly smaller (``labels`` too when given).

    Args:
        inputs: e.g. ``input_word_ids``, ``input_mask``, ``input_type_ids``, each ``[n, seq_length]``.
        labels: arrays with ``n`` rows; required for training.
        batch_size: rows per batch (the global batch size under a distribution strategy).
        training: shuffle, repeat and drop the remainder.
        seed: seed of the training shuffle.
    """
    sizes = {name: len(value) for name, value in {**inputs, **(labels or {})}.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"inputs and labels must have the same number of rows, got {sizes}")
    if not next(iter(sizes.values()), 0):
        raise ValueError("no examples: the arrays are empty")
    if training and labels is None:
        raise ValueError("a training dataset needs labels")
    elements = (dict(inputs), dict(labels)) if labels is not None else dict(inputs)
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if not training:
        return dataset.batch(batch_size)
    num_rows = next(iter(sizes.values()))
    dataset = dataset.shuffle(num_rows, seed=seed, reshuffle_each_iteration=True).repeat()
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
