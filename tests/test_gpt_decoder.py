"""GPTDecoder: the encoder contract for GPT-1 and GPT-2, causality, pooling, the KV cache, configs,
and the shared layer checks (config and .keras round trips, tf.function / XLA, mixed precision)."""

import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo.families.gpt.gpt_block import GPTBlock
from bertzoo.families.gpt.gpt_config import GPTConfig
from bertzoo.families.gpt.gpt_decoder import GPTDecoder
from layer_checks import run_layer_checks

TINY = dict(hidden_dropout_prob=0.0, embedding_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def make_inputs(length, batch=2, vocab=500, pad_from=None):
    rng = np.random.default_rng(length)
    ids = rng.integers(0, vocab, (batch, length)).astype(np.int32)
    mask = np.ones_like(ids)
    if pad_from is not None:
        mask[-1, pad_from:] = 0
    return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": np.zeros_like(ids)}


@pytest.mark.parametrize("preset", ["gpt2-tiny", "gpt1-tiny"])
def test_contract_and_causality(preset):
    decoder = GPTDecoder.from_gpt_config(GPTConfig.preset(preset, **TINY))
    inputs = make_inputs(9, pad_from=6)
    outputs = decoder(inputs)
    assert outputs["sequence_output"].shape == (2, 9, 32) and outputs["pooled_output"].shape == (2, 32)
    assert len(outputs["encoder_outputs"]) == 2 and outputs["embedding_output"].shape == (2, 9, 32)
    np.testing.assert_array_equal(outputs["encoder_outputs"][-1], outputs["sequence_output"])
    # input_type_ids are ignored.
    other = decoder(dict(inputs, input_type_ids=np.ones_like(inputs["input_type_ids"])))
    np.testing.assert_array_equal(other["sequence_output"], outputs["sequence_output"])
    # Causal: changing token 5 leaves positions 0..4 unchanged and changes 5.
    changed = dict(inputs, input_word_ids=inputs["input_word_ids"].copy())
    changed["input_word_ids"][:, 5] = (changed["input_word_ids"][:, 5] + 1) % 500
    after = decoder(changed)["sequence_output"].numpy()
    np.testing.assert_allclose(after[:, :5], outputs["sequence_output"].numpy()[:, :5], atol=1e-6)
    assert np.abs(after[:, 5] - outputs["sequence_output"].numpy()[:, 5]).max() > 1e-4
    # Padding on the right changes nothing at real positions.
    np.testing.assert_allclose(decoder(make_inputs(9))["sequence_output"].numpy()[-1, :6],
                               outputs["sequence_output"].numpy()[-1, :6], atol=1e-6)


def test_pooled_output_positions():
    gpt2 = GPTDecoder.from_gpt_config(GPTConfig.preset("gpt2-tiny", **TINY))
    inputs = make_inputs(9, pad_from=6)
    outputs = gpt2(inputs)
    np.testing.assert_array_equal(outputs["pooled_output"][0], outputs["sequence_output"][0, 8])
    np.testing.assert_array_equal(outputs["pooled_output"][1], outputs["sequence_output"][1, 5])
    config = GPTConfig.preset("gpt1-tiny", **TINY)
    gpt1 = GPTDecoder.from_gpt_config(config)
    inputs = make_inputs(9, vocab=512)
    inputs["input_word_ids"][0, 3] = config.classify_token_id
    outputs = gpt1(inputs)
    np.testing.assert_array_equal(outputs["pooled_output"][0], outputs["sequence_output"][0, 3])  # classify token
    np.testing.assert_array_equal(outputs["pooled_output"][1], outputs["sequence_output"][1, 8])  # none: last


def test_kv_cache_equals_full_pass():
    decoder = GPTDecoder.from_gpt_config(GPTConfig.preset("gpt1-tiny", **TINY))
    inputs = make_inputs(10)
    full = decoder(inputs)["sequence_output"].numpy()
    cache = decoder.initial_cache(2, 12)
    first, cache = decoder.decode(inputs["input_word_ids"][:, :6], cache, 0)
    steps = [first.numpy()]
    for t in range(6, 10):
        hidden, cache = decoder.decode(inputs["input_word_ids"][:, t:t + 1], cache, t)
        steps.append(hidden.numpy())
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_configs_and_their_errors():
    assert GPTConfig.preset("gpt2-xl").num_hidden_layers == 48 and GPTConfig.preset("gpt2-xl").hidden_size == 1600
    assert GPTConfig.preset("gpt2-large").num_attention_heads == 20
    gpt1 = GPTConfig.preset("gpt1")
    assert gpt1.vocab_size == 40481 and gpt1.special_token_ids == {"start": 40478, "delimiter": 40479,
                                                                   "classify": 40480}
    assert gpt1.layer_norm_eps == GPTConfig.preset("gpt2").layer_norm_eps == 1e-5
    assert not gpt1.pre_layer_norm and GPTConfig.preset("gpt2").pre_layer_norm
    with pytest.raises(bertzoo.ConfigError, match="pooled_output at the classify token needs GPT-1's special tokens"):
        GPTConfig(pooling="classify_token")
    with pytest.raises(bertzoo.ConfigError, match="'variant' must be one of"):
        GPTConfig(variant="gpt3")
    with pytest.raises(bertzoo.ConfigError, match="unknown GPT config preset 'gpt5'"):
        GPTConfig.preset("gpt5")


@pytest.mark.slow
def test_gpt2_small_has_124m_parameters():
    """The 124M checkpoint's parameter count (tied output), built at its real size."""
    decoder = GPTDecoder.from_gpt_config(GPTConfig.preset("gpt2"))
    assert decoder.count_params() == 124_439_808


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["gpt2-tiny", "gpt1-tiny"])
def test_layer_checks(preset, tmp_path):
    run_layer_checks(lambda: GPTDecoder.from_gpt_config(GPTConfig.preset(preset, **TINY)),
                     lambda length: (make_inputs(length),), tmp_path)


@pytest.mark.slow
def test_block_layer_checks(tmp_path):
    import keras

    def as_model(block):
        hidden = keras.Input((None, 8))
        mask = keras.Input((None, None), dtype="bool")
        return keras.Model([hidden, mask], block(hidden, mask))

    def block_inputs(length):
        mask = np.broadcast_to(np.tril(np.ones((length, length), bool))[None], (2, length, length))
        return np.random.default_rng(length).standard_normal((2, length, 8)).astype("float32"), mask

    for pre_layer_norm in (True, False):
        run_layer_checks(lambda: GPTBlock(8, 2, 32, dropout_rate=0.0, attention_dropout_rate=0.0,
                                          pre_layer_norm=pre_layer_norm), block_inputs, tmp_path, as_model=as_model)
