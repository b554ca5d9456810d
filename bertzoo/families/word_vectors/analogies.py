"""Word analogies with 3CosAdd, exactly as gensim's ``KeyedVectors.evaluate_word_analogies`` scores them.

For a question ``a : b :: c : expected`` (Google's ``questions-words.txt``: "man king woman
queen"), the answer is the word nearest (cosine) to ``unit(b) + unit(c) - unit(a)`` among the
``restrict_vocab`` most frequent words, ``a``, ``b`` and ``c`` left out (Mikolov et al. 2013). gensim's
rules, followed here:
- words are compared upper-cased when ``case_insensitive`` (each upper-cased form stands for its
  most frequent spelling among the allowed words);
- a question with any word outside the allowed vocabulary is skipped and counted as out of
  vocabulary (it is neither correct nor incorrect);
- the five nearest words are scanned for the first that is not one of the question words (in the
  case-folded sense); that word is the prediction;
- a line ``: name`` starts a section; a line without four words is skipped.
Scores are computed in float32, many questions per matrix product.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bertzoo.families.word_vectors.vector_table import VectorTable

_BATCH = 128  # questions per matrix product
_TOPN = 5  # gensim scans the 5 nearest words


@dataclasses.dataclass
class AnalogySection:
    """One section's questions: lists of ``(a, b, c, expected)`` as compared (upper-cased if folded)."""

    name: str
    correct: list[tuple[str, str, str, str]] = dataclasses.field(default_factory=list)
    incorrect: list[tuple[str, str, str, str]] = dataclasses.field(default_factory=list)

    @property
    def accuracy(self) -> float:
        total = len(self.correct) + len(self.incorrect)
        return len(self.correct) / total if total else 0.0


@dataclasses.dataclass
class AnalogyResult:
    """What ``evaluate_word_analogies`` found.

    Attributes:
        accuracy: correct / (correct + incorrect) over every section (gensim's ``analogies_score``).
        sections: the file's sections, then a last one named ``Total accuracy``.
        oov: questions skipped for an out-of-vocabulary word; ``questions``: all well-formed questions.
    """

    accuracy: float
    sections: list[AnalogySection]
    oov: int
    questions: int

    @property
    def oov_ratio(self) -> float:
        """Percent of questions skipped (gensim logs the same figure)."""
        return 100.0 * self.oov / self.questions if self.questions else 0.0

    @property
    def correct(self) -> int:
        return len(self.sections[-1].correct)

    @property
    def evaluated(self) -> int:
        return len(self.sections[-1].correct) + len(self.sections[-1].incorrect)


def _as_list(words: str | Sequence[str]) -> list[str]:
    return [words] if isinstance(words, str) else list(words)


def most_similar(table: "VectorTable", positive: str | Sequence[str] = (), negative: str | Sequence[str] = (),
                 topn: int = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
    """The ``topn`` nearest words to the mean of the unit vectors of ``positive`` minus ``negative``.

    gensim's ``most_similar``: the mean (weights +1 / -1, divided by their count) is made unit
    length, candidates are the first ``restrict_vocab`` rows scored by cosine, and rows of the
    query words are left out.

    Raises:
        KeyError: a query word without a vector (named).
        ValueError: no query words.
    """
    positive, negative = _as_list(positive), _as_list(negative)
    if not positive and not negative:
        raise ValueError("most_similar needs at least one positive or negative word")
    query = np.zeros(table.dim, np.float32)
    for word, weight in [(w, 1.0) for w in positive] + [(w, -1.0) for w in negative]:
        vector = table.vector(word)
        norm = np.linalg.norm(vector)
        query += weight * (vector / norm if norm > 0 else vector)
    query /= len(positive) + len(negative)
    query = _unit(query)
    exclude = {table.index[word] for word in positive + negative if word in table.index}
    stop = len(table) if restrict_vocab is None else min(restrict_vocab, len(table))
    scores = _cosines(table, stop, query[None, :])[0]
    order = _top(scores, topn + len(exclude))
    return [(table.words[i], float(scores[i])) for i in order if i not in exclude][:topn]


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vector)
    return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)


