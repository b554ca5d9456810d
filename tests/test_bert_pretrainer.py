"""Pretraining heads and BertPretrainer: arithmetic against numpy, serialization, Google's cls/
weights in and out, and `fit` reducing the loss."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo import BertEncoder
from bertzoo.families.bert.masked_lm_head import MaskedLMHead
from bertzoo.families.bert.next_sentence_head import NextSentenceHead
from bertzoo.families.bert.checkpoints.encoder_weights import WeightMismatchError
from bertzoo.families.bert.checkpoints.pretraining_head_weights import assign_pretraining_head_weights, read_pretraining_head_weights
from bertzoo.families.bert.bert_pretrainer import BertPretrainer, pretraining_loss_terms
from checkpoint_factory import random_canonical_weights
from layer_checks import run_layer_checks

TINY = dict(vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
            max_position_embeddings=16)


def pretraining_batch(batch=4, seq_length=10, predictions=3, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 30, (batch, seq_length)).astype("int32")
    positions = np.sort(rng.choice(np.arange(1, seq_length - 1), size=(batch, predictions)), axis=1).astype("int32")
    for row in range(batch):
        positions[row] = np.sort(rng.choice(np.arange(1, seq_length - 1), size=predictions, replace=False))
    labels = np.take_along_axis(ids, positions, axis=1)
    weights = np.ones((batch, predictions), "float32")
    weights[0, -1] = 0.0  # one padded prediction slot
    features = {"input_word_ids": ids, "input_mask": np.ones_like(ids), "input_type_ids": np.zeros_like(ids),
                "masked_lm_positions": positions}
    targets = {"masked_lm_ids": labels, "masked_lm_weights": weights,
               "next_sentence_labels": rng.integers(0, 2, (batch, 1)).astype("int32")}
    return features, targets


def test_masked_lm_head_shared_checks(tmp_path):
    table = np.random.default_rng(0).normal(size=(30, 8)).astype("float32")

    def as_model(layer):
        sequence = keras.Input((None, 8))
        positions = keras.Input((3,), dtype="int32")
        embedding = keras.Input(batch_shape=(30, 8))
        return keras.Model([sequence, positions, embedding], layer(sequence, positions, embedding))

    run_layer_checks(
        lambda: MaskedLMHead(vocab_size=30, hidden_size=8),
        lambda n: (np.random.default_rng(n).normal(size=(2, n, 8)).astype("float32"),
                   np.array([[0, 2, 4], [1, 1, 3]], "int32"), table),
        tmp_path, as_model=as_model, float32_outputs=True, outputs_follow_length=False)


def test_masked_lm_head_matches_numpy():
    head = MaskedLMHead(vocab_size=30, hidden_size=8, hidden_act="gelu_tanh")
    rng = np.random.default_rng(1)
    sequence = rng.normal(size=(2, 6, 8)).astype("float32")
    positions = np.array([[0, 5], [2, 2]], "int32")
    table = rng.normal(size=(30, 8)).astype("float32")
    logits = np.asarray(head(sequence, positions, table))
    head.output_bias.assign(rng.normal(size=30).astype("float32"))
    logits = np.asarray(head(sequence, positions, table))
    gathered = np.take_along_axis(sequence, positions[:, :, None], axis=1).astype("float64")
    x = gathered @ head.transform.kernel.numpy() + head.transform.bias.numpy()
    x = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-12)
    x = x * head.layer_norm.gamma.numpy() + head.layer_norm.beta.numpy()
    expected = x @ table.T + head.output_bias.numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4)


def test_next_sentence_head_shared_checks(tmp_path):
    def as_model(layer):
        pooled = keras.Input((8,))
        return keras.Model(pooled, layer(pooled))

    run_layer_checks(lambda: NextSentenceHead(hidden_size=8),
                     lambda n: (np.random.default_rng(n).normal(size=(n, 8)).astype("float32"),),
                     tmp_path, as_model=as_model, float32_outputs=True, seq_lengths=(2, 2))


def test_pretrainer_outputs_and_keras_round_trip(tmp_path):
    pretrainer = BertPretrainer(BertEncoder(**TINY))
    features, _ = pretraining_batch()
    outputs = pretrainer(features)
    assert outputs["masked_lm_logits"].shape == (4, 3, 30)
    assert outputs["next_sentence_logits"].shape == (4, 2)
    pretrainer.save(tmp_path / "p.keras")
    loaded = keras.saving.load_model(tmp_path / "p.keras")
    for name in outputs:
        np.testing.assert_array_equal(loaded(features)[name], outputs[name])
    # The MLM projection is tied to the word embeddings: no second vocab x hidden matrix.
    assert sum(int(np.prod(w.shape)) == 30 * 8 for w in pretrainer.weights) == 1


def test_mlm_only_pretrainer_has_no_next_sentence_output():
    pretrainer = BertPretrainer(BertEncoder(**TINY), next_sentence=False)
    features, labels = pretraining_batch()
    outputs = pretrainer(features)
    assert set(outputs) == {"masked_lm_logits"}
    assert set(pretraining_loss_terms(labels, outputs)) == {"masked_lm"}


def test_loss_terms_ignore_padded_predictions():
    pretrainer = BertPretrainer(BertEncoder(**TINY))
    features, labels = pretraining_batch()
    outputs = pretrainer(features)
    total, count = (float(v) for v in pretraining_loss_terms(labels, outputs)["masked_lm"])
    assert count == 11.0  # 4 x 3 slots, one padded
    changed = dict(labels, masked_lm_ids=labels["masked_lm_ids"].copy())
    changed["masked_lm_ids"][0, -1] = (changed["masked_lm_ids"][0, -1] + 1) % 30  # the padded slot
    assert float(pretraining_loss_terms(changed, outputs)["masked_lm"][0]) == pytest.approx(total)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fit_reduces_the_loss(jit_compile):
    keras.utils.set_random_seed(0)
    pretrainer = BertPretrainer(BertEncoder(**TINY))
    features, labels = pretraining_batch(batch=8)
    dataset = tf.data.Dataset.from_tensors((features, labels)).repeat()
    pretrainer.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=jit_compile)
    history = pretrainer.fit(dataset, steps_per_epoch=10, epochs=4, verbose=0).history
    assert history["masked_lm_loss"][-1] < 0.6 * history["masked_lm_loss"][0]
    assert history["masked_lm_accuracy"][-1] > history["masked_lm_accuracy"][0]
    assert "next_sentence_loss" in history and "loss" in history


def test_google_head_weights_in_and_out():
    pretrainer = BertPretrainer(BertEncoder(**TINY))
    pretrainer.build()
    weights = random_canonical_weights(num_layers=2, hidden=8, intermediate=16, vocab=30, max_positions=16)
    assert assign_pretraining_head_weights(pretrainer, weights, source="test") == ["masked_lm", "next_sentence"]
    # Google's output_weights are [2, hidden]: logits = pooled @ output_weights.T + bias.
    pooled = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    expected = pooled @ weights["cls/seq_relationship/output_weights"].T + weights["cls/seq_relationship/output_bias"]
    np.testing.assert_allclose(pretrainer.next_sentence_head(pooled), expected, atol=1e-5)
    back = read_pretraining_head_weights(pretrainer)
    for name, value in back.items():
        np.testing.assert_array_equal(value, weights[name], err_msg=name)
    broken = dict(weights)
    del broken["cls/predictions/output_bias"]
    with pytest.raises(WeightMismatchError, match="missing cls/predictions/output_bias"):
        assign_pretraining_head_weights(pretrainer, broken, source="ckpt")
