"""Recipe `bertzoo train-word-vectors`: word2vec from scratch (skip-gram or CBOW with negative
sampling), as ``word2vec.c`` trains it, on the bertzoo trainer.

The corpus's lines are sentences (word2vec's ``</s>`` per newline); the vocabulary is every word
seen ``min_count`` times; examples come from ``bertzoo.families.word_vectors.word2vec_training``
(subsampling, shrinking windows, unigram^0.75 negatives) and SGD takes ``word2vec.c``'s step per
example with a linearly falling learning rate. Training runs for ``epochs`` passes, counted in the
expected number of examples per pass.

Output (``OUTPUT/``): ``vectors.bin`` (word2vec's binary format, ``</s>`` first: ``bertzoo.load_pretrained``
and gensim read it), ``vocab.txt`` (``word count`` lines, as ``-save-vocab``), ``metrics.json``,
``checkpoints/`` and TensorBoard ``logs/``. Rerunning the same command resumes from the last
checkpoint (the example stream starts afresh: it draws random numbers, which tf.data cannot save).
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Sequence

import keras
import numpy as np

from bertzoo.families.word_vectors.vector_table import VectorTable
from bertzoo.families.word_vectors.word2vec_format import write_word2vec
from bertzoo.families.word_vectors.word2vec_training import (
    LinearDecay, Word2VecModel, build_vocabulary, keep_probabilities, read_corpus_lines, training_dataset,
    word2vec_loss)
from bertzoo.training import Trainer, is_chief, resolve_strategy

DEFAULT_CORPUS = str(pathlib.Path(__file__).resolve().parent / "data" / "pretraining_corpus.txt")
# word2vec.c's defaults: alpha 0.025 for skip-gram, 0.05 for CBOW.
DEFAULT_ALPHA = {"skipgram": 0.025, "cbow": 0.05}


def examples_per_epoch(vocabulary, lines: Sequence[str], model: str, window: int, sample: float,
                       lowercase: bool) -> int:
    """The expected number of training examples in one pass (after subsampling; a skip-gram centre
    word has ``window + 1`` context words on average inside a long sentence)."""
    index = {word: i for i, word in enumerate(vocabulary.words)}
    keep = keep_probabilities(vocabulary.counts, sample)
    expected = 0.0
    for line in lines:
        ids = [index[w] for w in (line.lower() if lowercase else line).split() if w in index and w != "</s>"]
        kept = float(np.sum(keep[ids])) if ids else 0.0
        expected += kept * min(window + 1, max(kept - 1, 0)) if model == "skipgram" else kept
    return max(int(expected), 1)


def run(*, corpus: str | Sequence[str] = DEFAULT_CORPUS, output: str, model: str = "skipgram", dim: int = 100,
        window: int = 5, negative: int = 5, sample: float = 1e-3, min_count: int = 5, epochs: float = 5.0,
        alpha: float | None = None, lowercase: bool = False, global_batch_size: int = 1024,
        table_size: int = 10_000_000, strategy: str = "auto", log_every: int = 100, checkpoint_every: int = 1000,
        jit_compile: bool = False, seed: int = 12345, verbose: bool = True) -> dict:
    """Trains word vectors on ``corpus`` and writes ``OUTPUT/vectors.bin``.

    Args:
        corpus: text file(s), one sentence per line (default: the embedded CC0 corpus).
        output: the run directory.
        model: ``skipgram`` or ``cbow``.
        dim, window, negative, sample, min_count: word2vec.c's ``-size -window -negative -sample -min-count``.
        epochs: passes over the corpus (``-iter``).
        alpha: starting learning rate (default word2vec.c's: 0.025 skip-gram, 0.05 CBOW).
        lowercase: lower-case the corpus first (word2vec.c does not).
        global_batch_size: examples per step.
        table_size: slots of the unigram table (word2vec.c: 1e8).
        strategy: tf.distribute strategy name.
        jit_compile: XLA-compile the train step.
        seed: seeds the initial vectors and the data's randomness.

    Returns:
        The trainer's final figures plus ``vocab_size``, ``train_words`` and ``steps``.
    """
    if model not in DEFAULT_ALPHA:
        raise ValueError(f"model must be 'skipgram' or 'cbow', got {model!r}")
    for name, value in (("dim", dim), ("window", window), ("negative", negative), ("min_count", min_count),
                        ("global_batch_size", global_batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    alpha = DEFAULT_ALPHA[model] if alpha is None else alpha
    lines = read_corpus_lines(corpus)
    vocabulary = build_vocabulary(lines, min_count=min_count, lowercase=lowercase)
    if len(vocabulary) < 2:
        raise ValueError(f"no word of {corpus} occurs min_count={min_count} times")
    per_epoch = examples_per_epoch(vocabulary, lines, model, window, sample, lowercase)
    steps = max(1, int(epochs * per_epoch) // global_batch_size)
    _say(verbose, f"{len(vocabulary)} words (min_count {min_count}), {vocabulary.train_words} training words; "
                  f"{model}, dim {dim}, window {window}, {negative} negatives: ~{per_epoch} examples per epoch, "
                  f"{steps} steps of {global_batch_size}")
    keras.utils.set_random_seed(seed)
    distribution = resolve_strategy(strategy)
    dataset = training_dataset(lines, vocabulary, model=model, window=window, sample=sample, negative=negative,
                               batch_size=global_batch_size, table_size=table_size, lowercase=lowercase, seed=seed)
    trainer = Trainer(distribution, lambda: Word2VecModel(len(vocabulary), dim, model=model),
                      # word2vec_loss is a per-example mean: alpha * batch is alpha per example
                      lambda: keras.optimizers.SGD(LinearDecay(alpha * global_batch_size, steps)),
                      word2vec_loss, global_batch_size=global_batch_size, output_dir=output, log_every=log_every,
                      checkpoint_every=checkpoint_every, max_checkpoints=1, jit_compile=jit_compile, seed=seed,
                      # the example stream draws random numbers (stateful ops): a resume restarts it
                      checkpoint_iterator=False, verbose=verbose)
    final = trainer.train(dataset, steps)
    vectors = trainer.model.word_vectors.embeddings.numpy()
    if is_chief(distribution):
        out = pathlib.Path(output)
        write_word2vec(out / "vectors.bin", VectorTable(vocabulary.words, vectors))
        (out / "vocab.txt").write_text("".join(f"{w} {c}\n" for w, c in zip(vocabulary.words, vocabulary.counts)),
                                       encoding="utf-8")
        metrics_path = out / "metrics.json"
        metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
        metrics.update({"vocab_size": len(vocabulary), "train_words": vocabulary.train_words, "steps": steps,
                        "examples_per_epoch": per_epoch, "model": model, "dim": dim})
        metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    _say(verbose, f"wrote {os.path.join(output, 'vectors.bin')}")
    return {**final, "vocab_size": len(vocabulary), "train_words": vocabulary.train_words, "steps": steps}


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(message, flush=True)
