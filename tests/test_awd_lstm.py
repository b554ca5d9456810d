"""AWD-LSTM: fastai's weights against an independent NumPy forward pass, the encoder contract,
fastai's text rules, the dropouts, and bertzoo's own format."""

import io
import pickle

import keras
import numpy as np
import pytest

import bertzoo
from bertzoo.errors import ConfigError
from bertzoo.families.awd_lstm import AwdLstmConfig, AwdLstmEncoder, AwdLstmLanguageModel, AwdLstmTokenizer
from bertzoo.families.awd_lstm.fastai_tokenizer import SPECIAL_TOKENS, make_vocabulary, tokenize
from bertzoo.families.awd_lstm.fastai_weights import canonical_awd_lstm_weights, read_itos_pickle
from bertzoo.families.awd_lstm.pretrained_awd_lstm import (
    PretrainedAwdLstm,
    assign_awd_lstm_weights,
    config_from_weights,
)
from bertzoo.families.awd_lstm.fastai_tokenizer import AwdLstmPreprocessor
from bertzoo.layers.locked_dropout import LockedDropout
from bertzoo.layers.weight_dropped_lstm import WeightDroppedLSTM
from bertzoo.models.ulmfit_classifier import UlmfitClassifier
from reference.awd_lstm_numpy import awd_lstm_forward, concat_pool, language_model_logits

VOCAB = SPECIAL_TOKENS + ["the", "cat", "sat", "on", "mat", ".", "a", "dog", "ran", "xxfake", "xxfake"]
EMB, HID = 6, 10


def fastai_state_dict(seed=0, vocab_size=len(VOCAB), layers=3):
    """Random weights under fastai's language-model state-dict names, as learn.save writes them."""
    rng = np.random.default_rng(seed)
    state = {"0.encoder.weight": rng.normal(0, 0.3, (vocab_size, EMB)).astype(np.float32)}
    state["0.encoder_dp.emb.weight"] = state["0.encoder.weight"]
    sizes = [HID] * (layers - 1) + [EMB]
    for index, units in enumerate(sizes):
        inputs = EMB if index == 0 else sizes[index - 1]
        module = f"0.rnns.{index}.module."
        state[f"0.rnns.{index}.weight_hh_l0_raw"] = rng.normal(0, 0.3, (4 * units, units)).astype(np.float32)
        state[module + "weight_ih_l0"] = rng.normal(0, 0.3, (4 * units, inputs)).astype(np.float32)
        state[module + "bias_ih_l0"] = rng.normal(0, 0.3, (4 * units,)).astype(np.float32)
        state[module + "bias_hh_l0"] = rng.normal(0, 0.3, (4 * units,)).astype(np.float32)
    state["1.decoder.weight"] = state["0.encoder.weight"]
    state["1.decoder.bias"] = rng.normal(0, 0.3, (vocab_size,)).astype(np.float32)
    return state


def bundle_from_state(state, seq_length=12):
    weights, unused = canonical_awd_lstm_weights(state, source="test")
    assert unused == []
    config = config_from_weights(weights, pad_token_id=1, source="test")
    encoder = AwdLstmEncoder.from_config_object(config)
    tokenizer = AwdLstmTokenizer(VOCAB)
    preprocessor = AwdLstmPreprocessor(tokenizer, seq_length)
    encoder(preprocessor(["xxbos"]))
    assign_awd_lstm_weights(encoder, weights, source="test")
    return PretrainedAwdLstm(config=config, encoder=encoder, tokenizer=tokenizer, preprocessor=preprocessor,
                             decoder_bias=weights["decoder_bias"])