def _cosines(table: "VectorTable", stop: int, queries: np.ndarray) -> np.ndarray:
    """``[len(queries), stop]`` dot products of unit queries with rows ``:stop`` over their norms."""
    norms = table.norms[:stop]
    scores = queries @ table.vectors[:stop].T
    scores /= np.where(norms > 0, norms, 1)[None, :]
    return scores




def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the ``k`` largest scores, largest first."""
    k = min(k, scores.shape[-1])
    part = np.argpartition(-scores, k - 1)[:k] if k < scores.shape[-1] else np.arange(scores.shape[-1])
    return part[np.argsort(-scores[part], kind="stable")]


def read_analogy_lines(source: str | os.PathLike | Iterable[str]) -> Iterable[str]:
    if isinstance(source, (str, os.PathLike)) and pathlib.Path(source).is_file():
        return pathlib.Path(source).read_text(encoding="utf-8").splitlines()
    if isinstance(source, (str, os.PathLike)):
        raise FileNotFoundError(f"analogy file not found: {source}")
    return source


def evaluate_word_analogies(table: "VectorTable", questions: str | os.PathLike | Iterable[str],
                            restrict_vocab: int = 300_000, case_insensitive: bool = True) -> AnalogyResult:
    """Accuracy of 3CosAdd on analogy questions, as gensim's ``evaluate_word_analogies``.

    Args:
        table: the vectors.
        questions: a ``questions-words.txt`` path, or its lines.
        restrict_vocab: only the first (most frequent) words are answers and allowed question words.
        case_insensitive: compare upper-cased words (gensim's default).

    Raises:
        ValueError: a question before the first ``: section`` line (its line number named).
    """
    allowed_words = table.words[:restrict_vocab]
    allowed: dict[str, int] = {}
    for row in range(len(allowed_words) - 1, -1, -1):  # reversed: the most frequent spelling wins
        allowed[allowed_words[row].upper() if case_insensitive else allowed_words[row]] = row
    stop = len(allowed_words)
    unit = table.unit_vectors(stop)

    sections: list[AnalogySection] = []
    pending: list[tuple[AnalogySection, tuple[str, str, str, str]]] = []
    oov = questions_seen = 0
    for line_number, line in enumerate(read_analogy_lines(questions), start=1):
        if line.startswith(": "):
            sections.append(AnalogySection(line.lstrip(": ").strip()))
            continue
        if not sections:
            raise ValueError(f"analogy question before the first ': section' line, line {line_number}: {line!r:.80}")
        words = line.split()
        if len(words) != 4:
            continue  # gensim skips malformed lines
        if case_insensitive:
            words = [word.upper() for word in words]
        questions_seen += 1
        if any(word not in allowed for word in words):
            oov += 1
            continue
        pending.append((sections[-1], tuple(words)))

    for begin in range(0, len(pending), _BATCH):
        batch = pending[begin : begin + _BATCH]
        rows = np.asarray([[allowed[w] for w in question[:3]] for _, question in batch])
        query = unit[rows[:, 1]] + unit[rows[:, 2]] - unit[rows[:, 0]]
        query /= 3.0
        norms = np.linalg.norm(query, axis=1, keepdims=True)
        query = (query / np.where(norms > 0, norms, 1)).astype(np.float32)
        scores = _cosines(table, stop, query)
        np.put_along_axis(scores, rows, -np.inf, axis=1)  # the question words are never answers
        best = scores.argmax(axis=1)
        for (section, question), row_scores, first in zip(batch, scores, best):
            ignore = set(question[:3])
            predicted = None
            candidate = int(first)
            for rank in range(_TOPN):  # the first of the 5 nearest that is no question word
                predicted = table.words[candidate].upper() if case_insensitive else table.words[candidate]
                if (predicted in allowed and predicted not in ignore) or rank == _TOPN - 1:
                    break
                row_scores[candidate] = -np.inf
                candidate = int(row_scores.argmax())
            (section.correct if predicted == question[3] else section.incorrect).append(question)

    total = AnalogySection("Total accuracy", [q for s in sections for q in s.correct],
                           [q for s in sections for q in s.incorrect])
    return AnalogyResult(accuracy=total.accuracy, sections=sections + [total], oov=oov, questions=questions_seen)
