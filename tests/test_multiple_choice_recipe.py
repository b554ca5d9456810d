"""`bertzoo finetune --task multiple_choice` (SWAG CSV) and GPT fine-tuned directories through the CLI:
finetune -> evaluate -> predict, for a tiny BERT and a tiny GPT-1; bad input named."""

import csv
import json

import numpy as np
import pytest

import bertzoo
from bertzoo.cli import main
from finetune_data import write_tiny_pretrained
from test_gpt_tasks import write_gpt1_with_tokenizer

SWAG_HEADER = ["video-id", "fold-ind", "startphrase", "sent1", "sent2", "gold-source", "ending0", "ending1",
               "ending2", "ending3", "label"]


def write_swag(path, n, seed, right="good", wrong=("bad", "no", "red"), drop=None):
    """A SWAG CSV whose right ending is the one saying ``right``; the label's position is random."""
    rng = np.random.default_rng(seed)
    words = ["anna", "boris", "paris", "oslo", "the", "day", "was", "food"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        header = [name for name in SWAG_HEADER if name != drop]
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        for i in range(n):
            label = int(rng.integers(4))
            endings = list(rng.permutation(wrong)[:3])
            endings.insert(label, right)
            row = {"video-id": f"v{i}", "fold-ind": str(i), "startphrase": "", "gold-source": "gen",
                   "sent1": " ".join(rng.choice(words, 3)), "sent2": "it",
                   **{f"ending{k}": endings[k] for k in range(4)}, "label": str(label)}
            writer.writerow({key: value for key, value in row.items() if key in header})
    return path


def run_cli(*args):
    assert main([str(arg) for arg in args]) == 0


def finetune_evaluate_predict(tmp_path, pretrained, task, train, evaluation, records, extra=()):
    run_cli("finetune", "--pretrained", pretrained, "--task", task, "--train", train, "--eval", evaluation,
            "--global-batch-size", 16, "--strategy", "cpu", "--output", tmp_path / "run", *extra)
    trained = json.loads((tmp_path / "run" / "metrics.json").read_text())["eval"]
    run_cli("evaluate", "--model", tmp_path / "run" / "model", "--data", evaluation, "--strategy", "cpu",
            "--output", tmp_path / "eval")
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())["eval"]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" if isinstance(r, dict) else r + "\n"
                                               for r in records))
    run_cli("predict", "--model", tmp_path / "run" / "model", "--input", tmp_path / "in.jsonl", "--strategy", "cpu",
            "--output", tmp_path / "predict")
    lines = [json.loads(line) for line in (tmp_path / "predict" / "predictions.jsonl").read_text().splitlines()]
    return trained, evaluated, lines


def test_bert_multiple_choice_finetune_evaluate_predict(tmp_path):
    pretrained = write_tiny_pretrained(tmp_path / "bert", seq_length=16)
    train = write_swag(tmp_path / "train.csv", 96, seed=1)
    evaluation = write_swag(tmp_path / "val.csv", 32, seed=2)
    records = [{"context": "anna saw paris", "endings": ["it bad", "it good", "it no", "it red"]},
               {"context": "the day was", "endings": ["it good", "it red", "it no", "it bad"]}]
    trained, evaluated, lines = finetune_evaluate_predict(
        tmp_path, pretrained, "multiple_choice", train, evaluation, records,
        ("--seq-length", 16, "--epochs", 8, "--learning-rate", "3e-3"))
    assert evaluated["accuracy"] >= 0.9  # chance is 0.25: the model learned which ending is right
    assert evaluated["accuracy"] == pytest.approx(trained["accuracy"])  # the saved model is the trained one
    task = json.loads((tmp_path / "run" / "model" / "task.json").read_text())
    assert task["model_class"] == "BertMultipleChoice" and task["settings"]["context_column"] == "sent1"
    assert [line["choice"] for line in lines] == [1, 0]
    for line, record in zip(lines, records):
        assert line["ending"] == record["endings"][line["choice"]]
        assert len(line["probabilities"]) == 4 and sum(line["probabilities"]) == pytest.approx(1.0, abs=1e-5)
        assert int(np.argmax(line["probabilities"])) == line["choice"]


@pytest.fixture()
def tiny_gpt1(tmp_path):
    gpt = bertzoo.load_pretrained(write_gpt1_with_tokenizer(tmp_path / "gpt1"), seq_length=24, num_attention_heads=2)
    return bertzoo.save_pretrained(gpt, tmp_path / "gpt1_ours")  # a format that records the heads


