"""Reading text vector files line by line: ``word v1 v2 ... vd``, as GloVe, word2vec's text format and
fastText's ``.vec`` write them. Shared by those readers; gzip-compressed files are read as they are."""

from __future__ import annotations

import gzip
import logging
import os
import pathlib
from collections.abc import Iterator
from typing import IO

import numpy as np
from tqdm.auto import tqdm

from bertzoo.families.word_vectors.vector_file_error import VectorFileError

logger = logging.getLogger(__name__)


def open_binary(path: str | os.PathLike) -> IO[bytes]:
    """The file's bytes, decompressed if its name ends in ``.gz``."""
    path = pathlib.Path(path)
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def decode_word(raw: bytes, path, location: str, unicode_errors: str) -> str:
    try:
        return raw.decode("utf-8", errors=unicode_errors)
    except UnicodeDecodeError as error:
        raise VectorFileError(path, location, f"the word is not valid UTF-8 ({error.reason} at byte "
                              f"{error.start} of {raw[:40]!r}); pass unicode_errors='replace' to read it anyway"
                              ) from None


def parse_vector_line(line: bytes, dim: int | None, path, line_number: int,
                      unicode_errors: str = "strict") -> tuple[str, np.ndarray]:
    """One ``word v1 ... vd`` line -> (word, float32 vector).

    The numbers are the last ``dim`` fields, so a word may hold spaces (GloVe 840B has such
    words); a line whose word part ends in a number is a line with too many numbers.

    Raises:
        VectorFileError: naming the file and line, for a wrong count of numbers or a non-number.
    """
    location = f"line {line_number}"
    fields = line.rstrip(b"\r\n").rstrip(b" ").split(b" ")
    if dim is None:
        dim = len(fields) - 1
    if len(fields) < dim + 1:
        raise VectorFileError(path, location, f"expected a word and {dim} numbers, found {len(fields)} fields "
                              f"({len(fields) - 1} numbers after {fields[0][:40]!r})")
    word_fields, numbers = fields[: len(fields) - dim], fields[len(fields) - dim :]
    if len(word_fields) > 1 and _is_number(word_fields[-1]):
        raise VectorFileError(path, location, f"expected {dim} numbers after the word, found "
                              f"{dim + sum(_trailing_numbers(word_fields))} (the vectors of this file have {dim} "
                              "dimensions)")
    try:
        vector = np.asarray([float(x) for x in numbers], np.float32)
    except ValueError:
        bad = next(x for x in numbers if not _is_number(x))
        raise VectorFileError(path, location, f"expected a number, found {bad[:40]!r}") from None
    return decode_word(b" ".join(word_fields), path, location, unicode_errors), vector


def _is_number(field: bytes) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _trailing_numbers(fields: list[bytes]) -> Iterator[int]:
    for field in reversed(fields[1:]):
        if not _is_number(field):
            return
        yield 1


def read_vector_lines(path: str | os.PathLike, *, header: bool, limit: int | None = None,
                      unicode_errors: str = "strict", progress: bool | None = None) -> tuple[list[str], np.ndarray]:
    """Words and vectors of a text vector file.

    Args:
        path: the file (``.gz`` is decompressed).
        header: the first line is ``count dim`` (word2vec text, fastText ``.vec``); GloVe has none.
        limit: read only the first ``limit`` vectors (the most frequent words).
        unicode_errors: ``strict`` (a clear error) or ``replace``/``ignore`` for undecodable words.
        progress: a tqdm bar; None shows it on a terminal only.

    Raises:
        VectorFileError: a bad header, a wrong count of numbers on a line (file and line named), or
            fewer vectors than the header promises.
    """
    words: list[str] = []
    rows: list[np.ndarray] = []
    count = dim = None
    first_line = 1
    with open_binary(path) as handle, tqdm(desc=pathlib.Path(path).name, unit=" vectors",
                                           disable=None if progress is None else not progress) as bar:
        if header:
            head = handle.readline()
            count, dim = _parse_header(head, path)
            first_line = 2
        for line_number, line in enumerate(handle, start=first_line):
            if limit is not None and len(words) >= limit:
                break
            if not line.strip():
                continue
            word, vector = parse_vector_line(line, dim, path, line_number, unicode_errors)
            dim = len(vector)
            words.append(word)
            rows.append(vector)
            bar.update(1)
    if count is not None and len(words) < min(count, limit or count):
        raise VectorFileError(path, f"line {first_line + len(words)}", f"the header promises {count} vectors, "
                              f"the file ends after {len(words)}")
    if not rows:
        raise VectorFileError(path, "line 1", "no vectors in the file")
    _warn_duplicates(words, path)
    return words, np.stack(rows)


def _parse_header(head: bytes, path) -> tuple[int, int]:
    fields = head.split()
    try:
        count, dim = (int(field) for field in fields)
    except ValueError:
        raise VectorFileError(path, "line 1", f"expected the header 'count dim' (two integers), found "
                              f"{head[:60]!r}") from None
    if count < 0 or dim <= 0:
        raise VectorFileError(path, "line 1", f"the header says {count} vectors of dimension {dim}")
    return count, dim


def _warn_duplicates(words: list[str], path) -> None:
    duplicates = len(words) - len(set(words))
    if duplicates:
        logger.warning("%s: %d words are listed more than once; lookups use the first (most frequent) row",
                       path, duplicates)
