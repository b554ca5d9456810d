"""The Trainer: exact under MirroredStrategy and two MultiWorkerMirroredStrategy workers, jit on/off,
mixed precision, kill-and-resume, metrics.json and TensorBoard output, and its error messages."""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo.training import (
    NonFiniteLossError,
    SyncedLossScaleOptimizer,
    Trainer,
    create_optimizer,
    resolve_strategy,
)

SCRIPT = pathlib.Path(__file__).parent / "trainer_scripts" / "train_tiny.py"
GLOBAL_BATCH_SIZE = 8
# Per global batch: the first replica's half weighs 4, the second's 3, so normalising by a replica's
# own weight sum (instead of the global one) would change the loss and the gradients.
EXAMPLE_WEIGHTS = np.array([1, 1, 1, 1, 0, 3, 0, 0], dtype="float32")


def build_regressor() -> keras.Model:
    inputs = keras.Input((4,), name="features")
    hidden = keras.layers.Dense(8, activation="tanh", name="hidden")(inputs)
    hidden = keras.layers.LayerNormalization(name="layer_norm")(hidden)
    return keras.Model(inputs, keras.layers.Dense(1, name="output")(hidden))


def weighted_squared_error(labels, outputs):
    targets, weights = labels
    errors = tf.square(outputs[:, 0] - targets)
    return {"regression": (tf.reduce_sum(errors * weights), tf.reduce_sum(weights))}


def weighted_absolute_error(labels, outputs):
    targets, weights = labels
    return {"absolute_error": (tf.reduce_sum(tf.abs(outputs[:, 0] - targets) * weights), tf.reduce_sum(weights))}


def regression_dataset(num_batches: int = 16, batch_size: int = GLOBAL_BATCH_SIZE, nan_batch: int | None = None,
                       drop_remainder: bool = True) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(num_batches * GLOBAL_BATCH_SIZE, 4)).astype("float32")
    # Targets far from the initial predictions: the gradient norm is well above the clipping norm 1.
    targets = (10.0 * features[:, 0] + 5.0).astype("float32")
    weights = np.tile(EXAMPLE_WEIGHTS, num_batches)
    if nan_batch is not None:
        features[nan_batch * GLOBAL_BATCH_SIZE:(nan_batch + 1) * GLOBAL_BATCH_SIZE] = np.nan
    dataset = tf.data.Dataset.from_tensor_slices((features, (targets, weights)))
    return dataset.repeat().batch(batch_size, drop_remainder=drop_remainder)


def make_trainer(strategy, output_dir, **kwargs) -> Trainer:
    options = dict(global_batch_size=GLOBAL_BATCH_SIZE, output_dir=output_dir, metrics_fn=weighted_absolute_error,
                   log_every=1, checkpoint_every=5, seed=3, verbose=False)
    options.update(kwargs)
    return Trainer(strategy, build_regressor, lambda: create_optimizer(5e-2, num_train_steps=10, warmup_steps=2),
                   weighted_squared_error, **options)


def _weights(trainer: Trainer) -> list[np.ndarray]:
    return [np.asarray(w) for w in trainer.model.get_weights()]


@pytest.fixture(scope="module")
def single_device_run(tmp_path_factory):
    """10 steps on one device: the reference every other run must reproduce."""
    trainer = make_trainer(tf.distribute.OneDeviceStrategy("/cpu:0"), tmp_path_factory.mktemp("single"))
    features, (targets, weights) = next(iter(regression_dataset()))
    with tf.GradientTape() as tape:
        loss_sum, weight_sum = weighted_squared_error((targets, weights), trainer.model(features))["regression"]
        loss = loss_sum / weight_sum
    first_gradient_norm = float(tf.linalg.global_norm(tape.gradient(loss, trainer.model.trainable_variables)))
    final = trainer.train(regression_dataset(), steps=10)
    return trainer, final, first_gradient_norm


@pytest.fixture(scope="module")
def mirrored_run(tmp_path_factory):
    strategy = resolve_strategy("mirrored")
    assert strategy.num_replicas_in_sync == 2
    output_dir = tmp_path_factory.mktemp("mirrored")
    trainer = make_trainer(strategy, output_dir)
    return trainer, trainer.train(regression_dataset(), steps=10), output_dir


