"""resolve_strategy's branches and describe_batch, without a TPU (the TPU resolver is injected)."""

import json
import logging

import pytest
import tensorflow as tf

from bertzoo.training import strategy as strategy_module
from bertzoo.training.strategy import (TPUNotFoundError, check_tf_config, describe_batch, resolve_strategy,
                                       tpu_addresses)


def _no_tpu(tpu):
    raise ValueError("Please provide a TPU Name to connect to.")


def test_cpu_is_one_device(capsys):
    strategy = resolve_strategy("cpu")
    assert isinstance(strategy, tf.distribute.OneDeviceStrategy)
    assert strategy.num_replicas_in_sync == 1
    assert "OneDeviceStrategy on /cpu:0" in capsys.readouterr().out


def test_mirrored_without_gpu_uses_the_two_logical_cpus(capsys):
    strategy = resolve_strategy("mirrored")
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == 2  # tests/conftest.py splits the CPU in two
    assert "2 logical CPU device(s)" in capsys.readouterr().out


def test_mirrored_is_created_once_per_process():
    """Two MirroredStrategy objects in one process number their collectives alike and can collide."""
    assert resolve_strategy("mirrored") is resolve_strategy("mirrored")


def test_auto_without_tpu_falls_back_to_the_default_strategy(monkeypatch, capsys, caplog):
    monkeypatch.delenv("COLAB_TPU_ADDR", raising=False)
    with caplog.at_level(logging.INFO, logger="bertzoo.training.strategy"):
        strategy = resolve_strategy("auto", tpu_resolver_factory=lambda tpu: _no_tpu(tpu))
    assert strategy is tf.distribute.get_strategy()
    # One short printed line; where it looked for a TPU is logged at INFO (bertzoo -v).
    out = capsys.readouterr().out
    assert out == "strategy: auto found no TPU and 0 GPU(s): default strategy on /cpu:0 (1 replica(s) in sync)\n"
    assert "strategy auto: no TPU (no TPU found at 'local': Please provide a TPU Name" in caplog.text
    assert "looking for GPUs" in caplog.text


def test_auto_takes_a_tpu_when_one_answers(monkeypatch):
    found = object()
    monkeypatch.setattr(strategy_module, "_connect_tpu", lambda tpu, factory: found)
    monkeypatch.setattr(strategy_module, "_tpu_strategy", lambda resolver: tf.distribute.OneDeviceStrategy("/cpu:0")
                        if resolver is found else None)
    assert isinstance(resolve_strategy("auto"), tf.distribute.OneDeviceStrategy)


def test_tpu_addresses_local_unless_colab_says_otherwise(monkeypatch):
    monkeypatch.delenv("COLAB_TPU_ADDR", raising=False)
    assert tpu_addresses() == ["local"]
    assert tpu_addresses("my-tpu") == ["my-tpu"]
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert tpu_addresses() == ["grpc://10.0.0.2:8470", "local"]
    assert tpu_addresses("local") == ["local"]
    monkeypatch.setenv("COLAB_TPU_ADDR", "grpc://10.0.0.3:8470")
    assert tpu_addresses() == ["grpc://10.0.0.3:8470", "local"]


def test_auto_without_tpu_on_an_older_colab_runtime_names_every_place_it_looked(monkeypatch, capsys, caplog):
    """COLAB_TPU_ADDR set (a TPU node runtime) but nothing answers: both addresses tried, then the fallback."""
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    tried = []

    def unreachable(tpu):
        tried.append(tpu)
        raise tf.errors.UnavailableError(None, None, f"failed to connect to all addresses ({tpu})")

    with caplog.at_level(logging.INFO, logger="bertzoo.training.strategy"):
        strategy = resolve_strategy("auto", tpu_resolver_factory=unreachable)
    assert strategy is tf.distribute.get_strategy()
    assert tried == ["grpc://10.0.0.2:8470", "local"]
    assert "default strategy on /cpu:0" in capsys.readouterr().out
    assert "strategy auto: no TPU (no TPU found at 'grpc://10.0.0.2:8470': failed to connect" in caplog.text
    assert "no TPU found at 'local'" in caplog.text
    assert "looking for GPUs" in caplog.text


