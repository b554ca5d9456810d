"""`bertzoo pretrain` and `bertzoo finetune` as two MultiWorkerMirroredStrategy workers on 127.0.0.1:
they train as one process with the same global batch, only the chief writes, a job whose worker was
SIGKILLed resumes from the last checkpoint when restarted, and a worker that never joins is named."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest

import bertzoo
from bertzoo.recipes import pretrain

from bertzoo.models.finetuned import load_finetuned
from finetune_data import write_task_files, write_tiny_pretrained

FINETUNE = ["--seq-length", "32", "--global-batch-size", "16", "--learning-rate", "3e-3", "--dropout", "0",
            "--log-every", "2", "--epochs", "1"]


def free_addresses(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    return addresses


def start(args, tf_config=None, **env):
    environment = {name: value for name, value in os.environ.items() if name != "TF_CONFIG"}
    environment.update({"TF_CPP_MIN_LOG_LEVEL": "2", **env})
    if tf_config is not None:
        environment["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen([sys.executable, "-m", "bertzoo.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=environment)


def start_workers(args, count=2, **env):
    """Starts ``count`` of the two workers of a local cluster (1: the chief alone)."""
    workers = free_addresses(2)
    return [start(args, {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}, **env)
            for i in range(count)]


def finish(process, timeout=300):
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"timed out:\n{output[-3000:]}")
    return output


def logged_steps(output):
    return [int(line.split()[1].split("/")[0]) for line in output.splitlines() if line.startswith("step ")]


def metrics(out):
    return json.loads((pathlib.Path(out) / "metrics.json").read_text())


@pytest.fixture(scope="module")
def task_files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("multiworker")
    pretrained = write_tiny_pretrained(directory / "pretrained")
    train, evaluation = write_task_files(directory, "classify", n_train=96, n_eval=32)
    return pretrained, train, evaluation


def finetune_args(task_files, out, strategy):
    pretrained, train, evaluation = task_files
    return ["finetune", "--task", "classify", "--pretrained", str(pretrained), "--train", train, "--eval", evaluation,
            "--output", str(out), "--strategy", strategy, *FINETUNE]


def test_two_workers_fine_tune_as_one_process(task_files, tmp_path):
    shared, single = tmp_path / "shared", tmp_path / "single"
    processes = start_workers(finetune_args(task_files, shared, "multiworker"))
    reference = start(finetune_args(task_files, single, "cpu"))
    outputs = [finish(process) for process in processes + [reference]]
    for process, output in zip(processes + [reference], outputs):
        assert process.returncode == 0, output[-3000:]
    assert "task worker:0 of 2 (2 replica(s) in sync)" in outputs[0]
    assert logged_steps(outputs[0]) == [2, 4, 6] and logged_steps(outputs[1]) == []
    assert metrics(shared)["last_logged"]["loss"] == pytest.approx(metrics(single)["last_logged"]["loss"], abs=1e-5)
    assert metrics(shared)["eval"]["accuracy"] == pytest.approx(metrics(single)["eval"]["accuracy"], abs=1e-6)
    assert load_finetuned(shared / "model").label_names == ["neg", "pos"]  # the chief's model loads


def test_two_workers_pretrain_as_one_process(tmp_path):
    corpus = pathlib.Path(__file__).parents[1] / "recipes" / "data" / "pretraining_corpus.txt"
    common = ["pretrain", "--corpus", str(corpus), "--steps", "4", "--seq-length", "32", "--global-batch-size", "8",
              "--dupe-factor", "1", "--log-every", "2", "--max-predictions-per-seq", "5"]
    vocab = tmp_path / "vocab.txt"
    pretrain.learn_vocabulary([str(corpus)], 400, True, vocab)
    config = tmp_path / "config.json"
    bertzoo.BertConfig.preset("tiny", vocab_size=len(vocab.read_text().splitlines()), hidden_dropout_prob=0.0,
                              attention_probs_dropout_prob=0.0).to_json(config)
    common += ["--config", str(config)]
    shared, single = tmp_path / "shared", tmp_path / "single"
    processes = start_workers([*common, "--vocab", str(vocab), "--output", str(shared), "--strategy", "multiworker"])
    reference = start([*common, "--vocab", str(vocab), "--output", str(single), "--strategy", "cpu"])
    outputs = [finish(process) for process in processes + [reference]]
    for process, output in zip(processes + [reference], outputs):
        assert process.returncode == 0, output[-3000:]
    assert metrics(shared)["last_logged"]["loss"] == pytest.approx(metrics(single)["last_logged"]["loss"], abs=1e-4)
    assert bertzoo.load_pretrained(shared / "pretrained", seq_length=32).config.num_hidden_layers == 2


def test_killed_worker_job_resumes_from_the_last_checkpoint(task_files, tmp_path):
    shared = tmp_path / "shared"
    args = [*finetune_args(task_files, shared, "multiworker"), "--epochs", "3", "--checkpoint-every", "6",
            "--log-every", "1"]
    chief, worker = start_workers(args)
    chief_lines = []
    deadline = time.time() + 240
    for line in chief.stdout:  # wait for a step after the first checkpoint, then SIGKILL worker 1
        chief_lines.append(line)
        if line.startswith("step 8/") or time.time() > deadline:
            break
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    chief.kill()  # the job is restarted as a whole, as a cluster manager would
    chief.wait()
    assert any(line.startswith("step 8/") for line in chief_lines), "".join(chief_lines)[-3000:]
    assert (shared / "checkpoints" / "ckpt-6.index").exists()

    chief, worker = start_workers(args)
    outputs = [finish(chief), finish(worker)]
    assert chief.returncode == 0 and worker.returncode == 0, outputs[0][-3000:] + outputs[1][-3000:]
    assert "resuming from" in outputs[0] and "at step 6" in outputs[0]
    assert logged_steps(outputs[0]) == list(range(7, 19))  # steps 1-6 are not repeated; 18 steps in all
    figures = metrics(shared)
    assert (figures["resumed_from_step"], figures["steps"]) == (6, 18)
    assert "eval" in figures


def test_a_worker_that_never_joins_is_named(task_files, tmp_path):
    [chief] = start_workers(finetune_args(task_files, tmp_path / "alone", "multiworker"), count=1,
                            BERTZOO_WORKER_TIMEOUT="10")
    output = finish(chief, timeout=120)
    assert chief.returncode != 0
    assert "did not all join within 10 s" in output and "worker:1 at 127.0.0.1:" in output


RESOLVER_SCRIPT = """
import sys
import tensorflow as tf
from bertzoo.training import resolve_strategy

addresses, index = sys.argv[1].split(","), int(sys.argv[2])
resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
    tf.train.ClusterSpec({"worker": addresses}), task_type="worker", task_id=index)
strategy = resolve_strategy("multiworker", cluster_resolver=resolver)
total = strategy.reduce("SUM", strategy.run(lambda: tf.constant(float(index + 1))), axis=None)
print("sum over workers:", float(total))
"""


def test_a_cluster_resolver_instead_of_tf_config():
    """Slurm, GCE and the like come in as TensorFlow cluster resolvers; two workers from a
    SimpleClusterResolver (no TF_CONFIG) all-reduce across processes."""
    addresses = ",".join(free_addresses(2))
    environment = {name: value for name, value in os.environ.items() if name != "TF_CONFIG"}
    processes = [subprocess.Popen([sys.executable, "-c", RESOLVER_SCRIPT, addresses, str(i)], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, env=environment) for i in range(2)]
    outputs = [finish(process, timeout=120) for process in processes]
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-3000:]
        assert "sum over workers: 3.0" in output
    assert "SimpleClusterResolver, task worker:0" in outputs[0]
