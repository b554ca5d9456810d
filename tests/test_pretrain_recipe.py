"""`bertzoo pretrain` end to end: it learns, mirrored equals one device, a SIGKILLed run resumes to
the same weights, and bad input gets a clear one-line error."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import safetensors.numpy

import bertzoo
from bertzoo.cli import main as cli_main
from bertzoo.recipes import pretrain

SMALL = ["--seq-length", "32", "--global-batch-size", "16", "--dupe-factor", "1", "--log-every", "10",
         "--max-predictions-per-seq", "5"]


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    pretrain.learn_vocabulary([str(pretrain.DEFAULT_CORPUS)], 800, True, path)
    return path


def metrics(out):
    return json.loads((pathlib.Path(out) / "metrics.json").read_text())


def final_weights(out):
    return safetensors.numpy.load_file(str(pathlib.Path(out) / "pretrained" / "model.safetensors"))


def test_pretrain_learns_and_writes_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "run"
    assert cli_main(["pretrain", "--output", str(out), "--steps", "60", "--learning-rate", "2e-3",
                     "--vocab-size", "800", *SMALL]) == 0
    figures = metrics(out)
    assert figures["steps"] == 60
    assert figures["last_logged"]["loss/masked_lm"] < figures["first_logged"]["loss/masked_lm"] - 0.3
    assert 0 < figures["unigram_baseline_accuracy"] < 0.2
    bert = bertzoo.load_pretrained(out / "pretrained", seq_length=32)
    assert bert.format == "bertzoo" and bert.config.do_lower_case is True
    assert bert.config.vocab_size == len(bert.tokenizer.vocabulary)  # learned vocabulary sizes the model
    assert len(bert.pretraining_weights) == 7
    assert list((out / "logs").glob("events.out.tfevents.*"))


def dropout_free_config(tmp_path, vocab_file):
    """Tiny BERT without dropout: each replica draws its own dropout masks, so only a dropout-free
    model can follow the same curve under every strategy."""
    vocab_size = len(vocab_file.read_text().splitlines())
    path = tmp_path / "tiny_no_dropout.json"
    bertzoo.BertConfig.preset("tiny", vocab_size=vocab_size, hidden_dropout_prob=0.0,
                              attention_probs_dropout_prob=0.0).to_json(path)
    return path


def test_mirrored_over_two_cpus_matches_one_device(tmp_path, vocab_file):
    config = dropout_free_config(tmp_path, vocab_file)
    runs = {}
    for strategy in ("cpu", "mirrored"):
        out = tmp_path / strategy
        assert cli_main(["pretrain", "--output", str(out), "--steps", "20", "--vocab", str(vocab_file),
                         "--config", str(config), "--strategy", strategy, "--deterministic", *SMALL]) == 0
        runs[strategy] = out
    single, mirrored = metrics(runs["cpu"]), metrics(runs["mirrored"])
    assert mirrored["num_replicas"] == 2 and single["num_replicas"] == 1
    for window in ("first_logged", "last_logged"):
        for name in ("loss/masked_lm", "loss/next_sentence"):
            assert mirrored[window][name] == pytest.approx(single[window][name], rel=1e-4), (window, name)
    a, b = final_weights(runs["cpu"]), final_weights(runs["mirrored"])
    difference = max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
    print(f"mirrored vs one device: max |weight diff| {difference:.2e}")
    assert difference < 1e-3


def test_jit_compiled_train_step_matches(tmp_path, vocab_file):
    config = dropout_free_config(tmp_path, vocab_file)
    runs = {}
    for jit in (False, True):
        out = tmp_path / f"jit{jit}"
        assert cli_main(["pretrain", "--output", str(out), "--steps", "10", "--vocab", str(vocab_file),
                         "--config", str(config), "--deterministic", *SMALL,
                         *(["--jit-compile"] if jit else [])]) == 0
        runs[jit] = metrics(out)
    assert runs[True]["last_logged"]["loss"] == pytest.approx(runs[False]["last_logged"]["loss"], abs=1e-3)


def _command(out, vocab_file, steps):
    return [sys.executable, "-m", "bertzoo.cli", "pretrain", "--output", str(out), "--steps", str(steps),
            "--vocab", str(vocab_file), "--checkpoint-every", "10", "--deterministic", *SMALL]


def test_sigkill_then_rerun_resumes_to_the_same_weights(tmp_path, vocab_file):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    reference = tmp_path / "uninterrupted"
    subprocess.run(_command(reference, vocab_file, 30), check=True, env=env, capture_output=True, timeout=600)

    out = tmp_path / "killed"
    process = subprocess.Popen(_command(out, vocab_file, 30), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    while not list((out / "checkpoints").glob("ckpt-10.index")) and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "pretrained").exists()  # nothing presented as done
    done = subprocess.run(_command(out, vocab_file, 30), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = metrics(out)
    assert figures["resumed_from_step"] in (10, 20) and figures["steps_this_run"] == 30 - figures["resumed_from_step"]
    a, b = final_weights(reference), final_weights(out)
    assert max(float(np.max(np.abs(a[k] - b[k]))) for k in a) == 0.0


def _error_of(args, capsys):
    assert cli_main(args) == 2
    return capsys.readouterr().err


def test_bad_input_is_a_one_line_error(tmp_path, vocab_file, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    err = _error_of(["pretrain", "--output", str(tmp_path / "a"), "--corpus", str(empty), "--vocab",
                     str(vocab_file), *SMALL], capsys)
    assert "empty.txt" in err
    one = tmp_path / "one.txt"
    one.write_text("Just one sentence here.\n")
    err = _error_of(["pretrain", "--output", str(tmp_path / "b"), "--corpus", str(one), "--vocab",
                     str(vocab_file), *SMALL], capsys)
    assert "one.txt" in err
    config = tmp_path / "bert_config.json"
    config.write_text(json.dumps(dict(bertzoo.BertConfig.preset("tiny").to_google_dict(), vocab_size=100)))
    err = _error_of(["pretrain", "--output", str(tmp_path / "c"), "--config", str(config), "--vocab",
                     str(vocab_file), *SMALL], capsys)
    assert "vocab_size 100" in err and "must match" in err
    corrupt = tmp_path / "corrupt.tfrecord"
    corrupt.write_bytes(b"this is not a tfrecord at all" * 10)
    err = _error_of(["pretrain", "--output", str(tmp_path / "d"), "--corpus", str(corrupt), "--vocab",
                     str(vocab_file), *SMALL], capsys)
    assert "corrupt.tfrecord" in err
    err = _error_of(["pretrain", "--output", str(tmp_path / "e"), "--corpus", str(tmp_path / "missing.txt"),
                     *SMALL], capsys)
    assert "missing.txt" in err
    assert not (tmp_path / "a" / "pretrained").exists()
