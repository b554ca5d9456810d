"""ELMo pretraining from scratch: the forward and backward language models learn the embedded corpus
(perplexity drops), the result is a bilm-tf directory that loads back, XLA and sampled softmax work."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import bertzoo
from bertzoo.cli import main as cli_main
from bertzoo.recipes import pretrain_elmo


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    lines = pretrain_elmo.DEFAULT_CORPUS.read_text(encoding="utf-8").splitlines()[:80]
    path = tmp_path_factory.mktemp("elmo_corpus") / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_pretraining_lowers_perplexity_and_writes_a_bilm_tf_directory(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli_main(["pretrain-elmo", "--corpus", str(corpus), "--output", str(out), "--steps", "30",
                     "--global-batch-size", "16", "--seq-length", "20", "--learning-rate", "1e-2",
                     "--log-every", "20", "--strategy", "cpu"]) == 0
    assert "perplexity after training" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    # a random model is near-uniform over the vocabulary; 30 steps must at least halve the perplexity
    assert metrics["perplexity_before"] > 0.5 * metrics["vocabulary_size"]
    assert metrics["perplexity_after"] < 0.5 * metrics["perplexity_before"], metrics
    assert metrics["loss"] < metrics["first_logged"]["loss"]

    pretrained = out / "pretrained"
    assert sorted(p.name for p in pretrained.iterdir()) == ["options.json", "vocab.txt", "weights.hdf5"]
    vocabulary = (pretrained / "vocab.txt").read_text().split("\n")
    assert vocabulary[:3] == ["<S>", "</S>", "<UNK>"] and len(vocabulary) - 1 == metrics["vocabulary_size"]
    with h5py.File(pretrained / "weights.hdf5", "r") as file:
        assert file["softmax/W"].shape == (metrics["vocabulary_size"], 16)
        assert file["char_embed"].shape == (261, 4)
    elmo = bertzoo.load_pretrained(pretrained, seq_length=20)
    assert elmo.family == "elmo" and elmo.tokenizer.word_split == "punctuation"
    assert sorted(elmo.pretraining_weights) == ["softmax/W", "softmax/b"]
    # the saved model gives the same perplexity as the trained one
    from bertzoo.families.elmo.elmo_language_model import ElmoLanguageModel

    model = ElmoLanguageModel(elmo.encoder, metrics["vocabulary_size"], dropout=0.0)
    model.softmax_weights.assign(elmo.pretraining_weights["softmax/W"])
    model.softmax_bias.assign(elmo.pretraining_weights["softmax/b"])
    again = pretrain_elmo.perplexity(model, elmo.preprocessor, pretrain_elmo.read_sentences([corpus]))
    assert again["perplexity"] == pytest.approx(metrics["perplexity_after"], rel=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("jit_compile", [False, True])
def test_train_step_with_and_without_xla(corpus, tmp_path, jit_compile):
    final = pretrain_elmo.run(corpus=[str(corpus)], output=str(tmp_path / "run"), steps=4, global_batch_size=8,
                              seq_length=16, dropout=0.0, log_every=4, strategy="cpu", jit_compile=jit_compile,
                              evaluate=False, verbose=False)
    assert np.isfinite(final["loss"])
    # the same seed and data give the same loss whether or not the step is compiled
    pytest.shared_losses = getattr(pytest, "shared_losses", {})
    pytest.shared_losses[jit_compile] = final["loss"]
    if len(pytest.shared_losses) == 2:
        assert pytest.shared_losses[True] == pytest.approx(pytest.shared_losses[False], rel=1e-3)


@pytest.mark.slow
def test_sampled_softmax_trains(corpus, tmp_path):
    final = pretrain_elmo.run(corpus=[str(corpus)], output=str(tmp_path / "run"), steps=4, global_batch_size=8,
                              seq_length=16, num_sampled=64, log_every=4, strategy="cpu", evaluate=False,
                              verbose=False)
    assert np.isfinite(final["loss"]) and final["loss"] > 0
    with pytest.raises(ValueError, match="num_sampled"):
        pretrain_elmo.run(corpus=[str(corpus)], output=str(tmp_path / "bad"), steps=1, global_batch_size=8,
                          num_sampled=100_000, strategy="cpu", verbose=False)
