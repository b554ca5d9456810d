"""DenseHead (on sequences) and BertTagger: arithmetic against numpy, the shared layer checks, loss and accuracy
terms against numpy, and training a tiny tagger on a synthetic task through the data pipeline."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo import BertEncoder
from bertzoo.data.tagging_data import decode_tags, encode_tagged_sentences, tagging_dataset
from bertzoo.heads.dense_head import DenseHead
from bertzoo.models.bert_tagger import BertTagger, tagging_loss_terms, tagging_metric_terms
from bertzoo.families.bert import WordPieceTokenizer
from bertzoo.training.strategy import resolve_strategy
from bertzoo.training.trainer import Trainer
from layer_checks import run_layer_checks

TINY = dict(vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
            max_position_embeddings=16)


def encoder_inputs(seq_length, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 30, (batch, seq_length)).astype("int32")
    mask = np.ones_like(ids)
    mask[0, -2:] = 0
    return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": np.zeros_like(ids)}


def test_tagging_head_matches_numpy_and_drops_out_only_in_training():
    head = DenseHead(num_classes=5, hidden_size=8, dropout_rate=0.5)
    rng = np.random.default_rng(0)
    sequence = rng.normal(size=(2, 6, 8)).astype("float32")
    head.build()
    head.dense.bias.assign(rng.normal(size=5).astype("float32"))
    logits = head(sequence, training=False)
    assert logits.dtype == "float32" and logits.shape == (2, 6, 5)
    expected = sequence.astype("float64") @ head.dense.kernel.numpy() + head.dense.bias.numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-5)

    # With an identity kernel the training output is the dropped-out input: 0 or x / (1 - rate).
    square = DenseHead(num_classes=8, hidden_size=8, dropout_rate=0.5)
    square.build()
    square.dense.kernel.assign(np.eye(8, dtype="float32"))
    dropped = np.asarray(square(sequence, training=True))
    kept = np.isclose(dropped, 2.0 * sequence)
    assert np.all(kept | (dropped == 0.0))
    assert 0.3 < kept.mean() < 0.7


def test_tagging_head_shared_checks(tmp_path):
    def as_model(layer):
        sequence = keras.Input((None, 8))
        return keras.Model(sequence, layer(sequence))

    run_layer_checks(lambda: DenseHead(num_classes=5, hidden_size=8),
                     lambda n: (np.random.default_rng(n).normal(size=(2, n, 8)).astype("float32"),),
                     tmp_path, as_model=as_model, float32_outputs=True)


def test_bert_tagger_shared_checks(tmp_path):
    run_layer_checks(lambda: BertTagger(BertEncoder(**TINY), num_classes=5),
                     lambda n: (encoder_inputs(n, seed=n),), tmp_path, float32_outputs=True)


def test_bert_tagger_config_and_head_settings():
    encoder = BertEncoder(**TINY, initializer_range=0.05)
    tagger = BertTagger(encoder, num_classes=7, dropout_rate=0.2)
    assert tagger(encoder_inputs(6))["logits"].shape == (2, 6, 7)
    head = tagger.tagging_head
    assert (head.hidden_size, head.initializer_range, head.dropout_rate) == (8, 0.05, 0.2)
    config = tagger.get_config()
    rebuilt = BertTagger.from_config(config)
    assert (rebuilt.num_classes, rebuilt.dropout_rate, rebuilt.encoder.initializer_range) == (7, 0.2, 0.05)


def _numpy_terms(logits, label_ids, weights):
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, label_ids[..., None], axis=-1)[..., 0]
    correct = (logits.argmax(-1) == label_ids).astype("float64")
    return (weights * nll).sum(), (weights * correct).sum(), weights.sum()


def test_loss_and_accuracy_terms_match_numpy():
    rng = np.random.default_rng(3)
    logits = rng.normal(scale=2.0, size=(3, 7, 5)).astype("float32")
    label_ids = rng.integers(0, 5, (3, 7)).astype("int32")
    weights = (rng.random((3, 7)) < 0.6).astype("float32")
    weights[0, 0] = 0.0
    weights[1, 2] = 0.5  # weights need not be 0/1
    labels = {"label_ids": label_ids, "label_weights": weights}
    loss_sum, loss_weight = tagging_loss_terms(labels, {"logits": logits})["tagging"]
    accuracy_sum, accuracy_weight = tagging_metric_terms(labels, {"logits": logits})["token_accuracy"]
    expected_loss, expected_correct, expected_weight = _numpy_terms(logits.astype("float64"), label_ids, weights)
    assert loss_sum.dtype == "float32" and accuracy_sum.dtype == "float32"
    np.testing.assert_allclose(float(loss_sum), expected_loss, rtol=1e-5)
    np.testing.assert_allclose(float(accuracy_sum), expected_correct, rtol=1e-6)
    assert float(loss_weight) == float(accuracy_weight) == pytest.approx(expected_weight)
    # A label under weight 0 does not count.
    changed = dict(labels, label_ids=label_ids.copy())
    changed["label_ids"][0, 0] = (label_ids[0, 0] + 1) % 5
    assert float(tagging_loss_terms(changed, {"logits": logits})["tagging"][0]) == pytest.approx(float(loss_sum))


# -- training on a synthetic task -----------------------------------------------------------------

# Words "w5".."w29" are single pieces; "xw7" is "x" + "##w7" (a continuation piece, out of the loss).
WORDS = [f"w{i}" for i in range(5, 26)]
TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + ["x"] + [f"##{w}" for w in WORDS[:3]]
LABELS = ["O", "B-NUM", "B-ODD"]


def synthetic_sentences(count, seed):
    """Tag = whether the word's number is a multiple of 3 (B-NUM), else odd (B-ODD), else O."""
    rng = np.random.default_rng(seed)
    sentences, tags = [], []
    for _ in range(count):
        numbers = rng.integers(5, 26, rng.integers(3, 9))
        words = [f"xw{n}" if n < 8 and rng.random() < 0.5 else f"w{n}" for n in numbers]
        sentences.append(words)
        tags.append(["B-NUM" if n % 3 == 0 else "B-ODD" if n % 2 else "O" for n in numbers])
    return sentences, tags


