"""The cache under ``BERTZOO_HOME``: where entries live, when one counts as complete, and the
``list`` / ``verify`` / ``purge`` the ``bertzoo cache`` command runs.

Layout::

    BERTZOO_HOME/
      models/<name>/                 a complete entry: the checkpoint's files + MARKER
      models/.<name>.partial/        a download in progress (or interrupted, resumable)
      locks/<name>.lock              the entry's lock (+ <name>.lock.json: who holds it)
      remote/<key>/                  copies of TensorFlow-filesystem directories (gs://...)

An entry counts only when its MARKER (written last, before the folder is renamed into place) is
readable and the files its format needs are present; the marker records every file's size and
sha256, which ``verify`` re-checks.
"""

from __future__ import annotations

import dataclasses
import datetime
import fnmatch
import hashlib
import json
import os
import pathlib
import shutil
import sys
from typing import Any, Iterable

from bertzoo.hub import settings
from bertzoo.hub.catalogue import CatalogueEntry

MARKER = ".bertzoo-entry.json"
PARTIAL_SUFFIX = ".partial"
# Files each checkpoint format needs, as glob patterns ("a|b": either). Formats not listed need the
# entry's own files (single-file entries) or its ``required_files``.
FORMAT_FILES: dict[str, tuple[str, ...]] = {
    "google": ("bert_config.json", "vocab.txt", "*.ckpt*.index", "*.ckpt*.data-*"),
    "hugging_face": ("config.json", "vocab.txt", "model.safetensors|model.safetensors.index.json"),
    "keras_hub": ("config.json", "model.weights.h5|model.weights.json", "assets/tokenizer/vocabulary.txt"),
    "bertzoo": ("bertzoo.json", "model.safetensors", "vocab.txt"),
    "tf_hub": ("saved_model.pb", "variables/variables.index"),
}
_HASH_CHUNK = 1 << 20


def models_dir() -> pathlib.Path:
    return settings.home() / "models"


def entry_dir(name: str) -> pathlib.Path:
    """Where the entry called ``name`` lives once complete."""
    return models_dir() / name


def partial_dir(name: str) -> pathlib.Path:
    """The entry's staging folder (same filesystem, so the final rename is atomic)."""
    return models_dir() / f".{name}{PARTIAL_SUFFIX}"


def lock_path(name: str) -> pathlib.Path:
    return settings.home() / "locks" / f"{name}.lock"


def required_patterns(entry: CatalogueEntry) -> tuple[str, ...]:
    """What a complete cache entry of ``entry`` must hold."""
    patterns = list(FORMAT_FILES.get(entry.format or "", ()))
    patterns += list(entry.files)
    patterns += list(entry.required_files)
    return tuple(patterns)


def missing_files(directory: pathlib.Path, patterns: Iterable[str]) -> list[str]:
    """The patterns no file under ``directory`` matches."""
    present = [path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file()]
    missing = []
    for pattern in patterns:
        alternatives = pattern.split("|")
        if not any(fnmatch.fnmatchcase(name, alternative) for alternative in alternatives for name in present):
            missing.append(pattern)
    return missing


def read_marker(directory: pathlib.Path) -> dict[str, Any] | None:
    """The entry's marker, or None when absent or unreadable (then the entry does not count)."""
    try:
        data = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None


def complete_entry(entry: CatalogueEntry) -> pathlib.Path | None:
    """The entry's folder when it is complete (marker + the files its format needs), else None."""
    directory = entry_dir(entry.name)
    if not directory.is_dir() or read_marker(directory) is None:
        return None
    if missing_files(directory, required_patterns(entry)):
        return None
    return directory


def file_digest(path: pathlib.Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_marker(directory: pathlib.Path, entry: CatalogueEntry, *, files: dict[str, dict[str, Any]],
                 source: dict[str, Any]) -> None:
    """Records what was downloaded, its checksums and where from; written last, atomically."""
    import bertzoo  # the package root: its version only

    marker = {
        "name": entry.name, "family": entry.family, "format": entry.format, "source": source,
        "files": files, "completed": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "bertzoo_version": bertzoo.__version__,
    }
    temporary = directory / f"{MARKER}.tmp"
    temporary.write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, directory / MARKER)


