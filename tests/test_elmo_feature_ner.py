"""`bertzoo feature-ner --elmo`: the ELMo row beside BERT's, on allennlp's ELMo test model and a
synthetic CoNLL task; ELMo's word vectors are the mean of its three layers at each word's position."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo.cli import main as cli_main
from bertzoo.families.bert import BertPreprocessor, WordPieceTokenizer
from bertzoo.recipes.feature_ner import elmo_word_features
from bertzoo.text import Vocabulary
from finetune_data import WORDS, write_conll
from package_files import package_file, read_member


@pytest.fixture(scope="module")
def elmo_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("elmo")
    wheel = package_file("allennlp==0.9.0")
    for name in ("options.json", "lm_weights.hdf5"):
        (directory / name).write_bytes(read_member(wheel, "allennlp/tests/fixtures/elmo/" + name))
    return directory


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    keras.utils.set_random_seed(4)
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    config = bertzoo.BertConfig(vocab_size=len(tokens), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=32, max_position_embeddings=64, do_lower_case=True)
    tokenizer = WordPieceTokenizer(Vocabulary(tokens), lowercase=True)
    bert = bertzoo.PretrainedBert(config=config, encoder=bertzoo.BertEncoder.from_bert_config(config),
                                  tokenizer=tokenizer, preprocessor=BertPreprocessor(tokenizer, seq_length=32))
    return bertzoo.save_pretrained(bert, tmp_path_factory.mktemp("bert") / "pretrained")


def test_elmo_word_features_are_the_mean_of_its_layers(elmo_dir):
    elmo = bertzoo.load_pretrained(elmo_dir, seq_length=10)
    sentences = [["He", "threw", "the", "stick"], ["A", "stick", "insect", "."]]
    features = elmo_word_features(elmo, sentences, batch_size=1)
    assert features.lengths.tolist() == [4, 4] and features.dim == 32
    outputs = elmo.encoder(elmo.preprocessor(tf.constant(["He threw the stick", "A stick insect ."])))
    mean = np.mean([layer.numpy() for layer in outputs["encoder_outputs"]], axis=0)
    np.testing.assert_allclose(features.vectors[:4], mean[0, 1:5], atol=1e-6)
    np.testing.assert_allclose(features.vectors[4:], mean[1, 1:5], atol=1e-6)
    # "stick" in two contexts: two vectors
    assert np.linalg.norm(features.vectors[3] - features.vectors[5]) > 1e-2
    with pytest.raises(ValueError, match="holds whitespace"):
        elmo_word_features(elmo, [["a b"]])


@pytest.mark.slow
def test_feature_ner_has_an_elmo_row(elmo_dir, bert_dir, tmp_path, capsys):
    directory = tmp_path / "conll"
    directory.mkdir()
    write_conll(directory / "train.txt", 48, seed=1)
    write_conll(directory / "eval.txt", 16, seed=2)
    out = tmp_path / "run"
    assert cli_main(["feature-ner", "--pretrained", str(bert_dir), "--train", str(directory / "train.txt"),
                     "--eval", str(directory / "eval.txt"), "--output", str(out), "--seq-length", "32",
                     "--global-batch-size", "16", "--strategy", "cpu", "--layers", "last", "--epochs", "2",
                     "--lstm-units", "8", "--finetune-epochs", "0", "--elmo", str(elmo_dir)]) == 0
    table = (out / "table.md").read_text()
    assert table.strip() in capsys.readouterr().out
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    assert [row[0].strip() for row in rows] == ["last", "elmo"]
    assert int(rows[1][1]) == 32 and rows[1][5].strip() == "ELMo (Peters et al., 2018a): 95.7"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["strategies"]["elmo"]["dim"] == 32 and 0.0 <= metrics["strategies"]["elmo"]["f1"] <= 1.0
    assert metrics["settings"]["elmo"] == str(elmo_dir)
