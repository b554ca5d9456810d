"""fastText's ``.bin`` model files (facebookresearch/fastText, ``FastText::saveModel``), read for their
word vectors and their subword model, so that any word, in the vocabulary or not, gets a vector.

Layout, little-endian: int32 magic 793712314, int32 version (11 or 12); the args (int32 ``dim ws
epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate``, float64 ``t``); the
dictionary (int32 ``size nwords nlabels``, int64 ``ntokens pruneidx_size``, then per entry the
word's bytes, a NUL, int64 count, int8 type: 0 word, 1 label; then ``pruneidx_size`` int32 pairs);
bool ``quant``; the input matrix (int64 rows, int64 cols, float32 data: ``nwords + bucket`` rows);
bool ``qout``; the output matrix.

A word's vector is fastText's ``getWordVector``: the mean of the input rows of its subwords. An
in-vocabulary word's subwords are its own row plus its character n-grams; an unknown word has its
n-grams only (no n-gram: the zero vector, as fastText gives). The n-grams of a word are those of
``<word>`` of ``minn..maxn`` UTF-8 characters (not bytes), the lone ``<`` and ``>`` excluded, each
hashed with 32-bit FNV-1a in which every byte is first sign-extended (``uint32_t(int8_t(c))``, so
bytes >= 0x80 XOR in as ``0xFFFFFF80 | c``), modulo ``bucket``, then shifted by ``nwords``. A pruned
model (``pruneidx_size > 0``) keeps only the listed buckets, renumbered; ``pruneidx_size == 0``
means no n-grams at all. ``</s>`` has no n-grams. Quantized models (``.ftz``) are not read.
"""

from __future__ import annotations

import dataclasses
import os
import struct

import numpy as np

from bertzoo.families.word_vectors.vector_file_error import VectorFileError
from bertzoo.families.word_vectors.vector_lines import open_binary
from bertzoo.families.word_vectors.vector_table import VectorTable

FASTTEXT_MAGIC = 793712314
SUPPORTED_VERSIONS = (11, 12)
_ARGS = struct.Struct("<12id")
_ARG_NAMES = ("dim", "ws", "epoch", "min_count", "neg", "word_ngrams", "loss", "model", "bucket", "minn", "maxn",
              "lr_update_rate", "t")
EOS = "</s>"
SUPERVISED = 3


def fasttext_hash(data: bytes) -> int:
    """fastText's ``Dictionary::hash``: FNV-1a over the bytes, each sign-extended from int8 first.

    Example:
        >>> fasttext_hash(b"<ca"), fasttext_hash("é".encode())
        (1066916747, 1023043777)
    """
    h = 2166136261
    for byte in data:
        h ^= (byte | 0xFFFFFF00) if byte >= 0x80 else byte
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def character_ngrams(word: str, minn: int, maxn: int) -> list[bytes]:
    """The n-grams fastText hashes for ``word`` (``Dictionary::computeSubwords`` on ``<word>``), in its
    order: by start character, then length; lengths count UTF-8 characters."""
    chars = [c.encode("utf-8") for c in "<" + word + ">"]
    ngrams = []
    for start in range(len(chars)):
        for n in range(1, maxn + 1):
            end = start + n
            if end > len(chars):
                break
            if n >= minn and not (n == 1 and (start == 0 or end == len(chars))):
                ngrams.append(b"".join(chars[start:end]))
    return ngrams


@dataclasses.dataclass
class FastTextSubwords:
    """fastText's subword model: the input matrix and how words map to its rows.

    Attributes:
        input_matrix: float32 ``[nwords + buckets, dim]`` (rows of words, then of n-gram buckets).
        word_ids: in-vocabulary word -> its row.
        minn, maxn, bucket: the n-gram lengths and the hash modulus of the model's args.
        pruned: bucket -> row offset, for a pruned model; None when unpruned.
    """

    input_matrix: np.ndarray
    word_ids: dict[str, int]
    nwords: int
    minn: int
    maxn: int
    bucket: int
    pruned: dict[int, int] | None = None

    def subword_rows(self, word: str) -> list[int]:
        """The input rows whose mean is the word's vector (fastText's ``getSubwords``)."""
        rows = []
        row = self.word_ids.get(word)
        if row is not None:
            rows.append(row)
        if word == EOS or self.maxn <= 0 or self.bucket <= 0:
            return rows
        for ngram in character_ngrams(word, self.minn, self.maxn):
            bucket = fasttext_hash(ngram) % self.bucket
            if self.pruned is not None:
                if bucket not in self.pruned:
                    continue
                bucket = self.pruned[bucket]
            rows.append(self.nwords + bucket)
        return rows

    def word_vector(self, word: str) -> np.ndarray | None:
        """The mean of the word's subword rows; the zero vector when it has none (as fastText)."""
        rows = self.subword_rows(word)
        if not rows:
            return np.zeros(self.input_matrix.shape[1], np.float32)
        return self.input_matrix[rows].mean(axis=0, dtype=np.float32)


