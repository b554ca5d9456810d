"""Length buckets: batches cut to the smallest of a few widths that holds their rows give the results
of rows padded to seq_length (features, predictions, a training step), every row once per epoch,
outputs in input order, and clear errors for bad bucket specs."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo import BertEncoder
from bertzoo.cli import main as cli_main
from bertzoo.data.batching import batched_dataset
from bertzoo.data.length_buckets import (bucketed_training_dataset, default_bucket_widths, length_sorted_batches,
                                         real_lengths, resolve_bucket_widths)
from bertzoo.features import sentence_embeddings, word_embeddings
from bertzoo.models.bert_classifier import BertClassifier, classification_loss_terms
from bertzoo.recipes.demo import DEV, TRAIN
from bertzoo.recipes.features import read_features
from bertzoo.training import Trainer, resolve_strategy
from bertzoo.training.prediction import predict_in_batches

from finetune_data import write_tiny_pretrained

TINY = dict(vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
            max_position_embeddings=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def packed_rows(num_rows: int, seq_length: int = 64, seed: int = 0) -> dict[str, np.ndarray]:
    """Rows of random real lengths 2..seq_length; word id 1 + row number at [CLS] names each row."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, seq_length + 1, num_rows)
    mask = (np.arange(seq_length)[None, :] < lengths[:, None]).astype("int32")
    ids = rng.integers(5, 30, (num_rows, seq_length)).astype("int32") * mask
    ids[:, 0] = np.arange(num_rows) % 25 + 5
    return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": np.zeros_like(ids)}


# ------------------------------------------------------------------------------------------ bucket specs


def test_default_widths_are_powers_of_two_up_to_seq_length():
    assert default_bucket_widths(128) == (16, 32, 64, 128)
    assert default_bucket_widths(384) == (16, 32, 64, 128, 256, 384)
    assert default_bucket_widths(16) == (16,)
    assert resolve_bucket_widths(True, 128) == resolve_bucket_widths(None, 128) == (16, 32, 64, 128)
    assert resolve_bucket_widths(False, 128) is None
    assert resolve_bucket_widths([32, 64], 128) == (32, 64, 128)  # seq_length is always a bucket
    assert resolve_bucket_widths("24,48,96", 96) == (24, 48, 96)


@pytest.mark.parametrize("spec, message", [
    ([64, 32], "strictly increasing"),
    ([32, 32], "strictly increasing"),
    ([0, 32], "positive ints"),
    ([32.0], "positive ints"),
    ([True], "positive ints"),
    ([256], "larger than seq_length 128"),
    ([], "non-empty list"),
    ("32,x", "expected 'auto', 'off' or comma-separated widths"),
])
def test_bad_bucket_specs_name_the_argument_and_what_was_expected(spec, message):
    with pytest.raises(ValueError, match="length_buckets") as caught:
        resolve_bucket_widths(spec, 128)
    assert message in str(caught.value)


def test_real_lengths_count_to_the_last_real_token():
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]])
    assert real_lengths(mask).tolist() == [2, 4, 0]


# ---------------------------------------------------------------------------------------- training data


