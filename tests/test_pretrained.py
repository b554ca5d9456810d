"""load_pretrained / save_pretrained across the four formats, format detection, casing, and the
errors for bad checkpoints; plus `bertzoo convert`."""

import json

import keras
import numpy as np
import pytest

import bertzoo
from bertzoo.cli import main as cli_main
from bertzoo.families.bert.checkpoints.encoder_weights import WeightMismatchError, read_encoder_weights
from bertzoo.families.bert.checkpoints.google_checkpoint import write_google_checkpoint
from bertzoo.families.bert.checkpoints.hf_safetensors import write_hf_safetensors
from bertzoo.families import UnknownCheckpointFormatError
from checkpoint_factory import random_canonical_weights

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s", "a",
         "dog", ".", ",", "hello", "world", "!", "is", "big", "small", "##er", "run", "##ning", "and",
         "or", "it", "was", "Hello", "The"]
TINY_CONFIG = dict(vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=16, max_position_embeddings=16, type_vocab_size=2)
TEXTS = ["The cat sat on the mat.", "hello world, the dogs are running!"]


def write_vocab(directory, tokens=VOCAB):
    (directory / "vocab.txt").write_text("".join(t + "\n" for t in tokens))


def make_hf_dir(directory, weights, hidden_act="gelu", tokenizer_config=None, prefix=""):
    directory.mkdir(parents=True, exist_ok=True)
    config = dict(TINY_CONFIG, hidden_act=hidden_act, model_type="bert", architectures=["BertForPreTraining"],
                  layer_norm_eps=1e-12, transformers_version="4.40.0")
    (directory / "config.json").write_text(json.dumps(config))
    write_hf_safetensors(weights, directory / "model.safetensors", prefix=prefix)
    write_vocab(directory)
    if tokenizer_config is not None:
        (directory / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    return directory


def make_google_dir(directory, weights, extra=None, tokens=VOCAB):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bert_config.json").write_text(json.dumps(dict(TINY_CONFIG, hidden_act="gelu")))
    write_google_checkpoint(weights, str(directory / "bert_model.ckpt"), extra=extra)
    write_vocab(directory, tokens)
    return directory


def encode(bert, texts=TEXTS):
    return np.asarray(bert.encoder(bert.preprocessor(texts))["sequence_output"])


@pytest.fixture
def weights():
    return random_canonical_weights(num_layers=2, hidden=8, intermediate=16, vocab=30, max_positions=16)


def test_google_and_hugging_face_copies_of_the_same_weights_agree(tmp_path, weights):
    google = bertzoo.load_pretrained(
        make_google_dir(tmp_path / "google", weights, extra={"global_step": np.array(7, np.int64)}), seq_length=12)
    hf = bertzoo.load_pretrained(make_hf_dir(tmp_path / "hf", weights, hidden_act="gelu_new", prefix="bert."),
                                 seq_length=12)
    assert (google.format, hf.format) == ("google", "hugging_face")
    assert google.config.hidden_act == hf.config.hidden_act == "gelu_tanh"
    np.testing.assert_array_equal(encode(google), encode(hf))
    for name, value in read_encoder_weights(google.encoder).items():
        np.testing.assert_array_equal(value, weights[name], err_msg=name)
    assert sorted(google.pretraining_weights) == sorted(hf.pretraining_weights) and len(hf.pretraining_weights) == 7
    assert "global_step" in google.unused_weights


def test_hugging_face_gelu_is_exact_and_differs_from_googles(tmp_path, weights):
    exact = bertzoo.load_pretrained(make_hf_dir(tmp_path / "hf", weights, hidden_act="gelu"), seq_length=12)
    approx = bertzoo.load_pretrained(make_google_dir(tmp_path / "google", weights), seq_length=12)
    assert exact.config.hidden_act == "gelu_erf"
    assert np.max(np.abs(encode(exact) - encode(approx))) > 1e-6


def test_casing_comes_from_the_checkpoints_files(tmp_path, weights):
    # The tiny vocabulary holds "Hello" and "The": a cased vocabulary.
    google = bertzoo.load_pretrained(make_google_dir(tmp_path / "google", weights), seq_length=12)
    assert google.config.do_lower_case is False and google.tokenizer.lowercase is False
    lower_vocab = [t for t in VOCAB if t not in ("Hello", "The")] + ["[unused0]", "[unused1]"]
    uncased = bertzoo.load_pretrained(make_google_dir(tmp_path / "g2", weights, tokens=lower_vocab), seq_length=12)
    assert uncased.config.do_lower_case is True
    # Hugging Face's tokenizer_config.json decides over the vocabulary.
    hf = bertzoo.load_pretrained(
        make_hf_dir(tmp_path / "hf", weights, tokenizer_config={"do_lower_case": True}), seq_length=12)
    assert hf.tokenizer.lowercase is True
    ids = hf.tokenizer(["Hello"]).to_list()[0]
    assert ids == [VOCAB.index("hello")]
    # An explicit argument decides over both.
    forced = bertzoo.load_pretrained(tmp_path / "google", seq_length=12, do_lower_case=True)
    assert forced.tokenizer.lowercase is True


def test_bertzoo_format_round_trip_keeps_everything(tmp_path, weights):
    bert = bertzoo.load_pretrained(make_hf_dir(tmp_path / "hf", weights, tokenizer_config={"do_lower_case": False}),
                                   seq_length=12)
    out = bertzoo.save_pretrained(bert, tmp_path / "ours")
    assert bertzoo.detect_format(out) == "bertzoo"
    again = bertzoo.load_pretrained(out, seq_length=12)
    assert again.config == bert.config and again.tokenizer.lowercase is False
    np.testing.assert_array_equal(encode(again), encode(bert))
    for name, value in bert.pretraining_weights.items():
        np.testing.assert_array_equal(again.pretraining_weights[name], value)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        bertzoo.save_pretrained(bert, out)
    bertzoo.save_pretrained(bert, out, overwrite=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ours.")]  # no staging left


def test_keras_hub_preset_matches_keras_hubs_own_outputs(tmp_path):
    import keras_hub

    keras.utils.set_random_seed(1)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=30, num_layers=2, num_heads=2, hidden_dim=8,
                                             intermediate_dim=16, max_sequence_length=16)
    for variable in backbone.weights:  # move off the initialisers so every weight matters
        variable.assign(np.random.default_rng(len(variable.path)).normal(size=variable.shape).astype("float32") * 0.3)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCAB, lowercase=True)
    backbone.save_to_preset(str(tmp_path / "preset"))
    tokenizer.save_to_preset(str(tmp_path / "preset"))

    bert = bertzoo.load_pretrained(tmp_path / "preset", seq_length=12)
    assert bert.format == "keras_hub" and bert.tokenizer.lowercase is True
    inputs = bert.preprocessor(TEXTS)
    theirs = backbone({"token_ids": inputs["input_word_ids"], "segment_ids": inputs["input_type_ids"],
                       "padding_mask": inputs["input_mask"]})
    ours = bert.encoder(inputs)
    np.testing.assert_allclose(ours["sequence_output"], theirs["sequence_output"], atol=1e-5)
    np.testing.assert_allclose(ours["pooled_output"], theirs["pooled_output"], atol=1e-5)


