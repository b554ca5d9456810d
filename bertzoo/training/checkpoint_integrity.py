"""Which of a run's training checkpoints can be resumed from, and what is wrong with the others.

A checkpoint is the prefix ``checkpoints/ckpt-N`` of an ``.index`` file and ``.data-*`` shards. A
preempted machine, a full disk or a bad copy can leave the newest one truncated or corrupt; the
trainer then resumes from the newest good one (as Keras ``BackupAndRestore`` and Orbit do) and says
which file was damaged, rather than dying inside TensorFlow with ``Read less bytes than requested``.
"""

from __future__ import annotations

import os
import re

import tensorflow as tf

__all__ = ["DamagedCheckpointsError", "checkpoint_candidates", "checkpoint_files", "describe_damage",
           "remove_checkpoint_files"]

_STEP = re.compile(r"-(\d+)\.index$")


class DamagedCheckpointsError(ValueError):
    """Every checkpoint of a run is damaged: the message names each, with its fault."""


def checkpoint_candidates(checkpoint_dir: str) -> list[str]:
    """The checkpoint prefixes in ``checkpoint_dir``, newest step first (from their ``.index`` files,
    whatever the ``checkpoint`` state file says)."""
    if not tf.io.gfile.isdir(checkpoint_dir):
        return []
    found = []
    for name in tf.io.gfile.listdir(checkpoint_dir):
        match = _STEP.search(name)
        if match and not name.endswith("_temp.index"):
            found.append((int(match.group(1)), os.path.join(checkpoint_dir, name[: -len(".index")])))
    return [prefix for _, prefix in sorted(found, reverse=True)]


def checkpoint_files(prefix: str) -> list[str]:
    """The files of the checkpoint ``prefix``: its index and data shards."""
    return sorted(tf.io.gfile.glob(prefix + ".index") + tf.io.gfile.glob(prefix + ".data-*"))


def remove_checkpoint_files(prefix: str) -> None:
    """Removes what a failed save of ``prefix`` left: its files and TensorFlow's ``_temp`` staging."""
    for path in checkpoint_files(prefix) + tf.io.gfile.glob(prefix + "_temp*"):
        try:
            if tf.io.gfile.isdir(path):
                tf.io.gfile.rmtree(path)
            else:
                tf.io.gfile.remove(path)
        except tf.errors.OpError:
            pass


def describe_damage(prefix: str, error: BaseException | None = None) -> str:
    """Names the file of checkpoint ``prefix`` at fault and what is wrong with it.

    Reads the index, then every tensor (each read checks the tensor's size and CRC); ``error`` (what
    restoring raised) is reported when every file reads back, e.g. a variable missing or of another
    shape than the model's.
    """
    index = prefix + ".index"
    data = [path for path in checkpoint_files(prefix) if ".data-" in path]
    if not tf.io.gfile.exists(index):
        return f"{index} is missing"
    if not data:
        return f"{prefix}.data-* is missing"
    try:
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        shapes = reader.get_variable_to_shape_map()
    except Exception as failure:  # DataLossError, or IndexError/OutOfRangeError from a truncated file
        return f"{index} is unreadable ({_first_line(failure)})"
    for name in sorted(shapes):
        try:
            reader.get_tensor(name)
        except Exception as failure:
            files = data[0] if len(data) == 1 else f"one of {', '.join(data)}"
            return f"{files} is damaged: variable {name} cannot be read ({_first_line(failure)})"
    if error is not None:
        return f"{prefix} does not fit this model ({_first_line(error)})"
    return f"{prefix} cannot be restored"


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]
