"""ULMFiT's fine-tuning techniques: slanted triangular rates against the paper's formula,
discriminative rates as real update sizes, and gradual unfreezing as which variables move."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo.training.transfer_learning import (
    GradualUnfreezing,
    SlantedTriangularLearningRate,
    discriminative_multipliers,
    discriminative_optimizer,
)


def paper_stlr(t, T, lr_max, cut_frac=0.1, ratio=32):
    """Howard & Ruder (2018), eq. 3."""
    cut = math.floor(T * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return lr_max * (1 + p * (ratio - 1)) / ratio


@pytest.mark.parametrize("T,cut_frac,ratio", [(1000, 0.1, 32), (137, 0.2, 10), (10, 0.1, 32)])
def test_slanted_triangular_rates_follow_the_papers_formula(T, cut_frac, ratio):
    schedule = SlantedTriangularLearningRate(0.01, num_train_steps=T, cut_frac=cut_frac, ratio=ratio)
    for t in sorted({0, 1, T // 20, math.floor(T * cut_frac), T // 2, T - 1, T}):
        assert float(schedule(t)) == pytest.approx(paper_stlr(t, T, 0.01, cut_frac, ratio), rel=1e-5), t
    assert float(schedule(0)) == pytest.approx(0.01 / ratio)
    restored = SlantedTriangularLearningRate.from_config(schedule.get_config())
    assert float(restored(7)) == float(schedule(7))
    with pytest.raises(ValueError, match="cut_frac must be in"):
        SlantedTriangularLearningRate(0.01, 100, cut_frac=1.5)


def _groups():
    layers = [keras.layers.Dense(3, name=f"group_{i}") for i in range(4)]
    model = keras.Sequential([keras.Input((3,)), *layers])
    return model, [[layer] for layer in layers]


def test_discriminative_rates_divide_by_2_6_per_group_in_the_actual_updates():
    model, groups = _groups()
    multipliers = discriminative_multipliers(groups)
    for index, group in enumerate(groups):
        for variable in group[0].weights:
            assert multipliers[variable.path] == pytest.approx(2.6 ** -(3 - index))
    optimizer = discriminative_optimizer(groups, learning_rate=0.1, weight_decay=0.0)
    before = [np.asarray(v).copy() for v in model.trainable_variables]
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x) ** 2)
    optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
    # Adam's first step moves each weight by its learning rate (m_hat / sqrt(v_hat) = sign(g)).
    for variable, old in zip(model.trainable_variables, before):
        step = np.abs(np.asarray(variable) - old)
        index = int(variable.path.split("group_")[1][0])
        expected = 0.1 * 2.6 ** -(3 - index)
        np.testing.assert_allclose(step[step > 0], expected, rtol=1e-3)


def test_gradual_unfreezing_trains_one_more_group_each_epoch():
    model, groups = _groups()
    optimizer = discriminative_optimizer(groups, learning_rate=0.05, weight_decay=0.0)
    model.compile(optimizer=optimizer, loss="mse")
    snapshots = []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append([np.asarray(v).copy() for v in model.weights])

    x = np.random.default_rng(1).normal(size=(32, 3)).astype(np.float32)
    y = np.random.default_rng(2).normal(size=(32, 3)).astype(np.float32)
    start = [np.asarray(v).copy() for v in model.weights]
    unfreezing = GradualUnfreezing(groups, verbose=False)
    model.fit(x, y, epochs=3, batch_size=8, callbacks=[unfreezing, Snapshot()], verbose=0)
    assert unfreezing.history == [1, 2, 3]

    def moved(before, after):
        return [int(not np.array_equal(a, b)) for a, b in zip(before, after)]

    # weights: group_0 kernel, bias, group_1 kernel, bias, ...
    assert moved(start, snapshots[0]) == [0, 0, 0, 0, 0, 0, 1, 1]
    assert moved(snapshots[0], snapshots[1]) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert moved(snapshots[1], snapshots[2]) == [0, 0, 1, 1, 1, 1, 1, 1]


def test_gradual_unfreezing_builds_a_plain_optimizer_on_every_group():
    model, groups = _groups()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    x = np.ones((8, 3), np.float32)
    model.fit(x, x, epochs=2, batch_size=4, callbacks=[GradualUnfreezing(groups, verbose=False)], verbose=0)
    assert len(model.optimizer._trainable_variables) == 8
