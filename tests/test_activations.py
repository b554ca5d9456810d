"""The GELUs' hand-written derivatives against automatic differentiation of Keras's formulas."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo.layers.activations import get_activation

KERAS_FORMULAS = {"gelu_erf": False, "gelu_tanh": True}  # name -> keras's ``approximate``


def keras_gelu(name):
    return lambda x: keras.activations.gelu(x, approximate=KERAS_FORMULAS[name])


def value_and_gradient(function, x, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
    return y, tape.gradient(y, x, output_gradients=upstream)


@pytest.mark.parametrize("name", list(KERAS_FORMULAS))
def test_forward_is_keras_and_derivative_matches_float64_autodiff(name):
    values = np.concatenate([np.linspace(-12, 12, 4001), np.random.default_rng(0).normal(0, 3, 4000)])
    upstream = np.random.default_rng(1).normal(size=values.shape)
    ours = get_activation(name)
    y, gradient = value_and_gradient(ours, tf.constant(values, tf.float32), tf.constant(upstream, tf.float32))
    keras_y, keras_gradient = value_and_gradient(keras_gelu(name), tf.constant(values, tf.float32),
                                                 tf.constant(upstream, tf.float32))
    _, exact = value_and_gradient(keras_gelu(name), tf.constant(values, tf.float64), tf.constant(upstream, tf.float64))
    np.testing.assert_array_equal(y.numpy(), keras_y.numpy())  # same forward ops, same bits
    # Far left, float32's tanh saturates: slopes of 1e-6 and below come out 0 (so they do in Keras).
    np.testing.assert_allclose(gradient.numpy(), exact.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gradient.numpy(), keras_gradient.numpy(), rtol=1e-5, atol=1e-5)
    assert np.abs(gradient.numpy() - exact.numpy()).max() <= 2 * np.abs(keras_gradient.numpy() - exact.numpy()).max() + 1e-6
    # The derivative itself, not only its product with the upstream gradient: 0.5 at 0, about 1.083
    # at 1 for erf (Phi(1) + phi(1)), 0 far left, 1 far right.
    _, slope = value_and_gradient(ours, tf.constant([-12.0, 0.0, 1.0, 12.0]), tf.ones([4]))
    assert slope.numpy()[[0, 1, 3]].tolist() == pytest.approx([0.0, 0.5, 1.0], abs=1e-6)
    if name == "gelu_erf":
        assert slope.numpy()[2] == pytest.approx(0.8413447 + 0.2419707, abs=1e-6)


@pytest.mark.parametrize("name", list(KERAS_FORMULAS))
def test_bfloat16_derivative_is_within_bfloat16_rounding(name):
    values = np.linspace(-6, 6, 2001)
    upstream = np.ones_like(values)
    _, gradient = value_and_gradient(get_activation(name), tf.constant(values, tf.bfloat16),
                                     tf.constant(upstream, tf.bfloat16))
    _, exact = value_and_gradient(keras_gelu(name), tf.constant(values, tf.float64), tf.constant(upstream, tf.float64))
    assert gradient.dtype == tf.bfloat16
    # Inputs rounded to bfloat16 move the slope by up to |d2y/dx2| * 2^-8 |x|; a few bfloat16 steps.
    np.testing.assert_allclose(tf.cast(gradient, tf.float64).numpy(), exact.numpy(), atol=0.05)


@pytest.mark.parametrize("name", list(KERAS_FORMULAS))
def test_works_in_a_functional_model_and_on_arrays(name):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation=get_activation(name))(inputs))
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    assert model(x).shape == (2, 3)
    np.testing.assert_array_equal(get_activation(name)(x).numpy(), keras_gelu(name)(x).numpy())
