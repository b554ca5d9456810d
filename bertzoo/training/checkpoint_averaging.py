"""Checkpoint averaging: the Transformer paper's final models average the last checkpoints.

"For the base models, we used a single model obtained by averaging the last 5 checkpoints, which
were written at 10-minute intervals. For the big models, we averaged the last 20 checkpoints."
This is tensor2tensor's ``avg_checkpoints``: every floating-point variable is replaced by its mean
over the checkpoints; everything else (the step, integer counters, the input iterator's state,
the object graph) is copied from the newest one, except a saved input-iterator state (a variant
tensor), which is left out. Optimizer slots are averaged too (they are float variables), as
``avg_checkpoints`` does; the averaged checkpoint is meant for evaluation and export, not for
resuming training (restore it with ``expect_partial()``).
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import tensorflow as tf

_OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"


def last_checkpoints(checkpoint_dir: str | os.PathLike, count: int) -> list[str]:
    """The newest ``count`` checkpoint prefixes the ``CheckpointManager`` in ``checkpoint_dir`` kept, oldest first."""
    state = tf.train.get_checkpoint_state(os.fspath(checkpoint_dir))
    if state is None or not state.all_model_checkpoint_paths:
        raise FileNotFoundError(f"no checkpoints in {checkpoint_dir} (no 'checkpoint' state file)")
    paths = list(state.all_model_checkpoint_paths)
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    return paths[-count:]


def average_checkpoints(paths: Sequence[str], output_prefix: str) -> str:
    """Writes the average of the checkpoints ``paths`` (oldest first) to ``output_prefix``.

    The checkpoints must hold the same variables with the same shapes (one model's checkpoints at
    different steps). The result restores like any of them (``tf.train.Checkpoint.restore``).

    Returns:
        The prefix of the written checkpoint.
    """
    if not paths:
        raise ValueError("average_checkpoints needs at least one checkpoint")
    readers = [tf.train.load_checkpoint(path) for path in paths]
    shapes = readers[-1].get_variable_to_shape_map()
    dtypes = readers[-1].get_variable_to_dtype_map()
    for path, reader in zip(paths, readers):
        if reader.get_variable_to_shape_map() != shapes:
            raise ValueError(f"{path} holds different variables or shapes from {paths[-1]}; checkpoints of "
                             f"one model are expected")
    names, tensors = [], []
    for name in sorted(shapes):
        if dtypes[name] == tf.variant:
            continue  # a saved input-iterator state: not readable as an array, and not wanted for evaluation
        if name == _OBJECT_GRAPH or not dtypes[name].is_floating:
            value = readers[-1].get_tensor(name)
        else:
            total = np.zeros(shapes[name], np.float64)
            for reader in readers:
                total += reader.get_tensor(name)
            value = (total / len(readers)).astype(dtypes[name].as_numpy_dtype)
        names.append(name)
        tensors.append(tf.constant(value, dtype=dtypes[name] if name != _OBJECT_GRAPH else tf.string))
    directory = os.path.dirname(output_prefix)
    if directory:
        tf.io.gfile.makedirs(directory)
    tf.raw_ops.SaveV2(prefix=output_prefix, tensor_names=names, shape_and_slices=[""] * len(names), tensors=tensors)
    return output_prefix
