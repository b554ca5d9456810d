"""BertConfig: presets, Google and Hugging Face config files, and the errors for bad fields."""

import json

import pytest

from bertzoo import BertConfig, ConfigError

GOOGLE_BASE = {
    "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
    "max_position_embeddings": 512, "num_attention_heads": 12, "num_hidden_layers": 12,
    "type_vocab_size": 2, "vocab_size": 30522,
}


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("name, layers, hidden, heads", [
    ("tiny", 2, 128, 2), ("mini", 4, 256, 4), ("small", 4, 512, 8), ("medium", 8, 512, 8),
    ("base", 12, 768, 12), ("large", 24, 1024, 16)])
def test_presets_match_googles_release(name, layers, hidden, heads):
    config = BertConfig.preset(name)
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (layers, hidden, heads)
    assert config.intermediate_size == 4 * hidden
    assert config.head_size == 64


def test_unknown_preset_lists_the_choices():
    with pytest.raises(ConfigError, match="unknown BertConfig preset 'huge'.*tiny"):
        BertConfig.preset("huge")


def test_google_gelu_is_the_tanh_approximation(tmp_path):
    config = BertConfig.from_google_json(write(tmp_path, "bert_config.json", GOOGLE_BASE))
    assert config.hidden_act == "gelu_tanh"
    assert config.layer_norm_eps == 1e-12
    assert config.do_lower_case is None  # Google's file says nothing about casing
    assert config == BertConfig.preset("base", hidden_act="gelu_tanh")


def test_google_multilingual_metadata_is_ignored(tmp_path):
    data = dict(GOOGLE_BASE, directionality="bidi", pooler_fc_size=768, pooler_type="first_token_transform",
                pooler_num_attention_heads=12, pooler_num_fc_layers=3, pooler_size_per_head=128)
    assert BertConfig.from_google_json(write(tmp_path, "bert_config.json", data)).hidden_size == 768


@pytest.mark.parametrize("hf_act, ours", [("gelu", "gelu_erf"), ("gelu_new", "gelu_tanh"),
                                          ("gelu_pytorch_tanh", "gelu_tanh"), ("relu", "relu")])
def test_hugging_face_activation_names(tmp_path, hf_act, ours):
    data = dict(GOOGLE_BASE, hidden_act=hf_act, layer_norm_eps=1e-7, model_type="bert",
                architectures=["BertModel"], transformers_version="4.8.2", pad_token_id=0,
                position_embedding_type="absolute", use_cache=True, gradient_checkpointing=False)
    config = BertConfig.from_hf_json(write(tmp_path, "config.json", data))
    assert config.hidden_act == ours
    assert config.layer_norm_eps == 1e-7


def test_real_minilm_config(minilm_dir):
    config = BertConfig.from_hf_json(minilm_dir / "config.json")
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (6, 384, 12)
    assert config.hidden_act == "gelu_erf" and config.intermediate_size == 1536


@pytest.mark.parametrize("change, message", [
    ({"num_attention_heads": 7}, "'hidden_size' \\(768\\) must be divisible by 'num_attention_heads' \\(7\\)"),
    ({"position_embedding_type": "relative_key"}, "'position_embedding_type' is 'relative_key'"),
    ({"hidden_act": "mish"}, "'hidden_act' is 'mish'"),
    ({"model_type": "roberta"}, "'model_type' is 'roberta'"),
    ({"is_decoder": True}, "'is_decoder' is true"),
    ({"num_hiden_layers": 12}, "unknown field\\(s\\) \\['num_hiden_layers'\\]"),
    ({"vocab_size": -3}, "'vocab_size' must be a positive integer"),
    ({"hidden_dropout_prob": 1.5}, "'hidden_dropout_prob' must be in \\[0, 1\\)"),
])
def test_hugging_face_fields_bertzoo_cannot_honour(tmp_path, change, message):
    path = write(tmp_path, "config.json", dict(GOOGLE_BASE, **change))
    with pytest.raises(ConfigError, match=message) as info:
        BertConfig.from_hf_json(path)
    assert str(path) in str(info.value)  # the message names the file


def test_missing_required_field_is_named(tmp_path):
    data = dict(GOOGLE_BASE)
    del data["num_hidden_layers"]
    with pytest.raises(ConfigError, match="missing required field\\(s\\) \\['num_hidden_layers'\\]"):
        BertConfig.from_google_json(write(tmp_path, "bert_config.json", data))


def test_google_format_does_not_know_hugging_faces_gelu_new(tmp_path):
    with pytest.raises(ConfigError, match="'hidden_act' is 'gelu_new'"):
        BertConfig.from_google_json(write(tmp_path, "bert_config.json", dict(GOOGLE_BASE, hidden_act="gelu_new")))


def test_not_json_and_not_an_object(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        BertConfig.from_hf_json(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected a JSON object"):
        BertConfig.from_hf_json(bad)
    with pytest.raises(FileNotFoundError, match="nowhere.json"):
        BertConfig.from_hf_json(tmp_path / "nowhere.json")


def test_own_json_round_trip_and_google_names(tmp_path):
    config = BertConfig.preset("mini", hidden_act="gelu_erf", do_lower_case=False)
    config.to_json(tmp_path / "c.json")
    assert BertConfig.from_json(tmp_path / "c.json") == config
    with pytest.raises(ConfigError, match="no name in Google's"):
        config.to_google_dict()
    google = BertConfig.preset("mini").to_google_dict()
    assert google["hidden_act"] == "gelu" and "do_lower_case" not in google
    assert BertConfig.from_google_dict(google) == BertConfig.preset("mini")


def test_frozen():
    with pytest.raises(AttributeError):
        BertConfig.preset("tiny").hidden_size = 3


def test_from_file_tells_the_three_formats_apart(tmp_path):
    ours = BertConfig.preset("mini", hidden_act="gelu_erf", do_lower_case=True)
    ours.to_json(tmp_path / "ours.json")
    assert BertConfig.from_file(tmp_path / "ours.json") == ours
    google = write(tmp_path, "bert_config.json", GOOGLE_BASE)
    assert BertConfig.from_file(google).hidden_act == "gelu_tanh"
    hf = write(tmp_path, "config.json", dict(GOOGLE_BASE, model_type="bert"))
    assert BertConfig.from_file(hf).hidden_act == "gelu_erf"
