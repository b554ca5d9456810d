"""Every GPT checkpoint format, written with seeded random weights, read by bertzoo and compared with
the reference: transformers' GPT2Model / OpenAIGPTModel outputs checked in by test_gpt_parity.py,
and keras-hub's GPT2Backbone computed here. Bad checkpoints fail with errors naming what is wrong."""

import json
import pathlib

import keras
import numpy as np
import pytest

import bertzoo
from bertzoo.families.gpt.checkpoints.gpt_weights import MissingWeightError, read_decoder_weights
from bertzoo.families.gpt.gpt_config import GPTConfig
from bertzoo.families.registry import detect_family
from gpt_cases import GPT1_CONFIG, GPT2_CONFIG, REFERENCE, gpt2_weights, inputs, write_checkpoint

TOLERANCE = 1e-5
FORMATS = {"openai_gpt2_tf1": "gpt2", "hf_gpt2": "gpt2", "openai_gpt1_npy": "gpt1", "hf_openai_gpt": "gpt1"}


def assert_matches_reference(gpt, prefix, config):
    reference = np.load(REFERENCE)
    batch = inputs(300)
    outputs = gpt.encoder(batch)
    real = batch["input_mask"].astype(bool)
    ours = [outputs["embedding_output"]] + list(outputs["encoder_outputs"])
    assert len(ours) == config.num_hidden_layers + 1
    for layer, mine in enumerate(ours):
        difference = np.abs(np.asarray(mine) - reference[f"{prefix}/hidden_{layer}"])[real].max()
        assert difference <= TOLERANCE, f"{prefix} layer {layer} differs by {difference:.2e}"
    np.testing.assert_array_equal(outputs["encoder_outputs"][-1], outputs["sequence_output"])


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_each_format_matches_transformers_reference(kind, tmp_path):
    directory = write_checkpoint(kind, tmp_path / kind)
    family, checkpoint_format = detect_family(directory)
    assert family.name == "gpt" and checkpoint_format == ("hugging_face" if kind.startswith("hf_") else kind)
    gpt = bertzoo.load_pretrained(directory, seq_length=8, num_attention_heads=2) if kind == "openai_gpt1_npy" \
        else bertzoo.load_pretrained(directory, seq_length=8)
    assert gpt.family == "gpt" and gpt.config.variant == FORMATS[kind]
    config = GPT2_CONFIG if FORMATS[kind] == "gpt2" else GPT1_CONFIG
    assert gpt.config.replace(**{k: getattr(config, k) for k in ("hidden_dropout_prob", "embedding_dropout_prob",
                                                                   "attention_probs_dropout_prob")}) == config
    assert_matches_reference(gpt, FORMATS[kind], config)
    if FORMATS[kind] == "gpt2":  # these formats carry a tokenizer
        assert gpt.tokenizer.encode(" the") == [258] and gpt.end_of_text_id == 264


def test_bertzoo_format_round_trip(tmp_path):
    gpt = bertzoo.load_pretrained(write_checkpoint("hf_gpt2", tmp_path / "hf"), seq_length=8)
    bertzoo.save_pretrained(gpt, tmp_path / "ours")
    assert bertzoo.detect_format(tmp_path / "ours") == "bertzoo_gpt"
    again = bertzoo.load_pretrained(tmp_path / "ours", seq_length=8)
    assert again.config == gpt.config and again.tokenizer.encode(" the he") == gpt.tokenizer.encode(" the he")
    assert_matches_reference(again, "gpt2", GPT2_CONFIG)


def test_gpt2_matches_keras_hub_backbone(tmp_path):
    import keras_hub

    weights = gpt2_weights()
    config = GPT2_CONFIG
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=config.vocab_size, num_layers=config.num_hidden_layers, num_heads=config.num_attention_heads,
        hidden_dim=config.hidden_size, intermediate_dim=config.intermediate_size,
        max_sequence_length=config.max_position_embeddings, dropout=0.0)
    h, heads = config.hidden_size, config.num_attention_heads
    values = {"token_embedding/embeddings": weights["wte"], "position_embedding/embeddings": weights["wpe"],
              "layer_norm/gamma": weights["ln_f/g"], "layer_norm/beta": weights["ln_f/b"]}
    for i in range(config.num_hidden_layers):
        prefix, block = f"transformer_layer_{i}/", lambda name: weights[f"h{i}/{name}"]
        kernels = np.split(block("attn/c_attn/w"), 3, axis=1)
        biases = np.split(block("attn/c_attn/b"), 3)
        for name, kernel, bias in zip(("query", "key", "value"), kernels, biases):
            values[f"{prefix}self_attention/{name}/kernel"] = kernel.reshape(h, heads, -1)
            values[f"{prefix}self_attention/{name}/bias"] = bias.reshape(heads, -1)
        values[f"{prefix}self_attention/attention_output/kernel"] = block("attn/c_proj/w").reshape(heads, -1, h)
        values[f"{prefix}self_attention/attention_output/bias"] = block("attn/c_proj/b")
        values[f"{prefix}self_attention_layer_norm/gamma"] = block("ln_1/g")
        values[f"{prefix}self_attention_layer_norm/beta"] = block("ln_1/b")
        values[f"{prefix}feedforward_intermediate_dense/kernel"] = block("mlp/c_fc/w")
        values[f"{prefix}feedforward_intermediate_dense/bias"] = block("mlp/c_fc/b")
        values[f"{prefix}feedforward_output_dense/kernel"] = block("mlp/c_proj/w")
        values[f"{prefix}feedforward_output_dense/bias"] = block("mlp/c_proj/b")
        values[f"{prefix}feedforward_layer_norm/gamma"] = block("ln_2/g")
        values[f"{prefix}feedforward_layer_norm/beta"] = block("ln_2/b")
    for variable in backbone.weights:
        variable.assign(values.pop(variable.path))
    assert not values
    batch = inputs(300)
    expected = np.asarray(backbone({"token_ids": batch["input_word_ids"], "padding_mask": batch["input_mask"]}))
    gpt = bertzoo.load_pretrained(write_checkpoint("openai_gpt2_tf1", tmp_path / "tf1"), seq_length=8)
    actual = np.asarray(gpt.encoder(batch)["sequence_output"])
    real = batch["input_mask"].astype(bool)
    assert np.abs(actual - expected)[real].max() <= TOLERANCE


