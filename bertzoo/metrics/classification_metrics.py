"""Sentence-level metrics for GLUE-style tasks, computed as the reference tools compute them.

The published GLUE numbers come from scikit-learn (`accuracy_score`, `f1_score`,
`matthews_corrcoef`) and scipy (`pearsonr`, `spearmanr`). These are small numpy versions of the
same formulas, so bertzoo does not need either library at run time; tests check them against both.

Conventions copied from the references:
- F1 with no true and no predicted positives is 0 (scikit-learn's `zero_division="warn"`), and
  macro F1 averages over the labels present in `labels` or `predictions`;
- the Matthews correlation is 0 when either side has a single class (scikit-learn);
- Pearson and Spearman are NaN when either side is constant (scipy);
- Spearman ranks ties by their average rank (`scipy.stats.rankdata(method="average")`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "accuracy",
    "f1",
    "glue_metrics",
    "matthews_corrcoef",
    "pearson",
    "spearman",
]

# GLUE task -> the kind of metric the GLUE benchmark reports for it.
_GLUE_TASK_KINDS = {
    "cola": "matthews_corrcoef",
    "sst2": "accuracy",
    "mrpc": "accuracy_and_f1",
    "qqp": "accuracy_and_f1",
    "stsb": "correlation",
    "mnli": "accuracy",
    "mnlim": "accuracy",
    "mnlimatched": "accuracy",
    "mnlimm": "accuracy",
    "mnlimismatched": "accuracy",
    "qnli": "accuracy",
    "rte": "accuracy",
    "wnli": "accuracy",
    "ax": "accuracy",
}
_GLUE_KINDS = ("accuracy", "accuracy_and_f1", "matthews_corrcoef", "correlation")


def _paired(predictions: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Returns both arguments as 1-D arrays of equal length, or raises ValueError."""
    predictions = np.asarray(predictions)
    labels = np.asarray(labels)
    if predictions.ndim != 1 or labels.ndim != 1:
        raise ValueError(
            f"Expected 1-D predictions and labels, got shapes {predictions.shape} and "
            f"{labels.shape}."
        )
    if predictions.shape[0] != labels.shape[0]:
        raise ValueError(
            f"predictions and labels differ in length: {predictions.shape[0]} != "
            f"{labels.shape[0]}."
        )
    if predictions.shape[0] == 0:
        raise ValueError("predictions and labels are empty.")
    return predictions, labels


def accuracy(predictions: ArrayLike, labels: ArrayLike) -> float:
    """Fraction of examples whose prediction equals the label.

    Args:
        predictions: 1-D array of predicted class ids (or any comparable values).
        labels: 1-D array of true class ids, same length.

    Returns:
        The accuracy in [0, 1].
    """
    predictions, labels = _paired(predictions, labels)
    return float(np.mean(predictions == labels))


def _f1_per_class(
    predictions: np.ndarray, labels: np.ndarray, classes: np.ndarray
) -> np.ndarray:
    """F1 of each class in `classes`, as 2*tp / (true + predicted), 0 where both are 0."""
    f_scores = np.zeros(len(classes), dtype=np.float64)
    for index, cls in enumerate(classes):
        true_positives = np.sum((predictions == cls) & (labels == cls))
        denominator = np.sum(labels == cls) + np.sum(predictions == cls)
        if denominator > 0:
            f_scores[index] = 2.0 * float(true_positives) / float(denominator)
    return f_scores


def f1(
    predictions: ArrayLike,
    labels: ArrayLike,
    *,
    average: Literal["binary", "macro"] = "binary",
    positive_label: int = 1,
) -> float:
    """F1 score, binary (of `positive_label`) or macro-averaged over classes.

    Computed as scikit-learn's `f1_score`: 2*tp / (2*tp + fp + fn), with 0 where there are
    no true and no predicted positives; the macro average is the plain mean over every class
    that appears in `labels` or `predictions`.

    Args:
        predictions: 1-D array of predicted class ids.
        labels: 1-D array of true class ids, same length.
        average: "binary" for the F1 of `positive_label` (MRPC, QQP), "macro" for the
            unweighted mean over classes.
        positive_label: the class counted as positive when `average="binary"`.

    Returns:
        The F1 score in [0, 1].
    """
    predictions, labels = _paired(predictions, labels)
    if average == "binary":
        classes = np.asarray([positive_label])
    elif average == "macro":
        classes = np.union1d(np.unique(labels), np.unique(predictions))
    else:
        raise ValueError(f"average must be 'binary' or 'macro', got {average!r}.")
    return float(np.mean(_f1_per_class(predictions, labels, classes)))


