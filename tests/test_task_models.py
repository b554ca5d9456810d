"""The Keras task models on raw strings (TextClassifier, MultipleChoice): strings in and answers out,
compile defaults sized by fit, .keras round trips, TF Serving export, fit under MirroredStrategy
equal to one device, the refusal under MultiWorkerMirroredStrategy, and the bertzoo trainer training
the same task object."""

from __future__ import annotations

import json
import pathlib
import subprocess

import keras
import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo.data.multiple_choice_data import read_swag
from bertzoo.models import MultipleChoice, TextClassifier
from bertzoo.models import fine_tuning_defaults as defaults
from bertzoo.training.optimization import BertAdamW, WarmupLinearDecay
from bertzoo.training.strategy import resolve_strategy
from finetune_data import write_tiny_pretrained
from tf_only_env import tf_only_python

SEQ = 16


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> pathlib.Path:
    return write_tiny_pretrained(tmp_path_factory.mktemp("tiny") / "bert", seq_length=SEQ)


def sentiment(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(2))
        words = list(rng.choice(["the", "a", "day", "was", "food", "place"], 4))
        words.insert(int(rng.integers(0, 4)), "good" if label else "bad")
        texts.append(" ".join(words))
        labels.append(["neg", "pos"][label])
    return texts, labels


