"""``load_pretrained`` and ``save_pretrained`` for every family: a name or path in, a bundle out.

The family and checkpoint format come from the directory's files (``bertzoo.families.registry``);
the family's own loader builds the bundle.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

from bertzoo.families.registry import Pretrained, detect_family, get_family


def resolve_checkpoint(name_or_path: str | os.PathLike) -> pathlib.Path:
    """A local checkpoint directory for ``name_or_path``."""
    path = pathlib.Path(name_or_path)
    if path.exists():
        return path
    raise FileNotFoundError(f"checkpoint directory not found: {path}")


def detect_format(name_or_path: str | os.PathLike) -> str:
    """Which checkpoint format a directory holds (``google``, ``hugging_face``, ``bertzoo``, ...)."""
    return detect_family(resolve_checkpoint(name_or_path))[1]


def load_pretrained(name_or_path: str | os.PathLike, seq_length: int = 128, *, family: str | None = None,
                    **options: Any) -> Pretrained:
    """Reads a pretrained model of any family.

    Args:
        name_or_path: a checkpoint directory (its family and format are detected from its files).
        seq_length: the preprocessor's fixed output length.
        family: skip detection and read the directory as this family.
        **options: the family's own options (BERT: ``do_lower_case``, ``dtype``).

    Returns:
        The family's bundle: ``family``, ``config``, ``encoder``, ``tokenizer``, ``preprocessor``.
    """
    directory = resolve_checkpoint(name_or_path)
    if family is None:
        found, _ = detect_family(directory)
    else:
        found = get_family(family)
    return found.load(directory, seq_length=seq_length, **options)


def save_pretrained(bundle: Pretrained, out_dir: str | os.PathLike, overwrite: bool = False) -> pathlib.Path:
    """Writes ``bundle`` in bertzoo's own format for its family; ``load_pretrained`` reads it back."""
    return get_family(bundle.family).save(bundle, out_dir, overwrite=overwrite)
