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

import hashlib
import json
import os
import pathlib
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import safetensors.numpy

from bertzoo.atomic_directory import staged_directory
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
    """Whether ``directory`` holds bertzoo's manifest for a BERT.

    Other families may write a ``bertzoo.json`` too; theirs name their ``family``. Manifests written
    before families existed have no such field and are BERT's.
    """
    path = directory / MANIFEST
    if not path.is_file():
        return False
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return True  # BERT's reader reports the damage, naming the file
    return not isinstance(manifest, dict) or manifest.get("family", "bert") == "bert"


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
            "family": "bert",
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
