"""The official SQuAD evaluation: exact match and token F1, as ``evaluate-v1.1.py`` / ``evaluate-v2.0.py``.

Both scripts normalise an answer by lowercasing, removing ASCII punctuation
(``string.punctuation``), removing the articles a/an/the and collapsing whitespace; a prediction
scores the maximum over the gold answers; totals are percentages. They differ on the edges, and
each function below follows its own script:

* v1.1: every question in the file counts; a question without a prediction scores 0. F1 with an
  empty side is 0.
* v2.0: gold answers that normalise to "" are dropped, and a question with none left (an impossible
  question) has the gold answer ""; F1 is 1 when both sides are empty, 0 when only one is; a
  question without a prediction is skipped (not counted); ``na_probs`` above ``na_prob_thresh``
  turn a prediction into "no answer". Results split into ``HasAns_*`` and ``NoAns_*``.
"""

from __future__ import annotations

import collections
import json
import os
import re
import string
from collections.abc import Mapping
from typing import Any

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation and articles (a, an, the), collapse whitespace (official order)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, ground_truth: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(ground_truth))


def f1(prediction: str, ground_truth: str) -> float:
    """SQuAD v1.1 token-overlap F1 of the normalised strings (0.0 when nothing overlaps)."""
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = collections.Counter(prediction_tokens) & collections.Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def f1_v2(prediction: str, ground_truth: str) -> float:
    """SQuAD v2.0 F1: as ``f1``, but 1.0 when both normalise to no tokens, 0.0 when one does."""
    prediction_tokens = normalize_answer(prediction).split() if prediction else []
    ground_truth_tokens = normalize_answer(ground_truth).split() if ground_truth else []
    if not prediction_tokens or not ground_truth_tokens:
        return float(prediction_tokens == ground_truth_tokens)
    return f1(prediction, ground_truth)


def _articles(dataset: Any) -> list:
    """The ``data`` list of a SQuAD file, given the path, the parsed JSON or the list itself."""
    if isinstance(dataset, (str, os.PathLike)):
        with open(dataset, encoding="utf-8") as f:
            dataset = json.load(f)
    if isinstance(dataset, Mapping):
        if "data" not in dataset:
            raise ValueError("The SQuAD dataset has no 'data' field.")
        dataset = dataset["data"]
    if not isinstance(dataset, list):
        raise ValueError(f"Expected a SQuAD file, its JSON or its 'data' list, got {type(dataset).__name__}.")
    return dataset


def _questions(dataset: Any):
    for article in _articles(dataset):
        for paragraph in article["paragraphs"]:
            yield from paragraph["qas"]


def squad_v1_evaluate(dataset: Any, predictions: Mapping[str, str]) -> dict[str, float]:
    """SQuAD v1.1 ``exact_match`` and ``f1`` in percent (``evaluate-v1.1.py``).

    Args:
        dataset: the SQuAD JSON file (path), its parsed JSON, or its ``data`` list.
        predictions: ``{question id: answer text}``; a missing id scores 0.

    Returns:
        ``{"exact_match": ..., "f1": ...}``.
    """
    total = exact_sum = f1_sum = 0.0
    for qa in _questions(dataset):
        total += 1
        if qa["id"] not in predictions:
            continue
        ground_truths = [answer["text"] for answer in qa["answers"]]
        prediction = predictions[qa["id"]]
        exact_sum += max((exact_match(prediction, gt) for gt in ground_truths), default=0.0)
        f1_sum += max((f1(prediction, gt) for gt in ground_truths), default=0.0)
    if total == 0:
        raise ValueError("The SQuAD dataset has no questions.")
    return {"exact_match": 100.0 * exact_sum / total, "f1": 100.0 * f1_sum / total}


def best_threshold(predictions: Mapping[str, str], raw_scores: Mapping[str, float], na_probs: Mapping[str, float],
                   has_answer: Mapping[str, bool]) -> tuple[float, float]:
    """``find_best_thresh`` of the official ``evaluate-v2.0.py``: the "no answer" threshold on
    ``na_probs`` that maximises the total of ``raw_scores`` (exact or F1 per question, computed
    without any threshold), and that best score in percent.

    Walks the questions by increasing ``na_probs``; a question below the threshold keeps its
    prediction, the others answer "". Starting from "everything is no-answer" (a point for each
    unanswerable question), keeping a question's prediction adds its raw score if it has an answer,
    and costs a point if it has none and the prediction is not empty.
    """
    score = best = float(sum(1 for qid, has in has_answer.items() if not has))
    threshold = 0.0
    for qid in sorted(na_probs, key=lambda k: na_probs[k]):
        if qid not in raw_scores:
            continue
        if has_answer[qid]:
            difference = raw_scores[qid]
        else:
            difference = -1.0 if predictions[qid] else 0.0
        score += difference
        if score > best:
            best, threshold = score, na_probs[qid]
    return 100.0 * best / len(raw_scores), float(threshold)


