"""`bertzoo feature-ner` end to end on a tiny 4-layer checkpoint and a synthetic CoNLL task: one
BiLSTM tagger per layer strategy plus the fine-tuning row, a table that agrees with metrics.json,
and a one-line error for an unknown strategy."""

from __future__ import annotations

import json
import re

import keras
import pytest

import bertzoo
from bertzoo.cli import main as cli_main
from bertzoo.recipes.feature_ner import STRATEGIES
from bertzoo.text import Vocabulary
from bertzoo.families.bert import BertPreprocessor, WordPieceTokenizer
from finetune_data import WORDS, write_conll

HIDDEN = 16


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A random-weight (seeded) tiny BERT with 4 layers (the ``*_last_four`` strategies need them)."""
    keras.utils.set_random_seed(4)
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    config = bertzoo.BertConfig(vocab_size=len(tokens), hidden_size=HIDDEN, num_hidden_layers=4,
                                num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, do_lower_case=True)
    tokenizer = WordPieceTokenizer(Vocabulary(tokens), lowercase=True)
    bert = bertzoo.PretrainedBert(config=config, encoder=bertzoo.BertEncoder.from_bert_config(config),
                                  tokenizer=tokenizer, preprocessor=BertPreprocessor(tokenizer, seq_length=32))
    return bertzoo.save_pretrained(bert, tmp_path_factory.mktemp("tiny4") / "pretrained")


@pytest.fixture(scope="module")
def conll(tmp_path_factory):
    directory = tmp_path_factory.mktemp("conll")
    write_conll(directory / "train.txt", 96, seed=1)
    write_conll(directory / "eval.txt", 32, seed=2)
    return directory / "train.txt", directory / "eval.txt"


def _base(pretrained, conll, out):
    train, evaluation = conll
    return ["feature-ner", "--pretrained", str(pretrained), "--train", str(train), "--eval", str(evaluation),
            "--output", str(out), "--seq-length", "32", "--global-batch-size", "16", "--strategy", "cpu"]


def test_every_strategy_and_fine_tuning_make_one_table(pretrained, conll, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli_main([*_base(pretrained, conll, out), "--epochs", "12", "--lstm-units", "16",
                     "--learning-rate", "1e-2", "--finetune-epochs", "0.5"]) == 0
    printed = capsys.readouterr().out
    table = (out / "table.md").read_text()
    assert table.strip() in printed

    rows = {}
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = {"dim": int(cells[1]), "f1": float(cells[2]), "precision": float(cells[3]),
                          "recall": float(cells[4]), "paper": cells[5]}
    assert list(rows) == [*STRATEGIES, "fine-tuning"]
    assert table.splitlines()[0].startswith("| strategy | dim | entity F1 (eval) |")
    dims = {name: row["dim"] for name, row in rows.items()}
    assert dims.pop("concat_last_four") == 4 * HIDDEN and set(dims.values()) == {HIDDEN}
    assert all(0.0 <= row[key] <= 1.0 for row in rows.values() for key in ("f1", "precision", "recall"))
    assert re.fullmatch(r"Concat Last Four Hidden: 96\.1", rows["concat_last_four"]["paper"])

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["table"] == table.strip()
    figures = {**metrics["strategies"], "fine-tuning": metrics["finetune"]}
    assert list(figures) == list(rows)
    for name, row in rows.items():
        assert figures[name]["dim"] == row["dim"]
        for key in ("f1", "precision", "recall"):
            assert figures[name][key] == pytest.approx(row[key], abs=5e-5), (name, key)
    assert metrics["strategies"]["concat_last_four"]["hidden_states"] == [4, 3, 2, 1]
    assert metrics["settings"]["strategies"] == list(STRATEGIES)
    assert (metrics["settings"]["lstm_units"], metrics["settings"]["finetune_epochs"]) == (16, 0.5)
    # The last layer of even a random encoder tells names and places from filler words.
    assert metrics["strategies"]["last"]["f1"] > 0.5, metrics["strategies"]["last"]
    assert metrics["strategies"]["last"]["train_loss"] < 0.5
    assert (out / "last" / "checkpoints").is_dir() and (out / "finetune" / "model").is_dir()


def test_unknown_strategy_is_a_one_line_error_naming_the_valid_ones(pretrained, conll, tmp_path, capsys):
    code = cli_main([*_base(pretrained, conll, tmp_path / "bad"), "--layers", "last,top_four",
                     "--finetune-epochs", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("bertzoo feature-ner: error:"), err
    assert "'top_four'" in err and all(name in err for name in STRATEGIES), err
    assert not (tmp_path / "bad" / "last").exists()
