"""word2vec training: word2vec.c's vocabulary, subsampling and unigram table rules checked against
their C formulas, the CLI end to end, and skip-gram on the embedded corpus putting words of the same
document nearer than words of different documents."""

from __future__ import annotations

import collections
import json
import math
import pathlib

import numpy as np
import pytest

import bertzoo
from bertzoo.cli import main as cli_main
from bertzoo.families.word_vectors.word2vec_training import (
    build_vocabulary, keep_probabilities, read_corpus_lines, training_dataset, unigram_table)

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "recipes" / "data" / "pretraining_corpus.txt"


def test_vocabulary_subsampling_and_unigram_table_follow_word2vec_c():
    lines = ["b a b c", "a b", "c d d d d"]
    vocabulary = build_vocabulary(lines, min_count=2)
    assert vocabulary.words == ["</s>", "d", "b", "a", "c"]  # </s> first; by count, ties first-seen
    assert dict(zip(vocabulary.words, vocabulary.counts.tolist())) == {"</s>": 3, "b": 3, "d": 4, "a": 2, "c": 2}
    counts = np.array([100, 5000, 20, 1], np.int64)
    sample, total = 1e-3, counts.sum()
    expected = [min(1.0, (math.sqrt(c / (sample * total)) + 1) * (sample * total) / c) for c in counts]
    np.testing.assert_allclose(keep_probabilities(counts, sample), expected, rtol=1e-6)
    # InitUnigramTable, the C loop itself
    size = 10_000
    weights = counts ** 0.75
    table, i, d1 = [], 0, weights[0] / weights.sum()
    for a in range(size):
        table.append(i)
        if a / size > d1:
            i += 1
            d1 += weights[i] / weights.sum()
        i = min(i, len(counts) - 1)
    assert unigram_table(counts, size).tolist() == table


def test_windows_shrink_and_never_cross_sentences():
    lines = ["w0 w1 w2 w3 w4 w5 w6 w7", "x0 x1 x2"]
    vocabulary = build_vocabulary(lines, min_count=1)
    dataset = training_dataset(lines, vocabulary, window=3, sample=0, negative=4, batch_size=64, table_size=1000,
                               seed=3, repeat=True)
    distances = collections.Counter()
    for features, _ in dataset.take(40):
        for context, target, negatives in zip(features["context_ids"].numpy()[:, 0], features["target_ids"].numpy(),
                                              features["negative_ids"].numpy()):
            a, b = vocabulary.words[context], vocabulary.words[target]
            assert a[0] == b[0], (a, b)  # same sentence
            distances[abs(int(a[1:]) - int(b[1:]))] += 1
            assert 0 not in negatives  # </s> is redrawn
    # b uniform in 0..2: a context at distance d is used with probability (window - d + 1) / window
    assert set(distances) == {1, 2, 3}
    assert distances[1] > distances[2] > distances[3]


def _topic_words(table) -> dict[str, int]:
    """Words seen 3+ times in exactly one document of the corpus (documents are blank-line separated)."""
    documents = CORPUS.read_text(encoding="utf-8").lower().split("\n\n")
    counts = [collections.Counter(document.split()) for document in documents]
    total = collections.Counter()
    for count in counts:
        total.update(count)
    return {word: index for index, count in enumerate(counts) for word, n in count.items()
            if n >= 3 and total[word] == n and word in table}


def _same_document_margin(table) -> float:
    topic = _topic_words(table)
    words = list(topic)
    unit = table.unit_vectors(None)[[table.index[w] for w in words]]
    similarity = unit @ unit.T
    same = np.array([[topic[a] == topic[b] for b in words] for a in words])
    other = ~same
    np.fill_diagonal(same, False)
    return float(similarity[same].mean() - similarity[other].mean())


def test_cli_trains_and_writes_word2vec_vectors(tmp_path):
    out = tmp_path / "cbow"
    assert cli_main(["train-word-vectors", "--output", str(out), "--model", "cbow", "--dim", "16", "--min-count", "3",
                     "--epochs", "1", "--lowercase", "--global-batch-size", "256", "--log-every", "20",
                     "--strategy", "cpu"]) == 0
    vectors = bertzoo.load_pretrained(out)
    assert vectors.format == "word2vec_binary" and vectors.table.words[0] == "</s>"
    assert vectors.config.hidden_size == 16 and vectors.config.lowercase is True
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["vocab_size"] == len(vectors.table) and metrics["steps"] >= 1
    vocab = (out / "vocab.txt").read_text().splitlines()
    assert vocab[0].split()[0] == "</s>" and len(vocab) == len(vectors.table)


@pytest.mark.slow
def test_skip_gram_puts_words_of_one_document_nearer(tmp_path):
    from bertzoo.recipes import train_word_vectors

    train_word_vectors.run(output=str(tmp_path / "sg"), model="skipgram", dim=32, window=5, negative=5, min_count=3,
                           epochs=30, lowercase=True, global_batch_size=1024, table_size=1_000_000, strategy="cpu",
                           log_every=1000, verbose=False)
    table = bertzoo.load_pretrained(tmp_path / "sg").table
    margin = _same_document_margin(table)
    # random vectors of the same shape give margins around 0 (a few hundredths either way)
    chance = [_same_document_margin(bertzoo.VectorTable(table.words, np.random.default_rng(seed).normal(
        size=table.vectors.shape))) for seed in range(5)]
    assert margin > 0.08 and margin > max(chance) + 0.05, (margin, chance)


def test_train_step_gives_the_same_vectors_with_and_without_jit_compile(tmp_path):
    from bertzoo.recipes import train_word_vectors

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS.read_text(encoding="utf-8").splitlines()[:200]) + "\n", encoding="utf-8")
    tables = []
    for jit in (False, True):
        out = tmp_path / f"jit_{jit}"
        train_word_vectors.run(corpus=str(corpus), output=str(out), model="skipgram", dim=8, min_count=2, epochs=0.5,
                               global_batch_size=128, table_size=100_000, strategy="cpu", jit_compile=jit,
                               log_every=1000, verbose=False, seed=7)
        tables.append(bertzoo.load_pretrained(out).table)
    assert tables[0].words == tables[1].words
    assert np.abs(tables[0].vectors).max() > 0.5 / 8  # trained: past the initial range +-0.5/dim
    np.testing.assert_allclose(tables[0].vectors, tables[1].vectors, rtol=1e-4, atol=1e-5)
