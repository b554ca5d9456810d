"""Tests for reading KerasHub BertBackbone preset directories."""

from __future__ import annotations

import json
import math
import shutil

import keras
import keras_hub
import numpy as np
import pytest

from bertzoo.families.bert.checkpoints import weight_names
from bertzoo.families.bert.checkpoints.keras_hub_preset import read_keras_hub_preset

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"word{i}" for i in range(25)]
NUM_LAYERS, NUM_HEADS, HIDDEN, INTERMEDIATE, MAX_POSITIONS = 2, 2, 8, 16, 16


@pytest.fixture(scope="module")
def saved_preset(tmp_path_factory):
    """A tiny random BertBackbone and a lowercasing tokenizer saved as one preset."""
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCABULARY),
        num_layers=NUM_LAYERS,
        num_heads=NUM_HEADS,
        hidden_dim=HIDDEN,
        intermediate_dim=INTERMEDIATE,
        dropout=0.2,
        max_sequence_length=MAX_POSITIONS,
        num_segments=3,
    )
    # Random LayerNorm and bias values too, so a swapped LayerNorm or bias would show.
    rng = np.random.default_rng(0)
    for variable in backbone.weights:
        variable.assign(rng.normal(size=variable.shape).astype("float32"))
    directory = tmp_path_factory.mktemp("preset")
    backbone.save_to_preset(str(directory))
    keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=True).save_to_preset(
        str(directory)
    )
    return backbone, directory


@pytest.fixture(scope="module")
def preset(saved_preset):
    return read_keras_hub_preset(saved_preset[1])


def test_config_fields(preset):
    assert preset.config == {
        "vocab_size": 30,
        "hidden_size": HIDDEN,
        "num_hidden_layers": NUM_LAYERS,
        "num_attention_heads": NUM_HEADS,
        "intermediate_size": INTERMEDIATE,
        "max_position_embeddings": MAX_POSITIONS,
        "type_vocab_size": 3,
        "hidden_dropout_prob": 0.2,
        "attention_probs_dropout_prob": 0.2,
        "layer_norm_eps": 1e-12,
        "hidden_act": "gelu_tanh",
    }


def test_vocabulary_and_casing(preset, saved_preset):
    assert preset.vocabulary_path == saved_preset[1] / "assets" / "tokenizer" / "vocabulary.txt"
    assert preset.vocabulary_path.read_text().split() == VOCABULARY
    assert preset.lowercase is True


def test_weights_are_the_backbones_variables_reshaped(preset, saved_preset):
    backbone, directory = saved_preset
    weights = preset.weights.weights
    assert sorted(weights) == sorted(weight_names.encoder_weight_names(NUM_LAYERS))
    assert preset.weights.unused == ()
    assert preset.weights.source == str(directory / "model.weights.h5")
    assert all(value.dtype == np.float32 for value in weights.values())

    np.testing.assert_array_equal(
        weights["bert/embeddings/word_embeddings"], backbone.token_embedding.embeddings.numpy()
    )
    np.testing.assert_array_equal(
        weights["bert/embeddings/token_type_embeddings"],
        backbone.segment_embedding.embeddings.numpy(),
    )
    layer = backbone.transformer_layers[1]
    attention = layer._self_attention_layer
    assert attention._query_dense.kernel.shape == (HIDDEN, NUM_HEADS, HIDDEN // NUM_HEADS)
    np.testing.assert_array_equal(
        weights["bert/encoder/layer_1/attention/self/value/bias"],
        attention._value_dense.bias.numpy().reshape(HIDDEN),
    )
    np.testing.assert_array_equal(
        weights["bert/encoder/layer_1/attention/output/LayerNorm/gamma"],
        layer._self_attention_layer_norm.gamma.numpy(),
    )
    np.testing.assert_array_equal(
        weights["bert/encoder/layer_1/output/LayerNorm/beta"],
        layer._feedforward_layer_norm.beta.numpy(),
    )
    assert weights["bert/encoder/layer_1/intermediate/dense/kernel"].shape == (HIDDEN, INTERMEDIATE)


def test_query_and_output_projections_match_keras_hubs_own_layers(preset, saved_preset):
    """Independent of the reshaping code: run keras-hub's EinsumDense layers on a vector."""
    backbone, _ = saved_preset
    weights = preset.weights.weights
    attention = backbone.transformer_layers[0]._self_attention_layer
    x = np.random.default_rng(1).normal(size=(2, 3, HIDDEN)).astype("float32")

    query = keras.ops.convert_to_numpy(attention._query_dense(x))  # [batch, seq, heads, head_dim]
    expected = (
        x @ weights["bert/encoder/layer_0/attention/self/query/kernel"]
        + weights["bert/encoder/layer_0/attention/self/query/bias"]
    )
    np.testing.assert_allclose(query.reshape(2, 3, HIDDEN), expected, rtol=1e-5, atol=1e-5)

    per_head = x.reshape(2, 3, NUM_HEADS, HIDDEN // NUM_HEADS)
    output = keras.ops.convert_to_numpy(attention._output_dense(per_head))
    expected = (
        x @ weights["bert/encoder/layer_0/attention/output/dense/kernel"]
        + weights["bert/encoder/layer_0/attention/output/dense/bias"]
    )
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-5)


def _numpy_bert(weights, config, token_ids, segment_ids, padding_mask):
    """Google's BERT forward pass in numpy from canonical weights (modeling.py's equations)."""

    def layer_norm(x, prefix):
        mean = x.mean(-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(-1, keepdims=True)
        normalized = (x - mean) / np.sqrt(variance + config["layer_norm_eps"])
        return (
            normalized * weights[prefix + "/LayerNorm/gamma"] + weights[prefix + "/LayerNorm/beta"]
        )

    def dense(x, prefix):
        return x @ weights[prefix + "/kernel"] + weights[prefix + "/bias"]

    def gelu_tanh(x):
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))

    batch, seq = token_ids.shape
    heads, hidden = config["num_attention_heads"], config["hidden_size"]
    x = (
        weights["bert/embeddings/word_embeddings"][token_ids]
        + weights["bert/embeddings/position_embeddings"][:seq]
        + weights["bert/embeddings/token_type_embeddings"][segment_ids]
    )
    x = layer_norm(x, "bert/embeddings")
    mask_bias = (1.0 - padding_mask[:, None, None, :]) * -10000.0
    for i in range(config["num_hidden_layers"]):
        prefix = f"bert/encoder/layer_{i}"

        def split(t):
            return t.reshape(batch, seq, heads, hidden // heads).transpose(0, 2, 1, 3)

        q, k, v = (
            split(dense(x, f"{prefix}/attention/self/{n}")) for n in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hidden // heads) + mask_bias
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, hidden)
        x = layer_norm(
            dense(context, f"{prefix}/attention/output/dense") + x, f"{prefix}/attention/output"
        )
        intermediate = gelu_tanh(dense(x, f"{prefix}/intermediate/dense"))
        x = layer_norm(dense(intermediate, f"{prefix}/output/dense") + x, f"{prefix}/output")
    pooled = np.tanh(dense(x[:, 0], "bert/pooler/dense"))
    return x, pooled


def test_numpy_bert_from_canonical_weights_matches_the_keras_hub_backbone(preset, saved_preset):
    """Checks the whole translation (LayerNorm roles, head layout, epsilon, activation) at once."""
    backbone, _ = saved_preset
    token_ids = np.array([[2, 7, 8, 9, 3, 0], [2, 10, 11, 3, 12, 3]], dtype="int32")
    segment_ids = np.array([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 2]], dtype="int32")
    padding_mask = np.array([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]], dtype="int32")
    outputs = backbone(
        {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
    )

    sequence, pooled = _numpy_bert(
        {n: v.astype(np.float64) for n, v in preset.weights.weights.items()},
        preset.config,
        token_ids,
        segment_ids,
        padding_mask,
    )

    # Measured: float32 round-off is ~5e-7 here, while the erf GELU in place of tanh gives ~5e-5.
    real = padding_mask.astype(bool)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(outputs["sequence_output"])[real], sequence[real], atol=5e-6
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(outputs["pooled_output"]), pooled, atol=5e-6
    )


