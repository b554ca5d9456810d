"""word2vec's own formats (tmikolov/word2vec, ``word2vec.c``), read and written.

Both start with a header line ``count dim``. Then, per word, most frequent first and ``</s>`` (the
end-of-sentence token word2vec counts for every newline) first of all when the file came from
``word2vec.c``:
- binary (``-binary 1``): the word, one space, ``dim`` little-endian float32s, and a newline;
- text (``-binary 0``): ``word v1 ... vd`` with a space after every number.
fastText's ``.vec`` files are the text format. GoogleNews's ``.bin.gz`` is read as it is.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
from tqdm.auto import tqdm

from bertzoo.families.word_vectors.vector_file_error import VectorFileError
from bertzoo.families.word_vectors.vector_lines import (
    _parse_header, _warn_duplicates, decode_word, open_binary, read_vector_lines)
from bertzoo.families.word_vectors.vector_table import VectorTable

_CHUNK = 1 << 20


def read_word2vec_text(path: str | os.PathLike, *, limit: int | None = None, unicode_errors: str = "strict",
                       progress: bool | None = None) -> VectorTable:
    """Reads word2vec's text format (or a fastText ``.vec``); every line must have the header's dimension."""
    words, vectors = read_vector_lines(path, header=True, limit=limit, unicode_errors=unicode_errors,
                                       progress=progress)
    return VectorTable(words, vectors, source=str(path))


def read_word2vec_binary(path: str | os.PathLike, *, limit: int | None = None, unicode_errors: str = "strict",
                         progress: bool | None = None) -> VectorTable:
    """Reads word2vec's binary format (``.bin``, or ``.bin.gz`` such as GoogleNews-vectors-negative300).

    Raises:
        VectorFileError: a bad header, a word that runs past the end of the file, or a file that ends
            inside a vector; the byte offset and the word's number are named.
    """
    with open_binary(path) as handle:
        head = handle.readline()
        count, dim = _parse_header(head, path)
        wanted = count if limit is None else min(count, limit)
        vector_bytes = 4 * dim
        vectors = np.empty((wanted, dim), np.float32)
        words: list[str] = []
        buffer = b""
        offset = len(head)  # file offset of buffer[0]
        position = 0
        with tqdm(total=wanted, desc=pathlib.Path(path).name, unit=" vectors", disable=None if progress is None
                  else not progress) as bar:
            for index in range(wanted):
                while True:  # the word: up to the next space, newlines before it skipped
                    space = buffer.find(b" ", position)
                    if space >= 0:
                        break
                    more = handle.read(_CHUNK)
                    if not more:
                        raise VectorFileError(path, f"byte {offset + position}", f"word {index + 1} of {count}: the "
                                              "file ends before the space that ends a word")
                    buffer, offset, position = buffer[position:] + more, offset + position, 0
                raw_word = buffer[position:space].lstrip(b"\n")
                position = space + 1
                while len(buffer) - position < vector_bytes:
                    more = handle.read(max(_CHUNK, vector_bytes))
                    if not more:
                        raise VectorFileError(path, f"byte {offset + position}", f"word {index + 1} of {count} "
                                              f"({raw_word[:40].decode('utf-8', 'replace')!r}): the file ends inside its {dim} float32s")
                    buffer, offset, position = buffer[position:] + more, offset + position, 0
                vectors[index] = np.frombuffer(buffer, "<f4", dim, position)
                position += vector_bytes
                words.append(decode_word(raw_word, path, f"byte {offset + position - vector_bytes}", unicode_errors))
                bar.update(1)
    _warn_duplicates(words, path)
    return VectorTable(words, vectors, source=str(path))


def write_word2vec(path: str | os.PathLike, table: VectorTable, *, binary: bool = True) -> None:
    """Writes ``table`` in word2vec's binary or text format, as ``word2vec.c``'s ``-output`` does."""
    with open(path, "wb") as handle:
        handle.write(f"{len(table)} {table.dim}\n".encode())
        for word, vector in zip(table.words, table.vectors):
            if binary:
                handle.write(word.encode("utf-8") + b" " + vector.astype("<f4").tobytes() + b"\n")
            else:
                handle.write((word + " " + "".join(f"{float(x):f} " for x in vector) + "\n").encode("utf-8"))
