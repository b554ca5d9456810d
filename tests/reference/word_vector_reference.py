"""Independent reimplementations for the word-vector tests, written from the originals' rules, not
from bertzoo's code:

- 3CosAdd analogy accuracy (Mikolov et al. 2013; gensim ``evaluate_word_analogies`` on an
  all-lower-case vocabulary): normalise every row, answer = argmax over the allowed rows of
  ``cos(w, b - a + c)`` with a, b, c excluded;
- fastText's subword hashing (``Dictionary::hash``, ``computeSubwords``), from the C++: FNV-1a over
  bytes read as signed chars, n-grams by UTF-8 characters of ``<word>``;
- a fastText ``.bin`` writer and a word2vec binary/text writer laid out as the C/C++ ``save`` code.
"""

from __future__ import annotations

import ctypes
import struct

import numpy as np


def analogy_accuracy(words: list[str], vectors: np.ndarray, lines: list[str], restrict_vocab: int) -> tuple[int, int, int]:
    """(correct, answered, skipped) of 3CosAdd over lower-cased questions; vocabulary all lower-case."""
    words = words[:restrict_vocab]
    unit = np.array(vectors[:restrict_vocab], np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    position = {}
    for i, w in enumerate(words):
        position.setdefault(w, i)
    questions = []
    skipped = 0
    for line in lines:
        if line.startswith(":"):
            continue
        parts = line.lower().split()
        if len(parts) != 4:
            continue
        if not all(p in position for p in parts):
            skipped += 1
            continue
        questions.append([position[p] for p in parts])
    q = np.asarray(questions)
    correct = 0
    for start in range(0, len(q), 64):
        chunk = q[start : start + 64]
        target = unit[chunk[:, 1]] - unit[chunk[:, 0]] + unit[chunk[:, 2]]
        target /= np.linalg.norm(target, axis=1, keepdims=True)
        similarity = target @ unit.T
        for column in range(3):
            similarity[np.arange(len(chunk)), chunk[:, column]] = -np.inf
        correct += int(np.sum(similarity.argmax(axis=1) == chunk[:, 3]))
    return correct, len(q), skipped


def fnv1a_signed(data: bytes) -> int:
    h = ctypes.c_uint32(2166136261)
    for byte in data:
        h = ctypes.c_uint32(h.value ^ ctypes.c_uint32(ctypes.c_int8(byte).value).value)
        h = ctypes.c_uint32(h.value * 16777619)
    return h.value


def subword_hashes(word: str, minn: int, maxn: int, bucket: int) -> list[int]:
    """The bucket numbers of ``word``'s n-grams, in computeSubwords's order (UTF-8 continuation bytes
    never start an n-gram and stay with their character)."""
    data = ("<" + word + ">").encode("utf-8")
    hashes = []
    i = 0
    while i < len(data):
        if data[i] & 0xC0 == 0x80:
            i += 1
            continue
        ngram = b""
        j, n = i, 1
        while j < len(data) and n <= maxn:
            ngram += data[j : j + 1]
            j += 1
            while j < len(data) and data[j] & 0xC0 == 0x80:
                ngram += data[j : j + 1]
                j += 1
            if n >= minn and not (n == 1 and (i == 0 or j == len(data))):
                hashes.append(fnv1a_signed(ngram) % bucket)
            n += 1
        i += 1
    return hashes


def fasttext_word_vector(matrix: np.ndarray, words: list[str], word: str, minn: int, maxn: int, bucket: int) -> np.ndarray:
    rows = ([words.index(word)] if word in words else []) + [len(words) + h for h in subword_hashes(word, minn, maxn, bucket)]
    if not rows:
        return np.zeros(matrix.shape[1], np.float32)
    return matrix[rows].mean(axis=0)


def write_fasttext_bin(path, words: list[str], counts: list[int], matrix: np.ndarray, *, minn: int, maxn: int,
                       bucket: int, model: int = 2, labels: tuple[str, ...] = (), version: int = 12) -> None:
    """A fastText ``.bin`` as ``FastText::saveModel`` lays it out (args, dictionary, input, output)."""
    dim = matrix.shape[1]
    out = bytearray()
    out += struct.pack("<ii", 793712314, version)
    out += struct.pack("<12id", dim, 5, 5, 1, 5, 1, 2, model, bucket, minn, maxn, 100, 1e-4)
    size = len(words) + len(labels)
    out += struct.pack("<iiiqq", size, len(words), len(labels), sum(counts), -1)
    for word, count in zip(words, counts):
        out += word.encode("utf-8") + b"\0" + struct.pack("<qb", count, 0)
    for label in labels:
        out += label.encode("utf-8") + b"\0" + struct.pack("<qb", 1, 1)
    out += struct.pack("<?", False)
    out += struct.pack("<qq", *matrix.shape) + matrix.astype("<f4").tobytes()
    output = np.zeros((len(words), dim), np.float32)
    out += struct.pack("<?", False)
    out += struct.pack("<qq", *output.shape) + output.tobytes()
    with open(path, "wb") as handle:
        handle.write(bytes(out))


def write_word2vec_c(path, words: list[str], vectors: np.ndarray, binary: bool) -> None:
    """As word2vec.c's final loop: ``"%lld %lld\\n"``, then ``"%s "`` and the floats (fwrite or ``"%lf "``), ``"\\n"``."""
    with open(path, "wb") as handle:
        handle.write(b"%d %d\n" % vectors.shape)
        for word, vector in zip(words, vectors):
            handle.write(word.encode("utf-8") + b" ")
            if binary:
                for value in vector:
                    handle.write(struct.pack("<f", value))
            else:
                for value in vector:
                    handle.write(b"%lf " % value)
            handle.write(b"\n")
