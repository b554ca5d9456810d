"""`bertzoo finetune --search`: a tiny grid with a tiny model, selected on a split of --train; the best
trial's model kept and every trial tabled in metrics.json and on the console. Plus the CLI defaults."""

from __future__ import annotations

import json
import pathlib

import pytest

from bertzoo.cli import main as cli_main
from bertzoo.errors import ConfigError
from bertzoo.recipes import finetune_search
from finetune_data import write_task_files, write_tiny_pretrained


def test_search_on_a_tiny_grid_keeps_the_best_trial(tmp_path, capsys):
    pretrained = write_tiny_pretrained(tmp_path / "pretrained")
    train, _ = write_task_files(tmp_path, "classify", n_train=60, n_eval=8)
    out = tmp_path / "search"
    grid = {"learning_rate": [3e-3, 1e-5], "epochs": [2], "global_batch_size": [16]}
    assert cli_main(["finetune", "--task", "classify", "--pretrained", str(pretrained), "--train", train,
                     "--output", str(out), "--search", json.dumps(grid), "--seq-length", "32",
                     "--dropout", "0", "--log-every", "100", "--checkpoint-every", "1000"]) == 0
    console = capsys.readouterr().out
    search = json.loads((out / "metrics.json").read_text())["search"]
    assert search["metric"] == "accuracy" and search["eval_file"].endswith("search_split/dev.tsv")
    rows = [(t["learning_rate"], t["epochs"], t["global_batch_size"]) for t in search["trials"]]
    assert sorted(rows) == [(1e-5, 2, 16), (3e-3, 2, 16)]
    best = max(search["trials"], key=lambda t: t["score"])
    assert search["best"]["score"] == best["score"] and search["best"]["learning_rate"] == best["learning_rate"]
    for trial in search["trials"]:
        assert trial["score"] == trial["eval"]["accuracy"]
    # Held out: 10 % of the 60 rows (6), never trained on.
    dev_rows = (out / "search_split" / "dev.tsv").read_text().splitlines()[1:]
    assert len(dev_rows) == 6 and not set(dev_rows) & set((out / "search_split" / "train.tsv").read_text().splitlines())
    # The kept model is the best trial's, and the console shows the table.
    trial_dirs = sorted((out / "trials").iterdir())
    best_dir = next(d for d in trial_dirs if json.loads((d / "metrics.json").read_text())["eval"]["accuracy"]
                    == best["score"] and (d / "model").is_dir())
    assert (out / "model" / "head.safetensors").read_bytes() == (best_dir / "model" / "head.safetensors").read_bytes()
    assert "learning_rate" in console and "<- best" in console


def test_grids_are_checked():
    assert finetune_search.parse_grid("paper") == {"learning_rate": [5e-5, 3e-5, 2e-5], "epochs": [2, 3, 4],
                                                   "global_batch_size": [16, 32]}
    assert finetune_search.parse_grid('{"epochs": [5]}')["epochs"] == [5]
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['lr'\]"):
        finetune_search.parse_grid('{"lr": [1]}')
    with pytest.raises(ConfigError, match="'epochs' must be a non-empty list"):
        finetune_search.parse_grid('{"epochs": 3}')
    with pytest.raises(ConfigError, match="give --eval"):
        finetune_search.split_training_file("train.json", pathlib.Path("/tmp/x"))


@pytest.mark.slow  # two fine-tuning runs
def test_cli_defaults_follow_the_rule_and_the_paper_is_one_flag_away(tmp_path, capsys):
    pretrained = write_tiny_pretrained(tmp_path / "pretrained")
    train, _ = write_task_files(tmp_path, "classify", n_train=32, n_eval=8)
    common = ["finetune", "--task", "classify", "--pretrained", str(pretrained), "--train", train,
              "--seq-length", "32", "--log-every", "100", "--checkpoint-every", "1000"]
    assert cli_main(common + ["--output", str(tmp_path / "paper"), "--paper-defaults"]) == 0
    assert "lr 5e-05, 3 epochs, batch 32, pooler pooling (the paper's defaults)" in capsys.readouterr().out
    assert cli_main(common + ["--output", str(tmp_path / "rule"), "--global-batch-size", "16"]) == 0
    # hidden 16: lr clipped to 3e-4; 32 rows / 16 = 2 steps an epoch -> 10 epochs (the cap).
    assert "lr 0.0003, 10 epochs, batch 16, pooler pooling" in capsys.readouterr().out