def test_tiny_tagger_learns_a_synthetic_task(tmp_path):
    tokenizer = WordPieceTokenizer(TOKENS, lowercase=False)
    sentences, tags = synthetic_sentences(64, seed=0)
    features = encode_tagged_sentences(sentences, tokenizer, seq_length=12, label_names=LABELS,
                                       sentences_labels=tags)
    assert (features.label_weights.sum(axis=1) < features.input_mask.sum(axis=1) - 2).any()  # some ##pieces
    trainer = Trainer(
        resolve_strategy("cpu"),
        lambda: BertTagger(BertEncoder(**dict(TINY, vocab_size=len(TOKENS))), num_classes=len(LABELS)),
        lambda: keras.optimizers.Adam(1e-2), tagging_loss_terms, metrics_fn=tagging_metric_terms,
        global_batch_size=16, output_dir=tmp_path, log_every=10, steps_per_execution=10, seed=0,
        verbose=False)
    trainer.train(tagging_dataset(features, 16, training=True, shuffle_seed=0), steps=60)
    history = trainer.history
    assert history[-1]["loss/tagging"] < 0.2 * history[0]["loss/tagging"]
    assert history[-1]["token_accuracy"] > 0.9

    # Held-out sentences, through predict and decode_tags.
    test_sentences, test_tags = synthetic_sentences(16, seed=1)
    test_features = encode_tagged_sentences(test_sentences, tokenizer, seq_length=12)
    outputs = trainer.model.predict(tagging_dataset(test_features, 8, training=False), verbose=0)
    predicted = decode_tags(test_features, outputs, LABELS)
    flat_true = [t for sentence in test_tags for t in sentence]
    flat_predicted = [t for sentence in predicted for t in sentence]
    assert np.mean([a == b for a, b in zip(flat_true, flat_predicted)]) > 0.9


def test_fit_reports_the_weighted_mean_loss():
    """``compute_loss`` for Keras ``fit``/``evaluate`` is the ratio of the loss terms."""
    keras.utils.set_random_seed(0)
    tagger = BertTagger(BertEncoder(**TINY), num_classes=3)
    inputs = encoder_inputs(6, batch=4)
    rng = np.random.default_rng(1)
    labels = {"label_ids": rng.integers(0, 3, (4, 6)).astype("int32"),
              "label_weights": (rng.random((4, 6)) < 0.5).astype("float32")}
    tagger.compile(optimizer="adam")
    results = tagger.evaluate(tf.data.Dataset.from_tensors((inputs, labels)), verbose=0, return_dict=True)
    total, count = tagging_loss_terms(labels, tagger(inputs))["tagging"]
    correct, _ = tagging_metric_terms(labels, tagger(inputs))["token_accuracy"]
    assert results["tagging_loss"] == pytest.approx(float(total / count), rel=1e-5)
    assert results["token_accuracy"] == pytest.approx(float(correct / count), rel=1e-5)
