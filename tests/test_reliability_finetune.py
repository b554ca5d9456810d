"""`bertzoo finetune` under faults: SIGTERM at a chosen step checkpoints and exits 143 with the lock
released; resuming on other training data is refused naming what differs; the rerun resumes."""

import json

import pytest

from bertzoo.cli import main as cli_main
from finetune_data import write_task_files, write_tiny_pretrained

SMALL = ["--task", "classify", "--seq-length", "32", "--global-batch-size", "16", "--epochs", "1",
         "--log-every", "1", "--checkpoint-every", "10", "--deterministic"]


@pytest.mark.slow  # the same machinery as pretrain's default-run tests, through the finetune recipe
def test_finetune_preempted_refuses_other_data_then_resumes(tmp_path, monkeypatch, capsys):
    pretrained = write_tiny_pretrained(tmp_path / "pretrained")
    (tmp_path / "data").mkdir()
    (tmp_path / "other").mkdir()
    train, _ = write_task_files(tmp_path / "data", "classify", n_train=48, n_eval=8)
    other, _ = write_task_files(tmp_path / "other", "classify", n_train=64, n_eval=8)
    out = tmp_path / "run"
    base = ["finetune", "--pretrained", str(pretrained), "--output", str(out), *SMALL]

    monkeypatch.setenv("BERTZOO_SIGNAL_AT_STEP", "1")
    assert cli_main([*base, "--train", train]) == 143
    assert "stopped by SIGTERM at step 1" in capsys.readouterr().err
    assert (out / "checkpoints" / "ckpt-1.index").exists() and not (out / "model").exists()
    assert not (out / "run.lock").exists()
    recorded = json.loads((out / "run.json").read_text())
    assert recorded["recipe"] == "finetune" and recorded["hyperparameters"]["steps"] == 3
    monkeypatch.delenv("BERTZOO_SIGNAL_AT_STEP")

    assert cli_main([*base, "--train", other]) == 2
    err = capsys.readouterr().err
    assert f"{out} holds a finetune run of another data (train[0].bytes:" in err and "train[0].path:" in err

    assert cli_main([*base, "--train", train]) == 0
    figures = json.loads((out / "metrics.json").read_text())
    assert figures["resumed_from_step"] == 1 and figures["steps"] == 3
    assert (out / "model" / "task.json").exists()
