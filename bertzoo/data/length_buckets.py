"""Length buckets: batches only as wide as their longest real row needs, from a few fixed widths.

Packed rows are ``seq_length`` wide, but short texts use a fraction of that: the rest is padding,
masked out of attention and pooling yet paid for in every matmul. Cutting a batch to a width ``w``
at least its longest real row is exact for a BERT encoder (padding is masked; position ``i`` keeps
its embedding), so grouping rows of similar length and cutting each batch to the smallest *bucket*
that holds its rows costs what the texts need. The widths come from a small fixed set (by default
powers of two from 16, and ``seq_length``), so XLA and TPUs compile a bounded set of shapes.

- ``bucketed_training_dataset``: the stream of ``batched_dataset`` (reshuffled every epoch,
  repeated, ``drop_remainder``) regrouped: windows of a few batches are sorted by length, cut into
  batches, and the batches of a window shuffled. Every row still comes once per epoch of the stream.
- ``length_sorted_batches``: inference: rows sorted by length into batches, and the order that puts
  the results back.

Only the inputs (``[n, seq_length]`` arrays) are cut; labels must not have a sequence axis, so this
fits sentence(-pair) classification and regression, not per-token tasks.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf

# None/True: the default widths; False: no bucketing; "16,32,128" or [16, 32, 128]: those widths.
LengthBuckets = bool | str | Sequence[int] | None

SMALLEST_DEFAULT_WIDTH = 16
DEFAULT_WINDOW_BATCHES = 16  # batches sorted together in training: more gives tighter widths, less mixing


def default_bucket_widths(seq_length: int) -> tuple[int, ...]:
    """Powers of two from 16 below ``seq_length``, then ``seq_length``: ``(16, 32, 64, 128)`` for 128."""
    widths = []
    width = SMALLEST_DEFAULT_WIDTH
    while width < seq_length:
        widths.append(width)
        width *= 2
    return tuple(widths) + (seq_length,)


def parse_bucket_widths(text: str) -> tuple[int, ...] | bool:
    """A command-line value: ``auto`` (True), ``off`` (False) or comma-separated widths ``32,64,128``."""
    value = text.strip().lower()
    if value in ("auto", "on"):
        return True
    if value in ("off", "none"):
        return False
    try:
        return tuple(int(part) for part in value.split(","))
    except ValueError:
        raise ValueError(f"expected 'auto', 'off' or comma-separated widths in tokens such as 32,64,128; "
                         f"got {text!r}") from None


def resolve_bucket_widths(buckets: LengthBuckets, seq_length: int,
                          argument: str = "length_buckets") -> tuple[int, ...] | None:
    """The widths ``buckets`` asks for at ``seq_length`` (increasing, the last ``seq_length``), or None for off.

    Args:
        buckets: True (or None, or ``"auto"``): ``default_bucket_widths``; False (or ``"off"``): no
            bucketing; a sequence of ints or a string ``"32,64,128"``: those widths, to which
            ``seq_length`` is added when missing (a row may be that long).
        seq_length: the packed rows' width.
        argument: the argument's name in error messages (``--length-buckets`` on the command line).

    Raises:
        ValueError: naming ``argument``: a width that is not a positive int, not increasing, or
            larger than ``seq_length``.
    """
    if isinstance(buckets, str):
        try:
            buckets = parse_bucket_widths(buckets)
        except ValueError as error:
            raise ValueError(f"{argument}: {error}") from None
    if buckets is None or buckets is True:
        return default_bucket_widths(seq_length)
    if buckets is False:
        return None
    if not isinstance(buckets, Sequence) or not buckets:
        raise ValueError(f"{argument}: expected True, False, or a non-empty list of widths in tokens such as "
                         f"[32, 64, {seq_length}]; got {buckets!r}")
    widths = []
    for width in buckets:
        if isinstance(width, (bool, np.bool_)) or not isinstance(width, (int, np.integer)) or width < 1:
            raise ValueError(f"{argument}: widths must be positive ints (tokens), got {width!r} in {list(buckets)}")
        widths.append(int(width))
    if any(a >= b for a, b in zip(widths, widths[1:])):
        raise ValueError(f"{argument}: widths must be strictly increasing, got {widths}")
    if widths[-1] > seq_length:
        raise ValueError(f"{argument}: width {widths[-1]} is larger than seq_length {seq_length} (the rows' width); "
                         f"give widths up to {seq_length}")
    if widths[-1] < seq_length:
        widths.append(seq_length)
    return tuple(widths)


def real_lengths(input_mask: np.ndarray) -> np.ndarray:
    """Per row, the positions up to and including its last real token (``input_mask`` != 0); 0 for none."""
    mask = np.asarray(input_mask) != 0
    if mask.ndim != 2:
        raise ValueError(f"input_mask must be [rows, seq_length], got shape {mask.shape}")
    return np.where(mask.any(axis=1), mask.shape[1] - np.argmax(mask[:, ::-1], axis=1), 0).astype(np.int64)


def bucket_width(lengths: np.ndarray, widths: Sequence[int]) -> np.ndarray:
    """The smallest width >= each length (a length beyond the largest width is an error)."""
    lengths = np.asarray(lengths)
    if lengths.size and lengths.max() > widths[-1]:
        raise ValueError(f"a row has {int(lengths.max())} tokens, more than the largest bucket width {widths[-1]}")
    return np.asarray(widths, np.int64)[np.searchsorted(widths, lengths, side="left")]


def _check_rows(inputs: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray] | None,
                widths: Sequence[int]) -> int:
    if "input_mask" not in inputs:
        raise ValueError(f"length buckets need an input_mask among the inputs, got {sorted(inputs)}")
    sizes = {name: len(value) for name, value in {**inputs, **(labels or {})}.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"inputs and labels must have the same number of rows, got {sizes}")
    num_rows = next(iter(sizes.values()))
    if not num_rows:
        raise ValueError("no examples: the arrays are empty")
    shapes = {name: np.shape(value) for name, value in inputs.items()}
    if any(len(shape) != 2 for shape in shapes.values()) or len({shape[1] for shape in shapes.values()}) != 1:
        raise ValueError(f"length buckets cut [rows, seq_length] inputs; got shapes {shapes}")
    seq_length = next(iter(shapes.values()))[1]
    if widths[-1] != seq_length:
        raise ValueError(f"the largest bucket width {widths[-1]} must be the inputs' seq_length {seq_length} "
                         "(use resolve_bucket_widths)")
    return num_rows


def bucketed_training_dataset(inputs: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray], *,
                              batch_size: int, widths: Sequence[int], seed: int | None = None,
                              window_batches: int = DEFAULT_WINDOW_BATCHES) -> tf.data.Dataset:
    """``(inputs, labels)`` training batches of exactly ``batch_size`` rows, each cut to its bucket width.

    The rows are reshuffled every epoch and repeated, as ``batched_dataset`` does; the stream is
    then taken ``window_batches * batch_size`` rows at a time, each window sorted by length (rows of
    equal length stay in random order), cut into batches, and its batches put in a random order
    (seeded by ``seed`` and the window's number). A batch's inputs are ``[batch_size, w]``, ``w``
    the smallest of ``widths`` that holds its longest row; labels are untouched. Every row comes
    once per ``num_rows`` rows of the stream, so an epoch is still ``num_rows / batch_size`` steps.
    Pure ``tf.data``: the trainer can checkpoint the iterator.

    Args:
        inputs: ``[n, seq_length]`` arrays with an ``input_mask``.
        labels: arrays with ``n`` rows and no sequence axis (class ids, scores, multi-hot rows).
        batch_size: rows per batch (the global batch size under a distribution strategy).
        widths: from ``resolve_bucket_widths``; the last is ``seq_length``.
        seed: seed of the shuffles (None: a random one).
        window_batches: batches sorted together.
    """
    num_rows = _check_rows(inputs, labels, widths)
    if isinstance(window_batches, bool) or not isinstance(window_batches, int) or window_batches < 1:
        raise ValueError(f"window_batches must be a positive int, got {window_batches!r}")
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    lengths = real_lengths(inputs["input_mask"])
    width_table = tf.constant(widths, tf.int64)
    window = window_batches * batch_size
    rows = tf.data.Dataset.from_tensor_slices((dict(inputs), dict(labels), lengths))
    rows = rows.shuffle(num_rows, seed=seed, reshuffle_each_iteration=True).repeat()

    def window_to_batches(index, window_rows):
        features, targets, length = window_rows
        by_length = tf.argsort(length, stable=True)
        batch_order = tf.argsort(tf.random.stateless_uniform([window_batches], seed=tf.stack(
            [tf.constant(seed, tf.int64), index])))
        order = tf.reshape(tf.gather(tf.reshape(by_length, [window_batches, batch_size]), batch_order), [-1])

        def split(tensor):
            return tf.reshape(tf.gather(tensor, order), tf.concat([[window_batches, batch_size],
                                                                   tf.shape(tensor)[1:]], 0))

        longest = tf.reduce_max(split(length), axis=1)
        batch_widths = tf.gather(width_table, tf.searchsorted(width_table, longest, side="left"))
        return tf.data.Dataset.from_tensor_slices((tf.nest.map_structure(split, features),
                                                   tf.nest.map_structure(split, targets), batch_widths))

    def cut(features, targets, width):
        return {name: value[:, :width] for name, value in features.items()}, targets

    batches = rows.batch(window, drop_remainder=True).enumerate().flat_map(window_to_batches)
    # flat_map hides that the stream never ends; a distributed iterator over a dataset that might end
    # with a partial batch would forget the static batch size.
    batches = batches.apply(tf.data.experimental.assert_cardinality(tf.data.INFINITE_CARDINALITY))
    return batches.map(cut, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def length_sorted_batches(inputs: Mapping[str, np.ndarray], *, batch_size: int,
                          widths: Sequence[int]) -> tuple[tf.data.Dataset, np.ndarray]:
    """Inference: every row once, sorted by length into batches of ``batch_size`` cut to their bucket width.

    The last batch is filled up with all-padding rows (so every batch has the static
    ``batch_size``). Returns the dataset and ``order``: output row ``i`` of the concatenated
    batches belongs to input row ``order[i]`` (``outputs[:n][inverse]`` puts them back, with
    ``inverse = np.argsort(order)``; ``restore_order`` does it).
    """
    num_rows = _check_rows(inputs, None, widths)
    order, batch_widths = length_sorted_plan(real_lengths(inputs["input_mask"]), batch_size, widths)
    num_batches = len(batch_widths)
    padding = num_batches * batch_size - num_rows
    batched = {name: np.concatenate([np.asarray(value)[order], np.zeros((padding,) + np.shape(value)[1:],
                                                                         np.asarray(value).dtype)])
               .reshape((num_batches, batch_size) + np.shape(value)[1:]) for name, value in inputs.items()}
    dataset = tf.data.Dataset.from_tensor_slices((batched, batch_widths))
    return dataset.map(lambda batch, width: {name: value[:, :width] for name, value in batch.items()}), order


def length_sorted_plan(lengths: np.ndarray, batch_size: int, widths: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``(order, batch_widths)``: the rows sorted by length (stable), and the bucket width of each run of
    ``batch_size`` consecutive sorted rows (the last run may be shorter)."""
    lengths = np.asarray(lengths)
    order = np.argsort(lengths, kind="stable")
    starts = np.arange(0, len(order), batch_size)
    return order, bucket_width(np.maximum.reduceat(lengths[order], starts) if len(order) else starts, widths)


def restore_order(rows: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``rows`` (at least ``len(order)``, in sorted order) back in input order: row ``order[i]`` is ``rows[i]``."""
    restored = np.empty((len(order),) + rows.shape[1:], rows.dtype)
    restored[order] = rows[: len(order)]
    return restored
