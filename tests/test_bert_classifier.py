"""DenseHead (on pooled vectors) / SpanHead and the models around them: arithmetic against numpy, the
shared layer checks, loss terms against direct formulas, and training that lowers the loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo import BertEncoder
from bertzoo.heads.dense_head import DenseHead
from bertzoo.heads.span_head import SpanHead
from bertzoo.models.bert_classifier import BertClassifier, classification_loss_terms, classification_metric_terms
from bertzoo.models.bert_span_labeler import BertSpanLabeler, span_loss_terms, span_metric_terms
from layer_checks import run_layer_checks

TINY = dict(vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
            max_position_embeddings=16)


def encoder_inputs(batch=4, seq_length=10, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 30, (batch, seq_length)).astype("int32")
    mask = np.ones_like(ids)
    mask[0, -3:] = 0
    return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": np.zeros_like(ids)}


def test_classification_head_matches_numpy_and_shared_checks(tmp_path):
    head = DenseHead(num_classes=3, hidden_size=8)
    pooled = np.random.default_rng(0).normal(size=(5, 8)).astype("float32")
    logits = np.asarray(head(pooled))
    kernel, bias = (np.asarray(w) for w in head.dense.weights)
    np.testing.assert_allclose(logits, pooled @ kernel + bias, atol=1e-6)
    # Dropout only while training.
    trained = np.asarray(head(pooled, training=True))
    assert not np.allclose(trained, logits)

    def as_model(layer):
        pooled_input = keras.Input((8,))
        return keras.Model(pooled_input, layer(pooled_input))

    run_layer_checks(lambda: DenseHead(num_classes=3, hidden_size=8),
                     lambda n: (np.random.default_rng(n).normal(size=(n, 8)).astype("float32"),),
                     tmp_path, as_model=as_model, float32_outputs=True, seq_lengths=(2, 2))


def test_span_head_matches_numpy_and_shared_checks(tmp_path):
    head = SpanHead(hidden_size=8)
    sequence = np.random.default_rng(1).normal(size=(2, 6, 8)).astype("float32")
    start, end = (np.asarray(t) for t in head(sequence))
    kernel, bias = (np.asarray(w) for w in head.dense.weights)
    expected = sequence @ kernel + bias
    np.testing.assert_allclose(start, expected[..., 0], atol=1e-6)
    np.testing.assert_allclose(end, expected[..., 1], atol=1e-6)

    def as_model(layer):
        sequence_input = keras.Input((None, 8))
        start, end = layer(sequence_input)
        return keras.Model(sequence_input, {"start_logits": start, "end_logits": end})

    run_layer_checks(lambda: SpanHead(hidden_size=8),
                     lambda n: (np.random.default_rng(n).normal(size=(2, n, 8)).astype("float32"),),
                     tmp_path, as_model=as_model, float32_outputs=True, outputs_follow_length=False)


@pytest.mark.parametrize("problem_type,num_classes", [("single_label", 3), ("multi_label", 4), ("regression", 1)])
def test_classifier_shared_checks(tmp_path, problem_type, num_classes):
    run_layer_checks(lambda: BertClassifier(BertEncoder(**TINY), num_classes=num_classes, problem_type=problem_type),
                     lambda n: (encoder_inputs(seq_length=n),), tmp_path, float32_outputs=True)


def test_span_labeler_shared_checks(tmp_path):
    run_layer_checks(lambda: BertSpanLabeler(BertEncoder(**TINY)), lambda n: (encoder_inputs(seq_length=n),),
                     tmp_path, float32_outputs=True, outputs_follow_length=False)


def test_classifier_uses_the_pooled_output():
    encoder = BertEncoder(**TINY)
    classifier = BertClassifier(encoder, num_classes=2)
    inputs = encoder_inputs()
    pooled = np.asarray(encoder(inputs)["pooled_output"])
    logits = np.asarray(classifier(inputs)["logits"])
    kernel, bias = (np.asarray(w) for w in classifier.classification_head.dense.weights)
    np.testing.assert_allclose(logits, pooled @ kernel + bias, atol=1e-5)


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="num_classes must be 1"):
        BertClassifier(BertEncoder(**TINY), num_classes=2, problem_type="regression")
    with pytest.raises(ValueError, match="problem_type must be one of"):
        BertClassifier(BertEncoder(**TINY), num_classes=2, problem_type="ordinal")


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_classification_loss_terms_match_formulas():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(5, 3)).astype("float32")
    ids = np.array([0, 2, 1, 1, 0])
    total, count = (float(v) for v in classification_loss_terms("single_label")({"labels": ids}, {"logits": logits})["classification"])
    assert count == 5
    assert total == pytest.approx(-_log_softmax(logits)[np.arange(5), ids].sum(), rel=1e-5)
    accuracy = classification_metric_terms("single_label")({"labels": ids}, {"logits": logits})["accuracy"]
    assert float(accuracy[0]) == (logits.argmax(-1) == ids).sum()

    multi_hot = (rng.random((5, 3)) > 0.5).astype("float32")
    probabilities = 1 / (1 + np.exp(-logits))
    expected = -(multi_hot * np.log(probabilities) + (1 - multi_hot) * np.log(1 - probabilities)).mean(-1).sum()
    total, _ = classification_loss_terms("multi_label")({"labels": multi_hot}, {"logits": logits})["multi_label"]
    assert float(total) == pytest.approx(expected, rel=1e-4)

    scores = rng.normal(size=(5,)).astype("float32")
    total, _ = classification_loss_terms("regression")({"labels": scores}, {"logits": logits[:, :1]})["regression"]
    assert float(total) == pytest.approx(((logits[:, 0] - scores) ** 2).sum(), rel=1e-5)


def test_span_loss_is_googles_mean_of_start_and_end():
    rng = np.random.default_rng(3)
    outputs = {"start_logits": rng.normal(size=(4, 7)).astype("float32"),
               "end_logits": rng.normal(size=(4, 7)).astype("float32")}
    labels = {"start_positions": np.array([0, 3, 2, 6]), "end_positions": np.array([0, 4, 5, 6])}
    terms = span_loss_terms(labels, outputs)
    loss = sum(float(total) / float(count) for total, count in terms.values())
    start = -_log_softmax(outputs["start_logits"])[np.arange(4), labels["start_positions"]].mean()
    end = -_log_softmax(outputs["end_logits"])[np.arange(4), labels["end_positions"]].mean()
    assert loss == pytest.approx((start + end) / 2, rel=1e-5)
    correct = span_metric_terms(labels, outputs)["start_accuracy"]
    assert float(correct[0]) == (outputs["start_logits"].argmax(-1) == labels["start_positions"]).sum()


@pytest.mark.parametrize("jit_compile", [False, True])
def test_classifier_learns_a_token_rule(jit_compile):
    """Label = whether token 7 occurs: a few dozen Adam steps get well above chance."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    ids = rng.integers(8, 30, (64, 8)).astype("int32")
    labels = (rng.random(64) < 0.5).astype("int32")
    ids[labels == 1, rng.integers(1, 8, int(labels.sum()))] = 7
    inputs = {"input_word_ids": ids, "input_mask": np.ones_like(ids), "input_type_ids": np.zeros_like(ids)}
    classifier = BertClassifier(BertEncoder(**TINY, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0),
                                num_classes=2, dropout_rate=0.0)
    optimizer = keras.optimizers.Adam(3e-3)
    loss_fn = classification_loss_terms("single_label")

    def step(batch, targets):
        with tf.GradientTape() as tape:
            total, count = loss_fn({"labels": targets}, classifier(batch, training=True))["classification"]
            loss = total / count
        optimizer.apply(tape.gradient(loss, classifier.trainable_variables), classifier.trainable_variables)
        return loss

    step = tf.function(step, jit_compile=jit_compile)
    losses = [float(step(inputs, labels)) for _ in range(60)]
    assert losses[-1] < 0.5 * losses[0]
    accuracy = (np.asarray(classifier(inputs)["logits"]).argmax(-1) == labels).mean()
    assert accuracy > 0.9
