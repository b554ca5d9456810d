"""bertzoo's Dense against keras.layers.Dense: same outputs, same gradients, same saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo.layers.dense import Dense


def twin_layers(input_shape, dtype, **kwargs):
    ours, keras_layer = Dense(dtype=dtype, **kwargs), keras.layers.Dense(dtype=dtype, **kwargs)
    for layer in (ours, keras_layer):
        layer.build(input_shape)
    for ours_weight, keras_weight in zip(ours.weights, keras_layer.weights):
        keras_weight.assign(ours_weight)
    return ours, keras_layer


def outputs_and_gradients(layer, x, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    return y, tape.gradient(y, [x] + layer.trainable_weights, output_gradients=upstream)


@pytest.mark.parametrize("input_shape, kwargs", [
    ((6, 16), {"units": 24, "activation": "gelu"}),   # 2-D: bertzoo's own gradients
    ((6, 16), {"units": 5, "use_bias": False}),
    ((2, 3, 16), {"units": 24}),                       # 3-D: Keras's call
])
def test_same_outputs_and_gradients_as_keras(input_shape, kwargs):
    ours, keras_layer = twin_layers(input_shape, "float32", **kwargs)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=input_shape), tf.float32)
    upstream = tf.constant(rng.normal(size=input_shape[:-1] + (kwargs["units"],)), tf.float32)
    for call in (lambda layer, *args: outputs_and_gradients(layer, *args),
                 tf.function(outputs_and_gradients, reduce_retracing=True)):
        y, gradients = call(ours, x, upstream)
        keras_y, keras_gradients = call(keras_layer, x, upstream)
        np.testing.assert_array_equal(y.numpy(), keras_y.numpy())  # Keras's forward ops, same bits
        assert len(gradients) == len(keras_gradients) == 1 + len(ours.trainable_weights)
        for got, want in zip(gradients, keras_gradients):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_input_gradient_takes_batch_matmul_not_matmul_with_transposed_kernel():
    """The point of the layer: the input's gradient is a BatchMatMulV2 (adj_y), not MatMul(transpose_b)."""
    layer = Dense(8)
    layer.build((4, 6))

    @tf.function
    def input_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return tape.gradient(y, x)

    graph = input_gradient.get_concrete_function(tf.TensorSpec((4, 6))).graph
    ops = [op for op in graph.get_operations()]
    assert any(op.type == "BatchMatMulV2" and op.get_attr("adj_y") for op in ops)
    assert not any(op.type == "MatMul" and op.get_attr("transpose_b") for op in ops)


def test_mixed_bfloat16_computes_in_bfloat16_and_keeps_float32_weights():
    ours, keras_layer = twin_layers((4, 8), "mixed_bfloat16", units=3)
    x = tf.constant(np.random.default_rng(1).normal(size=(4, 8)), tf.float32)
    upstream = tf.ones((4, 3), tf.bfloat16)
    y, gradients = outputs_and_gradients(ours, x, upstream)
    keras_y, keras_gradients = outputs_and_gradients(keras_layer, x, upstream)
    assert y.dtype == keras_y.dtype == tf.bfloat16
    assert ours.kernel.dtype == "float32"
    np.testing.assert_array_equal(tf.cast(y, tf.float32).numpy(), tf.cast(keras_y, tf.float32).numpy())
    for got, want in zip(gradients, keras_gradients):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(tf.cast(got, tf.float32).numpy(), tf.cast(want, tf.float32).numpy(),
                                   rtol=0.02, atol=0.02)


def test_lora_kernel_is_used():
    ours, keras_layer = twin_layers((5, 8), "float32", units=4)
    for layer in (ours, keras_layer):
        layer.enable_lora(2)
    keras_layer.lora_kernel_b.assign(np.ones((2, 4), "float32"))
    ours.lora_kernel_a.assign(keras_layer.lora_kernel_a)
    ours.lora_kernel_b.assign(keras_layer.lora_kernel_b)
    x = tf.constant(np.random.default_rng(2).normal(size=(5, 8)), tf.float32)
    np.testing.assert_allclose(ours(x).numpy(), keras_layer(x).numpy(), rtol=1e-6, atol=1e-6)


def test_round_trips_through_keras_saving(tmp_path):
    inputs = keras.Input((6,))
    model = keras.Model(inputs, Dense(3, activation="relu", name="dense")(inputs))
    x = np.random.default_rng(3).normal(size=(2, 6)).astype("float32")
    model.save(tmp_path / "dense.keras")
    loaded = keras.models.load_model(tmp_path / "dense.keras")
    assert type(loaded.get_layer("dense")) is Dense
    assert loaded.get_layer("dense").get_config() == model.get_layer("dense").get_config()
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
