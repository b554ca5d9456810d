"""SQuAD 2.0's best "no answer" threshold (the official evaluate-v2.0.py's best_exact / best_f1 and
their thresholds): against a hand-worked case and against a brute force over every threshold."""

from __future__ import annotations

import numpy as np
import pytest

from bertzoo.metrics.squad_metrics import best_threshold, squad_v2_evaluate


def dataset(questions):
    return {"data": [{"paragraphs": [{"context": "c", "qas": [
        {"id": qid, "question": "q", "answers": [{"text": text, "answer_start": 0} for text in answers]}
        for qid, answers in questions]}]}]}


def test_hand_worked_case():
    # q1 answerable and right, q2 answerable and wrong, q3 and q4 unanswerable with a non-empty guess.
    data = dataset([("q1", ["paris"]), ("q2", ["oslo"]), ("q3", []), ("q4", [])])
    predictions = {"q1": "paris", "q2": "lima", "q3": "quito", "q4": "x"}
    na_probs = {"q1": 0.1, "q2": 0.2, "q3": 0.3, "q4": 0.05}
    # Start: all "no answer" = 2 of 4. In order q4 (-1 -> 1), q1 (+1 -> 2), q2 (+0), q3 (-1): never above 2,
    # so the best stays the start: 50 % at threshold 0.
    assert best_threshold(predictions, {"q1": 1.0, "q2": 0.0, "q3": 0.0, "q4": 0.0}, na_probs,
                          {"q1": True, "q2": True, "q3": False, "q4": False}) == (50.0, 0.0)
    na_probs["q4"] = 0.9  # now q1 first: 3 of 4 at threshold 0.1
    result = squad_v2_evaluate(data, predictions, na_probs=na_probs, na_prob_thresh=float("inf"))
    assert (result["best_exact"], result["best_exact_thresh"]) == (75.0, 0.1)
    assert (result["best_f1"], result["best_f1_thresh"]) == (75.0, 0.1)
    assert result["exact"] == 25.0  # the answers themselves are scored as given


@pytest.mark.parametrize("seed", range(5))
def test_equals_a_brute_force_over_thresholds(seed):
    rng = np.random.default_rng(seed)
    words = ["paris", "oslo", "lima", "the city of lima", "quito"]
    questions, predictions = [], {}
    for i in range(30):
        answers = [] if rng.random() < 0.4 else [str(rng.choice(words))]
        questions.append((f"q{i}", answers))
        predictions[f"q{i}"] = "" if rng.random() < 0.2 else str(rng.choice(words))
    na_probs = {f"q{i}": float(p) for i, p in enumerate(rng.permutation(30) / 30.0 + 0.01)}
    data = dataset(questions)
    result = squad_v2_evaluate(data, predictions, na_probs=na_probs, na_prob_thresh=float("inf"))
    for kind in ("exact", "f1"):
        scores = [(squad_v2_evaluate(data, predictions, na_probs=na_probs, na_prob_thresh=t)[kind], t)
                  for t in [0.0] + sorted(na_probs.values())]
        best = max(score for score, _ in scores)
        first = next(t for score, t in scores if score == best)
        assert result[f"best_{kind}"] == pytest.approx(best)
        assert result[f"best_{kind}_thresh"] == first