def describe_files(directory: pathlib.Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every file under ``directory`` (the marker's ``files``)."""
    return {path.relative_to(directory).as_posix(): {"size": path.stat().st_size, "sha256": file_digest(path)}
            for path in sorted(directory.rglob("*")) if path.is_file() and path.name != MARKER}


def remove_tree(path: pathlib.Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=False)


# ------------------------------------------------------------------------------------ list/verify/purge
@dataclasses.dataclass
class CachedModel:
    """One folder of the cache, as ``bertzoo cache list`` shows it."""

    name: str
    path: pathlib.Path
    state: str  # "complete", "incomplete" (marker but files missing), "partial" (download unfinished)
    size: int
    completed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "state": self.state, "size": self.size,
                "completed": self.completed}


def list_cached() -> list[CachedModel]:
    """Every entry folder and unfinished download under ``BERTZOO_HOME``."""
    from bertzoo.hub.catalogue import find_entry

    root = models_dir()
    found = []
    if not root.is_dir():
        return found
    for path in sorted(root.iterdir()):
        if not path.is_dir():
            continue
        size = sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
        if path.name.startswith(".") and path.name.endswith(PARTIAL_SUFFIX):
            found.append(CachedModel(path.name[1:-len(PARTIAL_SUFFIX)], path, "partial", size))
            continue
        marker = read_marker(path)
        entry = find_entry(path.name)
        state = "incomplete"
        if marker is not None:
            patterns = required_patterns(entry) if entry is not None else tuple(marker["files"])
            state = "complete" if not missing_files(path, patterns) else "incomplete"
        found.append(CachedModel(path.name, path, state, size, (marker or {}).get("completed")))
    return found


@dataclasses.dataclass
class Verification:
    name: str
    path: pathlib.Path
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(names: Iterable[str] | None = None) -> list[Verification]:
    """Re-hashes every file the markers record; reports missing, resized or changed files."""
    wanted = {_canonical_name(name).lower() for name in names} if names else None
    results = []
    for cached in list_cached():
        if wanted is not None and cached.name.lower() not in wanted:
            continue
        if cached.state == "partial":
            results.append(Verification(cached.name, cached.path, ["download not finished (resumable)"]))
            continue
        marker = read_marker(cached.path)
        if marker is None:
            results.append(Verification(cached.name, cached.path, [f"no readable {MARKER}: not a complete entry"]))
            continue
        problems = []
        for relative, record in sorted(marker["files"].items()):
            path = cached.path / relative
            if not path.is_file():
                problems.append(f"{relative}: missing")
            elif path.stat().st_size != record.get("size"):
                problems.append(f"{relative}: {path.stat().st_size} bytes, recorded {record.get('size')}")
            elif file_digest(path) != record.get("sha256"):
                problems.append(f"{relative}: sha256 {file_digest(path)} differs from the recorded "
                                f"{record.get('sha256')}")
        if cached.state == "incomplete" and not problems:
            problems.append("files its format needs are missing")
        results.append(Verification(cached.name, cached.path, problems))
    if wanted:
        unknown = wanted - {result.name.lower() for result in results}
        for name in sorted(unknown):
            results.append(Verification(name, entry_dir(name), ["not in the cache"]))
    return results


def purge(names: Iterable[str] | None = None, *, partial_only: bool = False) -> list[pathlib.Path]:
    """Removes the named entries (all when None; only unfinished downloads with ``partial_only``)."""
    wanted = {_canonical_name(name).lower() for name in names} if names else None
    import filelock

    removed = []
    for cached in list_cached():
        if wanted is not None and cached.name.lower() not in wanted:
            continue
        if partial_only and cached.state != "partial":
            continue
        # Never pull an entry from under a download in progress: its lock must be free.
        path = lock_path(cached.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(path), thread_local=False, is_singleton=False)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            print(f"bertzoo: {cached.name} is being downloaded by another process; not removed", file=sys.stderr)
            continue
        try:
            remove_tree(cached.path)
        finally:
            lock.release()
        removed.append(cached.path)
    return removed


def _canonical_name(name: str) -> str:
    """The entry name an alias stands for (``bert-tiny`` -> ``uncased_L-2_H-128_A-2``)."""
    from bertzoo.hub.catalogue import find_entry

    entry = find_entry(name)
    return entry.name if entry else name