def test_reported_activation_is_the_one_keras_hub_applies(preset, saved_preset):
    """ "gelu_tanh" must be what the loaded layers compute, and distinguishable from erf GELU."""
    activation = saved_preset[0].transformer_layers[0].activation
    x = np.linspace(-4.0, 4.0, 81)
    tanh_gelu = 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    erf_gelu = 0.5 * x * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in x]))
    computed = keras.ops.convert_to_numpy(activation(x.astype("float32")))
    assert preset.config["hidden_act"] == "gelu_tanh"
    np.testing.assert_allclose(computed, tanh_gelu, atol=1e-6)
    assert np.abs(computed - erf_gelu).max() > 1e-4


def _copy_preset(saved_preset, tmp_path):
    directory = tmp_path / "preset"
    shutil.copytree(saved_preset[1], directory)
    return directory


def test_preset_without_tokenizer_config_has_unknown_casing(saved_preset, tmp_path):
    directory = _copy_preset(saved_preset, tmp_path)
    (directory / "tokenizer.json").unlink()
    preset = read_keras_hub_preset(directory)
    assert preset.lowercase is None
    assert preset.vocabulary_path == directory / "assets" / "tokenizer" / "vocabulary.txt"


def test_not_a_bert_preset_names_the_file_and_class(saved_preset, tmp_path):
    directory = _copy_preset(saved_preset, tmp_path)
    config = json.loads((directory / "config.json").read_text())
    config["class_name"] = "GPT2Backbone"
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ValueError, match=r"config\.json describes a 'GPT2Backbone', expected .*'BertBackbone'"
    ):
        read_keras_hub_preset(directory)


def test_missing_files_are_named(saved_preset, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_keras_hub_preset(tmp_path / "nowhere")
    directory = _copy_preset(saved_preset, tmp_path)
    (directory / "assets" / "tokenizer" / "vocabulary.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"assets/tokenizer/vocabulary\.txt"):
        read_keras_hub_preset(directory)
    (directory / "model.weights.h5").unlink()
    with pytest.raises(
        FileNotFoundError, match=r"model\.weights\.h5 \(or a sharded model\.weights\.json\)"
    ):
        read_keras_hub_preset(directory)
    (directory / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        read_keras_hub_preset(directory)


def test_corrupt_weights_file_is_a_value_error_naming_it(saved_preset, tmp_path):
    directory = _copy_preset(saved_preset, tmp_path)
    weights_path = directory / "model.weights.h5"
    weights_path.write_bytes(weights_path.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"model\.weights\.h5") as error:
        read_keras_hub_preset(directory)
    assert error.value.__cause__ is not None


def test_sharded_preset_weights(preset, saved_preset, tmp_path):
    backbone, directory = saved_preset
    sharded = tmp_path / "sharded"
    backbone.save_to_preset(str(sharded), max_shard_size=0.000002)  # ~2 KB shards
    shutil.copytree(directory / "assets", sharded / "assets")
    assert not (sharded / "model.weights.h5").exists()
    sharded_preset = read_keras_hub_preset(sharded)
    assert sharded_preset.weights.source == str(sharded / "model.weights.json")
    assert sharded_preset.lowercase is None
    for name, value in preset.weights.weights.items():
        np.testing.assert_array_equal(sharded_preset.weights.weights[name], value, err_msg=name)
