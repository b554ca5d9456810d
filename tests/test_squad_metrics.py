"""Official SQuAD metrics: hand-computed values, and parity with a re-statement of the official scripts."""

from __future__ import annotations

import collections
import random
import re
import string

import pytest

from bertzoo.metrics import squad_metrics as m


def test_normalize_answer():
    assert m.normalize_answer("  The  Denver-Broncos!  ") == "denverbroncos"
    assert m.normalize_answer("An apple, a day; THE end.") == "apple day end"
    assert m.normalize_answer("theater another") == "theater another"  # articles only as whole words
    assert m.normalize_answer("Café\tÜber") == "café über"


def test_exact_match_and_f1_hand_computed():
    assert m.exact_match("the Denver Broncos", "Denver Broncos.") == 1.0
    assert m.exact_match("Broncos", "Denver Broncos") == 0.0
    assert m.f1("Broncos won", "Denver Broncos") == pytest.approx(0.5)  # p = r = 1/2
    assert m.f1("Denver Broncos", "the Denver Broncos team") == pytest.approx(0.8)  # p 1, r 2/3
    assert m.f1("x b b", "b b c") == pytest.approx(2 / 3)  # common {b: 2}: p = r = 2/3
    assert m.f1("a b b", "b b c") == pytest.approx(0.8)  # "a" is an article: p 1, r 2/3
    assert m.f1("", "x") == 0.0 and m.f1("", "") == 0.0
    assert m.f1_v2("", "") == 1.0 and m.f1_v2("the", "") == 1.0 and m.f1_v2("x", "") == 0.0


def _dataset(questions: list[tuple[str, list[str]]]) -> dict:
    return {"data": [{"paragraphs": [{"context": "c", "qas": [
        {"id": qid, "question": "?", "answers": [{"text": t, "answer_start": 0} for t in golds]}
        for qid, golds in questions
    ]}]}]}  # fmt: skip


def test_v1_hand_computed():
    dataset = _dataset([("a", ["Denver Broncos", "The Broncos"]), ("b", ["1895"]), ("c", ["x y"])])
    # a: exact with the second gold; b: f1 1/2 * 1 -> 2/3; c: unanswered, counts as 0.
    scores = m.squad_v1_evaluate(dataset, {"a": "broncos", "b": "1895 1943"})
    assert scores["exact_match"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3) / 3)


def test_v2_hand_computed():
    dataset = _dataset([("has1", ["Paris"]), ("has2", ["in France"]), ("none1", []), ("none2", [])])
    predictions = {"has1": "Paris", "has2": "France", "none1": "", "none2": "Lyon"}
    scores = m.squad_v2_evaluate(dataset, predictions)
    assert scores == pytest.approx({
        "exact": 50.0, "f1": 100 * (1 + 2 / 3 + 1 + 0) / 4, "total": 4,
        "HasAns_exact": 50.0, "HasAns_f1": 100 * (1 + 2 / 3) / 2, "HasAns_total": 2,
        "NoAns_exact": 50.0, "NoAns_f1": 50.0, "NoAns_total": 2,
    })  # fmt: skip
    # na_probs above the threshold turn predictions into "no answer".
    thresholded = m.squad_v2_evaluate(dataset, predictions, na_probs={"has2": 0.9, "none2": 0.9}, na_prob_thresh=0.5)
    assert thresholded["HasAns_exact"] == 50.0 and thresholded["NoAns_exact"] == 100.0


# -- parity with the official scripts, restated independently -----------------------------------


