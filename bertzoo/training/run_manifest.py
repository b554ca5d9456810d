"""``run.json``: what a run in ``--output`` was started with, checked when it is resumed.

Sections: ``command`` (the command line), ``recipe``, ``architecture`` (what the checkpoint's
variables depend on: the model config, the task head), ``data`` (the training files, the
vocabulary, what shapes the examples), ``hyperparameters`` (learning rate, batch, steps, ...) and
``versions`` (bertzoo, TensorFlow, Keras, Python).

Resuming with another architecture or other data would restore weights into a different model or
continue on different examples: it is refused in one line naming what differs. Another learning
rate, batch or step count is a legitimate change (extending a run, lowering the rate): allowed, with
a warning listing the changes, and ``run.json`` records the new values (``changes`` keeps the list).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import sys
from typing import Any, Iterable

from bertzoo.errors import ConfigError
from bertzoo.invocation import command_line

__all__ = ["MANIFEST_FILE", "describe_files", "record_run"]

MANIFEST_FILE = "run.json"
_HASHED_BYTES = 64 * 1024 * 1024  # files up to this size are hashed whole; bigger ones by size and head


def describe_files(paths: Iterable[str]) -> list[dict]:
    """Each file's path, size and SHA-256 (of the first 64 MiB for bigger files), to tell data apart."""
    import tensorflow as tf

    described = []
    for path in paths:
        for name in sorted(tf.io.gfile.glob(os.fspath(path))) or [os.fspath(path)]:
            entry: dict[str, Any] = {"path": name}
            try:
                entry["bytes"] = tf.io.gfile.stat(name).length
                digest = hashlib.sha256()
                with tf.io.gfile.GFile(name, "rb") as handle:
                    digest.update(handle.read(_HASHED_BYTES))
                entry["sha256"] = digest.hexdigest()
            except tf.errors.OpError:
                entry["bytes"] = None
            described.append(entry)
    return described


def _versions() -> dict:
    import keras
    import tensorflow as tf

    import bertzoo

    return {"bertzoo": bertzoo.__version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "python": platform.python_version()}


def _differences(old: Any, new: Any, where: str = "") -> list[str]:
    """``where: old -> new`` for each leaf that differs (dicts compared key by key)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            found += _differences(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new) and all(
            isinstance(item, dict) for item in old + new):
        found = []
        for index, (a, b) in enumerate(zip(old, new)):
            found += _differences(a, b, f"{where}[{index}]")
        return found
    return [] if old == new else [f"{where}: {_short(old)} -> {_short(new)}"]


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


def record_run(location: str, *, recipe: str, architecture: dict, data: dict, hyperparameters: dict,
               resuming: bool, chief: bool = True) -> dict:
    """Checks a resumed run against ``location/run.json`` and writes the current settings there.

    Args:
        location: the run's ``--output`` (local or a URL).
        recipe: ``"pretrain"``, ``"finetune"``, ...
        architecture, data: must equal the recorded ones when ``resuming``.
        hyperparameters: may differ when resuming (a warning lists the changes).
        resuming: there is a checkpoint to resume from.
        chief: only the chief writes (every worker checks).

    Raises:
        ConfigError: resuming a run of another recipe, architecture or data.
    """
    import tensorflow as tf

    path = os.path.join(location, MANIFEST_FILE)
    manifest = {"recipe": recipe, "command": command_line(), "architecture": architecture, "data": data,
                "hyperparameters": hyperparameters, "versions": _versions(),
                "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    manifest = json.loads(json.dumps(manifest, default=str))  # the values as they read back
    previous = None
    if resuming and tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path) as handle:
            try:
                previous = json.load(handle)
            except json.JSONDecodeError:
                previous = None
    if previous:
        for section in ("recipe", "architecture", "data"):
            differs = _differences(previous.get(section), manifest[section])
            if differs:
                raise ConfigError(
                    f"{location} holds a {previous.get('recipe')} run of another {section} ({'; '.join(differs)}): "
                    f"resuming it would mix the two. Use another --output, or rerun with the recorded settings "
                    f"(see {path})")
        changes = _differences(previous.get("hyperparameters"), manifest["hyperparameters"])
        if changes:
            print(f"warning: resuming {location} with changed settings: {'; '.join(changes)}",
                  file=sys.stderr, flush=True)
        manifest["changes"] = list(previous.get("changes", [])) + (
            [{"written": manifest["written"], "changed": changes}] if changes else [])
        manifest["first_command"] = previous.get("first_command", previous.get("command"))
    if chief:
        tf.io.gfile.makedirs(location)
        temporary = f"{path}.tmp-{os.getpid()}"
        with tf.io.gfile.GFile(temporary, "w") as handle:
            handle.write(json.dumps(manifest, indent=2) + "\n")
        tf.io.gfile.rename(temporary, path, overwrite=True)
    return manifest