def test_fastai_weights_give_the_numpy_forward_pass():
    state = fastai_state_dict()
    bundle = bundle_from_state(state)
    assert (bundle.config.embedding_size, bundle.config.hidden_size, bundle.config.num_layers) == (EMB, HID, 3)
    texts = ["The cat sat on the mat.", "A dog ran"]
    inputs = bundle.preprocessor(texts)
    lengths = inputs["input_mask"].sum(axis=1)
    outputs = bundle.encoder(inputs)
    expected = awd_lstm_forward(state, inputs["input_word_ids"])
    for got, want in zip(outputs["encoder_outputs"], expected):
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)
    assert [int(t.shape[-1]) for t in outputs["encoder_outputs"]] == [HID, HID, EMB]
    np.testing.assert_array_equal(np.asarray(outputs["sequence_output"]), np.asarray(outputs["encoder_outputs"][-1]))
    np.testing.assert_allclose(np.asarray(outputs["pooled_output"]), concat_pool(expected[-1], lengths), atol=1e-5)
    np.testing.assert_allclose(np.asarray(outputs["embedding_output"]), state["0.encoder.weight"][inputs["input_word_ids"]])

    model = AwdLstmLanguageModel(bundle.encoder)
    model(inputs)
    model.decoder_bias.assign(bundle.decoder_bias)
    np.testing.assert_allclose(np.asarray(model(inputs)), language_model_logits(state, inputs["input_word_ids"]),
                               atol=1e-4)


def test_right_padding_never_reaches_a_real_token():
    bundle = bundle_from_state(fastai_state_dict(1))
    short = bundle.preprocessor(["the cat"])
    longer = AwdLstmPreprocessor(bundle.tokenizer, 30)(["the cat"])
    a, b = bundle.encoder(short), bundle.encoder(longer)
    np.testing.assert_allclose(np.asarray(a["pooled_output"]), np.asarray(b["pooled_output"]), atol=1e-6)


def test_classifier_state_dict_names_and_missing_weights_are_reported():
    state = fastai_state_dict(2)
    classifier_state = {name.replace("0.", "0.module.", 1): value for name, value in state.items()
                        if name.startswith("0.")}
    classifier_state["1.layers.0.0.weight"] = np.ones(3 * EMB, np.float32)
    weights, unused = canonical_awd_lstm_weights(classifier_state, source="clas.pth")
    assert unused == ["1.layers.0.0.weight"]
    np.testing.assert_array_equal(weights["lstm_2/weight_hh"], state["0.rnns.2.weight_hh_l0_raw"])
    del weights["lstm_1/bias_hh"]
    encoder = AwdLstmEncoder.from_config_object(config_from_weights(weights, 1, "clas.pth"))
    encoder(AwdLstmPreprocessor(AwdLstmTokenizer(VOCAB))(["cat"]))
    with pytest.raises(ConfigError, match="clas.pth: weight 'lstm_1/bias_hh' is missing"):
        assign_awd_lstm_weights(encoder, weights, source="clas.pth")
    with pytest.raises(ConfigError, match="no embedding matrix"):
        canonical_awd_lstm_weights({"x": np.zeros(2)}, source="empty.pth")


def test_the_itos_reader_accepts_strings_only(tmp_path):
    good = tmp_path / "itos.pkl"
    good.write_bytes(pickle.dumps(VOCAB))
    assert read_itos_pickle(good) == VOCAB

    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    bad = tmp_path / "evil.pkl"
    bad.write_bytes(pickle.dumps([Payload()]))
    with pytest.raises(ConfigError, match="refusing to load builtins.print"):
        read_itos_pickle(bad)


def test_bertzoo_format_round_trip_through_load_pretrained(tmp_path):
    bundle = bundle_from_state(fastai_state_dict(3))
    bertzoo.save_pretrained(bundle, tmp_path / "lm")
    loaded = bertzoo.load_pretrained(tmp_path / "lm", seq_length=12)
    assert (loaded.family, loaded.format) == ("awd_lstm", "bertzoo")
    inputs = bundle.preprocessor(["the dog sat on a mat ."])
    np.testing.assert_array_equal(np.asarray(loaded.encoder(inputs)["pooled_output"]),
                                  np.asarray(bundle.encoder(inputs)["pooled_output"]))
    np.testing.assert_array_equal(loaded.decoder_bias, bundle.decoder_bias)