def test_missing_tensor_is_named(tmp_path):
    import safetensors.numpy

    directory = write_checkpoint("hf_gpt2", tmp_path / "hf")
    tensors = safetensors.numpy.load_file(str(directory / "model.safetensors"))
    del tensors["h.1.mlp.c_fc.bias"]
    safetensors.numpy.save_file(tensors, str(directory / "model.safetensors"))
    with pytest.raises(MissingWeightError, match=r"model\.safetensors: missing tensor 'h1/mlp/c_fc/b'"):
        bertzoo.load_pretrained(directory, seq_length=8)


def test_missing_tensor_in_openai_checkpoint_is_named(tmp_path):
    from bertzoo.families.gpt.checkpoints.openai_gpt2_tf1 import write_gpt2_tf1

    weights = gpt2_weights()
    del weights["ln_f/g"]
    write_gpt2_tf1(tmp_path, GPT2_CONFIG, weights)
    with pytest.raises(MissingWeightError, match=r"model\.ckpt: missing tensor 'ln_f/g'"):
        bertzoo.load_pretrained(tmp_path, seq_length=8)


def test_bad_checkpoints_give_clear_errors(tmp_path):
    directory = write_checkpoint("openai_gpt1_npy", tmp_path / "npy")
    (directory / "params_7.npy").unlink()
    with pytest.raises(FileNotFoundError, match="params_7.npy is missing"):
        bertzoo.load_pretrained(directory, seq_length=8)
    hf = write_checkpoint("hf_gpt2", tmp_path / "hf")
    with pytest.raises(bertzoo.ConfigError, match="seq_length 64 exceeds the checkpoint's context length"):
        bertzoo.load_pretrained(hf, seq_length=64)
    config = json.loads((hf / "config.json").read_text())
    (hf / "config.json").write_text(json.dumps(dict(config, activation_function="mish")))
    with pytest.raises(bertzoo.ConfigError, match="'activation_function' is 'mish'"):
        bertzoo.load_pretrained(hf, seq_length=8)


def test_bert_declines_gpt_directories_and_gpt_declines_bert(tmp_path):
    from bertzoo.families.bert.pretrained_bert import bert_format
    from bertzoo.families.gpt.pretrained_gpt import gpt_format

    for kind in FORMATS:
        directory = write_checkpoint(kind, tmp_path / kind)
        assert bert_format(directory) is None and gpt_format(directory) is not None
    bert_dir = tmp_path / "bert"
    bert_dir.mkdir()
    (bert_dir / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (bert_dir / "model.safetensors").write_bytes(b"")
    assert gpt_format(bert_dir) is None


def test_hf_config_activation_names_follow_transformers(tmp_path):
    for model_type, key, name, expected in (("gpt2", "activation_function", "gelu", "gelu_erf"),
                                            ("gpt2", "activation_function", "gelu_new", "gelu_tanh"),
                                            ("openai-gpt", "afn", "gelu", "gelu_tanh")):
        path = tmp_path / "config.json"
        path.write_text(json.dumps({"model_type": model_type, "vocab_size": 10, key: name}))
        assert GPTConfig.from_hf_json(path).hidden_act == expected


def test_weights_round_trip_through_the_decoder(tmp_path):
    gpt = bertzoo.load_pretrained(write_checkpoint("hf_gpt2", tmp_path / "hf"), seq_length=8)
    read = read_decoder_weights(gpt.encoder)
    for name, value in gpt2_weights().items():
        np.testing.assert_array_equal(read[name], value, err_msg=name)


def test_gpt2_entry_downloads_through_a_mirror_and_loads_like_its_directory(tmp_path, monkeypatch):
    """The catalogue's `gpt2` entry names OpenAI's seven files; served (tiny) by a local mirror of
    openaipublic, it downloads and loads by name, equal to the same files read from a directory."""
    from hub_fixtures import clean_environment
    from model_server import ModelServer

    clean_environment(monkeypatch, tmp_path / "home")
    directory = write_checkpoint("openai_gpt2_tf1", tmp_path / "release")
    assert "model_checkpoint_path: \"model.ckpt\"" in (directory / "checkpoint").read_text()  # relative, as OpenAI's
    base = "https://openaipublic.blob.core.windows.net/gpt-2/models/"
    entry = bertzoo.hub.get_entry("gpt2-small")
    assert entry.name == "gpt2" and entry.format == "openai_gpt2_tf1"
    with ModelServer() as server:
        for name, url in entry.files.items():
            server.add("gpt2/" + url[len(base):], (directory / name).read_bytes())
        monkeypatch.setenv("BERTZOO_MIRROR", f"{base}={server.url}gpt2/")
        by_name = bertzoo.load_pretrained("gpt2", seq_length=8)
    assert by_name.family == "gpt" and by_name.format == "openai_gpt2_tf1"
    assert_matches_reference(by_name, "gpt2", GPT2_CONFIG)