def squad_v2_evaluate(
    dataset: Any,
    predictions: Mapping[str, str],
    na_probs: Mapping[str, float] | None = None,
    na_prob_thresh: float = 1.0,
) -> dict[str, float]:
    """SQuAD v2.0 scores in percent (``evaluate-v2.0.py``).

    Args:
        dataset: the SQuAD 2.0 JSON file (path), its parsed JSON, or its ``data`` list.
        predictions: ``{question id: answer text}``, "" for "no answer"; missing ids are skipped.
        na_probs: ``{question id: probability of no answer}``; None means 0 everywhere.
        na_prob_thresh: a prediction whose ``na_probs`` is above this counts as "no answer".

    Returns:
        ``exact``, ``f1``, ``total`` and, where such questions exist, ``HasAns_exact``,
        ``HasAns_f1``, ``HasAns_total``, ``NoAns_exact``, ``NoAns_f1``, ``NoAns_total``; with
        ``na_probs``, also the official script's ``best_exact``, ``best_exact_thresh``, ``best_f1``
        and ``best_f1_thresh`` (``best_threshold``; Google's ``run_squad.py`` passes its
        ``null_odds`` as ``na_probs`` and uses ``best_f1_thresh`` as ``null_score_diff_threshold``).
    """
    raw_exact: dict[str, float] = {}
    raw_f1: dict[str, float] = {}
    exact_scores: dict[str, float] = {}
    f1_scores: dict[str, float] = {}
    has_answer: dict[str, bool] = {}
    for qa in _questions(dataset):
        qid = qa["id"]
        has_answer[qid] = bool(qa["answers"])
        if qid not in predictions:
            continue
        gold_answers = [a["text"] for a in qa["answers"] if normalize_answer(a["text"])] or [""]
        prediction = predictions[qid]
        raw_exact[qid] = max(exact_match(prediction, gold) for gold in gold_answers)
        raw_f1[qid] = max(f1_v2(prediction, gold) for gold in gold_answers)
        if na_probs is not None and na_probs.get(qid, 0.0) > na_prob_thresh:
            exact_scores[qid] = f1_scores[qid] = float(not has_answer[qid])
            continue
        exact_scores[qid] = max(exact_match(prediction, gold) for gold in gold_answers)
        f1_scores[qid] = max(f1_v2(prediction, gold) for gold in gold_answers)

    def summary(qids: list[str]) -> tuple[float, float, int]:
        if not qids:
            return 0.0, 0.0, 0
        return (
            100.0 * sum(exact_scores[q] for q in qids) / len(qids),
            100.0 * sum(f1_scores[q] for q in qids) / len(qids),
            len(qids),
        )

    if not exact_scores:
        raise ValueError("No question of the SQuAD dataset has a prediction.")
    exact, f1_total, total = summary(list(exact_scores))
    result: dict[str, float] = {"exact": exact, "f1": f1_total, "total": total}
    for prefix, wanted in (("HasAns", True), ("NoAns", False)):
        # The official script lists every question of the kind here, predicted or not, and
        # would fail on a missing one; only predicted questions are counted.
        qids = [q for q, has in has_answer.items() if has == wanted and q in exact_scores]
        if any(has == wanted for has in has_answer.values()):
            e, f, n = summary(qids)
            result.update({f"{prefix}_exact": e, f"{prefix}_f1": f, f"{prefix}_total": n})
    if na_probs is not None:
        probs = {qid: float(na_probs.get(qid, 0.0)) for qid in raw_exact}
        result["best_exact"], result["best_exact_thresh"] = best_threshold(predictions, raw_exact, probs, has_answer)
        result["best_f1"], result["best_f1_thresh"] = best_threshold(predictions, raw_f1, probs, has_answer)
    return result
