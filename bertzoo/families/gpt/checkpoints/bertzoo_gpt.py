"""bertzoo's own GPT format: what ``save_pretrained`` writes for a GPT bundle.

A directory holding ``bertzoo_gpt.json`` (format name and version, the ``GPTConfig``, which
tokenizer), ``model.safetensors`` (canonical weight names, ``gpt_weights``) and the tokenizer's BPE
files (``encoder.json`` + ``vocab.bpe``), written atomically (a staged sibling renamed into place).
The manifest has its own name so BERT's ``bertzoo.json`` reader never claims it.
"""

from __future__ import annotations

import json
import pathlib
import shutil
from typing import Mapping

import numpy as np
import safetensors.numpy

from bertzoo.errors import ConfigError
from bertzoo.families.gpt.gpt_config import GPTConfig

MANIFEST = "bertzoo_gpt.json"
WEIGHTS = "model.safetensors"
FORMAT_NAME = "bertzoo_gpt"
FORMAT_VERSION = 1
TOKENIZER_FILES = ("encoder.json", "vocab.bpe")


def is_bertzoo_gpt(directory: pathlib.Path) -> bool:
    return (directory / MANIFEST).is_file()


def write_bertzoo_gpt(staging: pathlib.Path, config: GPTConfig, weights: Mapping[str, np.ndarray],
                      tokenizer_kind: str | None, tokenizer_files: Mapping[str, pathlib.Path] | None) -> None:
    """Writes the format into an (empty, staged) directory; ``tokenizer_files`` maps
    ``encoder.json`` / ``vocab.bpe`` to the files to copy."""
    manifest = {"format": FORMAT_NAME, "family": "gpt", "format_version": FORMAT_VERSION, "config": config.to_dict(),
                "tokenizer": tokenizer_kind, "weights": WEIGHTS}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    arrays = {name: np.ascontiguousarray(value, np.float32) for name, value in weights.items()}
    safetensors.numpy.save_file(arrays, str(staging / WEIGHTS), metadata={"format": FORMAT_NAME})
    for name, source in (tokenizer_files or {}).items():
        shutil.copyfile(source, staging / name)


def read_bertzoo_gpt(directory: pathlib.Path) -> tuple[GPTConfig, dict[str, np.ndarray], str | None, str]:
    """Reads ``(config, weights, tokenizer kind, source)``."""
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the manifest ({error})") from error
    if manifest.get("format") != FORMAT_NAME:
        raise ConfigError(f"{path}: field 'format' is {manifest.get('format')!r}, expected {FORMAT_NAME!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{path}: field 'format_version' is {manifest.get('format_version')!r}; this bertzoo "
                          f"reads version {FORMAT_VERSION}")
    config = GPTConfig.from_dict(manifest.get("config") or {}, source=f"{path} field 'config'")
    weights_path = directory / manifest.get("weights", WEIGHTS)
    if not weights_path.is_file():
        raise FileNotFoundError(f"{weights_path} is missing (named in {path})")
    try:
        weights = safetensors.numpy.load_file(str(weights_path))
    except Exception as error:  # safetensors raises its own types for corrupt files
        raise ValueError(f"{weights_path}: not a readable safetensors file ({error})") from error
    return config, weights, manifest.get("tokenizer"), str(weights_path)
