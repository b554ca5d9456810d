"""Gradient accumulation in the Trainer: a quarter-size micro-batch accumulated 4 times makes the
same update as the whole batch, for a loss of several terms with uneven weights, under one device
and under MirroredStrategy, with and without XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo import BertEncoder
from bertzoo.families.bert.bert_pretrainer import BertPretrainer, pretraining_loss_terms, pretraining_metric_terms
from bertzoo.training import Trainer, create_optimizer, resolve_strategy
from test_bert_pretrainer import TINY, pretraining_batch

BATCH = 16


def dataset():
    features, labels = pretraining_batch(batch=64, seq_length=10, predictions=3, seed=5)
    # Uneven masked-LM weights per example: normalising each micro-batch on its own would be wrong.
    labels["masked_lm_weights"] = (np.arange(64 * 3).reshape(64, 3) % 4 != 0).astype("float32")
    return tf.data.Dataset.from_tensor_slices((features, labels)).repeat().batch(BATCH, drop_remainder=True)


def train(tmp_path, name, strategy="cpu", accumulation_steps=1, jit_compile=False, steps=5):
    trainer = Trainer(
        resolve_strategy(strategy),
        lambda: BertPretrainer(BertEncoder(**TINY, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)),
        lambda: create_optimizer(1e-2, num_train_steps=steps, warmup_steps=1),
        pretraining_loss_terms, metrics_fn=pretraining_metric_terms, global_batch_size=BATCH,
        output_dir=tmp_path / name, accumulation_steps=accumulation_steps, jit_compile=jit_compile, log_every=1,
        seed=3, verbose=False)
    final = trainer.train(dataset(), steps)
    return final, [np.asarray(w) for w in trainer.model.get_weights()]


@pytest.mark.parametrize("strategy,jit_compile", [("cpu", False), ("cpu", True), ("mirrored", False)])
def test_accumulated_micro_batches_make_the_whole_batch_update(tmp_path, strategy, jit_compile):
    reference, reference_weights = train(tmp_path, "whole")
    accumulated, weights = train(tmp_path, f"accumulated_{strategy}_{jit_compile}", strategy=strategy,
                                 accumulation_steps=4 // (2 if strategy == "mirrored" else 1), jit_compile=jit_compile)
    assert accumulated["loss"] == pytest.approx(reference["loss"], abs=1e-5)
    assert accumulated["masked_lm_accuracy"] == pytest.approx(reference["masked_lm_accuracy"], abs=1e-6)
    for a, b in zip(reference_weights, weights):
        np.testing.assert_allclose(a, b, atol=2e-5)
    assert not np.allclose(reference_weights[0], train(tmp_path, "one_step", steps=1)[1][0])  # training moved them


def test_micro_batches_must_divide_the_replica_batch(tmp_path):
    with pytest.raises(ValueError, match="does not split into 3 equal micro-batches"):
        train(tmp_path, "bad", accumulation_steps=3)
