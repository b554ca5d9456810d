"""The family registry: which model families bertzoo knows, how to recognise their checkpoint
directories, and how to load and save them.

A family is one folder under ``bertzoo/families/`` whose module ``family.py`` defines ``FAMILY``, a
``Family``. Adding a family is that folder plus one line in ``BUILT_IN_FAMILIES``; nothing else in
bertzoo changes. Families are imported on first use, so ``import bertzoo`` stays light.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pathlib
from typing import Any, Callable, ClassVar

# family name -> module defining FAMILY. The one registration a new family needs.
BUILT_IN_FAMILIES: dict[str, str] = {
    "awd_lstm": "bertzoo.families.awd_lstm.family",
    "bert": "bertzoo.families.bert.family",
    "elmo": "bertzoo.families.elmo.family",
    "gpt": "bertzoo.families.gpt.family",
    "transformer": "bertzoo.families.transformer.family",
    "word_vectors": "bertzoo.families.word_vectors.family",
}

_registered: dict[str, "Family"] = {}


class UnknownCheckpointFormatError(ValueError):
    """A directory that holds no checkpoint format of any family bertzoo knows."""


@dataclasses.dataclass
class Pretrained:
    """What ``bertzoo.load_pretrained`` returns for every family: the fields of DESIGN.md's bundle.

    Attributes:
        config: the family's architecture config (``BertConfig`` for BERT).
        encoder: a ``keras.Model`` meeting the encoder contract (TF Hub BERT inputs and outputs).
        tokenizer: the family's tokenizer with the checkpoint's vocabulary and settings.
        preprocessor: strings, or a pair of string batches, -> the encoder's input dict.
    """

    config: Any
    encoder: Any
    tokenizer: Any
    preprocessor: Any

    family: ClassVar[str] = ""


@dataclasses.dataclass(frozen=True)
class Family:
    """One model family, as the loader sees it.

    Attributes:
        name: the family's name (``bundle.family``).
        detect: directory -> the name of the family's checkpoint format found there, or None.
        load: ``load(directory, *, seq_length, **options) -> Pretrained``.
        save: ``save(bundle, out_dir, overwrite=False) -> pathlib.Path`` (bertzoo's own format).
        looked_for: what ``detect`` looks for, in words, for the error when no family matches.
    """

    name: str
    detect: Callable[[pathlib.Path], str | None]
    load: Callable[..., Pretrained]
    save: Callable[..., pathlib.Path]
    looked_for: str


def register_family(family: Family) -> None:
    """Adds (or replaces) a family; plug-ins outside bertzoo call this instead of editing the table."""
    _registered[family.name] = family


def family_names() -> list[str]:
    """Every family bertzoo can load, built-in and registered."""
    return sorted(set(BUILT_IN_FAMILIES) | set(_registered))


def get_family(name: str) -> Family:
    """The family called ``name``; a clear error lists the known ones."""
    if name not in _registered:
        if name not in BUILT_IN_FAMILIES:
            raise ValueError(f"unknown model family {name!r}; bertzoo knows {family_names()}")
        module = importlib.import_module(BUILT_IN_FAMILIES[name])
        register_family(module.FAMILY)
    return _registered[name]


def detect_family(directory: str | os.PathLike) -> tuple[Family, str]:
    """The family and checkpoint format of a directory, judged by its files (never by its name)."""
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"checkpoint directory not found: {directory}")
    families = [get_family(name) for name in family_names()]
    for family in families:
        checkpoint_format = family.detect(directory)
        if checkpoint_format is not None:
            return family, checkpoint_format
    found = sorted(path.name for path in directory.iterdir())
    raise UnknownCheckpointFormatError(
        f"{directory} holds no checkpoint format bertzoo reads. Looked for: "
        + "; ".join(f"{family.name}: {family.looked_for}" for family in families)
        + f". Found: {found or 'nothing'}")
