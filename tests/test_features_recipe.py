"""`bertzoo features` end to end on a tiny checkpoint: shards, index and manifest agree with the
in-memory API row for row, at sentence and word level, in float32 and float16; bad input is a
one-line error with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

import bertzoo
from bertzoo.cli import main as cli_main
from bertzoo.features import sentence_embeddings, word_embeddings
from bertzoo.recipes.features import read_features
from finetune_data import write_tiny_pretrained

LINES = [
    "anna saw the red place in paris .",
    "",
    "   ",
    "boris and carla were in oslo and then lima , it was really good",
    "what is code ?",
    # A long line: windowed at word level (seq_length 16: 14 pieces a window), truncated as a sentence.
    " ".join(["the day was very good and we saw some food"] * 6),
    "dmitri",
]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    return write_tiny_pretrained(tmp_path_factory.mktemp("tiny") / "pretrained")


@pytest.fixture(scope="module")
def bert(pretrained):
    return bertzoo.load_pretrained(pretrained, seq_length=16)


@pytest.fixture(scope="module")
def input_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("input") / "texts.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def features(pretrained, input_file, out, *extra):
    return cli_main(["features", "--pretrained", str(pretrained), "--input", str(input_file), "--output", str(out),
                     "--seq-length", "16", "--global-batch-size", "4", "--strategy", "cpu", *extra])


def test_sentence_level_rows_match_the_api_line_by_line(pretrained, bert, input_file, tmp_path):
    assert features(pretrained, input_file, tmp_path / "out", "--shard-size", "2", "--layers", "sum_all") == 0
    manifest, vectors, index = read_features(tmp_path / "out")
    texts = [line for line in LINES if line.strip()]
    expected = sentence_embeddings(bert, texts, strategy="sum_all", progress=False)
    np.testing.assert_allclose(vectors, expected, rtol=1e-5, atol=1e-6)
    assert index == [{"row": row, "line": line} for row, line in enumerate([1, 4, 5, 6, 7])]
    assert [shard["rows"] for shard in manifest["shards"]] == [2, 2, 1]
    assert sorted(path.name for path in (tmp_path / "out").glob("features-*.npy")) == [
        "features-00000.npy", "features-00001.npy", "features-00002.npy"]
    assert (manifest["level"], manifest["layers"], manifest["pooling"], manifest["normalize"]) == (
        "sentence", "sum_all", "mean", True)
    assert (manifest["lines"], manifest["texts"], manifest["rows"], manifest["dim"], manifest["dtype"]) == (
        7, 5, 5, 16, "float32")
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["texts"] == 5

    # An output that already holds features is refused, then replaced with --overwrite.
    assert features(pretrained, input_file, tmp_path / "out") == 2
    assert features(pretrained, input_file, tmp_path / "out", "--overwrite", "--no-normalize", "--pooling",
                    "cls") == 0
    manifest, again, _ = read_features(tmp_path / "out")
    assert len(manifest["shards"]) == 1 and len(list((tmp_path / "out").glob("features-*.npy"))) == 1
    np.testing.assert_allclose(again, sentence_embeddings(bert, texts, pooling="cls", normalize=False,
                                                          progress=False), rtol=1e-5, atol=1e-6)


def test_jit_compile_gives_the_api_vectors(pretrained, bert, input_file, tmp_path):
    assert features(pretrained, input_file, tmp_path / "out", "--jit-compile", "--layers", "sum_all") == 0
    _, vectors, _ = read_features(tmp_path / "out")
    texts = [line for line in LINES if line.strip()]
    np.testing.assert_allclose(vectors, sentence_embeddings(bert, texts, strategy="sum_all", progress=False),
                               rtol=1e-5, atol=1e-5)


def test_word_level_rows_match_the_api_word_by_word_in_float16(pretrained, bert, input_file, tmp_path):
    assert features(pretrained, input_file, tmp_path / "out", "--level", "word", "--layers", "layer=1",
                    "--word-pooling", "mean", "--stride", "5", "--shard-size", "10", "--dtype", "float16") == 0
    manifest, vectors, index = read_features(tmp_path / "out")
    numbered = [(number, line) for number, line in enumerate(LINES, start=1) if line.strip()]
    results = word_embeddings(bert, [line for _, line in numbered], "layer=1", "mean", stride=5, progress=False)
    expected_index = []
    for (number, line), result in zip(numbered, results):
        for position, (word, (start, end)) in enumerate(zip(result.words, result.spans)):
            assert line[start:end] == word
            expected_index.append({"row": len(expected_index), "line": number, "word": position, "text": word,
                                   "start": start, "end": end})
    assert index == expected_index
    assert len(index) == sum(len(line.split()) for line in LINES) > 60  # every word of the long line
    assert vectors.dtype == np.float16 and manifest["dtype"] == "float16"
    np.testing.assert_allclose(vectors.astype(np.float32), np.concatenate([r.vectors for r in results]),
                               rtol=2e-3, atol=2e-3)
    assert [shard["rows"] for shard in manifest["shards"]][:-1] == [10] * (len(manifest["shards"]) - 1)
    assert (manifest["level"], manifest["word_pooling"], manifest["stride"], manifest["rows"]) == (
        "word", "mean", 5, len(index))


@pytest.mark.parametrize("content", ["", "\n  \n\t\n"])
def test_an_input_without_text_is_a_one_line_error(pretrained, tmp_path, capsys, content):
    empty = tmp_path / "empty.txt"
    empty.write_text(content)
    assert features(pretrained, empty, tmp_path / "out") == 2
    error = capsys.readouterr().err.strip()
    assert error == f"bertzoo features: error: {empty}: no text lines (the file is empty or holds only blank lines)"
    assert not (tmp_path / "out").exists()


def test_bad_options_are_one_line_errors(pretrained, input_file, tmp_path, capsys):
    assert features(pretrained, input_file, tmp_path / "out", "--layers", "sum_last_four") == 2
    assert "'sum_last_four' needs at least 4 transformer layers; this encoder has 2" in capsys.readouterr().err
    assert features(pretrained, input_file, tmp_path / "out", "--level", "word", "--stride", "20") == 2
    assert "stride must be an int between 1 and seq_length - 2 = 14 pieces, got 20" in capsys.readouterr().err
    assert features(pretrained, tmp_path / "missing.txt", tmp_path / "out") == 2
    assert "missing.txt" in capsys.readouterr().err


def test_bfloat16_precision_gives_the_mixed_bfloat16_vectors(pretrained, input_file, tmp_path):
    """--precision bfloat16: bfloat16 weights give mixed_bfloat16's vectors exactly, near float32's."""
    assert features(pretrained, input_file, tmp_path / "out", "--precision", "bfloat16") == 0
    manifest, vectors, _ = read_features(tmp_path / "out")
    assert manifest["precision"] == "bfloat16" and vectors.dtype == np.float32
    texts = [line for line in LINES if line.strip()]
    mixed = bertzoo.load_pretrained(pretrained, seq_length=16, dtype="mixed_bfloat16")
    np.testing.assert_array_equal(vectors, sentence_embeddings(mixed, texts, progress=False))
    float32 = sentence_embeddings(bertzoo.load_pretrained(pretrained, seq_length=16), texts, progress=False)
    np.testing.assert_allclose(vectors, float32, atol=0.03)
    with pytest.raises(SystemExit) as refused:
        features(pretrained, input_file, tmp_path / "bad", "--precision", "float16")
    assert refused.value.code == 2


def test_unknown_precision_is_named(input_file, tmp_path):
    from bertzoo.recipes import features as recipe

    with pytest.raises(ValueError, match="unknown precision 'float64'; choose one of float32, bfloat16"):
        recipe.run(None, str(input_file), str(tmp_path / "out"), precision="float64", verbose=False)


def test_bfloat16_on_a_family_without_dtype_is_named(input_file, tmp_path):
    """A family whose loader takes no ``dtype`` (AWD-LSTM's) gets a clear error, not a TypeError."""
    from bertzoo.recipes import features as recipe
    from test_awd_lstm import bundle_from_state, fastai_state_dict

    lm = bertzoo.save_pretrained(bundle_from_state(fastai_state_dict(3)), tmp_path / "lm")
    with pytest.raises(ValueError, match=r"--precision bfloat16: .*lm is of a family whose loader takes no dtype "
                                         r"\(.*'dtype'.*\); use --precision float32"):
        recipe.run(str(lm), str(input_file), str(tmp_path / "out"), precision="bfloat16", verbose=False)
