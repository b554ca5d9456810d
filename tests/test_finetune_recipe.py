"""`bertzoo finetune / evaluate / predict` end to end on tiny configs: every task learns (loss
falls, the official metric beats chance), two logical CPUs under MirroredStrategy train as one
device, the saved model predicts the same outside training, and bad input gets a clear error."""

import json
import pathlib

import numpy as np
import pytest

from bertzoo.cli import main as cli_main
from bertzoo.models.fine_tuning_defaults import recommended_settings
from bertzoo.models.finetuned import load_finetuned
from bertzoo.recipes.predict import predict_records
from finetune_data import write_task_files, write_tiny_pretrained

SMALL = ["--seq-length", "32", "--global-batch-size", "16", "--log-every", "20", "--learning-rate", "3e-3",
         "--dropout", "0", "--checkpoint-every", "1000"]
# Which figure of each task's official evaluation must beat chance, the chance level (multilabel:
# micro-F1 of predicting every label, each present with probability 0.45; squad: the best of 4
# names), and by how much.
CHANCE = {"classify": ("accuracy", 0.5, 0.3), "pair": ("accuracy", 0.5, 0.3), "regression": ("pearson", 0.0, 0.5),
          "multilabel": ("micro_f1", 0.62, 0.1), "ner": ("f1", 0.0, 0.6), "squad": ("exact_match", 25.0, 30.0)}
EPOCHS = {"classify": 12, "pair": 12, "regression": 15, "multilabel": 15, "ner": 8, "squad": 25}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    return write_tiny_pretrained(tmp_path_factory.mktemp("tiny") / "pretrained")


def metrics(out):
    return json.loads((pathlib.Path(out) / "metrics.json").read_text())


def finetune(task, pretrained, data_dir, out, *extra, epochs=None):
    train, evaluation = write_task_files(data_dir, task)
    args = ["finetune", "--task", task, "--pretrained", str(pretrained), "--train", train, "--eval", evaluation,
            "--output", str(out), "--epochs", str(epochs or EPOCHS[task]), *SMALL, *extra]
    if task == "pair":
        args += ["--text-column", "sentence1", "--text-pair-column", "sentence2"]
    assert cli_main(args) == 0
    return train, evaluation


def independent_tfidf_accuracy(task, train, evaluation):
    """TF-IDF (1-2 grams, sublinear tf) + logistic regression (C=10) on the TSV files, read here with csv."""
    import csv

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def read(path):
        with open(path, newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE))
        if task == "pair":
            return [f"{r['sentence1']} ||| {r['sentence2']}" for r in rows], [r["label"] for r in rows]
        return [r["sentence"] for r in rows], [r["label"] for r in rows]

    (train_texts, train_labels), (eval_texts, eval_labels) = read(train), read(evaluation)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    model = LogisticRegression(C=10.0, max_iter=1000).fit(vectorizer.fit_transform(train_texts), train_labels)
    return float(np.mean(model.predict(vectorizer.transform(eval_texts)) == np.asarray(eval_labels)))


@pytest.mark.parametrize("task", sorted(CHANCE))
def test_every_task_learns_and_its_model_predicts_the_same_again(task, pretrained, tmp_path):
    out = tmp_path / "run"
    baseline = ["--tfidf-baseline"] if task in ("classify", "pair") else []
    train, evaluation = finetune(task, pretrained, tmp_path, out, *baseline)
    figures = metrics(out)
    if baseline:
        assert figures["tfidf_baseline_accuracy"] == pytest.approx(independent_tfidf_accuracy(task, train, evaluation))
    assert figures["last_logged"]["loss"] < 0.7 * figures["first_logged"]["loss"], figures
    name, chance, margin = CHANCE[task]
    assert figures["eval"][name] > chance + margin, figures["eval"]

    # `bertzoo evaluate` on the saved model reproduces the figures of the end of training.
    assert cli_main(["evaluate", "--model", str(out / "model"), "--data", evaluation,
                     "--output", str(tmp_path / "eval")]) == 0
    again = metrics(tmp_path / "eval")["eval"]
    for key, value in figures["eval"].items():
        assert again[key] == pytest.approx(value, abs=1e-6), key
    lines = [json.loads(line) for line in (tmp_path / "eval" / "eval_predictions.jsonl").read_text().splitlines()]
    assert len(lines) == 64 and all("gold" in line for line in lines)