def test_gpt_multiple_choice_finetune_evaluate_predict(tmp_path, tiny_gpt1):
    train = write_swag(tmp_path / "train.csv", 32, seed=1, right="y", wrong=("n", "q", "z"))
    records = [{"context": "the day", "endings": ["it n", "it y", "it q", "it z"]}]
    trained, evaluated, lines = finetune_evaluate_predict(
        tmp_path, tiny_gpt1, "multiple_choice", train, train, records,
        ("--seq-length", 24, "--epochs", 6, "--learning-rate", "3e-3"))
    manifest = json.loads((tmp_path / "run" / "model" / "finetuned.json").read_text())
    assert manifest["transformation"] == "multiple_choice"
    written = [json.loads(line) for line in (tmp_path / "run" / "eval_predictions.jsonl").read_text().splitlines()]
    assert len(written) == 32 and np.mean([line["choice"] == line["gold"] for line in written]) == pytest.approx(
        trained["accuracy"])
    assert evaluated["accuracy"] == pytest.approx(trained["accuracy"])  # evaluate read the trained GPT
    assert evaluated["accuracy"] >= 0.75
    assert lines[0]["ending"] == records[0]["endings"][lines[0]["choice"]]
    assert len(lines[0]["probabilities"]) == 4
    # predict equals the task model on GPT-1's multiple-choice transformation
    from bertzoo.models.finetuned import load_finetuned
    from bertzoo.models.gpt_task_inputs import transform

    finetuned = load_finetuned(tmp_path / "run" / "model")
    inputs = transform(finetuned.bert.tokenizer, "multiple_choice", 24, texts=["the day"],
                       choices=[records[0]["endings"]], config=finetuned.bert.config)
    logits = finetuned.model(inputs)["logits"].numpy()[0]
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(lines[0]["probabilities"], expected, atol=1e-5)


def test_gpt_classify_finetune_evaluate_predict(tmp_path, tiny_gpt1):
    rows = ["sentence\tlabel"] + [f"{text}\t{label}" for text, label in
                                  [("the cat sat", "yes"), ("a dog ran", "no")] * 8]
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n")
    trained, evaluated, lines = finetune_evaluate_predict(
        tmp_path, tiny_gpt1, "classify", tmp_path / "train.tsv", tmp_path / "train.tsv", ["the cat sat", "a dog ran"],
        ("--seq-length", 24, "--epochs", 10, "--learning-rate", "1e-3"))
    assert evaluated["accuracy"] == pytest.approx(trained["accuracy"]) == 1.0
    assert [line["label"] for line in lines] == ["yes", "no"]


def test_evaluate_names_the_files_it_looked_for(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"task\.json.*finetuned\.json.*found neither"):
        from bertzoo.models.finetuned import load_finetuned

        load_finetuned(tmp_path / "empty")


def test_swag_file_missing_a_column_is_named(tmp_path, capsys):
    pretrained = write_tiny_pretrained(tmp_path / "bert", seq_length=16)
    train = write_swag(tmp_path / "train.csv", 8, seed=1, drop="ending2")
    code = main(["finetune", "--pretrained", str(pretrained), "--task", "multiple_choice", "--train", str(train),
                 "--seq-length", "16", "--strategy", "cpu", "--output", str(tmp_path / "run")])
    assert code != 0
    assert f"{train}: missing column(s) ['ending2']" in capsys.readouterr().err


def test_prediction_lines_with_the_wrong_endings_are_named():
    from bertzoo.recipes.tasks import make_task

    task = make_task("multiple_choice", {"context_column": "sent1"})
    assert task.parse_records([{"context": "a", "endings": ["b", "c", "d", "e"]}], "in.jsonl").endings.shape == (1, 4)
    with pytest.raises(ValueError, match=r"in\.jsonl, line 2: field 'endings' should be a list of 4 strings"):
        task.parse_records([{"context": "a", "endings": ["b", "c", "d", "e"]}, {"context": "a", "endings": ["b"]}],
                           "in.jsonl")
    with pytest.raises(ValueError, match=r"in\.jsonl, line 1: expected a JSON object"):
        task.parse_records(["plain text"], "in.jsonl")


def test_exporting_a_gpt_finetuned_model_is_refused_clearly(tmp_path, tiny_gpt1):
    from bertzoo.export.saved_model_export import saved_model

    (tmp_path / "train.tsv").write_text("\n".join(["sentence\tlabel"] + ["the cat\tyes", "a dog\tno"] * 4) + "\n")
    run_cli("finetune", "--pretrained", tiny_gpt1, "--task", "classify", "--train", tmp_path / "train.tsv",
            "--seq-length", 24, "--epochs", 1, "--global-batch-size", 2, "--strategy", "cpu",
            "--output", tmp_path / "run")
    with pytest.raises(ValueError, match="cannot export a GPT fine-tuned model"):
        saved_model(tmp_path / "run" / "model", tmp_path / "export")
