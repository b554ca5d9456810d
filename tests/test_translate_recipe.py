"""``bertzoo translate``: the recipe end to end, its BLEU against sacrebleu, and the exported translator."""

import json
import random

import numpy as np
import pytest
import sacrebleu
import tensorflow as tf

import bertzoo
from bertzoo.cli import build_parser
from bertzoo.cli import main as cli_main
from bertzoo.commands import translate as translate_command
from bertzoo.data.parallel_corpus import read_parallel_corpus
from bertzoo.metrics.bleu import corpus_bleu

WORDS = "zero one two three four five six seven eight nine".split()


def _write_corpus(path, count, seed):
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 5))]
        lines.append(" ".join(words) + "\t" + " ".join(reversed(words)).capitalize() + ".")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("translate")
    _write_corpus(root / "train.tsv", 512, seed=0)
    _write_corpus(root / "eval.tsv", 24, seed=1)
    output = root / "out"
    code = cli_main(["translate", "--train", str(root / "train.tsv"), "--eval", str(root / "eval.tsv"),
                     "--output", str(output), "--preset", "tiny", "--config", '{"dropout_rate": 0.0}',
                     "--vocab-size", "40", "--seq-length", "10", "--steps", "40", "--warmup-steps", "20",
                     "--average-last", "2", "--checkpoint-every", "20", "--log-every", "20", "--beam-size", "2",
                     "--global-batch-size", "32", "--strategy", "cpu"])
    assert code in (0, None)
    return root, output


def test_translate_writes_a_run_directory_with_bleu_equal_to_sacrebleu(trained):
    root, output = trained
    for name in ("sentencepiece.model", "model", "translator", "translations.txt", "metrics.json", "checkpoints"):
        assert (output / name).exists(), name
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["steps"] == 40 and metrics["averaged_checkpoints"] == ["ckpt-20", "ckpt-40"]
    hypotheses = (output / "translations.txt").read_text().splitlines()
    _, references = read_parallel_corpus(root / "eval.tsv")
    assert len(hypotheses) == len(references) == metrics["eval"]["sentences"]
    assert metrics["eval"]["bleu"] == sacrebleu.corpus_bleu(hypotheses, [references]).score
    assert "tok:13a" in metrics["eval"]["signature"]


def test_exported_translator_equals_python_decoding(trained):
    root, output = trained
    sources, _ = read_parallel_corpus(root / "eval.tsv")
    bundle = bertzoo.load_pretrained(output / "model", seq_length=10)
    assert bundle.family == "transformer"
    translator = bundle.translator(max_decode_length=10, beam_size=2, alpha=0.6)
    python_outputs = translator.serve(tf.constant(sources))
    exported = tf.saved_model.load(str(output / "translator")).signatures["serving_default"]
    served = exported(inputs=tf.constant(sources))
    np.testing.assert_array_equal(served["token_ids"].numpy(), python_outputs["token_ids"].numpy())
    assert list(served["translations"].numpy()) == list(python_outputs["translations"].numpy())
    recorded = (output / "translations.txt").read_text().splitlines()
    assert [text.decode() for text in served["translations"].numpy()] == recorded


@pytest.mark.parametrize("hypotheses,references", [
    (["The cat sat on the mat."], ["The cat sat on the mat."]),
    (["the cat", "a dog ran away quickly", ""], ["The cat sat on the mat.", "A dog ran away.", "Nothing here"]),
    (["Hello, world!", "It costs $3,000.50 (approx.)"], ["Hello , world !", "It costs $3,000.50 (approx.)"]),
    (["Grüße aus Köln – schön!", "日本語 の テスト"], ["Grüße aus Köln - schön!", "日本語のテスト"]),
    (["one two three four five six seven"] * 3, ["one two three", "four five six seven eight", "one"]),
    (["x"], ["a much longer reference sentence that the hypothesis does not cover"]),
])
def test_bleu_equals_sacrebleu_on_varied_hypotheses(hypotheses, references):
    ours = corpus_bleu(hypotheses, references)
    theirs = sacrebleu.corpus_bleu(hypotheses, [references])
    assert ours["bleu"] == theirs.score
    assert ours["precisions"] == pytest.approx(theirs.precisions)
    assert ours["brevity_penalty"] == pytest.approx(theirs.bp)


def test_bad_inputs_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        corpus_bleu(["a", "b"], ["a"])
    bad = tmp_path / "bad.tsv"
    bad.write_text("one\ttwo\nno tab here\n")
    with pytest.raises(ValueError, match=r"bad.tsv line 2: expected 'source<TAB>target'"):
        read_parallel_corpus(bad)
    (tmp_path / "a.txt").write_text("1\n2\n")
    (tmp_path / "b.txt").write_text("1\n")
    with pytest.raises(ValueError, match="has 2 lines but .* has 1"):
        read_parallel_corpus(source=tmp_path / "a.txt", target=tmp_path / "b.txt")
    args = build_parser().parse_args(["translate", "--output", str(tmp_path / "o"), "--train-source", "a.txt"])
    with pytest.raises(SystemExit, match="--train TSV, or --train-source and --train-target"):
        translate_command.run(args)


def test_two_aligned_files_read_as_the_tsv_does(tmp_path):
    _write_corpus(tmp_path / "corpus.tsv", 20, seed=3)
    sources, targets = read_parallel_corpus(tmp_path / "corpus.tsv")
    (tmp_path / "corpus.src").write_text("\n".join(sources) + "\n")
    (tmp_path / "corpus.tgt").write_text("\n".join(targets) + "\n")
    assert read_parallel_corpus(source=tmp_path / "corpus.src", target=tmp_path / "corpus.tgt") == (sources, targets)
    assert len(sources) == 20 and all(target.endswith(".") for target in targets)