def test_mirrored_over_two_cpus_trains_as_one_device(pretrained, tmp_path):
    """Dropout-free: the two replicas' gradients sum to the one-device gradient at every step."""
    for task in sorted(CHANCE):
        runs = {}
        for strategy in ("cpu", "mirrored"):
            out = tmp_path / f"{task}_{strategy}"
            finetune(task, pretrained, tmp_path, out, "--strategy", strategy, "--log-every", "6", epochs=0.5)
            runs[strategy] = metrics(out)
        cpu, mirrored = runs["cpu"], runs["mirrored"]
        assert cpu["steps"] == mirrored["steps"] == 6
        assert mirrored["last_logged"]["loss"] == pytest.approx(cpu["last_logged"]["loss"], abs=1e-5), task
        for key, value in cpu["eval"].items():
            if key in ("pearson", "spearman"):
                # After half an epoch the regression scores barely spread, so their correlations
                # magnify 1e-6 differences (thread and all-reduce order) by orders of magnitude; the
                # scores themselves are compared below instead.
                continue
            assert mirrored["eval"][key] == pytest.approx(value, abs=1e-4), (task, key)
        if task == "regression":
            scores = {strategy: [json.loads(line)["score"] for line in
                                 (tmp_path / f"{task}_{strategy}" / "eval_predictions.jsonl").read_text().splitlines()]
                      for strategy in runs}
            np.testing.assert_allclose(scores["mirrored"], scores["cpu"], atol=1e-4)


def test_jit_compiled_fine_tuning_matches(pretrained, tmp_path):
    runs = {}
    for jit in (False, True):
        out = tmp_path / f"jit_{jit}"
        finetune("classify", pretrained, tmp_path, out, "--log-every", "6", *(["--jit-compile"] if jit else []),
                 epochs=0.5)
        runs[jit] = metrics(out)
    assert runs[True]["last_logged"]["loss"] == pytest.approx(runs[False]["last_logged"]["loss"], abs=1e-4)


def test_accumulated_micro_batches_train_as_the_whole_batch(pretrained, tmp_path, capsys):
    runs = {}
    for steps in (1, 4):
        out = tmp_path / f"accumulate_{steps}"
        finetune("classify", pretrained, tmp_path, out, "--log-every", "6", "--accumulation-steps", str(steps),
                 epochs=0.5)
        runs[steps] = metrics(out)
    assert runs[4]["last_logged"]["loss"] == pytest.approx(runs[1]["last_logged"]["loss"], abs=1e-5)
    assert runs[4]["eval"]["accuracy"] == pytest.approx(runs[1]["eval"]["accuracy"], abs=1e-6)
    assert "memory estimate per replica" in capsys.readouterr().out


def test_predict_command_writes_json_lines(pretrained, tmp_path, capsys):
    out = tmp_path / "ner"
    finetune("ner", pretrained, tmp_path, out, epochs=8)
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("we saw anna and  paris\n" + json.dumps({"text": "then carla and oslo"}) + "\n")
    assert cli_main(["predict", "--model", str(out / "model"), "--input", str(inputs),
                     "--output", str(tmp_path / "pred")]) == 0
    lines = [json.loads(line) for line in (tmp_path / "pred" / "predictions.jsonl").read_text().splitlines()]
    assert [line["text"] for line in lines] == ["we saw anna and  paris", "then carla and oslo"]
    first = {(e["type"], e["text"], e["start"], e["end"]) for e in lines[0]["entities"]}
    assert first == {("PER", "anna", 7, 11), ("LOC", "paris", 17, 22)}
    second = {(e["type"], e["text"]) for e in lines[1]["entities"]}
    assert second == {("PER", "carla"), ("LOC", "oslo")}

    # Standard output mode prints only JSON lines there.
    capsys.readouterr()
    assert cli_main(["predict", "--model", str(out / "model"), "--input", str(inputs)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line)["entities"] for line in printed] == [line["entities"] for line in lines]