def softmax(logits):
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def test_text_classifier_takes_raw_strings_and_answers_with_labels(pretrained):
    classifier = TextClassifier.from_pretrained(pretrained, label_names=["neg", "pos"], seq_length=SEQ)
    texts, labels = sentiment(24)
    classifier.compile()
    history = classifier.fit(np.asarray(texts), labels, batch_size=8, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and "accuracy" in history.history

    answers = classifier.predict(["good food", "bad day", "the place"])
    assert [sorted(a) for a in answers] == [["label", "label_id", "probabilities"]] * 3
    # The answer is the softmax of the network's logits on the preprocessor's packing.
    logits = np.asarray(classifier.network(classifier.preprocessor(tf.constant(["good food", "bad day", "the place"])),
                                           training=False)["logits"])
    for answer, row in zip(answers, softmax(logits.astype(np.float64))):
        assert answer["label"] == ["neg", "pos"][int(row.argmax())]
        np.testing.assert_allclose([answer["probabilities"]["neg"], answer["probabilities"]["pos"]], row, atol=1e-6)
    # Labels given as ids train the same classes; an unknown label name is refused by name.
    classifier.fit(texts, [int(label == "pos") for label in labels], batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="'meh'.*not one of"):
        classifier.fit(texts[:2], ["pos", "meh"], epochs=1, verbose=0)
    with pytest.raises(TypeError, match=r"x\[1\]: expected a string"):
        classifier.predict(["fine", 3])


@pytest.mark.slow  # minutes on a loaded 2-core machine
def test_pairs_multilabel_and_regression_on_raw_strings(pretrained):
    pair = TextClassifier.from_pretrained(pretrained, num_classes=2, seq_length=SEQ)
    pair.compile()
    pair.fit((["is it good", "is it bad"], ["yes", "no"]), [1, 0], epochs=1, verbose=0)
    assert pair.pair and pair.label_names == ["0", "1"]
    packed = pair.preprocessor((tf.constant(["is it good"]), tf.constant(["yes"])))
    expected = softmax(np.asarray(pair.network(packed, training=False)["logits"], np.float64))[0]
    np.testing.assert_allclose(pair.predict((["is it good"], ["yes"]))[0]["probabilities"]["1"], expected[1], atol=1e-6)

    tagger = TextClassifier.from_pretrained(pretrained, label_names=["red", "blue", "green"],
                                            problem_type="multi_label", seq_length=SEQ)
    np.testing.assert_array_equal(tagger._host_labels([["red"], ["blue", "green"], []]),
                                  [[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    answer = tagger.predict(["red and blue"])[0]
    assert set(answer) == {"labels", "probabilities"}
    assert answer["labels"] == [name for name, p in answer["probabilities"].items() if p > 0.5]

    scorer = TextClassifier.from_pretrained(pretrained, problem_type="regression", seq_length=SEQ)
    scorer.compile()
    assert isinstance(scorer.loss, keras.losses.MeanSquaredError)
    np.testing.assert_array_equal(scorer._host_labels([1.0, 0.5]), [[1.0], [0.5]])
    score = scorer.predict(["good"])[0]["score"]
    assert score == pytest.approx(float(scorer.predict_outputs(["good"])[0, 0]))


def test_compile_defaults_are_berts_adamw_sized_by_fit(pretrained):
    classifier = TextClassifier.from_pretrained(pretrained, label_names=["neg", "pos"], seq_length=SEQ)
    texts, labels = sentiment(20)
    classifier.compile()
    assert isinstance(classifier.loss, keras.losses.SparseCategoricalCrossentropy)
    classifier.fit(texts, labels, batch_size=8, epochs=2, verbose=0)  # 3 batches per epoch (8, 8, 4)
    optimizer = classifier.optimizer
    schedule = optimizer.learning_rate if isinstance(optimizer.learning_rate, WarmupLinearDecay) else \
        optimizer._learning_rate
    assert isinstance(optimizer, BertAdamW) and isinstance(schedule, WarmupLinearDecay)
    config = schedule.get_config()
    assert config["num_train_steps"] == 6 and config["warmup_steps"] == 0
    assert config["peak_learning_rate"] == pytest.approx(defaults.default_learning_rate(16)) == pytest.approx(3e-4)
    assert int(optimizer.iterations) == 6
    assert float(schedule(6)) == pytest.approx(0.0)

    paper = TextClassifier.from_pretrained(pretrained, label_names=["neg", "pos"], seq_length=SEQ)
    paper.compile(paper_defaults=True)
    paper.fit(texts, labels, batch_size=8, verbose=0)  # the paper's 3 epochs
    assert paper.optimizer._learning_rate.get_config()["peak_learning_rate"] == pytest.approx(5e-5)
    assert int(paper.optimizer.iterations) == 9

    # Any Keras optimizer, loss, metric and callback replaces the defaults.
    custom = TextClassifier.from_pretrained(pretrained, label_names=["neg", "pos"], seq_length=SEQ)
    custom.compile(optimizer=keras.optimizers.SGD(0.01), loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["sparse_categorical_accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0)
    custom.fit(texts, labels, batch_size=8, epochs=3, callbacks=[stop], verbose=0)
    assert isinstance(custom.optimizer, keras.optimizers.SGD)


def test_the_rule_of_the_defaults():
    assert defaults.default_learning_rate(768) == pytest.approx(5e-5)
    assert defaults.default_learning_rate(384) == pytest.approx(2e-4)
    assert defaults.default_learning_rate(1024) == pytest.approx(5e-5 * (768 / 1024) ** 2)
    assert defaults.default_epochs(67_000, 32) == 3          # SST-2: the paper's epochs
    assert defaults.default_epochs(1419, 32) == 7            # 44 steps an epoch: 300 updates need 7
    assert defaults.default_epochs(200, 32) == 10            # capped
    settings = defaults.recommended_settings(hidden_size=768, num_train_examples=50, paper_defaults=True)
    assert (settings.learning_rate, settings.epochs, settings.pooling) == (5e-5, 3, "pooler")


def test_sentence_transformers_checkpoints_are_mean_pooled(minilm_dir, tmp_path):
    assert defaults.checkpoint_pooling(minilm_dir) == "mean"
    assert defaults.checkpoint_pooling(tmp_path) == "pooler"
    network = bertzoo.BertClassifier(bertzoo.BertEncoder(vocab_size=30, hidden_size=8, num_hidden_layers=1,
                                                         num_attention_heads=2, intermediate_size=8),
                                     num_classes=2, pooling="mean", dropout_rate=0.0)
    ids = np.array([[2, 7, 8, 3, 0, 0]], np.int32)
    inputs = {"input_word_ids": ids, "input_mask": (ids > 0).astype(np.int32), "input_type_ids": np.zeros_like(ids)}
    logits = np.asarray(network(inputs)["logits"])[0]
    sequence = np.asarray(network.encoder(inputs)["sequence_output"])[0, :4].mean(0)
    kernel, bias = (np.asarray(w) for w in network.classification_head.dense.weights)
    np.testing.assert_allclose(logits, sequence @ kernel + bias, atol=1e-5)


@pytest.mark.slow  # minutes on a loaded 2-core machine
def test_keep_best_epoch_restores_the_best_validation_weights(pretrained):
    classifier = TextClassifier.from_pretrained(pretrained, label_names=["neg", "pos"], seq_length=SEQ)
    texts, labels = sentiment(16)
    classifier.compile(learning_rate=5e-3)
    snapshots = []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append((logs["val_accuracy"], logs["val_loss"], self.model.get_weights()))

    classifier.fit(texts, labels, batch_size=8, epochs=3, validation_data=(texts[:8], labels[:8]),
                   callbacks=[Snapshot()], verbose=0)
    best = max(range(3), key=lambda i: (snapshots[i][0], -i))
    first_best = next(i for i in range(3) if snapshots[i][0] == snapshots[best][0])
    for kept, expected in zip(classifier.get_weights(), snapshots[first_best][2]):
        np.testing.assert_array_equal(kept, expected)


def test_keras_round_trip_and_finetuned_directory_give_equal_predictions(pretrained, tmp_path):
    classifier = TextClassifier.from_pretrained(pretrained, label_names=["neg", "pos"], seq_length=SEQ)
    texts, labels = sentiment(16)
    classifier.compile()
    classifier.fit(texts, labels, batch_size=8, epochs=1, verbose=0)
    probe = ["good food", "bad place", "a day"]
    expected = classifier.predict_outputs(probe)
    classifier.save(tmp_path / "classifier.keras")
    loaded = keras.saving.load_model(tmp_path / "classifier.keras")
    assert isinstance(loaded, TextClassifier) and loaded.label_names == ["neg", "pos"]
    np.testing.assert_allclose(loaded.predict_outputs(probe), expected, atol=1e-6)
    assert loaded.predict(probe) == classifier.predict(probe)

    classifier.save_finetuned(tmp_path / "finetuned")
    finetuned = bertzoo.load_finetuned(tmp_path / "finetuned")
    assert finetuned.task == "classify" and finetuned.label_names == ["neg", "pos"]
    logits = finetuned.model(finetuned.bert.preprocessor(tf.constant(probe)), training=False)["logits"]
    np.testing.assert_allclose(np.asarray(logits), expected, atol=1e-6)


@pytest.mark.slow  # minutes on a loaded 2-core machine
def test_export_served_in_a_tensorflow_only_environment_equals_predict(pretrained, tmp_path):
    classifier = TextClassifier.from_pretrained(pretrained, label_names=["neg", "pos"], seq_length=SEQ)
    classifier.compile()
    classifier.fit(*sentiment(16), batch_size=8, epochs=1, verbose=0)
    probe = ["good food", "bad place", "a day was good"]
    version_dir = bertzoo.export.saved_model(classifier, tmp_path / "export")
    script = tmp_path / "serve.py"
    script.write_text(
        "import json, sys\nimport tensorflow as tf\n"
        "serve = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "out = serve(text=tf.constant(json.loads(sys.argv[2])))\n"
        "print(json.dumps({'probabilities': out['probabilities'].numpy().tolist(),"
        " 'label': [v.decode() for v in out['label'].numpy()]}))\n")
    result = subprocess.run([str(tf_only_python()), str(script), str(version_dir), json.dumps(probe)],
                            capture_output=True, text=True, timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    answers = classifier.predict(probe)
    assert served["label"] == [a["label"] for a in answers]
    np.testing.assert_allclose(served["probabilities"],
                               [[a["probabilities"]["neg"], a["probabilities"]["pos"]] for a in answers], atol=1e-5)


def _trained_weights(strategy, pretrained, initial, texts, labels):
    with strategy.scope():
        classifier = TextClassifier.from_pretrained(pretrained, label_names=["neg", "pos"], seq_length=SEQ,
                                                    dropout_rate=0.0)
        classifier.set_weights(initial)
        classifier.compile()
    # The same batches on both sides (Keras iterates a reshuffling dataset differently under a strategy).
    classifier.fit(texts, labels, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return classifier.get_weights()


def test_fit_under_mirrored_strategy_equals_one_device(pretrained):
    assert len(tf.config.list_logical_devices("CPU")) >= 2, "conftest splits the CPU into two logical devices"
    texts, labels = sentiment(16)
    initial = TextClassifier.from_pretrained(pretrained, label_names=["neg", "pos"], seq_length=SEQ).get_weights()
    # The package's once-per-process MirroredStrategy: a second MirroredStrategy object in this
    # worker would number its collectives like the first and abort them (see resolve_strategy).
    mirrored = resolve_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy) and mirrored.num_replicas_in_sync == 2
    one = _trained_weights(tf.distribute.get_strategy(), pretrained, initial, texts, labels)
    two = _trained_weights(mirrored, pretrained, initial, texts, labels)
    assert any(not np.allclose(a, b) for a, b in zip(one, initial))
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, atol=2e-5)


def test_multiworker_refuses_fit_and_the_trainer_trains_the_same_task(pretrained, tmp_path):
    from bertzoo.training import Trainer, create_optimizer

    texts, labels = sentiment(16)
    classifier = TextClassifier.from_pretrained(pretrained, label_names=["neg", "pos"], seq_length=SEQ)
    classifier._distribute_strategy = tf.distribute.MultiWorkerMirroredStrategy.__new__(
        tf.distribute.MultiWorkerMirroredStrategy)  # what Keras records when built under one
    with pytest.raises(RuntimeError, match=r"keras-team/keras#20585.*bertzoo trainer"):
        classifier.fit(texts, labels)
    classifier._distribute_strategy = None

    trainer = Trainer(tf.distribute.get_strategy(), lambda: classifier, lambda: create_optimizer(1e-3, 6, 0),
                      classifier.loss_terms, metrics_fn=classifier.metric_terms, global_batch_size=8,
                      output_dir=str(tmp_path / "run"), log_every=3, checkpoint_every=100, verbose=False)
    assert trainer.model is classifier
    before = [np.array(w) for w in classifier.get_weights()]
    figures = trainer.train(classifier.training_dataset(texts, labels, 8, seed=0), 6)
    assert "accuracy" in json.dumps(figures) and np.isfinite(figures["loss"])
    assert any(not np.allclose(a, np.asarray(b)) for a, b in zip(before, classifier.get_weights()))
    assert classifier.predict(["good"])[0]["label"] in ("neg", "pos")


def write_swag(path: pathlib.Path, n: int, seed: int) -> None:
    """A SWAG-format CSV whose right ending is the one holding the context's colour."""
    rng = np.random.default_rng(seed)
    colors = ["red", "blue", "green"]
    lines = ["video-id,fold-ind,startphrase,sent1,sent2,gold-source,ending0,ending1,ending2,ending3,label"]
    for i in range(n):
        color = colors[int(rng.integers(3))]
        others = [c for c in colors if c != color]
        label = int(rng.integers(4))
        endings = [f"{others[j % 2]} day" for j in range(4)]
        endings[label] = f"{color} day"
        lines.append(f"v{i},{i},x,anna saw {color} food,then,gold,{','.join(endings)},{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_multiple_choice_on_a_small_swag_file(pretrained, tmp_path):
    write_swag(tmp_path / "train.csv", 24, seed=0)
    data = read_swag(tmp_path / "train.csv")
    assert data.endings.shape == (24, 4) and data.endings[0, 0].startswith("then ")
    chooser = MultipleChoice.from_pretrained(pretrained, num_choices=4, seq_length=SEQ)
    chooser.compile()
    history = chooser.fit((data.contexts, data.endings), data.labels, batch_size=8, epochs=2, verbose=0)
    assert len(history.history["accuracy"]) == 2

    answers = chooser.predict((data.contexts[:3], data.endings[:3]))
    # Each ending's score equals the network's score of that one (context, ending) sequence alone.
    for row, answer in enumerate(answers):
        flat = chooser.preprocessor((tf.constant([data.contexts[row]] * 4), tf.constant(list(data.endings[row]))))
        encoded = chooser.encoder(flat, training=False)
        pooled = bertzoo.models.bert_classifier.pool_sequence(encoded, flat["input_mask"], chooser.network.pooling)
        scores = np.asarray(chooser.network.choice_head(pooled))[:, 0]
        np.testing.assert_allclose(answer["probabilities"], softmax(scores.astype(np.float64)), atol=1e-5)
        assert answer["ending"] == data.endings[row, answer["choice"]]

    chooser.save(tmp_path / "chooser.keras")
    loaded = keras.saving.load_model(tmp_path / "chooser.keras")
    np.testing.assert_allclose(loaded.predict_outputs((data.contexts[:3], data.endings[:3])),
                               chooser.predict_outputs((data.contexts[:3], data.endings[:3])), atol=1e-6)
    with pytest.raises(ValueError, match="4 strings per context"):
        chooser.predict((["a"], [["b", "c"]]))
    (tmp_path / "bad.csv").write_text("sent1,ending0\nx,y\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['ending1'"):
        read_swag(tmp_path / "bad.csv")
