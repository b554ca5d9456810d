"""Tests for reading and writing checkpoints in Google's original BERT format."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import tensorflow as tf

from bertzoo.families.bert.checkpoints import weight_names
from bertzoo.families.bert.checkpoints.checkpoint_weights import CheckpointWeights, is_canonical_name
from bertzoo.families.bert.checkpoints.google_checkpoint import read_google_checkpoint, write_google_checkpoint
from checkpoint_factory import random_canonical_weights


def _training_extras(weights):
    """What a real pretraining checkpoint carries beside the weights: a step and Adam slots."""
    extra = {"global_step": np.array(1000, dtype=np.int64)}
    for name in ("bert/embeddings/word_embeddings", "cls/predictions/output_bias"):
        extra[name + "/adam_m"] = np.zeros_like(weights[name])
        extra[name + "/adam_v"] = np.ones_like(weights[name])
    return extra


def _assert_same_weights(actual: dict, expected: dict) -> None:
    assert sorted(actual) == sorted(expected)
    for name, value in expected.items():
        assert actual[name].dtype == np.float32, name
        np.testing.assert_array_equal(actual[name], value, err_msg=name)


def test_round_trip_reports_global_step_and_adam_slots_as_unused(tmp_path):
    weights = random_canonical_weights()
    extra = _training_extras(weights)
    prefix = tmp_path / "bert_model.ckpt"
    write_google_checkpoint(weights, prefix, extra=extra)

    checkpoint = read_google_checkpoint(prefix)

    assert isinstance(checkpoint, CheckpointWeights)
    _assert_same_weights(checkpoint.weights, weights)
    assert checkpoint.unused == tuple(sorted(extra))
    assert checkpoint.source == str(prefix)
    # Owned, writable copies, not views into the reader's buffers.
    kernel = checkpoint.weights["bert/pooler/dense/kernel"]
    assert kernel.flags.writeable and kernel.flags.owndata


def test_writer_produces_a_plain_tf_checkpoint_with_the_exact_names(tmp_path):
    weights = random_canonical_weights(num_layers=1, heads=False)
    prefix = str(tmp_path / "bert_model.ckpt")
    write_google_checkpoint(weights, prefix, extra={"global_step": np.array(7, dtype=np.int64)})

    reader = tf.train.load_checkpoint(prefix)  # Read without bertzoo.
    shapes = reader.get_variable_to_shape_map()
    assert set(shapes) == set(weight_names.encoder_weight_names(1)) | {"global_step"}
    assert shapes["bert/encoder/layer_0/intermediate/dense/kernel"] == [8, 16]
    assert reader.get_tensor("global_step") == 7
    np.testing.assert_array_equal(
        reader.get_tensor("bert/embeddings/word_embeddings"),
        weights["bert/embeddings/word_embeddings"],
    )


@pytest.mark.parametrize("form", ["directory", "index_file", "data_file"])
def test_accepts_a_directory_or_either_checkpoint_file(tmp_path, form):
    weights = random_canonical_weights(num_layers=1)
    write_google_checkpoint(weights, tmp_path / "bert_model.ckpt")
    path = {
        "directory": tmp_path,
        "index_file": tmp_path / "bert_model.ckpt.index",
        "data_file": tmp_path / "bert_model.ckpt.data-00000-of-00001",
    }[form]
    checkpoint = read_google_checkpoint(path)
    assert checkpoint.source == str(tmp_path / "bert_model.ckpt")
    _assert_same_weights(checkpoint.weights, weights)


def test_directory_with_several_checkpoints_lists_them(tmp_path):
    for step in (1, 2):
        write_google_checkpoint(
            random_canonical_weights(num_layers=1, seed=step), tmp_path / f"model.ckpt-{step}"
        )
    with pytest.raises(ValueError, match="Several checkpoints") as error:
        read_google_checkpoint(tmp_path)
    assert "model.ckpt-1" in str(error.value) and "model.ckpt-2" in str(error.value)


def test_directory_with_a_checkpoint_state_file_reads_the_latest(tmp_path):
    for step in (1, 2):
        write_google_checkpoint(
            random_canonical_weights(num_layers=1, seed=step), tmp_path / f"model.ckpt-{step}"
        )
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-2"\n')
    checkpoint = read_google_checkpoint(tmp_path)
    assert checkpoint.source.endswith("model.ckpt-2")
    _assert_same_weights(checkpoint.weights, random_canonical_weights(num_layers=1, seed=2))


@pytest.mark.parametrize("dtype", [tf.bfloat16, tf.float16])
def test_half_precision_tensors_are_cast_to_float32(tmp_path, dtype):
    weights = random_canonical_weights(num_layers=1, heads=False)
    stored = {name: tf.cast(value, dtype).numpy() for name, value in weights.items()}
    write_google_checkpoint(stored, tmp_path / "bert_model.ckpt")
    assert (
        tf.train.load_checkpoint(str(tmp_path / "bert_model.ckpt")).get_variable_to_dtype_map()[
            "bert/pooler/dense/kernel"
        ]
        == dtype
    )

    checkpoint = read_google_checkpoint(tmp_path)

    numpy_dtype = ml_dtypes.bfloat16 if dtype == tf.bfloat16 else np.float16
    expected = {
        name: value.astype(numpy_dtype).astype(np.float32) for name, value in weights.items()
    }
    _assert_same_weights(checkpoint.weights, expected)
    assert not np.array_equal(
        checkpoint.weights["bert/pooler/dense/kernel"], weights["bert/pooler/dense/kernel"]
    )


def test_tf2_object_based_checkpoint_is_refused_by_name(tmp_path):
    prefix = tf.train.Checkpoint(embeddings=tf.Variable(np.ones((3, 2), np.float32))).write(
        str(tmp_path / "ckpt")
    )
    with pytest.raises(ValueError, match="TF2 object-based checkpoint") as error:
        read_google_checkpoint(prefix)
    assert "ATTRIBUTES/VARIABLE_VALUE" in str(error.value)


def test_missing_checkpoint_names_what_was_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"bert_model\.ckpt\.index"):
        read_google_checkpoint(tmp_path / "bert_model.ckpt")
    with pytest.raises(FileNotFoundError, match=r"\*\.index"):
        read_google_checkpoint(tmp_path)


@pytest.mark.parametrize(
    "damaged", ["bert_model.ckpt.index", "bert_model.ckpt.data-00000-of-00001"]
)
def test_truncated_checkpoint_is_a_value_error_naming_the_file(tmp_path, damaged):
    write_google_checkpoint(random_canonical_weights(num_layers=1), tmp_path / "bert_model.ckpt")
    path = tmp_path / damaged
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="bert_model.ckpt") as error:
        read_google_checkpoint(tmp_path / "bert_model.ckpt")
    assert error.value.__cause__ is not None


def test_checkpoint_without_bert_weights_is_refused(tmp_path):
    write_google_checkpoint(
        {}, tmp_path / "model.ckpt", extra={"dense/kernel": np.ones((2, 2), np.float32)}
    )
    with pytest.raises(ValueError, match="no BERT weights.*'dense/kernel'"):
        read_google_checkpoint(tmp_path)


def test_writer_refuses_names_that_are_not_canonical(tmp_path):
    with pytest.raises(ValueError, match="bert/encoder/layer_0/attention/query/kernel"):
        write_google_checkpoint(
            {"bert/encoder/layer_0/attention/query/kernel": np.ones((2, 2), np.float32)},
            tmp_path / "x.ckpt",
        )


def test_is_canonical_name():
    assert is_canonical_name("bert/encoder/layer_11/output/LayerNorm/beta")
    assert is_canonical_name("cls/seq_relationship/output_weights")
    assert not is_canonical_name("bert/encoder/layer_01/output/LayerNorm/beta")
    assert not is_canonical_name("bert/encoder/layer_0/output/LayerNorm/beta/adam_m")
    assert not is_canonical_name("global_step")
