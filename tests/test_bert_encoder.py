"""BertEncoder and its layers: the encoder contract, the shared layer checks, and arithmetic
checked against a plain numpy BERT written from the paper's equations."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo import BertConfig, BertEncoder
from bertzoo.layers.attention import dot_product_attention
from bertzoo.families.bert.bert_embeddings import BertEmbeddings
from bertzoo.layers.transformer_layer import TransformerLayer
from bertzoo.families.bert.checkpoints.encoder_weights import read_encoder_weights
from layer_checks import run_layer_checks

TINY = dict(vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
            max_position_embeddings=16)


def encoder_inputs(seq_length, batch=3, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 30, (batch, seq_length)).astype("int32")
    mask = np.ones_like(ids)
    mask[-1, seq_length // 2:] = 0
    types = np.zeros_like(ids)
    types[:, seq_length // 2:] = 1
    return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": types}


def test_encoder_shared_checks(tmp_path):
    run_layer_checks(lambda: BertEncoder(**TINY), lambda n: (encoder_inputs(n),), tmp_path)


def test_embeddings_shared_checks(tmp_path):
    def as_model(layer):
        ids = keras.Input((None,), dtype="int32")
        types = keras.Input((None,), dtype="int32")
        return keras.Model([ids, types], layer(ids, types))

    run_layer_checks(
        lambda: BertEmbeddings(vocab_size=30, hidden_size=8, max_position_embeddings=16),
        lambda n: (encoder_inputs(n)["input_word_ids"], encoder_inputs(n)["input_type_ids"]),
        tmp_path, as_model=as_model)


def test_transformer_layer_shared_checks(tmp_path):
    def as_model(layer):
        hidden = keras.Input((None, 8))
        mask = keras.Input((None,), dtype="int32")
        return keras.Model([hidden, mask], layer(hidden, mask))

    run_layer_checks(
        lambda: TransformerLayer(hidden_size=8, num_attention_heads=2, intermediate_size=16),
        lambda n: (np.random.default_rng(n).normal(size=(3, n, 8)).astype("float32"),
                   encoder_inputs(n)["input_mask"]),
        tmp_path, as_model=as_model)


def test_encoder_contract_outputs():
    encoder = BertEncoder(**TINY)
    outputs = encoder(encoder_inputs(7))
    assert set(outputs) == {"sequence_output", "pooled_output", "encoder_outputs", "embedding_output"}
    assert outputs["sequence_output"].shape == (3, 7, 8)
    assert outputs["pooled_output"].shape == (3, 8)
    assert outputs["embedding_output"].shape == (3, 7, 8)
    assert len(outputs["encoder_outputs"]) == 2
    np.testing.assert_array_equal(outputs["encoder_outputs"][-1], outputs["sequence_output"])
    assert sorted(i.name for i in encoder.inputs) == ["input_mask", "input_type_ids", "input_word_ids"]
    assert all(i.dtype == "int32" for i in encoder.inputs)


def test_from_bert_config_and_back():
    config = BertConfig.preset("tiny", vocab_size=100, hidden_act="gelu_erf")
    encoder = BertEncoder.from_bert_config(config, seq_length=12)
    assert encoder.bert_config == config
    assert encoder.inputs[0].shape == (None, 12)
    assert encoder.count_params() == (100 + 512 + 2) * 128 + 2 * 128 + 2 * (
        4 * (128 * 128 + 128) + 2 * 2 * 128 + 128 * 512 + 512 + 512 * 128 + 128) + 128 * 128 + 128


def test_sequence_longer_than_position_table_is_an_error():
    encoder = BertEncoder(**TINY)
    with pytest.raises(ValueError, match="sequence length 20 exceeds max_position_embeddings \\(16\\)"):
        encoder(encoder_inputs(20))


def test_padding_does_not_change_real_tokens():
    """A sequence padded with junk ids under mask 0 gives the same vectors for its real tokens."""
    encoder = BertEncoder(**TINY)
    short = encoder_inputs(5, batch=1)
    short["input_type_ids"][:] = 0
    short["input_mask"][:] = 1
    padded = {k: np.concatenate([v, np.full((1, 4), 7 if k == "input_word_ids" else 0, "int32")], axis=1)
              for k, v in short.items()}
    padded["input_mask"][:, 5:] = 0
    a = encoder(short)["sequence_output"]
    b = encoder(padded)["sequence_output"][:, :5]
    np.testing.assert_allclose(a, b, atol=1e-6)


def numpy_bert(weights, inputs, num_layers, num_heads, activation, eps=1e-12):
    """BERT written directly from the equations, on canonical weights, in float64."""
    w = {k: v.astype(np.float64) for k, v in weights.items()}

    def layer_norm(x, prefix):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * w[prefix + "/gamma"] + w[prefix + "/beta"]

    def dense(x, prefix):
        return x @ w[prefix + "/kernel"] + w[prefix + "/bias"]

    ids, mask, types = inputs["input_word_ids"], inputs["input_mask"], inputs["input_type_ids"]
    n = ids.shape[1]
    x = (w["bert/embeddings/word_embeddings"][ids] + w["bert/embeddings/token_type_embeddings"][types]
         + w["bert/embeddings/position_embeddings"][:n])
    x = layer_norm(x, "bert/embeddings/LayerNorm")
    hidden = x.shape[-1]
    d = hidden // num_heads
    for i in range(num_layers):
        p = f"bert/encoder/layer_{i}"
        q, k, v = (dense(x, f"{p}/attention/self/{name}").reshape(*x.shape[:2], num_heads, d)
                   for name in ("query", "key", "value"))
        scores = np.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(d)
        scores = scores + (1.0 - mask[:, None, None, :]) * -10000.0
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = np.einsum("bhqk,bkhd->bqhd", probs, v).reshape(x.shape)
        x = layer_norm(x + dense(context, f"{p}/attention/output/dense"), f"{p}/attention/output/LayerNorm")
        inner = activation(dense(x, f"{p}/intermediate/dense"))
        x = layer_norm(x + dense(inner, f"{p}/output/dense"), f"{p}/output/LayerNorm")
    pooled = np.tanh(dense(x[:, 0], "bert/pooler/dense"))
    return x, pooled


def _erf_gelu(x):
    from math import erf
    return x * 0.5 * (1.0 + np.vectorize(erf)(x / math.sqrt(2.0)))


def _tanh_gelu(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


@pytest.mark.parametrize("hidden_act, activation", [("gelu_erf", _erf_gelu), ("gelu_tanh", _tanh_gelu)])
def test_encoder_matches_numpy_bert(hidden_act, activation):
    encoder = BertEncoder(**dict(TINY, hidden_act=hidden_act), initializer_range=0.5)
    inputs = encoder_inputs(6)
    outputs = encoder(inputs)
    sequence, pooled = numpy_bert(read_encoder_weights(encoder), inputs, 2, 2, activation)
    np.testing.assert_allclose(outputs["sequence_output"], sequence, atol=2e-5)
    np.testing.assert_allclose(outputs["pooled_output"], pooled, atol=2e-5)


def test_the_two_gelus_differ_so_the_mapping_matters():
    x = np.linspace(-4, 4, 101).astype("float32")
    assert np.max(np.abs(_erf_gelu(x) - _tanh_gelu(x))) > 1e-4


def test_attention_masks_padding_and_computes_softmax_in_float32():
    rng = np.random.default_rng(0)
    q, k, v = (tf.constant(rng.normal(size=(1, 4, 2, 3)), tf.bfloat16) for _ in range(3))
    mask = tf.constant([[1, 1, 0, 0]])
    out = dot_product_attention(q, k, v, key_mask=mask)
    assert out.dtype == tf.bfloat16
    # Changing masked values changes nothing.
    v2 = tf.concat([v[:, :2], v[:, 2:] + 100], axis=1)
    np.testing.assert_array_equal(out, dot_product_attention(q, k, v2, key_mask=mask))


def test_dtype_argument_reaches_every_sub_layer():
    """BertEncoder(dtype="mixed_bfloat16") computes in bfloat16 without a global policy: its dense
    layers too, not only the layers it builds itself (LayerNorms stay float32 on purpose)."""
    encoder = BertEncoder(**TINY, dtype="mixed_bfloat16")
    layer = encoder.transformer_layers[0]
    for sub_layer in (layer.query_dense, layer.key_dense, layer.value_dense, layer.attention_output_dense,
                      layer.intermediate_dense, layer.output_dense, layer.attention_probs_dropout,
                      layer.output_dropout, encoder.embeddings.dropout):
        assert sub_layer.dtype_policy.name == "mixed_bfloat16", sub_layer.name
    assert layer.output_layer_norm.dtype_policy.name == "float32"
    assert encoder(encoder_inputs(6))["sequence_output"].dtype == "bfloat16"


def test_dropout_only_in_training():
    encoder = BertEncoder(**TINY)
    inputs = encoder_inputs(6)
    np.testing.assert_array_equal(encoder(inputs)["sequence_output"], encoder(inputs)["sequence_output"])
    trained = encoder(inputs, training=True)["sequence_output"]
    assert np.max(np.abs(trained - encoder(inputs)["sequence_output"])) > 1e-3