def matthews_corrcoef(predictions: ArrayLike, labels: ArrayLike) -> float:
    """Matthews correlation coefficient (CoLA's metric), multi-class as scikit-learn.

    Uses the confusion-matrix form (Gorodkin's R_K), which reduces to the usual binary MCC.
    Returns 0 when labels or predictions contain a single class, as scikit-learn does.

    Args:
        predictions: 1-D array of predicted class ids.
        labels: 1-D array of true class ids, same length.

    Returns:
        The MCC in [-1, 1].
    """
    predictions, labels = _paired(predictions, labels)
    classes, encoded = np.unique(np.concatenate([labels, predictions]), return_inverse=True)
    num_examples = labels.shape[0]
    true_ids, predicted_ids = encoded[:num_examples], encoded[num_examples:]
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(confusion, (true_ids, predicted_ids), 1)
    true_sum = confusion.sum(axis=1, dtype=np.float64)
    predicted_sum = confusion.sum(axis=0, dtype=np.float64)
    num_correct = float(np.trace(confusion))
    num_samples = float(num_examples)
    cov_true_pred = num_correct * num_samples - np.dot(true_sum, predicted_sum)
    cov_pred_pred = num_samples**2 - np.dot(predicted_sum, predicted_sum)
    cov_true_true = num_samples**2 - np.dot(true_sum, true_sum)
    product = cov_pred_pred * cov_true_true
    if product == 0:
        return 0.0
    return float(cov_true_pred / np.sqrt(product))


def pearson(predictions: ArrayLike, labels: ArrayLike) -> float:
    """Pearson correlation coefficient (STS-B), NaN if either input is constant (as scipy).

    Args:
        predictions: 1-D array of predicted scores.
        labels: 1-D array of gold scores, same length (at least 2).

    Returns:
        The correlation in [-1, 1], or NaN.
    """
    predictions, labels = _paired(predictions, labels)
    if predictions.shape[0] < 2:
        raise ValueError("pearson needs at least 2 examples.")
    x = predictions.astype(np.float64)
    y = labels.astype(np.float64)
    if np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    x = x - x.mean()
    y = y - y.mean()
    x = x / np.linalg.norm(x)
    y = y / np.linalg.norm(y)
    return float(np.clip(np.dot(x, y), -1.0, 1.0))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank (scipy's `rankdata`, "average")."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # Start of each run of equal values in sorted order.
    is_new = np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]])
    run_ids = np.cumsum(is_new) - 1
    run_starts = np.flatnonzero(is_new)
    run_ends = np.concatenate([run_starts[1:], [len(values)]])
    run_ranks = (run_starts + 1 + run_ends) / 2.0  # mean of ranks start+1 .. end
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = run_ranks[run_ids]
    return ranks


def spearman(predictions: ArrayLike, labels: ArrayLike) -> float:
    """Spearman rank correlation (STS-B): Pearson of the average ranks, as scipy.

    Args:
        predictions: 1-D array of predicted scores.
        labels: 1-D array of gold scores, same length (at least 2).

    Returns:
        The correlation in [-1, 1], or NaN if either input is constant.
    """
    predictions, labels = _paired(predictions, labels)
    return pearson(_average_ranks(predictions), _average_ranks(labels))


def _normalize_task_name(task_name_or_kind: str) -> str:
    return "".join(ch for ch in task_name_or_kind.lower() if ch.isalnum())


def glue_metrics(
    task_name_or_kind: str, predictions: ArrayLike, labels: ArrayLike
) -> dict[str, float]:
    """The metrics the GLUE benchmark reports for a task.

    CoLA: Matthews correlation; MRPC and QQP: accuracy and F1 of class 1; STS-B: Pearson and
    Spearman; every other task (SST-2, MNLI matched/mismatched, QNLI, RTE, WNLI, AX): accuracy.
    `"score"` is the single number GLUE ranks by: the metric itself, or the mean of the two.

    Args:
        task_name_or_kind: a GLUE task name in any spelling ("CoLA", "sst-2", "STS_B",
            "mnli-mm") or a metric kind: "accuracy", "accuracy_and_f1", "matthews_corrcoef",
            "correlation".
        predictions: class ids `[n]` or logits/probabilities `[n, num_classes]` (argmax is
            taken); for STS-B, scores `[n]` or `[n, 1]`.
        labels: class ids or gold scores `[n]`.

    Returns:
        A dict of metric name -> value, e.g. `{"accuracy": .., "f1": .., "score": ..}`.
    """
    if task_name_or_kind in _GLUE_KINDS:
        kind = task_name_or_kind
    else:
        kind = _GLUE_TASK_KINDS.get(_normalize_task_name(task_name_or_kind))
        if kind is None:
            raise ValueError(
                f"Unknown GLUE task or metric kind {task_name_or_kind!r}; expected one of "
                f"the tasks cola, sst2, mrpc, qqp, stsb, mnli, mnli_mm, qnli, rte, wnli, ax, "
                f"or the kinds {', '.join(_GLUE_KINDS)}."
            )
    predictions = np.asarray(predictions)
    labels = np.asarray(labels)
    if kind == "correlation":
        if predictions.ndim == 2 and predictions.shape[1] == 1:
            predictions = predictions[:, 0]
        pearson_value = pearson(predictions, labels)
        spearman_value = spearman(predictions, labels)
        return {
            "pearson": pearson_value,
            "spearman": spearman_value,
            "score": (pearson_value + spearman_value) / 2.0,
        }
    if predictions.ndim == 2:
        predictions = np.argmax(predictions, axis=-1)
    if kind == "matthews_corrcoef":
        value = matthews_corrcoef(predictions, labels)
        return {"matthews_corrcoef": value, "score": value}
    accuracy_value = accuracy(predictions, labels)
    if kind == "accuracy":
        return {"accuracy": accuracy_value, "score": accuracy_value}
    f1_value = f1(predictions, labels)
    return {"accuracy": accuracy_value, "f1": f1_value, "score": (accuracy_value + f1_value) / 2.0}
