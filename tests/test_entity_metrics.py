"""Entity metrics match seqeval's default (conlleval) mode exactly, ill-formed tags included."""

import warnings

import numpy as np
import pytest

from bertzoo.metrics.entity_metrics import Entity, entity_scores, extract_entities

seqeval_metrics = pytest.importorskip("seqeval.metrics")
from seqeval.metrics.sequence_labeling import get_entities  # noqa: E402

# BIO tags plus the ill-formed and unusual tags real predictions contain: I- after O, type
# switches, bare B/I, and IOBES tags.
TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-MISC", "B-MISC",
        "I-ORG", "B", "I", "E-PER", "S-LOC"]


def _random_corpus(rng, tags=TAGS):
    num_sentences = int(rng.integers(1, 6))
    true, pred = [], []
    for _ in range(num_sentences):
        n = int(rng.integers(0, 12))
        gold = [tags[i] for i in rng.integers(0, len(tags), size=n)]
        guess = [t if rng.random() < 0.6 else tags[int(rng.integers(0, len(tags)))] for t in gold]
        true.append(gold)
        pred.append(guess)
    return true, pred


@pytest.mark.parametrize("tags", [TAGS, ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]])
def test_scores_equal_seqeval_default_mode(tags):
    for seed in range(400):
        rng = np.random.default_rng(seed)
        true, pred = _random_corpus(rng, tags)
        ours = entity_scores(true, pred)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert ours["precision"] == seqeval_metrics.precision_score(true, pred)
            assert ours["recall"] == seqeval_metrics.recall_score(true, pred)
            assert ours["f1"] == seqeval_metrics.f1_score(true, pred)
            report = seqeval_metrics.classification_report(true, pred, output_dict=True)
        expected_types = {k for k in report if k not in ("micro avg", "macro avg", "weighted avg")}
        assert set(ours["per_type"]) == expected_types
        for type_, scores in ours["per_type"].items():
            assert scores["precision"] == report[type_]["precision"]
            assert scores["recall"] == report[type_]["recall"]
            assert scores["f1"] == report[type_]["f1-score"]
            assert scores["support"] == report[type_]["support"]


def test_extract_entities_equals_seqeval_get_entities():
    for seed in range(300):
        rng = np.random.default_rng(seed)
        tags = [TAGS[i] for i in rng.integers(0, len(TAGS), size=int(rng.integers(0, 15)))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = [(t, s, e + 1) for t, s, e in get_entities(tags)]
        assert [tuple(e) for e in extract_entities(tags)] == expected


def test_conlleval_chunk_rules():
    # I- after O starts an entity; a type switch inside I- tags splits the entity (IOB1 reading).
    assert extract_entities(["O", "I-PER", "I-PER", "I-LOC", "B-LOC", "O"]) == [
        Entity("PER", 1, 3), Entity("LOC", 3, 4), Entity("LOC", 4, 5)]
    assert extract_entities(["B-PER", "I-LOC"]) == [Entity("PER", 0, 1), Entity("LOC", 1, 2)]


def test_known_scores_and_boundaries():
    true = [["B-PER", "I-PER", "O"], ["B-LOC"]]
    pred = [["B-PER", "I-PER", "B-LOC"], ["I-LOC"]]
    scores = entity_scores(true, pred)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == 1.0
    assert scores["per_type"]["LOC"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="Sentence 0 has 2 gold tags but 1 predicted"):
        entity_scores([["O", "O"]], [["O"]])
