"""bertzoo's LayerNorm against keras.layers.LayerNormalization: same outputs, same gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo.layers.layer_norm import LayerNorm


def outputs_and_gradients(layer, x, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    return y, tape.gradient(y, [x, layer.gamma, layer.beta], output_gradients=upstream)


def twin_layers(shape, dtype, **kwargs):
    ours, keras_layer = LayerNorm(dtype=dtype, **kwargs), keras.layers.LayerNormalization(dtype=dtype, **kwargs)
    for layer in (ours, keras_layer):
        layer.build(shape)
    rng = np.random.default_rng(0)
    for variable in [name for name in ("gamma", "beta") if getattr(ours, name) is not None]:
        value = rng.normal(1.0 if variable == "gamma" else 0.0, 0.3, getattr(ours, variable).shape)
        getattr(ours, variable).assign(value.astype("float32"))
        getattr(keras_layer, variable).assign(value.astype("float32"))
    return ours, keras_layer


@pytest.mark.parametrize("shape", [(6, 16), (3, 5, 32)])
def test_same_outputs_and_gradients_as_keras(shape):
    ours, keras_layer = twin_layers(shape, "float32", epsilon=1e-12)
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(2.0, 3.0, shape), tf.float32)
    upstream = tf.constant(rng.normal(size=shape), tf.float32)
    y, gradients = outputs_and_gradients(ours, x, upstream)
    keras_y, keras_gradients = outputs_and_gradients(keras_layer, x, upstream)
    np.testing.assert_array_equal(y.numpy(), keras_y.numpy())  # Keras's forward ops, same bits
    for got, want, name in zip(gradients, keras_gradients, ("inputs", "gamma", "beta")):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    # The closed form against float64 finite differences of the loss sum(upstream * y).
    x64, up64 = x.numpy().astype("float64"), upstream.numpy().astype("float64")
    gamma, beta = ours.gamma.numpy().astype("float64"), ours.beta.numpy().astype("float64")

    def loss(values):
        mean = values.mean(-1, keepdims=True)
        normalized = (values - mean) / np.sqrt(values.var(-1, keepdims=True) + 1e-12)
        return float((up64 * (normalized * gamma + beta)).sum())

    index = (0,) * (len(shape) - 1) + (3,)
    step = np.zeros(shape)
    step[index] = 1e-5
    numeric = (loss(x64 + step) - loss(x64 - step)) / 2e-5
    assert gradients[0].numpy()[index] == pytest.approx(numeric, rel=1e-3, abs=1e-4)


def test_bfloat16_inputs_are_normalised_in_float32_and_returned_in_the_compute_dtype():
    ours, keras_layer = twin_layers((4, 8), "mixed_bfloat16", epsilon=1e-6)
    x = tf.constant(np.random.default_rng(2).normal(size=(4, 8)), tf.bfloat16)
    upstream = tf.ones((4, 8), tf.bfloat16)
    y, gradients = outputs_and_gradients(ours, x, upstream)
    keras_y, keras_gradients = outputs_and_gradients(keras_layer, x, upstream)
    assert y.dtype == keras_y.dtype == tf.bfloat16
    np.testing.assert_array_equal(tf.cast(y, tf.float32).numpy(), tf.cast(keras_y, tf.float32).numpy())
    for got, want in zip(gradients, keras_gradients):
        np.testing.assert_allclose(tf.cast(got, tf.float32).numpy(), tf.cast(want, tf.float32).numpy(), atol=0.05)


def test_other_settings_fall_back_to_keras_and_the_layer_round_trips(tmp_path):
    x = tf.constant(np.random.default_rng(3).normal(size=(2, 3, 4)), tf.float32)
    for kwargs in ({"axis": [1, 2]}, {"center": False}, {"scale": False}):
        ours, keras_layer = twin_layers((2, 3, 4), "float32", **kwargs)
        np.testing.assert_allclose(ours(x).numpy(), keras_layer(x).numpy(), rtol=1e-6, atol=1e-6)
    inputs = keras.Input((3, 4))
    model = keras.Model(inputs, LayerNorm(epsilon=1e-12, name="norm")(inputs))
    model.get_layer("norm").gamma.assign(np.arange(4, dtype="float32"))
    model.save(tmp_path / "norm.keras")
    loaded = keras.models.load_model(tmp_path / "norm.keras")
    assert type(loaded.get_layer("norm")) is LayerNorm
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
