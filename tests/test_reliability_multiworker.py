"""Preemption of a two-worker MultiWorkerMirroredStrategy job (two local `bertzoo pretrain`
processes): SIGTERM to the non-chief worker makes both checkpoint at the same step and exit 143;
restarting the job resumes there and ends bit-identical to an uninterrupted two-worker job. The
chief alone holds run.lock."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest
import safetensors.numpy

import bertzoo
from bertzoo.recipes import pretrain

pytestmark = pytest.mark.slow  # three two-process jobs

CORPUS = pathlib.Path(__file__).parents[1] / "recipes" / "data" / "pretraining_corpus.txt"
COMMON = ["pretrain", "--corpus", str(CORPUS), "--steps", "8", "--seq-length", "32", "--global-batch-size", "8",
          "--dupe-factor", "1", "--log-every", "1", "--max-predictions-per-seq", "5", "--checkpoint-every", "4",
          "--deterministic", "--strategy", "multiworker"]


def free_addresses(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    return addresses


def run_job(args, worker_env=({}, {})):
    """Runs the two workers to the end; returns [(status, output)] for chief and worker."""
    workers = free_addresses(2)
    processes = []
    for index, extra in enumerate(worker_env):
        environment = {name: value for name, value in os.environ.items()
                       if name not in ("TF_CONFIG", "BERTZOO_SIGNAL_AT_STEP")}
        environment.update({"TF_CPP_MIN_LOG_LEVEL": "2", **extra,
                            "TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                                     "task": {"type": "worker", "index": index}})})
        processes.append(subprocess.Popen([sys.executable, "-m", "bertzoo.cli", *args], env=environment,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    results = []
    for process in processes:
        try:
            output, _ = process.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            pytest.fail("a worker timed out")
        results.append((process.returncode, output))
    return results


def test_sigterm_to_one_worker_checkpoints_the_job_and_resumes_bit_identical(tmp_path):
    vocab = tmp_path / "vocab.txt"
    pretrain.learn_vocabulary([str(CORPUS)], 400, True, vocab)
    config = tmp_path / "config.json"
    bertzoo.BertConfig.preset("tiny", vocab_size=len(vocab.read_text().splitlines()), hidden_dropout_prob=0.0,
                              attention_probs_dropout_prob=0.0).to_json(config)
    common = [*COMMON, "--vocab", str(vocab), "--config", str(config)]

    reference = tmp_path / "reference"
    for status, output in run_job([*common, "--output", str(reference)]):
        assert status == 0, output[-3000:]

    out = tmp_path / "preempted"
    (chief_status, chief_output), (worker_status, worker_output) = run_job(
        [*common, "--output", str(out)], worker_env=({}, {"BERTZOO_SIGNAL_AT_STEP": "5"}))
    assert worker_status == 143, worker_output[-3000:]
    assert chief_status == 143, chief_output[-3000:]  # the chief was told by the collective, not a signal
    assert "stopped by SIGTERM at step 6" in chief_output
    figures = json.loads((out / "metrics.json").read_text())
    assert figures["steps"] == 6 and figures["interrupted_by"] == "SIGTERM"
    assert (out / "checkpoints" / "ckpt-6.index").exists() and not (out / "pretrained").exists()
    assert not (out / "run.lock").exists()

    for status, output in run_job([*common, "--output", str(out)]):
        assert status == 0, output[-3000:]
    assert json.loads((out / "metrics.json").read_text())["resumed_from_step"] == 6
    a = safetensors.numpy.load_file(str(reference / "pretrained" / "model.safetensors"))
    b = safetensors.numpy.load_file(str(out / "pretrained" / "model.safetensors"))
    for name in a:
        assert np.array_equal(a[name], b[name]), name
