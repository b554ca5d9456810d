"""Causal-LM pretraining of a tiny GPT on the embedded corpus: held-out perplexity falls well below
the unigram baseline; the result loads back and generates; continued pretraining starts from it."""

import json

import numpy as np
import pytest

import bertzoo
from bertzoo.data.packed_sequences import pack_windows
from bertzoo.families.gpt.bpe_learner import learn_bpe
from bertzoo.families.gpt.gpt2_tokenizer import GPT2Tokenizer
from bertzoo.recipes import causal_lm_pretrain


def test_packed_windows_shift_by_one():
    inputs, labels = pack_windows(np.arange(23, dtype=np.int32), 5)
    assert inputs.shape == labels.shape == (4, 5)
    np.testing.assert_array_equal(labels, inputs + 1)
    with pytest.raises(ValueError, match="fewer than one window"):
        pack_windows(np.arange(4, dtype=np.int32), 5)


def test_learned_bpe_is_a_working_gpt2_vocabulary(tmp_path):
    texts = ["the cat sat on the mat", "the other cat", "then there were three cats"] * 5
    encoder, merges = learn_bpe(texts, vocab_size=280)
    assert len(encoder) == 280 and encoder["<|endoftext|>"] == 279 and len(merges) == 280 - 257
    assert merges[0] in {("Ġ", "t"), ("a", "t"), ("t", "h")}  # among the most frequent pairs
    tokenizer = GPT2Tokenizer(encoder, merges)
    ids = tokenizer.encode(" the cat")
    assert len(ids) < len(" the cat") and tokenizer.decode(ids) == " the cat"


def test_pretraining_lowers_perplexity_well_below_unigram(tmp_path):
    final = causal_lm_pretrain.run(config="gpt2-tiny", output=str(tmp_path / "run"), steps=450, global_batch_size=16,
                                   seq_length=32, learning_rate=3e-3, vocab_size=300, strategy="cpu", log_every=200,
                                   checkpoint_every=450)
    # A model that learned from context beats frequency alone by a wide margin.
    assert final["perplexity"] < 0.6 * final["unigram_perplexity"], final
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["perplexity"] == pytest.approx(final["perplexity"])
    gpt = bertzoo.load_pretrained(tmp_path / "run" / "pretrained", seq_length=32)
    assert gpt.family == "gpt" and gpt.format == "bertzoo_gpt"
    generator = bertzoo.GPTGenerator(gpt.decoder, gpt.tokenizer, end_id=gpt.end_of_text_id)
    [continuation] = generator.generate(["The water cycle"], max_length=24)
    assert isinstance(continuation, str) and continuation


@pytest.mark.slow
def test_continued_pretraining_starts_from_the_checkpoint(tmp_path):
    first = causal_lm_pretrain.run(config="gpt2-tiny", output=str(tmp_path / "run"), steps=200, global_batch_size=16,
                                   seq_length=32, learning_rate=3e-3, vocab_size=300, strategy="cpu", log_every=200,
                                   checkpoint_every=200)
    again = causal_lm_pretrain.run(pretrained=str(tmp_path / "run" / "pretrained"), output=str(tmp_path / "more"),
                                   steps=10, global_batch_size=16, seq_length=32, learning_rate=1e-5, strategy="cpu",
                                   log_every=10, checkpoint_every=10)
    # Starting from the checkpoint (not from scratch): the perplexity is where the first run left it.
    assert again["perplexity"] < 1.1 * first["perplexity"] < 0.9 * first["unigram_perplexity"]


def test_causal_lm_train_step_compiles_with_xla(tmp_path):
    """The same three steps with and without jit_compile give the same losses."""
    from bertzoo.data.packed_sequences import packed_dataset
    from bertzoo.families.gpt.gpt_causal_lm import GPTCausalLM, causal_lm_loss_terms
    from bertzoo.training import Trainer, create_optimizer, resolve_strategy

    stream = np.random.default_rng(0).integers(0, 64, 8 * 16 + 1).astype(np.int32)
    inputs, labels = pack_windows(stream, 16)
    config = bertzoo.GPTConfig.preset("gpt2-tiny", vocab_size=64, hidden_dropout_prob=0.0,
                                      embedding_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    losses = []
    for jit_compile in (False, True):
        def build_model():
            model = GPTCausalLM(bertzoo.GPTDecoder.from_gpt_config(config))
            model.build()
            return model

        trainer = Trainer(resolve_strategy("cpu"), build_model, lambda: create_optimizer(1e-3, 3, 0),
                          causal_lm_loss_terms, global_batch_size=4, output_dir=tmp_path / str(jit_compile),
                          log_every=1, checkpoint_every=3, jit_compile=jit_compile, seed=1, verbose=False)
        trainer.train(packed_dataset(inputs, labels, 4, shuffle=False), 3)
        losses.append([entry["loss"] for entry in trainer.history])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
    assert len(losses[0]) == 3
