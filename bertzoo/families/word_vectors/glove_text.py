"""Stanford GloVe's text files (``glove.6B.50d.txt``, ...): one ``word v1 ... vd`` line per word, no
header, most frequent first. GloVe 6B and the Twitter vectors are lower-cased; 42B and 840B are
cased (and 840B has words with spaces in them, read correctly)."""

from __future__ import annotations

import os

from bertzoo.families.word_vectors.vector_lines import read_vector_lines
from bertzoo.families.word_vectors.vector_table import VectorTable


def read_glove_text(path: str | os.PathLike, *, limit: int | None = None, unicode_errors: str = "strict",
                    progress: bool | None = None) -> VectorTable:
    """Reads a GloVe text file; the dimension is that of its first line, and every line must match it.

    Raises:
        VectorFileError: a line with a different dimension or a non-number, naming file and line.
    """
    words, vectors = read_vector_lines(path, header=False, limit=limit, unicode_errors=unicode_errors,
                                       progress=progress)
    return VectorTable(words, vectors, source=str(path))


def write_glove_text(path: str | os.PathLike, table: VectorTable) -> None:
    """Writes ``table`` as GloVe does (no header; numbers as Python's shortest round-trip repr)."""
    with open(path, "w", encoding="utf-8") as handle:
        for word, vector in zip(table.words, table.vectors):
            handle.write(word + " " + " ".join(repr(float(x)) for x in vector) + "\n")