def test_mirrored_equals_single_device(single_device_run, mirrored_run):
    single, _, first_gradient_norm = single_device_run
    mirrored, _, _ = mirrored_run
    assert first_gradient_norm > 5.0, "global-norm clipping (1.0) must be active for this test to mean anything"
    single_losses = [log["loss"] for log in single.history]
    mirrored_losses = [log["loss"] for log in mirrored.history]
    assert len(single_losses) == len(mirrored_losses) == 10
    np.testing.assert_allclose(mirrored_losses, single_losses, rtol=1e-5)
    np.testing.assert_allclose([log["absolute_error"] for log in mirrored.history],
                               [log["absolute_error"] for log in single.history], rtol=1e-5)
    assert single_losses[-1] < single_losses[0]
    max_difference = max(np.abs(a - b).max() for a, b in zip(_weights(single), _weights(mirrored)))
    assert max_difference < 1e-5, max_difference


def test_resumed_mirrored_run_equals_uninterrupted(mirrored_run, tmp_path):
    """Under MirroredStrategy the iterator cannot be checkpointed: the resumed run skips the batches."""
    uninterrupted, _, _ = mirrored_run
    first = make_trainer(resolve_strategy("mirrored"), tmp_path, checkpoint_every=3)
    first.train(regression_dataset(), steps=6)
    second = make_trainer(resolve_strategy("mirrored"), tmp_path, checkpoint_every=3)
    final = second.train(regression_dataset(), steps=10)
    assert (final["resumed_from_step"], final["steps_this_run"], final["steps"]) == (6, 4, 10)
    assert [log["step"] for log in second.history] == [7, 8, 9, 10]
    np.testing.assert_allclose([log["loss"] for log in second.history],
                               [log["loss"] for log in uninterrupted.history[6:]], rtol=1e-6)
    for a, b in zip(_weights(uninterrupted), _weights(second)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_dataset_function_gives_the_same_losses(mirrored_run, tmp_path):
    """``distribute_datasets_from_function``: a function of the InputContext batched per replica."""
    uninterrupted, _, _ = mirrored_run

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        return regression_dataset().unbatch().batch(context.get_per_replica_batch_size(GLOBAL_BATCH_SIZE),
                                                    drop_remainder=True)

    trainer = make_trainer(resolve_strategy("mirrored"), tmp_path)
    trainer.train(dataset_fn, steps=3)
    np.testing.assert_allclose([log["loss"] for log in trainer.history],
                               [log["loss"] for log in uninterrupted.history[:3]], rtol=1e-6)


def test_jit_compile_gives_the_same_losses(single_device_run, tmp_path):
    single, _, _ = single_device_run
    jitted = make_trainer(resolve_strategy("mirrored"), tmp_path, jit_compile=True, steps_per_execution=5,
                          log_every=5)
    jitted.train(regression_dataset(), steps=10)
    # Logged losses are means over the 5 steps since the previous log.
    expected = [np.mean([log["loss"] for log in single.history[i:i + 5]]) for i in (0, 5)]
    np.testing.assert_allclose([log["loss"] for log in jitted.history], expected, rtol=1e-4)
    for a, b in zip(_weights(single), _weights(jitted)):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_mixed_float16_loss_scaling_is_exact_under_mirrored(tmp_path):
    """Loss scale 32768 overflows float16 at first: steps are skipped until the scale fits, on every replica alike."""
    runs = {}
    for name in ("cpu", "mirrored"):
        trainer = make_trainer(resolve_strategy(name), tmp_path / name, mixed_precision="mixed_float16")
        trainer.train(regression_dataset(), steps=10)
        runs[name] = trainer
    assert isinstance(runs["mirrored"].optimizer, SyncedLossScaleOptimizer)
    assert float(runs["mirrored"].optimizer.dynamic_scale.numpy()) < 32768.0  # overflows were seen and skipped
    assert runs["mirrored"].model.get_layer("hidden").compute_dtype == "float16"
    np.testing.assert_allclose([log["loss"] for log in runs["mirrored"].history],
                               [log["loss"] for log in runs["cpu"].history], rtol=1e-3)


def test_mixed_bfloat16_computes_in_bfloat16_and_leaves_the_global_policy(tmp_path):
    trainer = make_trainer(tf.distribute.OneDeviceStrategy("/cpu:0"), tmp_path, mixed_precision="mixed_bfloat16")
    hidden = trainer.model.get_layer("hidden")
    assert (hidden.compute_dtype, hidden.kernel.dtype) == ("bfloat16", "float32")
    assert keras.config.dtype_policy().name == "float32"
    trainer.train(regression_dataset(), steps=3)
    assert all(np.isfinite(log["loss"]) for log in trainer.history)


def test_metrics_json_and_tensorboard_events(mirrored_run):
    trainer, final, output_dir = mirrored_run
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert metrics["steps"] == 10 and metrics["global_batch_size"] == 8 and metrics["num_replicas"] == 2
    assert metrics["first_logged"]["step"] == 1 and metrics["last_logged"]["step"] == 10
    assert metrics["first_logged"]["loss"] == pytest.approx(trainer.history[0]["loss"])
    assert metrics["loss"] == pytest.approx(trainer.history[-1]["loss"]) == pytest.approx(final["loss"])
    assert metrics["wall_time_s"] > 0 and "absolute_error" in metrics and "learning_rate" in metrics
    assert not list(output_dir.glob(".metrics.json*")), "temporary file left behind"
    assert sorted(p.name for p in (output_dir / "checkpoints").glob("*.index")) == ["ckpt-10.index", "ckpt-5.index"]

    events = list((output_dir / "logs").glob("events.out.tfevents.*"))
    assert events
    scalars = {}
    for event in tf.compat.v1.train.summary_iterator(str(events[0])):
        for value in event.summary.value:
            assert value.metadata.plugin_data.plugin_name == "scalars"
            scalars.setdefault(value.tag, []).append((event.step, float(tf.make_ndarray(value.tensor))))
    assert {"loss", "loss/regression", "learning_rate", "absolute_error"} <= set(scalars)
    assert [step for step, _ in scalars["loss"]] == list(range(1, 11))
    assert scalars["loss"][0][1] == pytest.approx(trainer.history[0]["loss"])


def test_dataset_batch_must_be_the_global_batch_size(tmp_path):
    trainer = make_trainer(tf.distribute.OneDeviceStrategy("/cpu:0"), tmp_path)
    with pytest.raises(ValueError, match="batch size is 4, expected the global batch size 8"):
        trainer.train(regression_dataset(batch_size=4), steps=2)
    with pytest.raises(ValueError, match="drop_remainder=True"):
        trainer.train(regression_dataset(drop_remainder=False), steps=2)


def test_dataset_elements_must_be_feature_label_pairs(tmp_path):
    trainer = make_trainer(tf.distribute.OneDeviceStrategy("/cpu:0"), tmp_path)
    features_only = tf.data.Dataset.from_tensor_slices(np.zeros((16, 4), "float32")).batch(8, drop_remainder=True)
    with pytest.raises(ValueError, match=r"\(features, labels\) pair"):
        trainer.train(features_only, steps=2)


def test_nan_loss_stops_with_the_step(tmp_path):
    trainer = make_trainer(tf.distribute.OneDeviceStrategy("/cpu:0"), tmp_path, steps_per_execution=2, log_every=10)
    # The 4th batch is NaN: the second step of the second 2-step execution.
    with pytest.raises(NonFiniteLossError, match="at step 4"):
        trainer.train(regression_dataset(nan_batch=3), steps=10)
    assert not (tmp_path / "metrics.json").exists()


# --------------------------------------------------------------------------------------------------
# Subprocesses: a SIGKILLed run resumes exactly; two MultiWorkerMirroredStrategy workers.

def _start(output_dir: pathlib.Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    command = [sys.executable, str(SCRIPT), "--output", str(output_dir), "--weights", str(output_dir / "weights.npz"),
               *args]
    environment = {name: value for name, value in os.environ.items() if name != "TF_CONFIG"}
    environment.update({"TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)


def _finish(process: subprocess.Popen, timeout: float = 150) -> str:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"subprocess timed out:\n{output[-3000:]}")
    return output


def _load_weights(path: pathlib.Path) -> list[np.ndarray]:
    with np.load(path) as archive:
        return [archive[name] for name in sorted(archive.files, key=lambda n: int(n.split("_")[1]))]


def _logged_steps(output: str) -> list[int]:
    return [int(line.split()[1].split("/")[0]) for line in output.splitlines() if line.startswith("step ")]


def test_killed_run_resumes_where_its_checkpoint_left_off(tmp_path):
    reference_dir, killed_dir = tmp_path / "uninterrupted", tmp_path / "killed"
    reference = _start(reference_dir)  # 12 steps, checkpoint every 4, dropout 0.1, deterministic
    killed = _start(killed_dir, env={"BERTZOO_TEST_KILL_AT_STEP": "7"})
    reference_output, killed_output = _finish(reference), _finish(killed)
    assert reference.returncode == 0, reference_output[-3000:]
    assert killed.returncode == -signal.SIGKILL, killed_output[-3000:]
    assert _logged_steps(killed_output) == list(range(1, 8))
    assert not (killed_dir / "metrics.json").exists()
    assert sorted(p.name for p in (killed_dir / "checkpoints").glob("*.index")) == ["ckpt-4.index"]

    resumed = _start(killed_dir)  # the same command again
    resumed_output = _finish(resumed)
    assert resumed.returncode == 0, resumed_output[-3000:]
    assert "resuming from" in resumed_output and "at step 4 (iterator state restored)" in resumed_output
    assert _logged_steps(resumed_output) == list(range(5, 13))  # steps 1-4 are not repeated
    metrics = json.loads((killed_dir / "metrics.json").read_text())
    assert (metrics["resumed_from_step"], metrics["steps_this_run"], metrics["steps"]) == (4, 8, 12)
    # Steps 5-7 ran twice (killed, then resumed) with identical losses: same batches, same dropout masks.
    killed_losses = [line for line in killed_output.splitlines() if line.startswith(("step 5/", "step 6/"))]
    resumed_losses = [line for line in resumed_output.splitlines() if line.startswith(("step 5/", "step 6/"))]
    assert [line.split("lr")[0] for line in killed_losses] == [line.split("lr")[0] for line in resumed_losses]
    for a, b in zip(_load_weights(reference_dir / "weights.npz"), _load_weights(killed_dir / "weights.npz")):
        np.testing.assert_array_equal(a, b)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_multi_worker_workers_match_one_device(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    shared_dir, reference_dir = tmp_path / "multiworker", tmp_path / "one_device"
    args = ("--dropout", "0", "--steps", "6")
    processes = [
        _start(shared_dir, "--strategy", "multiworker", *args,
               env={"TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})})
        for i in range(2)
    ]
    reference = _start(reference_dir, "--strategy", "cpu", *args)
    outputs = [_finish(process, timeout=240) for process in processes + [reference]]
    for process, output in zip(processes + [reference], outputs):
        assert process.returncode == 0, output[-3000:]
    chief_output, worker_output, _ = outputs
    assert "MultiWorkerMirroredStrategy, task worker:0 of 2 (2 replica(s) in sync)" in chief_output
    assert _logged_steps(chief_output) == list(range(1, 7)) and _logged_steps(worker_output) == []
    # Only the chief writes: one metrics.json, checkpoints, logs, weights in the shared directory.
    assert json.loads((shared_dir / "metrics.json").read_text())["num_replicas"] == 2
    assert sorted(p.name for p in (shared_dir / "checkpoints").glob("*.index")) == ["ckpt-4.index", "ckpt-6.index"]
    for a, b in zip(_load_weights(reference_dir / "weights.npz"), _load_weights(shared_dir / "weights.npz")):
        np.testing.assert_allclose(a, b, atol=1e-6)
