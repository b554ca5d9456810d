"""GPT-1's fine-tuning through the Keras task API: ``TextClassifier`` / ``MultipleChoice.from_pretrained``
on a GPT-1 directory give tasks on raw strings with GPT-1's input transformations and the auxiliary
LM loss: learning toy tasks, the LM loss in the loss (against an independent computation), similarity's
two orders summed, ``.keras`` round trips, and the same logits as the `bertzoo finetune` path's model."""

from __future__ import annotations

import types

import keras
import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo.models import MultipleChoice, TextClassifier
from bertzoo.models.gpt_task_inputs import transform
from bertzoo.models.gpt_task_model import GPTTaskModel
from bertzoo.models.gpt_tasks import GPTMultipleChoice, GPTTextClassifier
from gpt_cases import write_checkpoint, write_gpt1_vocabulary
from test_task_models import softmax

SEQ = 20


def write_gpt1_with_tokenizer(directory):
    """The tiny dropout-free GPT-1 (Hugging Face layout, heads recorded) with a GPT-1 vocabulary of its
    300 token rows."""
    write_checkpoint("hf_openai_gpt", directory)
    return write_gpt1_vocabulary(directory, "encoder.json", "vocab.bpe")


@pytest.fixture(scope="module")
def gpt_dir(tmp_path_factory):
    return write_gpt1_with_tokenizer(tmp_path_factory.mktemp("gpt") / "gpt1")


def sentiment(n: int, seed: int):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(2))
        words = list(rng.choice(["the", "a", "cat", "sat"], 2))
        words.insert(int(rng.integers(0, 3)), "good" if label else "bad")
        texts.append(" ".join(words))
        labels.append(["neg", "pos"][label])
    return texts, labels


def test_classifier_learns_from_raw_strings_and_round_trips(gpt_dir, tmp_path):
    # The head's initial weights and dropout come from Keras's global generator: seeded here, so the
    # outcome does not depend on which tests ran before in the same process.
    keras.utils.set_random_seed(0)
    classifier = TextClassifier.from_pretrained(gpt_dir, label_names=["neg", "pos"], seq_length=SEQ)
    assert isinstance(classifier, GPTTextClassifier) and classifier.lm_weight == 0.5
    assert classifier.network.transformation == "classification"
    texts, labels = sentiment(48, seed=0)
    classifier.compile(learning_rate=3e-3)  # the defaults' optimizer (AdamW, warmup, decay), a toy's rate
    history = classifier.fit(texts, labels, batch_size=8, epochs=6, seed=0, verbose=0)
    assert "accuracy" in history.history
    test_texts, test_labels = sentiment(24, seed=1)
    answers = classifier.predict(test_texts)
    assert sorted(answers[0]) == ["label", "label_id", "probabilities"]
    assert sorted(answers[0]["probabilities"]) == ["neg", "pos"]
    accuracy = np.mean([answer["label"] == label for answer, label in zip(answers, test_labels)])
    assert accuracy >= 0.9, accuracy
    logits = classifier.predict_outputs(test_texts)
    np.testing.assert_allclose([[a["probabilities"]["neg"], a["probabilities"]["pos"]] for a in answers],
                               softmax(logits.astype(np.float64)), atol=1e-6)

    path = tmp_path / "classifier.keras"
    classifier.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, GPTTextClassifier) and loaded.label_names == ["neg", "pos"]
    np.testing.assert_allclose(loaded.predict_outputs(test_texts), logits, atol=1e-5)
    assert [a["label"] for a in loaded.predict(test_texts)] == [a["label"] for a in answers]
    loaded.compile()  # a loaded task is compiled again; the defaults work on it
    assert loaded.evaluate(test_texts, test_labels, return_dict=True, verbose=0)["accuracy"] >= 0.9


def independent_lm_loss(gpt, ids, mask):
    """Mean next-token cross-entropy over each sequence's real tokens, averaged over the rows (NumPy)."""
    flat_ids, flat_mask = ids.reshape(-1, SEQ), mask.reshape(-1, SEQ)
    hidden = gpt.decoder({"input_word_ids": flat_ids, "input_mask": flat_mask,
                          "input_type_ids": 0 * flat_ids})["sequence_output"].numpy().astype(np.float64)
    logits = hidden @ gpt.decoder.embeddings.wte.numpy().astype(np.float64).T
    top = logits.max(-1, keepdims=True)
    log_probs = logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
    losses = []
    for row in range(len(flat_ids)):
        n = int(flat_mask[row].sum())
        losses.append(-np.mean([log_probs[row, t - 1, flat_ids[row, t]] for t in range(1, n)]))
    return float(np.mean(losses))


