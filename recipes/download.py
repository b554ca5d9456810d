"""Recipe `bertzoo download NAME...`: each model into the cache, once; prints its local directory."""

from __future__ import annotations

import pathlib

from bertzoo.hub import download as download_entry
from bertzoo.hub import find_entry, resolve


def run(names: list[str], force: bool = False) -> list[pathlib.Path]:
    """Downloads every name (catalogue names with ``force`` fetched again); returns their folders."""
    folders = []
    for name in names:
        if find_entry(name) is not None:
            folder = download_entry(name, force=force)
        else:
            folder = resolve(name).directory  # hf://, TF Hub / Kaggle handles, presets, gs://
        print(f"{name}\t{folder}", flush=True)
        folders.append(folder)
    return folders
