"""The BERT optimizer: warmup/decay schedule, weight-decay exclusions, layer-wise learning-rate decay."""

import keras
import numpy as np
import pytest

from bertzoo.families.bert.bert_encoder import BertEncoder
from bertzoo.training.optimization import (
    BertAdamW,
    WarmupLinearDecay,
    bert_layer_depth,
    create_optimizer,
    layer_decay_multiplier,
)


def _tiny_encoder_and_head():
    """A 2-layer BertEncoder (real variable paths) and a classifier head on its pooled output."""
    encoder = BertEncoder(vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=16, max_position_embeddings=16, seq_length=4)
    head = keras.layers.Dense(2, name="classifier")
    head.build((None, 8))
    return encoder.trainable_variables + head.trainable_variables


def _apply_once(optimizer, variables, gradient_value: float) -> tuple[dict, dict]:
    """One step with every gradient equal to ``gradient_value``; returns (change, value before) by path."""
    before = {v.path: keras.ops.convert_to_numpy(v).copy() for v in variables}
    optimizer.apply([keras.ops.full(v.shape, gradient_value) for v in variables], variables)
    return {v.path: keras.ops.convert_to_numpy(v) - before[v.path] for v in variables}, before


@pytest.mark.parametrize("step, expected", [
    (0, 0.0),        # start of warmup
    (5, 5e-4),       # mid-warmup
    (10, 1e-3),      # peak
    (60, 5e-4),      # mid-decay
    (110, 0.0),      # end
    (200, 0.0),      # past the end
])
def test_warmup_linear_decay_values(step, expected):
    schedule = WarmupLinearDecay(1e-3, warmup_steps=10, num_train_steps=110)
    assert float(schedule(step)) == pytest.approx(expected, abs=1e-9)


def test_schedule_and_optimizer_round_trip_through_config():
    optimizer = create_optimizer(2e-5, num_train_steps=1000, warmup_steps=100, layer_decay=0.9, num_layers=12)
    assert (optimizer.epsilon, optimizer.beta_1, optimizer.beta_2) == (1e-6, 0.9, 0.999)
    assert (optimizer.weight_decay, optimizer.global_clipnorm) == (0.01, 1.0)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(optimizer))
    assert isinstance(restored, BertAdamW) and isinstance(restored._learning_rate, WarmupLinearDecay)
    assert restored._learning_rate.get_config() == optimizer._learning_rate.get_config()
    assert (restored.layer_decay, restored.num_layers) == (0.9, 12)


def test_weight_decay_skips_layer_norm_and_biases():
    variables = _tiny_encoder_and_head()
    optimizer = BertAdamW(learning_rate=0.1, weight_decay=0.5, global_clipnorm=None)
    # Zero gradients: Adam's update is 0, so any change is weight decay: v -> v * (1 - lr * wd).
    change, before = _apply_once(optimizer, variables, 0.0)
    excluded = ["embeddings/layer_norm/gamma", "embeddings/layer_norm/beta",
                "transformer_layer_0/attention_layer_norm/gamma", "transformer_layer_1/output_layer_norm/beta",
                "transformer_layer_0/query/bias", "pooler/bias", "classifier/bias"]
    decayed = ["embeddings/word_embeddings", "transformer_layer_0/query/kernel", "pooler/kernel",
               "classifier/kernel"]
    for path in excluded:
        assert not optimizer.decayed_variables[path]
        np.testing.assert_array_equal(change[path], 0.0, err_msg=path)
    for path in decayed:
        assert optimizer.decayed_variables[path]
        np.testing.assert_allclose(change[path], -0.05 * before[path], rtol=1e-5, atol=1e-7, err_msg=path)
    assert sum(optimizer.decayed_variables.values()) == sum(
        path.endswith(("kernel", "embeddings")) for path in optimizer.decayed_variables)


def test_bert_layer_depth():
    assert bert_layer_depth("embeddings/word_embeddings") == 0
    assert bert_layer_depth("transformer_layer_3/query/kernel") == 4
    assert bert_layer_depth("bert_classifier/encoder/transformer_layer_11/output/bias") == 12
    assert bert_layer_depth("pooler/kernel") is None
    assert bert_layer_depth("classifier/kernel") is None
    # L = 12: layer i gets decay ** (12 - i), embeddings ** 13, heads the full rate.
    assert layer_decay_multiplier(bert_layer_depth("transformer_layer_3/query/kernel"), 12, 0.5) == 0.5 ** 9
    assert layer_decay_multiplier(0, 12, 0.5) == 0.5 ** 13
    assert layer_decay_multiplier(None, 12, 0.5) == 1.0


