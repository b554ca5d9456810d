"""Directories written all at once: a reader sees the old directory or the whole new one, never a part."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import tempfile
from typing import Iterator


@contextlib.contextmanager
def staged_directory(directory: str | os.PathLike, overwrite: bool = False) -> Iterator[pathlib.Path]:
    """Yields an empty sibling of ``directory`` to write into, then renames it into place; on any
    error the partial directory is removed, so ``directory`` is never seen half written. Refuses to
    replace a non-empty ``directory`` unless ``overwrite``."""
    directory = pathlib.Path(directory)
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise FileExistsError(f"{directory} exists and is not empty; pass overwrite=True to replace it")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        yield staging
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