def _official_normalize(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def _official_v1(dataset, predictions):
    def f1_score(prediction, ground_truth):
        prediction_tokens = _official_normalize(prediction).split()
        ground_truth_tokens = _official_normalize(ground_truth).split()
        common = collections.Counter(prediction_tokens) & collections.Counter(ground_truth_tokens)
        num_same = sum(common.values())
        if num_same == 0:
            return 0
        precision = 1.0 * num_same / len(prediction_tokens)
        recall = 1.0 * num_same / len(ground_truth_tokens)
        return (2 * precision * recall) / (precision + recall)

    f1 = exact_match = total = 0
    for article in dataset["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                if qa["id"] not in predictions:
                    continue
                ground_truths = [x["text"] for x in qa["answers"]]
                prediction = predictions[qa["id"]]
                exact_match += max(_official_normalize(prediction) == _official_normalize(g) for g in ground_truths)
                f1 += max(f1_score(prediction, g) for g in ground_truths)
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}


def _official_v2(dataset, preds, na_probs=None, na_prob_thresh=1.0):
    def get_tokens(s):
        return _official_normalize(s).split() if s else []

    def compute_f1(a_gold, a_pred):
        gold_toks, pred_toks = get_tokens(a_gold), get_tokens(a_pred)
        common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
        num_same = sum(common.values())
        if len(gold_toks) == 0 or len(pred_toks) == 0:
            return int(gold_toks == pred_toks)
        if num_same == 0:
            return 0
        precision = 1.0 * num_same / len(pred_toks)
        recall = 1.0 * num_same / len(gold_toks)
        return (2 * precision * recall) / (precision + recall)

    na_prob_file_given = na_probs is not None
    na_probs = na_probs if na_probs is not None else {k: 0.0 for k in preds}
    qid_to_has_ans = {}
    exact_raw, f1_raw = {}, {}
    for article in dataset["data"]:
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                qid_to_has_ans[qa["id"]] = bool(qa["answers"])
                gold_answers = [a["text"] for a in qa["answers"] if _official_normalize(a["text"])] or [""]
                a_pred = preds[qa["id"]]
                exact_raw[qa["id"]] = max(int(_official_normalize(a) == _official_normalize(a_pred)) for a in gold_answers)
                f1_raw[qa["id"]] = max(compute_f1(a, a_pred) for a in gold_answers)

    def threshold(scores):
        return {q: float(not qid_to_has_ans[q]) if na_probs[q] > na_prob_thresh else s for q, s in scores.items()}

    exact, f1 = threshold(exact_raw), threshold(f1_raw)

    def make(qids):
        return {
            "exact": 100.0 * sum(exact[k] for k in qids) / len(qids),
            "f1": 100.0 * sum(f1[k] for k in qids) / len(qids),
            "total": len(qids),
        }

    out = make(list(exact))
    for prefix, has in (("HasAns", True), ("NoAns", False)):
        qids = [k for k, v in qid_to_has_ans.items() if v == has]
        if qids:
            out.update({f"{prefix}_{k}": v for k, v in make(qids).items()})
    if na_prob_file_given:  # the official script's find_all_best_thresh, run when --na-prob-file is given
        def find_best_thresh(scores):
            num_no_ans = sum(1 for k in qid_to_has_ans if not qid_to_has_ans[k])
            cur_score = best_score = num_no_ans
            best_thresh = 0.0
            for qid in sorted(na_probs, key=lambda k: na_probs[k]):
                if qid not in scores:
                    continue
                if qid_to_has_ans[qid]:
                    diff = scores[qid]
                else:
                    diff = -1 if preds[qid] else 0
                cur_score += diff
                if cur_score > best_score:
                    best_score, best_thresh = cur_score, na_probs[qid]
            return 100.0 * best_score / len(scores), best_thresh

        out["best_exact"], out["best_exact_thresh"] = find_best_thresh(exact_raw)
        out["best_f1"], out["best_f1_thresh"] = find_best_thresh(f1_raw)
    return out


WORDS = ["The", "a", "an", "Denver", "broncos", "Broncos,", "1895", "(1943)", "café", "Café!", "x", "y", "z", "  ", "-"]


def _random_text(rng: random.Random, max_words: int = 4) -> str:
    return rng.choice([" ", ""]).join(rng.choice(WORDS) for _ in range(rng.randint(0, max_words)))


@pytest.mark.parametrize("seed", range(5))
def test_parity_with_official_scripts(seed):
    rng = random.Random(seed)
    questions, predictions, na_probs = [], {}, {}
    for i in range(200):
        impossible = rng.random() < 0.3
        golds = [] if impossible else [_random_text(rng) or "x" for _ in range(rng.randint(1, 3))]
        questions.append((f"q{i}", golds))
        if rng.random() < 0.5 and golds:
            predictions[f"q{i}"] = rng.choice(golds) if rng.random() < 0.5 else golds[0] + " " + _random_text(rng, 2)
        else:
            predictions[f"q{i}"] = _random_text(rng)
        na_probs[f"q{i}"] = rng.random()
    dataset = _dataset(questions)
    v1_dataset = _dataset([(q, g) for q, g in questions if g])
    v1_predictions = {q: p for q, p in predictions.items() if rng.random() < 0.9}  # some unanswered
    assert m.squad_v1_evaluate(v1_dataset, v1_predictions) == _official_v1(v1_dataset, v1_predictions)
    assert m.squad_v2_evaluate(dataset, predictions) == _official_v2(dataset, predictions)
    assert m.squad_v2_evaluate(dataset, predictions, na_probs, 0.6) == _official_v2(dataset, predictions, na_probs, 0.6)
    scores = m.squad_v2_evaluate(dataset, predictions)
    assert 0 < scores["HasAns_f1"] < 100 and 0 < scores["NoAns_exact"] < 100  # both kinds exercised


def test_dataset_from_path_and_errors(tmp_path):
    import json

    path = tmp_path / "dev.json"
    dataset = _dataset([("a", ["Paris"])])
    path.write_text(json.dumps(dataset), encoding="utf-8")
    assert m.squad_v1_evaluate(path, {"a": "paris"}) == {"exact_match": 100.0, "f1": 100.0}
    assert m.squad_v1_evaluate(dataset["data"], {"a": "x"}) == {"exact_match": 0.0, "f1": 0.0}
    with pytest.raises(ValueError, match="no 'data'"):
        m.squad_v1_evaluate({}, {})
    with pytest.raises(ValueError, match="has a prediction"):
        m.squad_v2_evaluate(dataset, {})
