"""bertzoo's own checkpoint format: what ``save_pretrained`` writes and ``load_pretrained`` reads.

A directory holding
- ``bertzoo.json``: format name and version, the ``BertConfig`` (bertzoo's unambiguous activation
  names) and the tokenizer settings (casing, accents, CJK splitting);
- ``model.safetensors``: the weights under canonical names (``bertzoo.families.bert.checkpoints.weight_names``), encoder
  and, when present, pretraining heads; safetensors, so no pickle and memory-mapped reads;
- ``vocab.txt``: the WordPiece vocabulary, one token per line.
It is written into a temporary sibling directory and renamed into place, so an interrupted save
never leaves a directory that looks complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np
import safetensors.numpy

from bertzoo.errors import disk_full_error, is_disk_full
from bertzoo.families.bert.bert_config import BertConfig, ConfigError

MANIFEST = "bertzoo.json"
WEIGHTS = "model.safetensors"
VOCAB = "vocab.txt"
FORMAT_NAME = "bertzoo"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class BertzooCheckpoint:
    """The contents of a bertzoo-format directory."""

    config: BertConfig
    tokenizer_settings: dict[str, Any]
    weights: dict[str, np.ndarray]
    vocabulary_path: pathlib.Path


def is_bertzoo_checkpoint(directory: pathlib.Path) -> bool:
    """Whether ``directory`` holds bertzoo's manifest."""
    return (directory / MANIFEST).is_file()


@contextlib.contextmanager
def staged_directory(directory: str | os.PathLike, overwrite: bool = False) -> Iterator[pathlib.Path]:
    """Yields an empty sibling of ``directory`` to write into, then renames it into place; on any
    error the partial directory is removed, so ``directory`` is never seen half written, and a
    previous ``directory`` stays as it was until the new one is complete (a full disk is reported
    as ``DiskFullError`` with the path and the free space). Refuses to replace a non-empty
    ``directory`` unless ``overwrite``."""
    directory = pathlib.Path(directory)
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise FileExistsError(f"{directory} exists and is not empty; pass overwrite=True to replace it")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        yield staging
        if directory.exists():
            # The old directory is moved aside (not deleted) until the new one is in place.
            retired = pathlib.Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
            os.replace(directory, retired / directory.name)
            try:
                os.replace(staging, directory)
            except BaseException:
                os.replace(retired / directory.name, directory)
                shutil.rmtree(retired, ignore_errors=True)
                raise
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, directory)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, Exception) and is_disk_full(error):
            kept = f"the previous {directory} is intact" if directory.exists() else f"{directory} was not created"
            raise disk_full_error(str(directory), error, kept) from error
        raise


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_safetensors(path: pathlib.Path) -> dict[str, np.ndarray]:
    """Reads a safetensors file; an unreadable (e.g. truncated) one is named."""
    try:
        return safetensors.numpy.load_file(str(path))
    except Exception as error:  # safetensors raises its own error types for corrupt files
        raise ValueError(f"{path} is damaged: not a readable safetensors file ({error})") from error


def verify_sha256(path: pathlib.Path, sha256: str | None, manifest_path: pathlib.Path) -> None:
    """Checks ``path`` against the SHA-256 its manifest recorded when it was written (None: an older
    directory without one), so that a corrupted file is named rather than loaded as wrong weights."""
    if sha256 is None:
        return
    actual = file_sha256(path)
    if actual != sha256:
        raise ValueError(f"{path} is damaged: its SHA-256 is {actual[:16]}..., {manifest_path.name} recorded "
                         f"{sha256[:16]}... when it was written (corrupted or replaced since; copy it again)")


def write_bertzoo_checkpoint(directory: str | os.PathLike, config: BertConfig,
                             tokenizer_settings: Mapping[str, Any], weights: Mapping[str, np.ndarray],
                             vocabulary: list[str], overwrite: bool = False) -> pathlib.Path:
    """Writes a bertzoo-format directory atomically; refuses to replace one unless ``overwrite``."""
    with staged_directory(directory, overwrite) as staging:
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "config": config.to_dict(),
            "tokenizer": dict(tokenizer_settings),
            "weights": WEIGHTS,
            "vocabulary": VOCAB,
        }
        arrays = {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in weights.items()}
        safetensors.numpy.save_file(arrays, str(staging / WEIGHTS), metadata={"format": FORMAT_NAME})
        manifest["sha256"] = {WEIGHTS: file_sha256(staging / WEIGHTS)}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        (staging / VOCAB).write_text("".join(token + "\n" for token in vocabulary), encoding="utf-8")
    return pathlib.Path(directory)


def read_bertzoo_checkpoint(directory: str | os.PathLike) -> BertzooCheckpoint:
    """Reads a directory written by ``write_bertzoo_checkpoint``."""
    directory = pathlib.Path(directory)
    manifest_path = directory / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(f"{manifest_path}: cannot read bertzoo manifest ({error})") from error
    if manifest.get("format") != FORMAT_NAME:
        raise ConfigError(f"{manifest_path}: field 'format' is {manifest.get('format')!r}, expected 'bertzoo'")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ConfigError(
            f"{manifest_path}: field 'format_version' is {version!r}; this bertzoo reads version {FORMAT_VERSION}")
    try:
        config = BertConfig(**manifest["config"])
    except (KeyError, TypeError) as error:
        raise ConfigError(f"{manifest_path}: field 'config' is not a BertConfig ({error})") from error
    weights_path = directory / manifest.get("weights", WEIGHTS)
    vocabulary_path = directory / manifest.get("vocabulary", VOCAB)
    for path in (weights_path, vocabulary_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing (named in {manifest_path})")
    weights = read_safetensors(weights_path)
    verify_sha256(weights_path, (manifest.get("sha256") or {}).get(weights_path.name), manifest_path)
    return BertzooCheckpoint(config=config, tokenizer_settings=dict(manifest.get("tokenizer", {})),
                             weights=weights, vocabulary_path=vocabulary_path)
