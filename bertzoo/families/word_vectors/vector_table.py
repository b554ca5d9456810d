"""``VectorTable``: words and their vectors, as a vector file holds them, with lookups and the
nearest-neighbour queries of gensim's ``KeyedVectors`` (``most_similar``, analogies, similarity).

Rows are in the file's order, which for GloVe, word2vec and fastText is by falling frequency, so
``restrict_vocab=n`` means "the n most frequent words". A fastText ``.bin`` table also carries its
subword model, so ``vector()`` gives out-of-vocabulary words a vector built from character n-grams.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from bertzoo.families.word_vectors.analogies import AnalogyResult
    from bertzoo.families.word_vectors.similarity import SimilarityResult


class SubwordModel(Protocol):
    """What a table needs from a subword model (fastText's): a vector for any word, or None."""

    def word_vector(self, word: str) -> np.ndarray | None: ...


@dataclasses.dataclass
class VectorTable:
    """Words and their vectors.

    Attributes:
        words: the words, in the file's order (most frequent first for every format read here).
        vectors: float32 ``[len(words), dim]``.
        subwords: fastText's subword model (vectors for out-of-vocabulary words), or None.
        source: where the table was read from, for messages.
        metadata: what the file said about itself (fastText's training arguments, ...).

    Example:
        >>> table = VectorTable(["king", "queen"], np.eye(2, dtype="float32"))
        >>> table.vector("queen").tolist(), "king" in table
        ([0.0, 1.0], True)
    """

    words: list[str]
    vectors: np.ndarray
    subwords: SubwordModel | None = None
    source: str = ""
    metadata: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self.vectors = np.asarray(self.vectors, np.float32)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.words):
            raise ValueError(f"vectors must be [len(words)={len(self.words)}, dim], got shape {self.vectors.shape}")

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @functools.cached_property
    def index(self) -> dict[str, int]:
        """word -> row; where a word is listed twice, its first (most frequent) row."""
        index: dict[str, int] = {}
        for row, word in enumerate(self.words):
            index.setdefault(word, row)
        return index

    @functools.cached_property
    def norms(self) -> np.ndarray:
        """The L2 norm of every row, float32 ``[len(words)]``."""
        return np.linalg.norm(self.vectors, axis=1)

    def unit_vectors(self, stop: int | None = None) -> np.ndarray:
        """Rows ``[:stop]`` divided by their norms (a zero row stays zero)."""
        norms = self.norms[:stop]
        return self.vectors[:stop] / np.where(norms > 0, norms, 1)[:, None]

    def vector(self, word: str) -> np.ndarray:
        """The vector of ``word``: its row, else (fastText ``.bin``) the mean of its n-gram vectors.

        Raises:
            KeyError: the word has no row and no subword vector, naming the word.
        """
        row = self.index.get(word)
        if row is not None:
            return self.vectors[row]
        if self.subwords is not None:
            found = self.subwords.word_vector(word)
            if found is not None:
                return found
        raise KeyError(f"{word!r} is not in the vocabulary of {self.source or 'this table'}"
                       + ("" if self.subwords is None else " and has no character n-gram in the subword table"))

    def with_words(self, words: Iterable[str]) -> "VectorTable":
        """This table plus a row for each given word it lacks that the subword model can build."""
        extra = [word for word in dict.fromkeys(words) if word not in self.index]
        rows = [(word, self.subwords.word_vector(word)) for word in extra] if self.subwords is not None else []
        rows = [(word, vector) for word, vector in rows if vector is not None]
        if not rows:
            return self
        return VectorTable(self.words + [word for word, _ in rows],
                           np.concatenate([self.vectors, np.stack([vector for _, vector in rows])]),
                           subwords=self.subwords, source=self.source)

    def most_similar(self, positive: str | Sequence[str] = (), negative: str | Sequence[str] = (), topn: int = 10,
                     restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """The ``topn`` words nearest (cosine) to the mean of the unit vectors of ``positive`` minus
        those of ``negative``, the query words left out: gensim's ``most_similar`` (3CosAdd).

        Example:
            >>> table.most_similar(positive=["king", "woman"], negative=["man"], topn=1)  # doctest: +SKIP
            [('queen', 0.8524)]
        """
        from bertzoo.families.word_vectors.analogies import most_similar

        return most_similar(self, positive, negative, topn=topn, restrict_vocab=restrict_vocab)

    def evaluate_word_analogies(self, questions: str | os.PathLike | Iterable[str], restrict_vocab: int = 300_000,
                                case_insensitive: bool = True) -> "AnalogyResult":
        """Analogy accuracy on a ``questions-words.txt`` file: see ``analogies.evaluate_word_analogies``."""
        from bertzoo.families.word_vectors.analogies import evaluate_word_analogies

        return evaluate_word_analogies(self, questions, restrict_vocab=restrict_vocab,
                                       case_insensitive=case_insensitive)

    def evaluate_word_pairs(self, pairs: str | os.PathLike | Iterable[str], restrict_vocab: int = 300_000,
                            case_insensitive: bool = True, delimiter: str = "\t") -> "SimilarityResult":
        """Spearman / Pearson against human similarity scores: see ``similarity.evaluate_word_pairs``."""
        from bertzoo.families.word_vectors.similarity import evaluate_word_pairs

        return evaluate_word_pairs(self, pairs, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive,
                                   delimiter=delimiter)
