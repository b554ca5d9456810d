"""One set of checks every bertzoo layer and model must pass (STYLE.md): config round trip, eager
and tf.function calls at two sequence lengths, predict on a tf.data dataset, .keras save/load
equality, jit_compile, and mixed precision keeping float32 where it matters.
"""

from __future__ import annotations

import pathlib
from typing import Callable

import keras
import numpy as np
import tensorflow as tf


def _to_numpy(structure):
    return tf.nest.map_structure(lambda t: np.asarray(t), structure)


def assert_structures_close(a, b, atol: float = 1e-6) -> None:
    tf.nest.assert_same_structure(a, b)
    for x, y in zip(tf.nest.flatten(_to_numpy(a)), tf.nest.flatten(_to_numpy(b))):
        np.testing.assert_allclose(x, y, atol=atol, rtol=0)


def run_layer_checks(make_layer: Callable[[], keras.layers.Layer],
                     make_inputs: Callable[[int], tuple], tmp_path: pathlib.Path,
                     as_model: Callable[[keras.layers.Layer], keras.Model] | None = None,
                     seq_lengths: tuple[int, int] = (5, 9), float32_outputs: bool = False,
                     outputs_follow_length: bool = True) -> None:
    """Runs the shared checks on a fresh layer.

    Args:
        make_layer: builds the layer under test.
        make_inputs: ``seq_length -> tuple of positional call arguments``.
        tmp_path: where the .keras file goes.
        as_model: wraps the layer into a functional model for save/load; the layer itself when
            it is already a model.
    """
    layer = make_layer()
    for seq_length in seq_lengths:
        inputs = make_inputs(seq_length)
        eager = layer(*inputs)
        graph = tf.function(layer)(*inputs)
        assert_structures_close(eager, graph)
        compiled = tf.function(layer, jit_compile=True)(*inputs)
        assert_structures_close(eager, compiled, atol=1e-5)
        for tensor in tf.nest.flatten(eager):
            if outputs_follow_length and tensor.shape.rank == 3:
                assert tensor.shape[1] == seq_length

    # Config round trip rebuilds an equivalent layer.
    rebuilt = layer.__class__.from_config(layer.get_config())
    assert rebuilt.get_config() == layer.get_config()

    # .keras round trip gives identical outputs.
    model = layer if isinstance(layer, keras.Model) else as_model(layer)
    inputs = make_inputs(seq_lengths[0])
    expected = model(*inputs) if isinstance(layer, keras.Model) else model(list(inputs))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    actual = loaded(*inputs) if isinstance(layer, keras.Model) else loaded(list(inputs))
    assert_structures_close(expected, actual, atol=0)

    # predict on a tf.data dataset agrees with a direct call.
    if isinstance(layer, keras.Model):
        dataset = tf.data.Dataset.from_tensor_slices(inputs[0]).batch(2)
        predicted = model.predict(dataset, verbose=0)
        assert_structures_close(expected, predicted, atol=1e-5)

    # Mixed precision: outputs in bfloat16, LayerNorm variables and math in float32.
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = make_layer()
        outputs = mixed(*make_inputs(seq_lengths[0]))
        expected_dtype = tf.float32 if float32_outputs else tf.bfloat16
        for tensor in tf.nest.flatten(outputs):
            assert tensor.dtype == expected_dtype, tensor.dtype
        for sublayer in mixed._flatten_layers():
            if isinstance(sublayer, keras.layers.LayerNormalization):
                assert sublayer.compute_dtype == "float32", sublayer.name
        for variable in mixed.weights:
            assert variable.dtype == "float32", variable.path
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