def test_keras_round_trips(tmp_path):
    bundle = bundle_from_state(fastai_state_dict(4))
    classifier = UlmfitClassifier(bundle.encoder, num_classes=3)
    inputs = bundle.preprocessor(["the cat ran", "a dog"])
    expected = np.asarray(classifier(inputs))
    classifier.save(tmp_path / "clas.keras")
    restored = keras.saving.load_model(tmp_path / "clas.keras")
    np.testing.assert_allclose(np.asarray(restored(inputs)), expected, atol=1e-6)
    for layer in (LockedDropout(0.3, seed=1), WeightDroppedLSTM(4, weight_dropout=0.5, seed=2)):
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_fastai_text_rules():
    assert tokenize("Hello WORLD, I can't stop!!!") == [
        "xxbos", "xxmaj", "hello", "xxup", "world", ",", "i", "ca", "n't", "stop", "xxrep", "3", "!"]
    assert tokenize("go go go go now") == ["xxbos", "xxwrep", "4", "go", "now"]
    assert tokenize("a/b #c") == ["xxbos", "a", "/", "b", "#", "c"]
    assert tokenize("It #39;s <br />fine, 5 @.@ 3") == ["xxbos", "xxmaj", "it", "'s", "fine", ",", "5.3"]
    vocabulary = make_vocabulary(["the cat", "the dog", "the cat"], min_freq=2)
    assert vocabulary[:9] == SPECIAL_TOKENS and vocabulary[9:11] == ["the", "cat"]
    assert len(vocabulary) % 8 == 0 and set(vocabulary[11:]) == {"xxfake"}
    tokenizer = AwdLstmTokenizer(vocabulary)
    assert tokenizer.encode("The bird") == [2, 8, 9, 0]  # xxbos xxmaj the xxunk


def test_dropouts_are_what_they_claim():
    x = np.ones((4, 50, 64), np.float32)
    y = np.asarray(LockedDropout(0.5, seed=3)(x, training=True))
    assert np.all(y == y[:, :1])  # one mask per sequence, the same at every step
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.3 < (y == 0).mean() < 0.7
    np.testing.assert_array_equal(np.asarray(LockedDropout(0.5)(x, training=False)), x)

    lstm = WeightDroppedLSTM(8, weight_dropout=0.9, seed=4)
    inputs = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    plain = np.asarray(lstm(inputs))
    assert not np.allclose(np.asarray(lstm(inputs, training=True)), plain)
    np.testing.assert_array_equal(np.asarray(lstm(inputs)), plain)
    with pytest.raises(ValueError, match="weight_dropout must be in"):
        WeightDroppedLSTM(4, weight_dropout=1.0)
    with pytest.raises(ConfigError, match="field 'input_dropout' must be in"):
        AwdLstmConfig(vocab_size=10, input_dropout=1.5)


@pytest.mark.parity
def test_a_fastai_pth_directory_loads_with_torch(tmp_path):
    torch = pytest.importorskip("torch")
    state = fastai_state_dict(5)
    torch.save({"model": {name: torch.from_numpy(value) for name, value in state.items()}, "opt": {}},
               tmp_path / "lstm_fwd.pth")
    (tmp_path / "lstm_fwd.pkl").write_bytes(pickle.dumps(VOCAB))
    bundle = bertzoo.load_pretrained(tmp_path, seq_length=12)
    assert (bundle.family, bundle.format) == ("awd_lstm", "fastai")
    inputs = bundle.preprocessor(["the cat sat on the mat ."])
    expected = awd_lstm_forward(state, inputs["input_word_ids"])[-1]
    np.testing.assert_allclose(np.asarray(bundle.encoder(inputs)["sequence_output"]), expected, atol=1e-5)


def test_an_option_the_family_does_not_take_is_named(tmp_path):
    """``load_pretrained`` checks options against the family's loader: AWD-LSTM's takes no dtype."""
    bertzoo.save_pretrained(bundle_from_state(fastai_state_dict(3)), tmp_path / "lm")
    with pytest.raises(ConfigError, match=r"lm holds a awd_lstm model, whose loader takes no option 'dtype'; "
                                          r"it takes dropouts") as refused:
        bertzoo.load_pretrained(tmp_path / "lm", seq_length=12, dtype="bfloat16")
    assert refused.value.options == ("dtype",)