class _Reader:
    def __init__(self, path, data: bytes):
        self.path, self.data, self.offset = path, data, 0

    def take(self, size: int, what: str) -> bytes:
        if self.offset + size > len(self.data):
            raise VectorFileError(self.path, f"byte {self.offset}", f"the file ends inside {what} "
                                  f"({size} bytes wanted, {len(self.data) - self.offset} left): truncated download?")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def unpack(self, fmt: str, what: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))


def read_fasttext_bin(path: str | os.PathLike, *, unicode_errors: str = "strict") -> VectorTable:
    """Reads a fastText ``.bin`` model: the table of its vocabulary (each word's ``getWordVector``, what
    its ``.vec`` holds) with the subword model attached for out-of-vocabulary words.

    Raises:
        VectorFileError: not a fastText model (bad magic), an unknown version, a quantized model, a
            matrix whose shape disagrees with the args and dictionary, or a truncated file.
    """
    with open_binary(path) as handle:  # cc.en.300.bin.gz is read as it is
        data = handle.read()
    reader = _Reader(path, data)
    magic, version = reader.unpack("<ii", "the magic number and version")
    if magic != FASTTEXT_MAGIC:
        raise VectorFileError(path, "byte 0", f"not a fastText model: magic number {magic}, expected {FASTTEXT_MAGIC}")
    if version not in SUPPORTED_VERSIONS:
        raise VectorFileError(path, "byte 4", f"fastText file version {version}; bertzoo reads {SUPPORTED_VERSIONS}")
    args = dict(zip(_ARG_NAMES, _ARGS.unpack(reader.take(_ARGS.size, "the model arguments"))))
    if version == 11 and args["model"] == SUPERVISED:
        args["maxn"] = 0  # fastText: old supervised models have no character n-grams
    size, nwords, nlabels = reader.unpack("<iii", "the dictionary sizes")
    _ntokens, pruneidx_size = reader.unpack("<qq", "the dictionary sizes")
    words: list[str] = []
    for index in range(size):
        end = data.find(b"\0", reader.offset)
        if end < 0:
            raise VectorFileError(path, f"byte {reader.offset}", f"dictionary entry {index + 1} of {size}: no NUL "
                                  "ends the word")
        start = reader.offset
        raw = reader.take(end - start + 1, "a dictionary word")[:-1]
        _count, entry_type = reader.unpack("<qb", "a dictionary entry")
        try:
            word = raw.decode("utf-8", errors=unicode_errors)
        except UnicodeDecodeError as error:
            raise VectorFileError(path, f"byte {start}", f"dictionary word {index + 1} is not valid UTF-8 "
                                  f"({error.reason}); pass unicode_errors='replace'") from None
        if entry_type == 0:
            words.append(word)
    if len(words) != nwords:
        raise VectorFileError(path, f"byte {reader.offset}", f"the dictionary says {nwords} words, its entries hold "
                              f"{len(words)} (and {nlabels} labels expected)")
    pruned = None
    if pruneidx_size > 0:
        pairs = np.frombuffer(reader.take(8 * pruneidx_size, "the pruned-bucket index"), "<i4").reshape(-1, 2)
        pruned = {int(a): int(b) for a, b in pairs}
    (quant,) = reader.unpack("<?", "the quantization flag")
    if quant:
        raise VectorFileError(path, f"byte {reader.offset - 1}", "a quantized fastText model (.ftz): bertzoo "
                              "reads unquantized .bin models only")
    rows, cols = reader.unpack("<qq", "the input matrix shape")
    if cols != args["dim"]:
        raise VectorFileError(path, f"byte {reader.offset - 16}", f"the input matrix has {cols} columns, the args "
                              f"say dim {args['dim']}")
    expected_rows = nwords + (args["bucket"] if pruneidx_size < 0 else max(pruneidx_size, 0))
    if rows < nwords or (pruneidx_size < 0 and rows != expected_rows):
        raise VectorFileError(path, f"byte {reader.offset - 16}", f"the input matrix has {rows} rows, expected "
                              f"{expected_rows} (nwords {nwords} + buckets)")
    matrix = np.frombuffer(reader.take(4 * rows * cols, "the input matrix"), "<f4").reshape(rows, cols)
    subwords = FastTextSubwords(
        input_matrix=matrix, word_ids={word: i for i, word in enumerate(words)}, nwords=nwords,
        minn=args["minn"], maxn=args["maxn"], bucket=args["bucket"] if pruneidx_size != 0 else 0, pruned=pruned)
    vectors = np.stack([subwords.word_vector(word) for word in words]) if words else np.zeros((0, cols), np.float32)
    return VectorTable(words, vectors, subwords=subwords, source=str(path), metadata={"fasttext_args": args,
                                                                                        "version": version})
