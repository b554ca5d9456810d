"""The training-memory estimate: the published activation formula, and how the knobs move it."""

import pytest

from bertzoo.training.memory_estimate import estimate_training_memory

BASE = dict(parameters=110_000_000, num_layers=12, hidden_size=768, num_heads=12, seq_length=512)


def test_activations_follow_the_published_formula():
    estimate = estimate_training_memory(**BASE, micro_batch_size=8, mixed_precision="mixed_bfloat16")
    s, b, h, a = 512, 8, 768, 12
    per_layer = s * b * h * (34 + 5 * a * s / h)
    assert estimate.activations == pytest.approx(12 * per_layer + s * b * h * 2 * 3)
    assert estimate.weights == estimate.gradients == 440_000_000 and estimate.optimizer_slots == 880_000_000
    assert "GiB" in estimate.describe() and "110.0M parameters" in estimate.describe()


def test_accumulation_trades_activations_for_buffers_and_float32_costs_more():
    whole = estimate_training_memory(**BASE, micro_batch_size=32, mixed_precision="mixed_bfloat16")
    accumulated = estimate_training_memory(**BASE, micro_batch_size=8, mixed_precision="mixed_bfloat16",
                                           accumulation_steps=4, num_loss_terms=2)
    assert accumulated.activations == pytest.approx(whole.activations / 4, rel=1e-6)
    assert accumulated.accumulation_buffers == 2 * 4 * BASE["parameters"]
    assert accumulated.total < whole.total
    float32 = estimate_training_memory(**BASE, micro_batch_size=32)
    assert 1.9 < float32.activations / whole.activations < 2.1
