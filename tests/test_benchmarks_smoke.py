"""`make bench` cannot rot: the benchmark runs end to end on a tiny config (no time is asserted)."""

import collections
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECORD_FIELDS = {"impl", "task", "config", "batch", "seq_length", "precision", "jit_compile"}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    output = tmp_path_factory.mktemp("bench") / "results.json"
    # A subprocess, as `make bench` runs it: its own TensorFlow devices and global dtype policy.
    command = [sys.executable, "-m", "benchmarks.run", "--configs", "tiny", "--batches", "2", "--train-batches", "2",
               "--seq-length", "16", "--precisions", "float32,bfloat16", "--modes", "graph", "--repeats", "1",
               "--warmup", "1", "--min-seconds", "0", "--sentences", "32", "--tokenize-batch", "16",
               "--ceiling-seconds", "0.05",
               "--output", str(output)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads(output.read_text()), completed.stdout


def test_every_task_and_impl_reports_a_record(results):
    data, _ = results
    records = data["records"]
    kinds = {(r["task"], r["impl"]) for r in records}
    expected = {(task, impl) for task in ("inference", "train") for impl in ("bertzoo", "keras_hub")}
    expected |= {("tokenize", impl) for impl in ("bertzoo", "bertzoo_core_ops", "keras_hub", "tf_text_fast_bert")}
    assert expected <= kinds
    for record in records:
        assert RECORD_FIELDS <= set(record)
        rate = record.get("sentences_per_second", record.get("sequences_per_second"))
        assert rate > 0
        if record["task"] != "tokenize":
            assert record["seq_length"] == 16 and record["batch"] == 2 and record["config"] == "tiny"
            assert record["jit_compile"] is False
            # bfloat16 weights (served models) in inference only; training keeps float32 weights.
            assert record["precision"] == "float32" or (record["precision"], record["task"]) == (
                "bfloat16", "inference")
            assert 0 < record["fraction_of_ceiling"] < 1 and record["flops_per_sequence"] > 0
            assert record["fraction_of_peak"] > 0
        else:
            assert record["google_exact"] == record["impl"].startswith("bertzoo")
            # A fresh iterator's start-up, reported apart from the steady-state rate.
            assert (record["first_batch_ms"] is None) == (record["impl"] == "hf_tokenizers")
            assert record["first_batch_ms"] is None or record["first_batch_ms"] > 0


def test_the_json_holds_the_measured_ceiling_and_the_text_mix(results):
    data, stdout = results
    machine = data["machine"]
    shapes = {"2048x2048x2048", "1024x768x3072", "1024x3072x768"}
    shapes |= {f"{shape} xla" for shape in shapes}  # oneDNN in a graph and XLA
    for when in ("start", "end"):
        assert set(machine[f"matmul_gflops_{when}"]["float32"]) == shapes
    measured = [*machine["matmul_gflops_start"]["float32"].values(), *machine["matmul_gflops_end"]["float32"].values()]
    assert machine["ceiling_gflops"]["float32"] == max(measured) > 0
    # The clock-based peak is information: its derivation and what it is worth next to the ceiling.
    assert machine["peak_gflops"]["float32"] > 0 and "GHz" in machine["peak_derivation"]
    assert "measured ceiling" in machine["peak_note"]
    mix = machine["sentences"]
    assert mix["characters"]["median"] > 0 and 0 <= mix["ascii_share"] <= 1
    assert mix["wordpieces"]["p90"] >= mix["wordpieces"]["median"] > 0
    assert len(machine["load_average_start"]) == 3
    assert data["command"].startswith("python -m benchmarks.run")
    assert "| inference | tiny | 2 | float32 |" in stdout
    assert "| inference | tiny | 2 | bfloat16 |" in stdout and "| train | tiny | 2 | bfloat16 |" not in stdout
    assert machine["ceiling_gflops"]["bfloat16"] > 0


def test_an_unknown_precision_is_refused():
    command = [sys.executable, "-m", "benchmarks.run", "--precisions", "float32,bfloat8"]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 2 and "unknown choices: ['bfloat8']" in completed.stderr


def test_torch_is_measured_or_skipped_cleanly(results):
    data, stdout = results
    has_torch = any(r["impl"] == "hf_torch" for r in data["records"])
    assert has_torch or "hf_torch skipped" in stdout


def test_op_profile_one_op_at_a_time_lists_the_train_steps_matmuls():
    """`benchmarks.op_profile --serial` runs (its thread setting must come before TensorFlow starts)
    and names the fused forward matmuls and the batched input-gradient matmuls of bertzoo's Dense."""
    command = [sys.executable, "-m", "benchmarks.op_profile", "--impl", "bertzoo", "--task", "train",
               "--config", "tiny", "--batch", "2", "--seq-length", "16", "--serial", "--top", "40"]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "bertzoo train tiny batch 2 float32 graph:" in completed.stdout
    listed = {line.split()[0] for line in completed.stdout.splitlines()[1:] if line.startswith("  ")}
    # oneDNN's names (_MklNativeFusedMatMul, _MklBatchMatMulV2) or TensorFlow's own without it.
    assert any(op.endswith("FusedMatMul") for op in listed), completed.stdout
    assert any("BatchMatMul" in op for op in listed), completed.stdout
    # The summary that says why a step is below the ceiling: the matmuls' share and their own rate.
    summary = [line for line in completed.stdout.splitlines() if line.startswith("matmul ops ")]
    assert len(summary) == 1 and "% of op time) at " in summary[0] and "% of this run's ceiling" in summary[0]


def test_each_tokenization_pass_reads_every_sentence(monkeypatch):
    """Each timed pass covers all the sentences (passes continue one iterator over the repeated
    data), and a fresh iterator's start-up is timed apart."""
    import tensorflow as tf

    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import tokenization

    seen = []

    def preprocess(batch):
        tf.py_function(lambda b: seen.extend(s.decode() for s in b.numpy()), [batch], [])
        return {"lengths": tf.strings.length(batch)}

    sentences = [f"sentence {i}" for i in range(12)]
    step = tokenization._tf_data_step(sentences, 4, preprocess, "lengths")
    for _ in range(3):
        assert step() == 12
    # Three passes have read every sentence three times (the parallel map and prefetch may have
    # started the fourth).
    counts = collections.Counter(seen)
    assert set(counts) == set(sentences) and min(counts.values()) >= 3
    assert tokenization.first_batch_seconds(step, repeats=2) > 0
