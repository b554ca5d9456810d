"""A TF-IDF + logistic-regression baseline for text classification: the bar a fine-tuned model
must clear on the same split (``bertzoo finetune --tfidf-baseline``, ``bertzoo demo``).

Word unigrams and bigrams, sublinear term frequency, L2-regularised logistic regression (C=10);
a pair task joins its two texts with a separator word. scikit-learn is optional (the ``test``
extra installs it); without it the baseline is skipped with a message.
"""

from __future__ import annotations

import os
from typing import Any

from bertzoo.data.task_readers import read_text_classification

PAIR_SEPARATOR = " ||| "


def _texts(data) -> list[str]:
    if data.text_pairs is None:
        return list(data.texts)
    return [f"{a}{PAIR_SEPARATOR}{b}" for a, b in zip(data.texts, data.text_pairs)]


def tfidf_baseline(train: str | os.PathLike, eval: str | os.PathLike, *, text_column: Any = "sentence",
                   text_pair_column: Any = None, label_column: Any = "label", delimiter: str | None = None,
                   has_header: bool = True, label_names: list[str] | None = None) -> float | None:
    """Accuracy on ``eval`` of TF-IDF + logistic regression trained on ``train`` (single-label
    classification files as ``bertzoo finetune`` reads them); None when scikit-learn is missing."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        return None
    columns = dict(text_column=text_column, text_pair_column=text_pair_column, label_column=label_column,
                   delimiter=delimiter, has_header=has_header)
    train_data = read_text_classification(train, label_names=label_names, **columns)
    eval_data = read_text_classification(eval, label_names=train_data.label_names, **columns)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    classifier = LogisticRegression(C=10.0, max_iter=1000)
    classifier.fit(vectorizer.fit_transform(_texts(train_data)), train_data.labels)
    return float((classifier.predict(vectorizer.transform(_texts(eval_data))) == eval_data.labels).mean())
