"""The word-vector bundle behind the encoder contract: load_pretrained on a directory of vectors,
the tokenizer's words and casing, the encoder's outputs, a classifier head and bertzoo.features on
it, bertzoo's own format and .keras round trips."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import keras

import bertzoo
from bertzoo.families.word_vectors import (
    PretrainedWordVectors, WordTokenizer, WordVectorEncoder, WordVectorPreprocessor)
from bertzoo.families.word_vectors.word_vector_preprocessor import truncated_pair_lengths
from bertzoo.heads.dense_head import DenseHead
from reference.word_vector_reference import write_word2vec_c

WORDS = ["</s>", "the", "stick", "dog", ",", "threw", "a", "Paris", "naïve"]
DIM = 6


@pytest.fixture(scope="module")
def vectors_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("w2v")
    vectors = np.random.default_rng(3).normal(size=(len(WORDS), DIM)).astype(np.float32)
    write_word2vec_c(directory / "vectors.bin", WORDS, vectors, binary=True)
    return directory, vectors


@pytest.fixture(scope="module")
def bundle(vectors_dir) -> PretrainedWordVectors:
    return bertzoo.load_pretrained(vectors_dir[0], seq_length=8)


def test_load_pretrained_detects_the_family_and_casing(bundle, vectors_dir):
    assert bundle.family == "word_vectors" and bundle.format == "word2vec_binary"
    assert bertzoo.detect_format(vectors_dir[0]) == "word2vec_binary"
    assert bundle.config.lowercase is False  # "Paris" has a capital: a cased vocabulary
    assert bundle.config.vocab_size == len(WORDS) + 2 and bundle.config.hidden_size == DIM


def test_preprocessor_and_encoder_meet_the_contract(bundle, vectors_dir):
    _, vectors = vectors_dir
    inputs = bundle.preprocessor(tf.constant(["The dog threw a stick, Paris", ""]))
    ids = inputs["input_word_ids"].numpy()
    # cased: "The" is unknown (1); words are ids 2.. in the file's order; punctuation is a word
    assert ids[0].tolist() == [1, 5, 7, 8, 4, 6, 9, 0]
    assert inputs["input_mask"].numpy().tolist() == [[1] * 7 + [0], [0] * 8]
    outputs = bundle.encoder(inputs)
    assert set(outputs) == {"sequence_output", "pooled_output", "encoder_outputs", "embedding_output"}
    sequence = outputs["sequence_output"].numpy()
    np.testing.assert_allclose(sequence[0, 1], vectors[WORDS.index("dog")], rtol=1e-6)
    np.testing.assert_array_equal(sequence[0, 0], np.zeros(DIM))  # [UNK]
    expected_pool = np.concatenate([np.zeros((1, DIM)), vectors[[3, 5, 6, 2, 4, 7]]]).mean(axis=0)
    np.testing.assert_allclose(outputs["pooled_output"].numpy()[0], expected_pool, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(outputs["pooled_output"].numpy()[1], np.zeros(DIM))
    assert len(outputs["encoder_outputs"]) == 1
    np.testing.assert_array_equal(outputs["encoder_outputs"][0].numpy(), sequence)
    np.testing.assert_array_equal(outputs["embedding_output"].numpy(), sequence)


def test_lowercase_tokenizer_and_pairs():
    tokenizer = WordTokenizer(["the", "stick", "dog", "naïve"], lowercase=True)
    assert tokenizer(tf.constant(["THE Stick NAÏVE"])).to_list() == [[2, 3, 5]]  # accents kept
    pre = WordVectorPreprocessor(tokenizer, seq_length=5)
    out = pre((tf.constant(["the dog the dog"]), tf.constant(["stick stick stick"])))
    assert out["input_word_ids"].numpy().tolist() == [[2, 4, 2, 3, 3]]
    assert out["input_type_ids"].numpy().tolist() == [[0, 0, 0, 1, 1]]


@pytest.mark.parametrize("seq_length", [1, 4, 7])
def test_pair_truncation_is_googles_rule(seq_length):
    def google(a, b):
        while a + b > seq_length:
            if a > b:
                a -= 1
            else:
                b -= 1
        return a, b

    lengths = [(a, b) for a in range(9) for b in range(9)]
    kept_a, kept_b = truncated_pair_lengths(tf.constant([a for a, _ in lengths]), tf.constant([b for _, b in lengths]),
                                            seq_length)
    assert list(zip(kept_a.numpy().tolist(), kept_b.numpy().tolist())) == [google(a, b) for a, b in lengths]


def test_a_classifier_head_and_features_work_on_word_vectors(bundle, vectors_dir):
    _, vectors = vectors_dir
    texts = ["the dog threw a stick", "Paris , the naïve dog"]
    inputs = bundle.preprocessor(tf.constant(texts))
    head = DenseHead(num_classes=3, hidden_size=DIM, dropout_rate=0.0)
    logits = head(bundle.encoder(inputs)["pooled_output"])
    assert logits.shape == (2, 3)
    classifier = bertzoo.BertClassifier(bundle.encoder, num_classes=3, dropout_rate=0.0)
    assert classifier(inputs)["logits"].shape == (2, 3)

    sentence = bertzoo.features.sentence_embeddings(bundle, texts, pooling="mean", normalize=False, batch_size=2)
    index = {w: i for i, w in enumerate(WORDS)}
    for row, text in zip(sentence, texts):
        expected = vectors[[index[w] for w in text.split()]].mean(axis=0)
        np.testing.assert_allclose(row, expected, rtol=1e-5, atol=1e-6)
    words = bertzoo.features.word_embeddings(bundle, ["the stick", "a dog threw the stick"], batch_size=2)
    # "stick" has one vector, whatever its context
    np.testing.assert_array_equal(words[0].vectors[1], words[1].vectors[4])
    np.testing.assert_allclose(words[0].vectors[1], vectors[index["stick"]], rtol=1e-6)


def test_own_format_and_keras_round_trips(bundle, tmp_path):
    out = bertzoo.save_pretrained(bundle, tmp_path / "saved")
    again = bertzoo.load_pretrained(out, seq_length=8)
    assert again.format == "word_vectors" and again.tokenizer.words == bundle.tokenizer.words
    assert again.config == bundle.config
    np.testing.assert_array_equal(again.encoder.word_embeddings.embeddings.numpy(),
                                  bundle.encoder.word_embeddings.embeddings.numpy())

    strings = keras.Input(shape=(), dtype="string")
    model = keras.Model(strings, bundle.encoder(bundle.preprocessor(strings))["pooled_output"])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    batch = tf.constant(["the dog", "Paris stick"])
    np.testing.assert_allclose(loaded(batch).numpy(), model(batch).numpy(), rtol=1e-6)
    encoder = WordVectorEncoder.from_config(bundle.encoder.get_config())
    assert encoder.get_config() == bundle.encoder.get_config()


def test_several_vector_files_need_a_choice(vectors_dir, tmp_path):
    directory, vectors = vectors_dir
    for name in ("glove.6B.50d.txt", "glove.6B.100d.txt"):
        (tmp_path / name).write_text("the 1 2\ndog 3 4\n", encoding="utf-8")
    with pytest.raises(bertzoo.ConfigError, match=r"holds 2 vector files \(glove\.6B\.100d\.txt, glove\.6B\.50d\.txt\); "
                                                  r"pick one with file=NAME"):
        bertzoo.load_pretrained(tmp_path)
    picked = bertzoo.load_pretrained(tmp_path, file="glove.6B.50d.txt")
    assert picked.format == "glove_text" and picked.config.lowercase is True
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="word_vectors: bertzoo word vectors"):
        bertzoo.load_pretrained(empty)