def test_layer_decay_scales_each_variables_update():
    variables = _tiny_encoder_and_head()
    optimizer = BertAdamW(learning_rate=0.1, weight_decay=0.0, global_clipnorm=None, layer_decay=0.5)
    # First Adam step with a constant gradient moves each variable by its learning rate (1 - ~3e-5).
    change, _ = _apply_once(optimizer, variables, 1.0)
    expected = {  # L = 2 (inferred): embeddings 0.5**3, layer 0 0.5**2, layer 1 0.5, pooler/head 1.
        "embeddings/word_embeddings": 0.125, "embeddings/layer_norm/gamma": 0.125,
        "transformer_layer_0/query/kernel": 0.25, "transformer_layer_0/output_layer_norm/beta": 0.25,
        "transformer_layer_1/intermediate/bias": 0.5, "pooler/kernel": 1.0, "classifier/kernel": 1.0,
    }
    for path, multiplier in expected.items():
        assert optimizer.learning_rate_multipliers[path] == multiplier
        np.testing.assert_allclose(change[path], -0.1 * multiplier, rtol=1e-4, err_msg=path)


def test_weight_decay_uses_the_layer_decayed_rate():
    variables = _tiny_encoder_and_head()
    optimizer = BertAdamW(learning_rate=0.1, weight_decay=0.5, global_clipnorm=None, layer_decay=0.5)
    change, before = _apply_once(optimizer, variables, 0.0)
    path = "transformer_layer_0/query/kernel"
    np.testing.assert_allclose(change[path], -0.1 * 0.25 * 0.5 * before[path], rtol=1e-5, atol=1e-8)


def _reference_adamw(values, gradients_per_step, learning_rate, weight_decay, decayed, clipnorm,
                     beta_1=0.9, beta_2=0.999, epsilon=1e-6):
    """The original rules in NumPy (float64): clip the whole gradient to ``clipnorm`` (``None``: no
    clipping), then per variable ``v -= lr * wd * v`` (decayed ones only) and Adam with bias
    correction folded into the rate."""
    values = {path: value.astype(np.float64) for path, value in values.items()}
    moments = {path: (np.zeros_like(value), np.zeros_like(value)) for path, value in values.items()}
    for step, gradients in enumerate(gradients_per_step, start=1):
        norm = np.sqrt(sum(np.sum(np.square(g.astype(np.float64))) for g in gradients.values()))
        scale = 1.0 if clipnorm is None else clipnorm / max(norm, clipnorm)
        alpha = learning_rate * np.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step)
        for path, gradient in gradients.items():
            gradient = gradient.astype(np.float64) * scale
            if decayed[path]:
                values[path] = values[path] - learning_rate * weight_decay * values[path]
            m, v = moments[path]
            m = m + (gradient - m) * (1 - beta_1)
            v = v + (gradient ** 2 - v) * (1 - beta_2)
            moments[path] = (m, v)
            values[path] = values[path] - alpha * m / (np.sqrt(v) + epsilon)
    return values


@pytest.mark.parametrize("global_clipnorm", [1.0, None])
def test_update_equals_the_original_adamw_rules_over_several_steps(global_clipnorm):
    """Clipping, then the fused decay + Adam kernel, against an independent float64
    reimplementation: decayed and excluded variables, moments carried over five steps. Adam's step
    is nearly blind to a gradient's scale when epsilon is tiny, so epsilon is large here: the
    clipping must show."""
    variables = _tiny_encoder_and_head()
    optimizer = BertAdamW(learning_rate=0.01, weight_decay=0.1, global_clipnorm=global_clipnorm, epsilon=0.5)
    initial = {v.path: keras.ops.convert_to_numpy(v).copy() for v in variables}
    rng = np.random.default_rng(0)
    gradients_per_step = [{v.path: rng.normal(size=v.shape).astype("float32") for v in variables}
                          for _ in range(5)]
    assert np.sqrt(sum(np.sum(g ** 2) for g in gradients_per_step[0].values())) > 5  # clipping matters
    for gradients in gradients_per_step:
        optimizer.apply([keras.ops.convert_to_tensor(gradients[v.path]) for v in variables], variables)
    optimizer_decayed = optimizer.decayed_variables
    assert any(optimizer_decayed.values()) and not all(optimizer_decayed.values())
    expected = _reference_adamw(initial, gradients_per_step, 0.01, 0.1, optimizer_decayed,
                                global_clipnorm, epsilon=0.5)
    for v in variables:
        np.testing.assert_allclose(keras.ops.convert_to_numpy(v), expected[v.path], rtol=1e-5, atol=1e-6,
                                   err_msg=v.path)
