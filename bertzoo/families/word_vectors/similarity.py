"""Word-similarity evaluation: the vectors' cosine similarities against human scores (WordSim-353,
SimLex-999, ...), by Spearman's rank correlation, as gensim's ``KeyedVectors.evaluate_word_pairs``.

Lines are ``word_a<delimiter>word_b<delimiter>score``; lines starting with ``#`` and malformed lines
are skipped; a pair with a word outside the ``restrict_vocab`` most frequent words is counted out
of vocabulary and left out. Spearman's rho is Pearson's r of the ranks (ties get their mean rank).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bertzoo.families.word_vectors.vector_table import VectorTable


@dataclasses.dataclass
class SimilarityResult:
    """Correlations of the vectors' cosines with the human scores, and the pairs that were skipped.

    Attributes:
        spearman, pearson: the correlations over the pairs in vocabulary.
        pairs: pairs scored; ``oov``: pairs skipped for an out-of-vocabulary word.
    """

    spearman: float
    pearson: float
    pairs: int
    oov: int

    @property
    def oov_ratio(self) -> float:
        """Percent of pairs skipped (gensim's ``oov_ratio``)."""
        return 100.0 * self.oov / (self.pairs + self.oov) if self.pairs + self.oov else 0.0


def rank_average(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, tied values sharing their mean rank."""
    values = np.asarray(values, np.float64)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), np.float64)
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x = np.asarray(x, np.float64) - np.mean(x)
    y = np.asarray(y, np.float64) - np.mean(y)
    denominator = np.sqrt(np.sum(x * x) * np.sum(y * y))
    return float(np.sum(x * y) / denominator) if denominator > 0 else float("nan")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (ties averaged), as ``scipy.stats.spearmanr``."""
    return pearson(rank_average(x), rank_average(y))


def evaluate_word_pairs(table: "VectorTable", pairs: str | os.PathLike | Iterable[str], *,
                        restrict_vocab: int = 300_000, case_insensitive: bool = True,
                        delimiter: str = "\t") -> SimilarityResult:
    """Spearman and Pearson correlations of cosine similarity with the human scores of ``pairs``.

    Raises:
        ValueError: no pair has both words in the vocabulary.
    """
    if isinstance(pairs, (str, os.PathLike)):
        if not pathlib.Path(pairs).is_file():
            raise FileNotFoundError(f"word-pair file not found: {pairs}")
        lines = pathlib.Path(pairs).read_text(encoding="utf-8").splitlines()
    else:
        lines = list(pairs)
    allowed: dict[str, int] = {}
    words = table.words[:restrict_vocab]
    for row in range(len(words) - 1, -1, -1):
        allowed[words[row].upper() if case_insensitive else words[row]] = row
    gold, model = [], []
    oov = 0
    for line in lines:
        if not line or line.startswith("#"):
            continue
        fields = line.split(delimiter)
        if len(fields) != 3:
            continue
        a, b, score = fields
        try:
            score = float(score)
        except ValueError:
            continue
        if case_insensitive:
            a, b = a.upper(), b.upper()
        if a not in allowed or b not in allowed:
            oov += 1
            continue
        va, vb = table.vectors[allowed[a]], table.vectors[allowed[b]]
        gold.append(score)
        model.append(float(np.dot(va / np.linalg.norm(va), vb / np.linalg.norm(vb))))
    if not gold:
        raise ValueError(f"no word pair of {pairs if isinstance(pairs, (str, os.PathLike)) else 'the pairs'} has both "
                         f"words among the {len(words)} words allowed")
    return SimilarityResult(spearman=spearman(gold, model), pearson=pearson(gold, model), pairs=len(gold), oov=oov)