def test_the_loss_adds_half_the_auxiliary_lm_loss(gpt_dir):
    classifier = TextClassifier.from_pretrained(gpt_dir, label_names=["neg", "pos"], seq_length=SEQ,
                                                dropout_rate=0.0)
    texts, labels = sentiment(6, seed=2)
    gpt = bertzoo.load_pretrained(gpt_dir, seq_length=SEQ)
    packed = transform(gpt.tokenizer, "classification", SEQ, texts=texts, config=gpt.config)
    lm = independent_lm_loss(gpt, packed["input_word_ids"], packed["input_mask"])
    logits = classifier.predict_outputs(texts).astype(np.float64)
    ids = np.array([label == "pos" for label in labels], np.int64)
    cross_entropy = float(np.mean(-np.log(softmax(logits)[np.arange(len(ids)), ids])))

    losses = {}
    for weight in (0.0, 0.5):  # through the train step (lr 0: the weights stay), then evaluate
        classifier.compile(optimizer=keras.optimizers.SGD(0.0), lm_weight=weight)
        fitted = classifier.fit(texts, labels, batch_size=len(texts), epochs=1, shuffle=False, verbose=0)
        evaluated = classifier.evaluate(texts, labels, batch_size=len(texts), return_dict=True, verbose=0)
        losses[weight] = (fitted.history["loss"][0], evaluated["loss"])
    for path in range(2):
        assert losses[0.0][path] == pytest.approx(cross_entropy, rel=1e-4)
        assert losses[0.5][path] - losses[0.0][path] == pytest.approx(0.5 * lm, rel=1e-4)
    # The bertzoo trainer's loss (loss_terms on the task's outputs) holds the same term.
    outputs = classifier(classifier.preprocessor(tf.constant(texts)))
    terms = classifier.loss_terms(ids, outputs)
    assert float(terms["lm"][0]) / float(terms["lm"][1]) == pytest.approx(0.5 * lm, rel=1e-4)
    assert float(terms["classification"][0]) / len(ids) == pytest.approx(cross_entropy, rel=1e-4)
    accuracy = classifier.metric_terms(ids, outputs)["accuracy"]
    assert float(accuracy[0]) == float(np.sum(logits.argmax(-1) == ids)) and float(accuracy[1]) == len(ids)


def _fitted(strategy, gpt_dir, initial, texts, labels):
    with strategy.scope():
        classifier = TextClassifier.from_pretrained(gpt_dir, label_names=["neg", "pos"], seq_length=SEQ,
                                                    dropout_rate=0.0)
        classifier.set_weights(initial)
        classifier.compile(learning_rate=1e-3)
    history = classifier.fit(texts, labels, batch_size=8, epochs=1, shuffle=False, verbose=0)
    return history.history["loss"][0], classifier.get_weights()


def test_fit_under_mirrored_strategy_equals_one_device(gpt_dir):
    """The LM term is scaled per replica as Keras scales the compiled loss: two replicas train as one."""
    from bertzoo.training.strategy import resolve_strategy

    texts, labels = sentiment(16, seed=3)
    initial = TextClassifier.from_pretrained(gpt_dir, label_names=["neg", "pos"], seq_length=SEQ).get_weights()
    mirrored = resolve_strategy("mirrored")  # the package's once-per-process MirroredStrategy
    assert mirrored.num_replicas_in_sync == 2, "conftest splits the CPU into two logical devices"
    one_loss, one = _fitted(tf.distribute.get_strategy(), gpt_dir, initial, texts, labels)
    two_loss, two = _fitted(mirrored, gpt_dir, initial, texts, labels)
    assert two_loss == pytest.approx(one_loss, rel=1e-5)
    assert any(not np.allclose(a, b) for a, b in zip(one, initial))
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, atol=2e-5)


def test_similarity_sums_both_orders(gpt_dir):
    first, second = ["the cat sat", "a dog", "good"], ["a bed", "the cab ran", "bad day"]
    similar = TextClassifier.from_pretrained(gpt_dir, num_classes=3, seq_length=SEQ, pair=True, similarity=True)
    assert similar.network.transformation == "similarity" and similar.pair
    forward, backward = similar.predict_outputs((first, second)), similar.predict_outputs((second, first))
    np.testing.assert_allclose(forward, backward, atol=1e-5)  # swap-invariant
    # With the same head, entailment reads one order: similarity's logits are both orders' sum (less one bias).
    entailment = TextClassifier.from_pretrained(gpt_dir, num_classes=3, seq_length=SEQ, pair=True)
    assert entailment.network.transformation == "entailment"
    entailment.network.head.set_weights(similar.network.head.get_weights())
    one, other = entailment.predict_outputs((first, second)), entailment.predict_outputs((second, first))
    assert not np.allclose(one, other, atol=1e-3)
    np.testing.assert_allclose(forward, one + other - similar.network.head.get_weights()[1], atol=1e-4)
    with pytest.raises(ValueError, match="pair"):
        similar.predict(first)