def test_classifier_and_squad_predictions(pretrained, tmp_path):
    out = tmp_path / "classify"
    finetune("classify", pretrained, tmp_path, out)
    finetuned = load_finetuned(out / "model")
    assert finetuned.label_names == ["neg", "pos"]
    lines = predict_records(finetuned, ["the food was good", {"text": "it was bad and then very bad"}])
    assert [line["label"] for line in lines] == ["pos", "neg"]
    for line in lines:
        assert sum(line["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)

    out = tmp_path / "squad"
    finetune("squad", pretrained, tmp_path, out)
    finetuned = load_finetuned(out / "model")
    [line] = predict_records(finetuned, [{"question": "what is code ?", "context": "we saw some code is boris . then"}])
    assert line["answer"] == "boris"


def _error(args, capsys):
    assert cli_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    return err


def test_bad_input_is_a_clear_one_line_error(pretrained, tmp_path, capsys):
    train, _ = write_task_files(tmp_path, "classify", n_train=20, n_eval=8)
    base = ["finetune", "--pretrained", str(pretrained), "--output", str(tmp_path / "out"), *SMALL]
    err = _error([*base, "--task", "classify", "--train", train, "--text-column", "review"], capsys)
    assert "review" in err and "classify_train.tsv" in err
    bad_label = tmp_path / "bad_label.tsv"
    bad_label.write_text("sentence\tlabel\nthe day was good\tpos\nthe day was bad\tneutral\n")
    err = _error([*base, "--task", "classify", "--train", train, "--eval", str(bad_label)], capsys)
    assert "bad_label.tsv, line 3" in err and "'neutral'" in err and "['neg', 'pos']" in err
    err = _error([*base, "--task", "classify", "--train", train, "--label-names", "neg,positive"], capsys)
    assert "'pos'" in err and "label set" in err

    conll = tmp_path / "bad.txt"
    conll.write_text("anna B-PER\nsaw O\nparis B-LOC extra\n")
    err = _error([*base, "--task", "ner", "--train", str(conll)], capsys)
    assert "bad.txt, line 3" in err and "expected 2" in err

    squad = tmp_path / "bad_squad.json"
    squad.write_text(json.dumps({"data": [{"paragraphs": [{"context": "anna saw paris", "qas": [
        {"id": "q1", "question": "who ?", "answers": [{"text": "oslo", "answer_start": 0}]}]}]}]}))
    err = _error([*base, "--task", "squad", "--train", str(squad)], capsys)
    assert "q1" in err and "oslo" in err

    err = _error([*base, "--task", "ner", "--train", str(conll), "--tfidf-baseline"], capsys)
    assert "--tfidf-baseline" in err and "classify or pair" in err

    err = _error(["evaluate", "--model", str(pretrained), "--data", train], capsys)
    assert "not a fine-tuned" in err and "task.json" in err
    assert not (tmp_path / "out" / "model").exists()


def test_tfidf_baseline_is_scored_when_the_best_epoch_is_kept(pretrained, tmp_path):
    """The default path (no --epochs: the rule's epochs, the best on --eval kept) scores the baseline too."""
    train, evaluation = write_task_files(tmp_path, "classify", n_train=40, n_eval=32)  # 2.5 batches an epoch
    out = tmp_path / "run"
    assert cli_main(["finetune", "--task", "classify", "--pretrained", str(pretrained), "--train", train,
                     "--eval", evaluation, "--output", str(out), "--tfidf-baseline", *SMALL]) == 0
    figures = metrics(out)
    rule = recommended_settings(hidden_size=16, num_train_examples=40, batch_size=16, checkpoint_dir=None,
                                has_validation=True)
    assert len(figures["epochs"]) == rule.epochs > 1  # one evaluation per epoch
    assert 1 <= figures["best_epoch"] <= rule.epochs
    assert figures["tfidf_baseline_accuracy"] == pytest.approx(independent_tfidf_accuracy("classify", train, evaluation))


@pytest.mark.usefixtures("minilm_dir")
def test_demo_fine_tunes_minilm_past_the_tfidf_baseline(tmp_path, capsys):
    """`bertzoo demo`: the real all-MiniLM-L6-v2 weights, fine-tuned on the embedded reviews, beat
    TF-IDF + logistic regression on the held-out split (about 2 minutes on 2 CPU cores)."""
    assert cli_main(["demo", "--output", str(tmp_path / "demo")]) == 0
    printed = capsys.readouterr().out
    figures = metrics(tmp_path / "demo")
    assert figures["tfidf_baseline_accuracy"] is not None
    assert figures["eval"]["accuracy"] > figures["tfidf_baseline_accuracy"] + 0.05, figures
    assert "TF-IDF + logistic regression accuracy" in printed and "new sentences:" in printed