def test_training_batches_are_bucketed_and_every_row_comes_once_per_epoch():
    rows, batch_size, widths = 96, 8, (16, 32, 64)
    inputs = packed_rows(rows)
    lengths = real_lengths(inputs["input_mask"])
    dataset = bucketed_training_dataset(inputs, {"labels": np.arange(rows)}, batch_size=batch_size, widths=widths,
                                        seed=3, window_batches=4)
    assert dataset.element_spec[0]["input_word_ids"].shape.as_list() == [batch_size, None]
    epochs = 3
    batches = list(dataset.take(epochs * rows // batch_size))
    seen_widths = set()
    for features, labels in batches:
        width = features["input_word_ids"].shape[1]
        seen_widths.add(width)
        row_ids = labels["labels"].numpy()
        longest = lengths[row_ids].max()
        assert width == min(w for w in widths if w >= longest)  # the smallest bucket that holds the rows
        np.testing.assert_array_equal(features["input_word_ids"].numpy(), inputs["input_word_ids"][row_ids, :width])
        np.testing.assert_array_equal(features["input_mask"].numpy(), inputs["input_mask"][row_ids, :width])
    assert seen_widths <= set(widths) and len(seen_widths) > 1
    order = [np.concatenate([labels["labels"].numpy() for _, labels in batches[e * 12:(e + 1) * 12]])
             for e in range(epochs)]
    for epoch in order:
        assert sorted(epoch.tolist()) == list(range(rows))
    assert order[0].tolist() != order[1].tolist()  # reshuffled every epoch
    again = bucketed_training_dataset(inputs, {"labels": np.arange(rows)}, batch_size=batch_size, widths=widths,
                                      seed=3, window_batches=4)
    assert [labels["labels"].numpy().tolist() for _, labels in again.take(12)] == [o.tolist() for o in
                                                                                   np.split(order[0], 12)]


def test_training_data_errors():
    inputs = packed_rows(8)
    with pytest.raises(ValueError, match="largest bucket width 32 must be the inputs' seq_length 64"):
        bucketed_training_dataset(inputs, {"labels": np.arange(8)}, batch_size=4, widths=(16, 32))
    with pytest.raises(ValueError, match="same number of rows"):
        bucketed_training_dataset(inputs, {"labels": np.arange(7)}, batch_size=4, widths=(32, 64))


# ------------------------------------------------------------------------------------------- inference


def classifier(strategy=None) -> BertClassifier:
    with (strategy or tf.distribute.get_strategy()).scope():
        keras.utils.set_random_seed(1)
        model = BertClassifier(BertEncoder(**TINY, seq_length=64), num_classes=3, pooling="mean", dropout_rate=0.0)
        model.build()
    return model


@pytest.mark.parametrize("kind", ["cpu", "mirrored"])
def test_bucketed_predictions_equal_padded_ones_in_input_order(kind):
    strategy = resolve_strategy(kind)
    model = classifier(strategy)
    inputs = packed_rows(23)
    padded = predict_in_batches(model, inputs, global_batch_size=4, strategy=strategy, verbose=False)
    bucketed = predict_in_batches(model, inputs, global_batch_size=4, strategy=strategy, verbose=False,
                                  length_buckets=(8, 16, 32, 64))
    np.testing.assert_allclose(bucketed["logits"], padded["logits"], rtol=1e-5, atol=1e-6)


def test_inference_batches_are_sorted_and_the_order_restores_the_input():
    inputs = packed_rows(10)
    dataset, order = length_sorted_batches(inputs, batch_size=4, widths=(16, 32, 64))
    lengths = real_lengths(inputs["input_mask"])
    batches = list(dataset)
    assert [batch["input_mask"].shape[0] for batch in batches] == [4, 4, 4]  # the last filled up with empty rows
    sorted_rows = np.concatenate([batch["input_word_ids"].numpy()[:, 0] for batch in batches])[:10]
    np.testing.assert_array_equal(sorted_rows, inputs["input_word_ids"][order, 0])
    assert np.all(np.diff(lengths[order]) >= 0)


def test_outputs_with_a_sequence_axis_are_refused():
    encoder = BertEncoder(**TINY, seq_length=64)
    model = keras.Model(encoder.inputs, {"sequence_output": encoder.outputs[0]})  # [batch, width, hidden]
    with pytest.raises(ValueError, match="sequence axis"):
        predict_in_batches(model, packed_rows(12), global_batch_size=4, verbose=False, length_buckets=(8, 16, 64))


# -------------------------------------------------------------------------------------------- training


@pytest.mark.parametrize("kind, jit_compile", [("cpu", False), ("cpu", True), ("mirrored", False)])
def test_one_training_step_on_bucketed_batches_equals_the_padded_step(tmp_path, kind, jit_compile):
    rows = 8
    inputs = packed_rows(rows, seed=5)
    inputs["input_mask"][:, 20:] = 0  # every row fits the 32 bucket
    inputs["input_word_ids"] *= inputs["input_mask"]
    labels = {"labels": np.arange(rows) % 3}

    def trained(dataset, name, strategy, jit):
        trainer = Trainer(strategy, classifier,
                          lambda: keras.optimizers.SGD(learning_rate=0.5), classification_loss_terms("single_label"),
                          global_batch_size=rows, output_dir=tmp_path / name, log_every=1, jit_compile=jit,
                          seed=7, verbose=False)
        final = trainer.train(dataset, steps=1)
        return final["loss"], [v.numpy() for v in trainer.model.trainable_variables]

    padded_loss, padded_weights = trained(
        batched_dataset(inputs, labels, batch_size=rows, training=True, seed=1), "padded", resolve_strategy("cpu"),
        False)
    bucketed = bucketed_training_dataset(inputs, labels, batch_size=rows, widths=(16, 32, 64), seed=1,
                                         window_batches=1)
    assert next(iter(bucketed))[0]["input_mask"].shape == (rows, 32)
    bucketed_loss, bucketed_weights = trained(bucketed, "bucketed", resolve_strategy(kind), jit_compile)
    assert bucketed_loss == pytest.approx(padded_loss, rel=1e-5)
    initial = [v.numpy() for v in classifier().trainable_variables]
    assert any(not np.allclose(a, b) for a, b in zip(initial, padded_weights))  # the step changed the weights
    for padded, bucketed_weight in zip(padded_weights, bucketed_weights):
        np.testing.assert_allclose(bucketed_weight, padded, rtol=1e-4, atol=1e-6)


# -------------------------------------------------------------------------------------------- features


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return bertzoo.load_pretrained(write_tiny_pretrained(tmp_path_factory.mktemp("tiny") / "pretrained"),
                                   seq_length=32)


TEXTS = ["good", "", "the day was very good and we saw some food", "anna", " ".join(["boris saw the place"] * 12),
         "what is code ?", "really bad food", "carla and dmitri were in oslo and then in lima"] * 3


@pytest.mark.parametrize("buckets", [True, [8, 16]])
def test_sentence_features_equal_padded_ones(tiny_bert, buckets):
    padded = sentence_embeddings(tiny_bert, TEXTS, batch_size=4, strategy="sum_all", length_buckets=False,
                                 progress=False)
    bucketed = sentence_embeddings(tiny_bert, TEXTS, batch_size=4, strategy="sum_all",
                                   length_buckets=buckets, progress=False)
    np.testing.assert_allclose(bucketed, padded, rtol=1e-5, atol=1e-6)


def test_word_features_equal_padded_ones(tiny_bert):
    padded = word_embeddings(tiny_bert, TEXTS, batch_size=4, length_buckets=False, progress=False)
    bucketed = word_embeddings(tiny_bert, TEXTS, batch_size=4, progress=False)
    assert [result.words for result in bucketed] == [result.words for result in padded]
    for expected, result in zip(padded, bucketed):
        np.testing.assert_allclose(result.vectors, expected.vectors, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------- the CLI on bundled data


@pytest.mark.usefixtures("minilm_dir")
def test_features_command_on_the_sentiment_texts_equals_padding(tmp_path):
    texts = [line.split("\t")[0] for line in TRAIN.read_text(encoding="utf-8").splitlines()[1:81]]
    input_file = tmp_path / "reviews.txt"
    input_file.write_text("\n".join(texts) + "\n", encoding="utf-8")
    for name, flag in (("bucketed", "--length-buckets"), ("padded", "--no-length-buckets")):
        assert cli_main(["features", "--input", str(input_file), "--output", str(tmp_path / name),
                         "--strategy", "cpu", flag]) == 0
    _, bucketed, bucketed_index = read_features(tmp_path / "bucketed")
    _, padded, padded_index = read_features(tmp_path / "padded")
    assert bucketed_index == padded_index and bucketed.shape == (80, 384)
    np.testing.assert_allclose(bucketed, padded, rtol=1e-4, atol=1e-6)


@pytest.mark.usefixtures("minilm_dir")
def test_finetune_command_with_length_buckets_on_the_sentiment_data(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli_main(["finetune", "--task", "classify", "--train", str(TRAIN), "--eval", str(DEV),
                     "--label-names", "0,1", "--epochs", "0.2", "--global-batch-size", "16", "--strategy", "cpu",
                     "--length-buckets", "32,64", "--output", str(out)]) == 0
    assert "length buckets: batches cut to 32, 64, 128 tokens" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 10 and 0.0 <= metrics["eval"]["accuracy"] <= 1.0
    assert len((out / "eval_predictions.jsonl").read_text().splitlines()) == 300


def test_finetune_command_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli_main(["finetune", "--task", "classify", "--train", str(TRAIN), "--output", str(tmp_path / "a"),
                  "--length-buckets", "32,big"])
    assert "argument --length-buckets: expected 'auto', 'off' or comma-separated widths" in capsys.readouterr().err
    assert cli_main(["finetune", "--task", "ner", "--train", str(TRAIN), "--output", str(tmp_path / "b"),
                     "--strategy", "cpu", "--length-buckets"]) == 2
    assert "length_buckets (--length-buckets) applies to the tasks classify, pair, regression, multilabel, not 'ner'" \
        in capsys.readouterr().err
    assert cli_main(["finetune", "--task", "classify", "--train", str(TRAIN), "--output", str(tmp_path / "c"),
                     "--strategy", "cpu", "--length-buckets", "64,256"]) == 2
    assert "width 256 is larger than seq_length 128" in capsys.readouterr().err