def test_unknown_format_names_what_it_looked_for(tmp_path):
    (tmp_path / "weights.bin").write_text("x")
    with pytest.raises(UnknownCheckpointFormatError) as info:
        bertzoo.load_pretrained(tmp_path)
    message = str(info.value)
    for expected in ("bert_config.json", "model.safetensors", "model.weights.h5", "bertzoo.json", "weights.bin"):
        assert expected in message
    with pytest.raises(FileNotFoundError, match="nowhere"):
        bertzoo.load_pretrained(tmp_path / "nowhere")


def test_seq_length_beyond_the_position_table(tmp_path, weights):
    with pytest.raises(bertzoo.ConfigError, match="seq_length 17 exceeds the checkpoint's max_position_embeddings"):
        bertzoo.load_pretrained(make_google_dir(tmp_path / "g", weights), seq_length=17)


def test_missing_and_misshapen_weights_are_named(tmp_path, weights):
    broken = dict(weights)
    del broken["bert/encoder/layer_1/attention/self/key/bias"]
    broken["bert/pooler/dense/kernel"] = np.zeros((8, 9), np.float32)
    with pytest.raises(WeightMismatchError) as info:
        bertzoo.load_pretrained(make_google_dir(tmp_path / "g", broken), seq_length=12)
    message = str(info.value)
    assert "bert/encoder/layer_1/attention/self/key/bias" in message
    assert "bert/pooler/dense/kernel: checkpoint (8, 9), encoder expects (8, 8)" in message
    assert "bert_model.ckpt" in message


def test_vocabulary_problems(tmp_path, weights):
    no_cls = [t if t != "[CLS]" else "[CLZ]" for t in VOCAB]
    with pytest.raises(ValueError, match=r"\[CLS\]"):
        bertzoo.load_pretrained(make_google_dir(tmp_path / "a", weights, tokens=no_cls), seq_length=12)
    too_big = VOCAB + ["extra"]
    with pytest.raises(bertzoo.ConfigError, match="31 tokens but the config's vocab_size is 30"):
        bertzoo.load_pretrained(make_google_dir(tmp_path / "b", weights, tokens=too_big), seq_length=12)


def test_convert_cli_writes_verified_bertzoo_checkpoint(tmp_path, weights, capsys):
    source = make_google_dir(tmp_path / "google", weights)
    assert cli_main(["convert", str(source), str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "format: google" in printed and "differs by 0" in printed
    summary = json.loads((tmp_path / "out" / "conversion.json").read_text())
    assert summary["verification_max_abs_difference"] == 0.0
    np.testing.assert_array_equal(encode(bertzoo.load_pretrained(tmp_path / "out", seq_length=12)),
                                  encode(bertzoo.load_pretrained(source, seq_length=12)))
    # Converting again into the same place is refused with a one-line error, not a traceback.
    assert cli_main(["convert", str(source), str(tmp_path / "out")]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert cli_main(["convert", str(tmp_path / "nowhere"), str(tmp_path / "x")]) == 2
    assert "checkpoint directory not found" in capsys.readouterr().err
