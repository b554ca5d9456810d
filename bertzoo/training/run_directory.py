"""A recipe's ``--output``: a local directory, or a TensorFlow filesystem URL such as ``gs://bucket/run``.

The trainer writes checkpoints, logs and ``metrics.json`` through ``tf.io.gfile``, so it writes
straight to the URL (a preempted TPU job resumes from the bucket). What the recipes write with local
file APIs (vocabularies, the finished model directories, prediction files) goes to a local staging
directory, and ``publish`` copies it to the URL once written.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from typing import Any, Callable

import tensorflow as tf

__all__ = ["RunDirectory", "check_writable", "is_remote_path", "copy_tree", "update_json_file"]


def is_remote_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a URL of a TensorFlow filesystem (``gs://``, ``s3://``, ``ram://``, ...)."""
    return "://" in os.fspath(path)


def copy_tree(source: str | os.PathLike, destination: str) -> None:
    """Copies a directory (or a file) to ``destination`` through ``tf.io.gfile``, replacing files."""
    source = os.fspath(source)
    if not tf.io.gfile.isdir(source):
        tf.io.gfile.copy(source, destination, overwrite=True)
        return
    for directory, _, names in tf.io.gfile.walk(source):
        relative = os.path.relpath(directory, source)
        target = destination if relative == "." else os.path.join(destination, relative)
        tf.io.gfile.makedirs(target)
        for name in names:
            tf.io.gfile.copy(os.path.join(directory, name), os.path.join(target, name), overwrite=True)


def update_json_file(path: str, values: dict[str, Any], default: Callable | None = None) -> None:
    """Merges ``values`` into the JSON object at ``path`` (local or a URL), replacing it atomically."""
    metrics = {}
    if tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path) as handle:
            metrics = json.load(handle)
    metrics.update(values)
    staging = path + ".tmp"
    with tf.io.gfile.GFile(staging, "w") as handle:
        handle.write(json.dumps(metrics, indent=2, default=default) + "\n")
    tf.io.gfile.rename(staging, path, overwrite=True)


def check_writable(location: str) -> None:
    """Creates ``location`` and writes (then removes) a probe file in it, so that an unwritable
    ``--output`` is refused before any training rather than at the first checkpoint."""
    probe = os.path.join(location, f".bertzoo-write-test-{os.getpid()}")
    try:
        tf.io.gfile.makedirs(location)
        with tf.io.gfile.GFile(probe, "w") as handle:
            handle.write("bertzoo")
        tf.io.gfile.remove(probe)
    except (OSError, tf.errors.OpError) as error:
        reason = getattr(error, "message", None) or getattr(error, "strerror", None) or str(error)
        raise PermissionError(f"--output {location} is not writable ({reason.splitlines()[0]}); "
                              "nothing was trained. Pick a directory this user can write to") from None


class RunDirectory:
    """Where a run's outputs go (see the module docstring).

    Attributes:
        location: ``--output`` as given (a local path or a URL); the trainer's ``output_dir``.
        local: where local file APIs write: ``location`` itself, or a temporary staging directory
            when ``location`` is a URL.
    """

    def __init__(self, output: str | os.PathLike):
        self.location = os.fspath(output)
        if is_remote_path(self.location):
            self.local = pathlib.Path(tempfile.mkdtemp(prefix="bertzoo_run_"))
        else:
            self.local = pathlib.Path(self.location)
        check_writable(self.location)

    @property
    def is_remote(self) -> bool:
        return is_remote_path(self.location)

    def path(self, *parts: str) -> str:
        """A path under ``location`` (joined as a string, so URLs keep their ``//``)."""
        return os.path.join(self.location, *parts)

    def publish(self, *names: str) -> None:
        """Copies ``local/name`` to ``location/name`` for each name, when ``location`` is a URL."""
        if self.is_remote:
            for name in names:
                copy_tree(self.local / name, self.path(name))
