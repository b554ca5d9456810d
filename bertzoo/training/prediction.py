"""Batched inference under any strategy, with the static shapes a TPU needs.

The inputs are padded with zero rows to a whole number of global batches, so every step sees the
same ``[global_batch_size, seq_length]`` shape (``drop_remainder`` without dropping anything); the
padded rows are cut from the outputs. On one host the batches are split over the replicas with
``strategy.run`` and the replicas' outputs concatenated in order. Under multi-worker training each
worker predicts every row on its own device (the variables are mirrored), so the chief holds the
complete outputs without a cross-host gather.

With ``length_buckets`` the rows are sorted by length and each batch cut to the smallest bucket
width that holds its rows (``bertzoo.data.length_buckets``): exact for models whose padding is
masked, much faster on short texts; the outputs come back in input order.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from bertzoo.data.length_buckets import length_sorted_batches, restore_order


def predict_in_batches(
    model: keras.Model,
    inputs: Mapping[str, np.ndarray],
    *,
    global_batch_size: int = 32,
    strategy: tf.distribute.Strategy | None = None,
    jit_compile: bool = False,
    length_buckets: Sequence[int] | None = None,
    verbose: bool = True,
) -> dict[str, np.ndarray]:
    """Runs ``model(inputs, training=False)`` over all rows, ``global_batch_size`` at a time.

    Args:
        model: maps a dict of ``[batch, ...]`` tensors to a dict of ``[batch, ...]`` outputs.
        inputs: equal-length numpy arrays (e.g. ``input_word_ids``, ``input_mask``, ``input_type_ids``).
        global_batch_size: rows per step over all replicas; a multiple of the replica count.
        strategy: the strategy the model was built under; None for the default (one device).
        jit_compile: compile each replica's forward pass with XLA (once per bucket width).
        length_buckets: increasing widths ending at the inputs' ``seq_length`` (from
            ``resolve_bucket_widths``), or None to run every row at full width. Each output must
            have one row per example and no sequence axis (classifier logits, not token outputs).
        verbose: show a progress bar.

    Returns:
        The model's outputs as float32 (or their own integer dtype) numpy arrays, one row per input row.
    """
    arrays = {name: np.asarray(value) for name, value in inputs.items()}
    lengths = {name: len(value) for name, value in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs must all have the same number of rows, got {lengths}")
    num_rows = next(iter(lengths.values()), 0)
    strategy = strategy or tf.distribute.get_strategy()
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    replicas = 1 if multi_worker else strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise ValueError(f"global_batch_size {global_batch_size} is not a multiple of the "
                         f"{replicas} replicas of {type(strategy).__name__}")
    if num_rows == 0:
        return {}
    if length_buckets is None:
        num_batches = -(-num_rows // global_batch_size)
        padding = num_batches * global_batch_size - num_rows
        padded = {name: np.concatenate([value, np.zeros((padding,) + value.shape[1:], value.dtype)])
                  for name, value in arrays.items()}
        dataset = tf.data.Dataset.from_tensor_slices(padded).batch(global_batch_size, drop_remainder=True)
        order = None
    else:
        dataset, order = length_sorted_batches(arrays, batch_size=global_batch_size, widths=length_buckets)

    def forward(batch):
        outputs = model(batch, training=False)
        return tf.nest.map_structure(lambda t: tf.cast(t, tf.float32) if t.dtype.is_floating else t, outputs)

    forward = tf.function(forward, jit_compile=jit_compile)
    if multi_worker:
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        batches = dataset.with_options(options)
        step = forward
    else:
        batches = strategy.experimental_distribute_dataset(dataset)

        def step(batch):
            per_replica = strategy.run(forward, args=(batch,))
            return tf.nest.map_structure(
                lambda value: tf.concat(strategy.experimental_local_results(value), axis=0), per_replica)

    # Traced once for the batches' spec: with length buckets their width is None, so the model's
    # fixed-width input check passes and one graph serves every bucket.
    step = tf.function(step, input_signature=[batches.element_spec])

    progress = keras.utils.Progbar(num_rows, unit_name="example") if verbose else None
    collected: list = []
    done = 0
    for batch in batches:
        collected.append(tf.nest.map_structure(lambda t: t.numpy(), step(batch)))
        done = min(done + global_batch_size, num_rows)
        if progress is not None:
            progress.update(done)
    if order is None:
        return tf.nest.map_structure(lambda *parts: np.concatenate(parts)[:num_rows], *collected)
    return tf.nest.map_structure(lambda *parts: restore_order(_concatenate_rows(parts), order), *collected)


def _concatenate_rows(parts: tuple[np.ndarray, ...]) -> np.ndarray:
    """One output's batches as one array; batches of different widths mean a sequence axis, which
    length buckets cannot put back together."""
    if len({part.shape[1:] for part in parts}) > 1:
        raise ValueError(f"a model output has a sequence axis (batches of shapes {sorted({p.shape for p in parts})}); "
                         "length_buckets needs one output row per example, e.g. classifier logits: predict "
                         "without length_buckets")
    return np.concatenate(parts)
