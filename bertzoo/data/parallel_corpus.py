"""Parallel corpora for translation: a TSV of ``source<TAB>target`` lines, or two aligned files."""

from __future__ import annotations

import os
import pathlib


def read_parallel_corpus(tsv: str | os.PathLike | None = None, *, source: str | os.PathLike | None = None,
                         target: str | os.PathLike | None = None) -> tuple[list[str], list[str]]:
    """The (sources, targets) of a parallel corpus, line by line.

    Either ``tsv`` (each line ``source<TAB>target``; blank lines are skipped) or both ``source``
    and ``target`` (line ``i`` of one translates line ``i`` of the other; they must have as many
    lines). Errors name the file and line.
    """
    if (tsv is None) == (source is None and target is None):
        raise ValueError("give either a TSV file or both a source and a target file")
    if tsv is not None:
        path = pathlib.Path(tsv)
        sources, targets = [], []
        for number, line in enumerate(_lines(path), start=1):
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 2:
                raise ValueError(f"{path} line {number}: expected 'source<TAB>target' (2 tab-separated fields), "
                                 f"found {len(fields)}: {line[:80]!r}")
            sources.append(fields[0].strip())
            targets.append(fields[1].strip())
    else:
        if source is None or target is None:
            raise ValueError("a source file needs its target file (and the reverse)")
        sources = [line.strip() for line in _lines(pathlib.Path(source))]
        targets = [line.strip() for line in _lines(pathlib.Path(target))]
        if len(sources) != len(targets):
            raise ValueError(f"{source} has {len(sources)} lines but {target} has {len(targets)}; aligned files "
                             f"need one line per sentence pair")
    if not sources:
        raise ValueError(f"no sentence pairs in {tsv or source}")
    return sources, targets


def _lines(path: pathlib.Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"parallel corpus file not found: {path}")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text (byte {error.start})") from None