def test_tpu_at_colab_address_is_taken_and_local_not_tried(monkeypatch, capsys):
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    tried = []

    def connect(tpu, factory):
        tried.append(tpu)
        if tpu != "grpc://10.0.0.2:8470":
            raise TPUNotFoundError(f"no TPU found at {tpu!r}")
        return "resolver"

    monkeypatch.setattr(strategy_module, "_connect_tpu", connect)
    monkeypatch.setattr(strategy_module, "_tpu_strategy", lambda resolver: tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert isinstance(resolve_strategy("tpu"), tf.distribute.OneDeviceStrategy)
    assert tried == ["grpc://10.0.0.2:8470"]
    assert "TPUStrategy on TPU 'grpc://10.0.0.2:8470'" in capsys.readouterr().out


def test_a_tpu_found_once_is_what_later_calls_get(monkeypatch, capsys):
    """A notebook resolves the TPU (say at COLAB_TPU_ADDR) once; recipes then call resolve_strategy("tpu") or
    ("auto") without an address and must get the same strategy, not look for a local TPU."""
    earlier = tf.distribute.OneDeviceStrategy("/cpu:0")
    monkeypatch.setattr(strategy_module, "_CREATED", {("tpu", "grpc://10.0.0.2:8470"): earlier})

    def must_not_connect(tpu):
        raise AssertionError(f"looked for a TPU at {tpu!r} again")

    assert resolve_strategy("tpu", tpu_resolver_factory=must_not_connect) is earlier
    assert resolve_strategy("auto", tpu_resolver_factory=must_not_connect) is earlier
    assert "TPUStrategy on TPU 'grpc://10.0.0.2:8470' (created earlier)" in capsys.readouterr().out
    with pytest.raises(TPUNotFoundError, match="no TPU found at 'other-tpu'"):
        resolve_strategy("tpu", tpu="other-tpu", tpu_resolver_factory=_no_tpu)


def test_tpu_requested_without_tpu_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("COLAB_TPU_ADDR", raising=False)
    with pytest.raises(TPUNotFoundError, match="no TPU found at 'local'"):
        resolve_strategy("tpu", tpu_resolver_factory=_no_tpu)


def test_tpu_initialisation_failure_is_a_clear_error():
    """What TPUClusterResolver("local") + initialize_tpu_system raise on this TPU-less machine."""

    def resolver_without_tpu_kernels(tpu):
        raise tf.errors.NotFoundError(None, None, "TPUs not found in the cluster. Failed in initialization")

    with pytest.raises(TPUNotFoundError, match="no TPU found at 'node-1': TPUs not found in the cluster"):
        resolve_strategy("tpu", tpu="node-1", tpu_resolver_factory=resolver_without_tpu_kernels)


def test_unknown_strategy_name():
    with pytest.raises(ValueError, match="unknown strategy 'gpu'"):
        resolve_strategy("gpu")


@pytest.mark.parametrize("tf_config, field", [
    ("{not json", "not valid JSON"),
    (json.dumps({"task": {"type": "worker", "index": 0}}), r"TF_CONFIG\['cluster'\]"),
    (json.dumps({"cluster": {"worker": "localhost:1"}, "task": {"type": "worker", "index": 0}}),
     r"TF_CONFIG\['cluster'\]\['worker'\]"),
    (json.dumps({"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}), "not 'host:port'"),
    (json.dumps({"cluster": {"worker": ["localhost:1"]}}), r"TF_CONFIG\['task'\]"),
    (json.dumps({"cluster": {"worker": ["localhost:1"]}, "task": {"type": "chief", "index": 0}}),
     r"TF_CONFIG\['task'\]\['type'\] is 'chief'"),
    (json.dumps({"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 2}}),
     r"TF_CONFIG\['task'\]\['index'\] is 2"),
])
def test_malformed_tf_config_names_the_field(monkeypatch, tf_config, field):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match=field):
        resolve_strategy("multiworker")


def test_well_formed_tf_config_passes_the_check():
    config = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 1}}
    assert check_tf_config(json.dumps(config)) == config
    assert check_tf_config(None) is None


def test_describe_batch_splits_over_replicas(capsys):
    mirrored = resolve_strategy("mirrored")
    assert describe_batch(mirrored, 8) == 4
    assert "global 8 = 2 replica(s) x 4 per replica" in capsys.readouterr().out
    with pytest.raises(ValueError, match="global batch size 7 does not divide over 2 replicas"):
        describe_batch(mirrored, 7)
