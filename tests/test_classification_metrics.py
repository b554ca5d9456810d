"""Parity of bertzoo's GLUE metrics with scikit-learn and scipy on seeded random predictions."""

import math
import warnings

import numpy as np
import pytest

from bertzoo.metrics import classification_metrics as cm

sklearn_metrics = pytest.importorskip("sklearn.metrics")
scipy_stats = pytest.importorskip("scipy.stats")

SEEDS = range(200)


def _random_classes(rng, num_classes):
    n = int(rng.integers(1, 40))
    labels = rng.integers(0, num_classes, size=n)
    # Mix exact copies with noise so scores span the whole range, degenerate cases included.
    predictions = np.where(rng.random(n) < rng.random(), labels, rng.integers(0, num_classes, size=n))
    return predictions, labels


@pytest.mark.parametrize("num_classes", [2, 3, 5])
def test_accuracy_f1_mcc_match_sklearn(num_classes):
    for seed in SEEDS:
        rng = np.random.default_rng(seed * 7 + num_classes)
        predictions, labels = _random_classes(rng, num_classes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected_accuracy = sklearn_metrics.accuracy_score(labels, predictions)
            expected_macro = sklearn_metrics.f1_score(labels, predictions, average="macro")
            expected_mcc = sklearn_metrics.matthews_corrcoef(labels, predictions)
            expected_binary = (
                sklearn_metrics.f1_score(labels, predictions, average="binary", labels=[0, 1])
                if num_classes == 2 else None
            )
        assert cm.accuracy(predictions, labels) == pytest.approx(expected_accuracy, abs=1e-12)
        assert cm.f1(predictions, labels, average="macro") == pytest.approx(expected_macro, abs=1e-12)
        assert cm.matthews_corrcoef(predictions, labels) == pytest.approx(expected_mcc, abs=1e-12)
        if expected_binary is not None:
            assert cm.f1(predictions, labels) == pytest.approx(expected_binary, abs=1e-12)


def _random_scores(rng):
    n = int(rng.integers(2, 40))
    labels = rng.integers(0, 6, size=n).astype(np.float64)  # STS-B-like 0..5, many ties
    if rng.random() < 0.5:
        labels = labels + rng.random(n)
    predictions = labels * rng.random() + rng.normal(size=n) * rng.random()
    if rng.random() < 0.3:
        predictions = np.round(predictions)  # ties in predictions too
    return predictions, labels


def test_pearson_spearman_match_scipy():
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        predictions, labels = _random_scores(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected_pearson = scipy_stats.pearsonr(predictions, labels)[0]
            expected_spearman = scipy_stats.spearmanr(predictions, labels)[0]
        for ours, expected in (
            (cm.pearson(predictions, labels), expected_pearson),
            (cm.spearman(predictions, labels), expected_spearman),
        ):
            if math.isnan(expected):
                assert math.isnan(ours)
            else:
                assert ours == pytest.approx(expected, abs=1e-12)


def test_average_ranks_match_scipy_rankdata():
    rng = np.random.default_rng(0)
    for _ in range(50):
        values = rng.integers(0, 5, size=int(rng.integers(1, 30)))
        np.testing.assert_array_equal(cm._average_ranks(values), scipy_stats.rankdata(values))


def test_constant_input_gives_nan_correlation_and_zero_mcc():
    assert math.isnan(cm.pearson([1.0, 1.0, 1.0], [0.0, 1.0, 2.0]))
    assert math.isnan(cm.spearman([0.0, 1.0, 2.0], [3.0, 3.0, 3.0]))
    assert cm.matthews_corrcoef([1, 1, 1], [0, 1, 1]) == 0.0


def test_f1_binary_without_positives_is_zero():
    assert cm.f1([0, 0], [0, 0]) == 0.0


def test_glue_metrics_sets():
    labels = np.array([0, 1, 1, 0, 1])
    predictions = np.array([0, 1, 0, 0, 1])
    cola = cm.glue_metrics("CoLA", predictions, labels)
    assert set(cola) == {"matthews_corrcoef", "score"}
    mrpc = cm.glue_metrics("MRPC", predictions, labels)
    assert mrpc["accuracy"] == pytest.approx(0.8)
    assert mrpc["f1"] == pytest.approx(0.8)
    assert set(cm.glue_metrics("qqp", predictions, labels)) == {"accuracy", "f1", "score"}
    assert set(cm.glue_metrics("sst-2", predictions, labels)) == {"accuracy", "score"}
    assert set(cm.glue_metrics("mnli_mm", predictions, labels)) == {"accuracy", "score"}
    logits = np.eye(2)[predictions] * 3.0 - 1.0
    assert cm.glue_metrics("rte", logits, labels)["accuracy"] == pytest.approx(0.8)
    stsb = cm.glue_metrics("STS-B", [[0.1], [2.0], [3.5], [4.0]], [0.0, 2.5, 3.0, 5.0])
    assert stsb["spearman"] == pytest.approx(1.0)
    assert stsb["score"] == pytest.approx((stsb["pearson"] + stsb["spearman"]) / 2)
    assert set(cm.glue_metrics("matthews_corrcoef", predictions, labels)) == set(cola)


def test_glue_metrics_unknown_task():
    with pytest.raises(ValueError, match="Unknown GLUE task"):
        cm.glue_metrics("squad", [0], [0])


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in length"):
        cm.accuracy([0, 1], [0])
