"""predict_in_batches: padded static batches, split over replicas, give the rows of a direct call."""

import numpy as np
import pytest
import tensorflow as tf

from bertzoo import BertEncoder
from bertzoo.models.bert_classifier import BertClassifier
from bertzoo.training import resolve_strategy
from bertzoo.training.prediction import predict_in_batches

TINY = dict(vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
            max_position_embeddings=16)


def inputs(rows, seq_length=10):
    rng = np.random.default_rng(rows)
    ids = rng.integers(5, 30, (rows, seq_length)).astype("int32")
    mask = (np.arange(seq_length)[None, :] < rng.integers(3, seq_length + 1, (rows, 1))).astype("int32")
    return {"input_word_ids": ids * mask, "input_mask": mask, "input_type_ids": np.zeros_like(ids)}


@pytest.mark.parametrize("kind", ["cpu", "mirrored"])
@pytest.mark.parametrize("rows", [1, 9, 16])
def test_rows_match_a_direct_call(kind, rows):
    strategy = resolve_strategy(kind)
    with strategy.scope():
        model = BertClassifier(BertEncoder(**TINY), num_classes=3)
        model.build()
    features = inputs(rows)
    expected = np.asarray(model(features)["logits"])
    outputs = predict_in_batches(model, features, global_batch_size=4, strategy=strategy, verbose=False)
    assert outputs["logits"].shape == (rows, 3) and outputs["logits"].dtype == np.float32
    np.testing.assert_allclose(outputs["logits"], expected, atol=1e-5)


def test_static_shapes_and_jit():
    model = BertClassifier(BertEncoder(**TINY), num_classes=2)
    model.build()
    seen = []
    call = model.call

    def recording_call(batch, training=None):
        seen.append(tuple(batch["input_word_ids"].shape))
        return call(batch, training=training)

    model.call = recording_call
    features = inputs(7)
    outputs = predict_in_batches(model, features, global_batch_size=4, jit_compile=True, verbose=False)
    assert outputs["logits"].shape == (7, 2)
    assert set(seen) == {(4, 10)}  # the last, partial batch was padded to the full size


def test_bad_inputs():
    model = BertClassifier(BertEncoder(**TINY), num_classes=2)
    features = inputs(4)
    features["input_mask"] = features["input_mask"][:3]
    with pytest.raises(ValueError, match="same number of rows"):
        predict_in_batches(model, features, verbose=False)
    with pytest.raises(ValueError, match="not a multiple of the 2 replicas"):
        predict_in_batches(model, inputs(4), global_batch_size=3, strategy=resolve_strategy("mirrored"), verbose=False)