def yes_or_no(n: int, seed: int):
    """Contexts ending "good" or "bad", endings ("yes", "no") in either order; the right ending is
    "yes" after "good", "no" after "bad": a rule blind to the context scores 50%."""
    rng = np.random.default_rng(seed)
    contexts, endings, labels = [], [], []
    for _ in range(n):
        good, pair = bool(rng.integers(2)), [["yes", "no"], ["no", "yes"]][int(rng.integers(2))]
        contexts.append(f"{rng.choice(['the', 'a', 'cat'])} {'good' if good else 'bad'}")
        endings.append(pair)
        labels.append(pair.index("yes" if good else "no"))
    return contexts, endings, labels


def test_multiple_choice_learns_and_round_trips(gpt_dir, tmp_path):
    chooser = MultipleChoice.from_pretrained(gpt_dir, num_choices=2, seq_length=SEQ)
    assert isinstance(chooser, GPTMultipleChoice) and chooser.num_choices == 2
    assert chooser.network.transformation == "multiple_choice"
    contexts, endings, labels = yes_or_no(32, seed=0)
    chooser.compile(learning_rate=3e-3)
    chooser.fit((contexts, endings), labels, batch_size=8, epochs=8, seed=0, verbose=0)
    contexts, endings, labels = yes_or_no(16, seed=1)
    answers = chooser.predict((contexts, endings))
    assert sorted(answers[0]) == ["choice", "ending", "probabilities"]
    assert [a["choice"] for a in answers] == labels
    assert all(a["ending"] == ("yes" if c.endswith("good") else "no") for a, c in zip(answers, contexts))

    path = tmp_path / "chooser.keras"
    chooser.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, GPTMultipleChoice) and loaded.num_choices == 2
    np.testing.assert_allclose(loaded.predict_outputs((contexts, endings)), chooser.predict_outputs((contexts, endings)),
                               atol=1e-5)


def test_logits_equal_the_finetune_commands_model(gpt_dir):
    """The Keras task and `bertzoo finetune`'s path (recipes/gpt_finetune: its encoding, a GPTTaskModel
    built as it builds it) give the same logits on the same weights."""
    from bertzoo.recipes.gpt_finetune import TRANSFORMATIONS, encode

    gpt = bertzoo.load_pretrained(gpt_dir, seq_length=SEQ)
    texts, pairs = ["the cat sat", "a dog ran fast", "good"], ["a bed", "the", "bad day, the end"]
    endings = [["a", "the cab", "sat"], ["the", "a", "ran"], ["good", "bad", "the"]]
    cases = {
        "classify": (TextClassifier.from_pretrained(gpt_dir, num_classes=3, seq_length=SEQ), texts,
                     types.SimpleNamespace(texts=texts, text_pairs=None)),
        "pair": (TextClassifier.from_pretrained(gpt_dir, num_classes=3, seq_length=SEQ, pair=True), (texts, pairs),
                 types.SimpleNamespace(texts=texts, text_pairs=pairs)),
        "regression": (TextClassifier.from_pretrained(gpt_dir, problem_type="regression", seq_length=SEQ, pair=True,
                                                      similarity=True), (texts, pairs),
                       types.SimpleNamespace(texts=texts, text_pairs=pairs)),
        "multiple_choice": (MultipleChoice.from_pretrained(gpt_dir, num_choices=3, seq_length=SEQ), (texts, endings),
                            types.SimpleNamespace(contexts=texts, endings=endings)),
    }
    for task_name, (task, x, examples) in cases.items():
        assert task.network.transformation == TRANSFORMATIONS[task_name]
        num_classes = 1 if task_name in ("regression", "multiple_choice") else 3
        cli = GPTTaskModel(bertzoo.GPTDecoder.from_gpt_config(gpt.config), TRANSFORMATIONS[task_name],
                           num_classes=num_classes)
        cli.build()
        cli.set_weights(task.network.get_weights())
        expected = cli(encode(task_name, examples, gpt, SEQ), training=False)["logits"].numpy()
        np.testing.assert_allclose(task.predict_outputs(x), expected, atol=1e-5, err_msg=task_name)


def test_what_gpt_does_not_do_here_is_refused_by_name(gpt_dir, tmp_path):
    with pytest.raises(ValueError, match="multi_label.*gpt models.*single_label and regression"):
        TextClassifier.from_pretrained(gpt_dir, num_classes=2, problem_type="multi_label", seq_length=SEQ)
    for task in (bertzoo.SpanQuestionAnswerer, bertzoo.TokenTagger):
        options = {"tags": ["O", "B-PER"]} if task is bertzoo.TokenTagger else {}
        with pytest.raises(ValueError, match="does not take gpt models.*MultipleChoice and TextClassifier only"):
            task.from_pretrained(gpt_dir, seq_length=SEQ, **options)
    with pytest.raises(ValueError, match="pooling"):
        TextClassifier.from_pretrained(gpt_dir, num_classes=2, seq_length=SEQ, pooling="mean")
    gpt2 = write_checkpoint("hf_gpt2", tmp_path / "gpt2")
    with pytest.raises(ValueError, match="GPT-1's fine-tuning.*gpt2 model has none"):
        TextClassifier.from_pretrained(gpt2, num_classes=2, seq_length=SEQ)
