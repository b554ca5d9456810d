"""Directories written all at once: a reader sees the old directory or the whole new one, never a part."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import tempfile
from typing import Iterator

from bertzoo.errors import disk_full_error, is_disk_full


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
