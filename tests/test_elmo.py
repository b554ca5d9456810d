"""ELMo against its original: the reference outputs that allennlp 0.9.0 ships with its test model
(``allennlp/tests/fixtures/elmo/``, made by allenai/bilm-tf), read from the wheel as a zip.

The top-layer fixtures ``lm_embeddings_{0,1,2}.hdf5`` were produced by bilm-tf's stateful biLM over
10 batches of 3 sentences (sentence ``i`` of file ``k`` is row ``k`` of batch ``i``; the LSTM states
carry from batch to batch per row), as bilm-tf's ``test_bilm`` and allennlp's ``test_elmo_bilm``
feed them. ``elmo_token_embeddings.hdf5`` holds the character CNN's vector of every word of
``vocab_test.txt``.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo.errors import ConfigError
from bertzoo.families.elmo import (ElmoConfig, ElmoEncoder, ElmoPreprocessor, ElmoTokenizer, PretrainedElmo, load_elmo,
                                    word_char_ids)
from bertzoo.families.elmo.presets import PRESETS
from bertzoo.features import ScalarMix, combine_layers, parse_layer_strategy
from package_files import package_file, read_member
from reference.bilm_char_ids import batch_sentences, convert_word_to_char_ids

FIXTURE = "allennlp/tests/fixtures/elmo/"
MODEL_FILES = ("options.json", "lm_weights.hdf5")
REFERENCE_FILES = ("sentences.json", "lm_embeddings_0.hdf5", "lm_embeddings_1.hdf5", "lm_embeddings_2.hdf5",
                   "elmo_token_embeddings.hdf5", "vocab_test.txt")
SEQ_LENGTH = 64  # the longest fixture sentence has 51 words + <S> + </S>


@pytest.fixture(scope="module")
def fixture_dirs(tmp_path_factory) -> tuple[pathlib.Path, pathlib.Path]:
    """(the test model's directory, the reference outputs' directory), extracted from the wheel."""
    wheel = package_file("allennlp==0.9.0")
    model = tmp_path_factory.mktemp("elmo_model")
    reference = tmp_path_factory.mktemp("elmo_reference")
    for directory, names in ((model, MODEL_FILES), (reference, REFERENCE_FILES)):
        for name in names:
            (directory / name).write_bytes(read_member(wheel, FIXTURE + name))
    return model, reference


@pytest.fixture(scope="module")
def model_dir(fixture_dirs) -> pathlib.Path:
    return fixture_dirs[0]


@pytest.fixture(scope="module")
def batches(fixture_dirs):
    """The 10 batches of 3 sentences and their expected top layers ``[words, 2 * 16]``."""
    reference = fixture_dirs[1]
    sentences = json.loads((reference / "sentences.json").read_text())
    expected = []
    for k in range(3):
        with h5py.File(reference / f"lm_embeddings_{k}.hdf5", "r") as file:
            expected.append([np.concatenate([file[str(i)][0], file[str(i)][1]], axis=-1) for i in range(10)])
    return [([sentences[k][i] for k in range(3)], [expected[k][i] for k in range(3)]) for i in range(10)]


def _top_layer_errors(elmo, batch) -> tuple[list[float], list[int]]:
    texts, expected = batch
    inputs = elmo.preprocessor(tf.constant(texts))
    outputs = elmo.encoder(inputs)
    top = outputs["sequence_output"].numpy()
    lengths = (inputs["input_mask"].numpy().sum(axis=1) - 2).tolist()
    # positions 1..n are the words (0 is <S>, n+1 is </S>)
    errors = [float(np.abs(top[k, 1 : lengths[k] + 1] - expected[k]).max()) for k in range(3)]
    return errors, lengths


def test_stateful_top_layer_equals_bilm_tf_over_ten_batches(model_dir, batches):
    elmo = load_elmo(model_dir, seq_length=SEQ_LENGTH, stateful=True, max_batch_size=4)
    for index, batch in enumerate(batches):
        errors, lengths = _top_layer_errors(elmo, batch)
        assert lengths == [len(text.split()) for text in batch[0]], index
        assert max(errors) < 1e-5, (index, errors)
    # rows 0..2 were carried, row 3 of the state (max_batch_size 4) never used: still zero
    for variable in elmo.encoder.lstm.non_trainable_variables:
        assert np.abs(variable.numpy()[3]).max() == 0.0
        assert np.abs(variable.numpy()[:3]).max() > 0.0


def test_stateless_matches_the_first_batch_and_the_fixtures_need_state(model_dir, batches):
    """Stateless calls start from zero states: equal to the reference on the first batch (where the
    original's states were still zero) and on a stateful encoder right after ``reset_states``;
    later batches of the reference were made with carried state, which a stateless run lacks."""
    stateless = load_elmo(model_dir, seq_length=SEQ_LENGTH)
    errors, _ = _top_layer_errors(stateless, batches[0])
    assert max(errors) < 1e-5, errors
    later, _ = _top_layer_errors(stateless, batches[1])
    assert min(later) > 1e-3, later  # the state carried from batch 0 matters

    stateful = load_elmo(model_dir, seq_length=SEQ_LENGTH, stateful=True, max_batch_size=4)
    _top_layer_errors(stateful, batches[0])
    stateful.encoder.reset_states()
    inputs = stateful.preprocessor(tf.constant(batches[3][0]))
    np.testing.assert_allclose(stateful.encoder(inputs)["sequence_output"].numpy(),
                               stateless.encoder(inputs)["sequence_output"].numpy(), atol=1e-6)
    # a stateless encoder gives the same result however often it is called
    np.testing.assert_array_equal(stateless.encoder(inputs)["sequence_output"].numpy(),
                                  stateless.encoder(inputs)["sequence_output"].numpy())


def test_token_embeddings_equal_the_char_cnn_reference(model_dir, fixture_dirs):
    reference = fixture_dirs[1]
    words = (reference / "vocab_test.txt").read_text(encoding="utf-8").strip().split("\n")
    with h5py.File(reference / "elmo_token_embeddings.hdf5", "r") as file:
        expected = file["embedding"][...]
    assert len(words) == len(expected) == 458 and "<S>" in words and "</S>" in words
    elmo = load_elmo(model_dir)
    tokenizer = elmo.tokenizer
    char_ids = tokenizer.char_ids(tf.ragged.constant([words]))
    actual = elmo.encoder.character_encoder(char_ids)[0].numpy()
    np.testing.assert_allclose(actual, expected, atol=1e-5)
    # the same through the encoder contract: embedding_output is [token; token]
    mask = np.ones((1, len(words)), np.int32)
    token_layer = elmo.encoder({"input_char_ids": char_ids, "input_mask": mask})["embedding_output"][0].numpy()
    np.testing.assert_allclose(token_layer[:, :16], expected, atol=1e-5)
    np.testing.assert_array_equal(token_layer[:, :16], token_layer[:, 16:])


def test_character_ids_follow_bilm_tf(batches):
    tokenizer = ElmoTokenizer()
    odd = ["naïve", "日本語", "x" * 49, "y" * 60, "é" * 30, "<S>", "</S>", "<UNK>", "a\u00a0b"]
    sentences = [text.split() for text, _ in [(t, None) for t in batches[0][0]]] + [odd]
    preprocessor = ElmoPreprocessor(tokenizer, seq_length=SEQ_LENGTH)
    texts = [" ".join(words) for words in sentences]
    actual = preprocessor(tf.constant(texts))["input_char_ids"].numpy()
    expected = batch_sentences([t.split() for t in texts])
    np.testing.assert_array_equal(actual[:, : expected.shape[1]], expected)
    assert not actual[:, expected.shape[1] :].any()
    for word in odd:
        np.testing.assert_array_equal(word_char_ids(word), convert_word_to_char_ids(word) + 1)


def test_long_words_are_truncated_as_the_original(model_dir):
    """A word longer than max_characters_per_token - 2 bytes keeps its first 48 bytes (bilm-tf's rule):
    it gets exactly the vector of that prefix; a cut multi-byte character keeps its leading bytes."""
    elmo = load_elmo(model_dir, seq_length=8)
    long_word = "pneumonoultramicroscopicsilicovolcanoconiosis" + "xyz" * 5
    assert len(long_word.encode()) > 48
    inputs = elmo.preprocessor(tf.constant([f"a {long_word} b", f"a {long_word[:48]} b"]))
    np.testing.assert_array_equal(inputs["input_char_ids"][0].numpy(), inputs["input_char_ids"][1].numpy())
    out = elmo.encoder(inputs)["sequence_output"].numpy()
    np.testing.assert_array_equal(out[0], out[1])
    ids = word_char_ids("é" * 30)  # 60 bytes: 24 whole characters
    assert ids[0] == 259 and ids[49] == 260 and list(ids[1:3]) == [0xC3 + 1, 0xA9 + 1]


def test_encoder_contract_and_pooling(model_dir):
    elmo = load_elmo(model_dir, seq_length=12)
    inputs = elmo.preprocessor(tf.constant(["He threw the stick .", "Sticks"]))
    mask = inputs["input_mask"].numpy()
    assert mask.tolist()[1] == [1, 1, 1] + [0] * 9
    outputs = elmo.encoder(inputs)
    layers = [layer.numpy() for layer in outputs["encoder_outputs"]]
    assert len(layers) == 3 and all(layer.shape == (2, 12, 32) for layer in layers)
    np.testing.assert_array_equal(outputs["sequence_output"].numpy(), layers[-1])
    np.testing.assert_array_equal(outputs["embedding_output"].numpy(), layers[0])
    for layer in layers:
        assert not layer[mask == 0].any()  # padded positions are zero
    pooled = (layers[-1] * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(outputs["pooled_output"].numpy(), pooled, atol=1e-6)
    with pytest.raises(ValueError, match="input_char_ids"):
        elmo.encoder({k: v for k, v in inputs.items() if k != "input_char_ids"})
    # the mask defaults to "any character id", as bilm-tf decides
    without_mask = elmo.encoder({"input_char_ids": inputs["input_char_ids"]})
    np.testing.assert_allclose(without_mask["sequence_output"].numpy(), layers[-1], atol=1e-6)


def test_layer_strategies_and_scalar_mix_apply(model_dir):
    elmo = load_elmo(model_dir, seq_length=10)
    inputs = elmo.preprocessor(tf.constant(["The stick broke .", "A stick insect"]))
    outputs = elmo.encoder(inputs)
    token, first, second = [layer.numpy() for layer in outputs["encoder_outputs"]]
    count = len(outputs["encoder_outputs"])
    expected = {"embeddings": token, "last": second, "second_to_last": first, "sum_all": token + first + second,
                "layer=1": token, "layer=-2": first}
    for name, value in expected.items():
        np.testing.assert_allclose(combine_layers(outputs, name).numpy(), value, atol=1e-6, err_msg=name)
    assert parse_layer_strategy("sum_all", count).output_dim(elmo.config.hidden_size) == 32
    for name in ("sum_last_four", "concat_last_four"):  # ELMo has 3 layers, not 4
        with pytest.raises(ValueError, match="needs at least 4"):
            combine_layers(outputs, name)
    mix = ScalarMix(3, initial_weights=[1.0, 0.0, -1.0], initial_gamma=0.5)
    weights = np.exp([1.0, 0.0, -1.0]) / np.exp([1.0, 0.0, -1.0]).sum()
    np.testing.assert_allclose(mix(outputs["encoder_outputs"]).numpy(),
                               0.5 * (weights[0] * token + weights[1] * first + weights[2] * second), atol=1e-6)
    normalized = ScalarMix(3, layer_norm=True)(outputs["encoder_outputs"], input_mask=inputs["input_mask"])
    assert np.isfinite(normalized.numpy()).all()


def test_save_load_round_trip_and_keras_file(model_dir, tmp_path):
    assert bertzoo.detect_format(model_dir) == "bilm_tf"
    elmo = bertzoo.load_pretrained(model_dir, seq_length=10)
    assert isinstance(elmo, PretrainedElmo) and elmo.family == "elmo"
    inputs = elmo.preprocessor(tf.constant(["a stick", "two sticks here"]))
    expected = elmo.encoder(inputs)["sequence_output"].numpy()
    saved = bertzoo.save_pretrained(elmo, tmp_path / "saved")
    assert sorted(p.name for p in saved.iterdir()) == ["options.json", "weights.hdf5"]
    with h5py.File(saved / "weights.hdf5", "r") as file, h5py.File(model_dir / "lm_weights.hdf5", "r") as original:
        assert file["char_embed"].shape == original["char_embed"].shape == (261, 4)
        np.testing.assert_array_equal(file["char_embed"][...], original["char_embed"][...])
        np.testing.assert_array_equal(file["RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/B"][...],
                                      original["RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/B"][...])
    again = bertzoo.load_pretrained(saved, seq_length=10)
    np.testing.assert_array_equal(again.encoder(inputs)["sequence_output"].numpy(), expected)

    path = tmp_path / "encoder.keras"
    elmo.encoder.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, ElmoEncoder)
    np.testing.assert_allclose(restored(inputs)["sequence_output"].numpy(), expected, atol=1e-6)
    preprocessor = ElmoPreprocessor.from_config(elmo.preprocessor.get_config())
    np.testing.assert_array_equal(preprocessor(tf.constant(["a stick"]))["input_char_ids"].numpy(),
                                  elmo.preprocessor(tf.constant(["a stick"]))["input_char_ids"].numpy())


def test_missing_hdf5_dataset_is_named(model_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    with h5py.File(broken / "lm_weights.hdf5", "a") as file:
        del file["CNN_high_1/W_carry"]
    with pytest.raises(ConfigError, match=r"lm_weights\.hdf5: missing dataset\(s\) \['CNN_high_1/W_carry'\]"):
        load_elmo(broken)


def test_wrong_shape_and_missing_option_are_named(model_dir, tmp_path):
    options = json.loads((model_dir / "options.json").read_text())
    broken = tmp_path / "no_projection"
    shutil.copytree(model_dir, broken)
    del options["lstm"]["projection_dim"]
    (broken / "options.json").write_text(json.dumps(options))
    with pytest.raises(ConfigError, match=r"options\.json: field 'lstm\.projection_dim' is missing") as error:
        load_elmo(broken)
    assert str(error.value) == f"{broken / 'options.json'}: field 'lstm.projection_dim' is missing"

    options = json.loads((model_dir / "options.json").read_text())
    options["lstm"]["dim"] = 32
    (broken / "options.json").write_text(json.dumps(options))
    with pytest.raises(ConfigError, match=r"dataset 'RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0' has shape "
                                          r"\(32, 256\), but options.json implies \(32, 128\)"):
        load_elmo(broken)

    options = json.loads((model_dir / "options.json").read_text())
    options["char_cnn"]["n_characters"] = 261
    (broken / "options.json").write_text(json.dumps(options))
    with pytest.raises(ConfigError, match="n_characters must be 262"):
        load_elmo(broken)


def test_config_round_trip():
    config = ElmoConfig.tiny()
    assert ElmoConfig.from_options(config.to_options()) == config
    with pytest.raises(ConfigError, match="field 'char_cnn' is missing"):
        ElmoConfig.from_options({"lstm": {}})


def test_presets_follow_the_catalogue_schema():
    assert set(PRESETS) == {"elmo-original", "elmo-medium", "elmo-small", "elmo-original-5.5b"}
    for name, entry in PRESETS.items():
        assert entry["family"] == "elmo" and entry["format"] == "bilm_tf"
        assert sorted(entry["files"]) == ["options.json", "weights.hdf5"]
        for local, url in entry["files"].items():
            assert url.startswith("https://allennlp.s3.amazonaws.com/models/elmo/")
            assert url.endswith("_" + local)  # elmo_<folder>_options.json, elmo_<folder>_weights.hdf5
        assert entry["hidden"] == 2 * int(entry["files"]["options.json"].split("/")[-2].split("_")[1])


def test_unrolled_lstm_equals_the_loop(model_dir):
    """``unroll=True`` (for XLA-compiled training steps) computes the same as the while loop."""
    elmo = load_elmo(model_dir, seq_length=10)
    unrolled = ElmoEncoder.from_elmo_config(elmo.config, unroll=True)
    unrolled.set_weights(elmo.encoder.get_weights())
    inputs = elmo.preprocessor(tf.constant(["The stick broke .", "A stick"]))
    np.testing.assert_allclose(unrolled(inputs)["sequence_output"].numpy(),
                               elmo.encoder(inputs)["sequence_output"].numpy(), atol=1e-6)
