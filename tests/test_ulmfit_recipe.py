"""ULMFiT end to end: the language model learns the embedded corpus beyond word frequencies, and the
three stages run from the command line."""

import collections
import json
import math

import keras
import numpy as np

from bertzoo.cli import main as cli_main
from bertzoo.families.awd_lstm import AwdLstmConfig
from bertzoo.recipes import ulmfit

CORPUS = [line for line in ulmfit.DEFAULT_CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def unigram_perplexity(windows: np.ndarray) -> float:
    """The perplexity of the targets under their own frequencies: what a model without context reaches."""
    targets = windows[:, 1:].ravel()
    counts = collections.Counter(targets.tolist())
    total = len(targets)
    return math.exp(-sum(c * math.log(c / total) for c in counts.values()) / total)


def test_language_model_pretraining_beats_the_unigram_baseline():
    config = AwdLstmConfig(vocab_size=8, embedding_size=64, hidden_size=128, num_layers=2)
    bundle, model = ulmfit.pretrain_from_scratch(CORPUS, [], config, epochs=8, learning_rate=1e-2, seq_length=32,
                                                 batch_size=32, seed=3, verbose=0)
    windows = ulmfit.language_model_windows(bundle.tokenizer, CORPUS, 32)
    untrained = ulmfit.language_model_of(
        ulmfit.PretrainedAwdLstm(config=bundle.config, encoder=ulmfit.AwdLstmEncoder.from_config_object(bundle.config),
                                 tokenizer=bundle.tokenizer, preprocessor=bundle.preprocessor))
    before = ulmfit.perplexity(untrained, windows)
    after = ulmfit.perplexity(model, windows)
    baseline = unigram_perplexity(windows)
    assert before > 0.8 * bundle.config.vocab_size  # an untrained model is close to uniform
    assert after < 0.85 * baseline < before, (before, baseline, after)


def test_the_three_stages_from_the_command_line(tmp_path):
    rng = np.random.default_rng(0)
    good, bad = ["great", "lovely", "superb"], ["awful", "dull", "poor"]
    rows = ["sentence\tlabel"]
    for _ in range(48):
        label = int(rng.integers(2))
        rows.append(f"the film was {rng.choice(good if label else bad)} and the cast\t{label}")
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "corpus.txt").write_text("\n".join(CORPUS[:200]) + "\n")
    out = tmp_path / "run"
    assert cli_main(["ulmfit", "--train", str(tmp_path / "train.tsv"), "--eval", str(tmp_path / "train.tsv"),
                     "--corpus", str(tmp_path / "corpus.txt"), "--output", str(out), "--size", "tiny",
                     "--pretrain-epochs", "1", "--lm-epochs", "1", "--classifier-epochs", "2",
                     "--seq-length", "16", "--global-batch-size", "16"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"pretrain_perplexity", "task_perplexity_before_lm_finetuning", "task_perplexity_after_lm_finetuning",
            "accuracy"} <= set(metrics)
    assert 0.0 <= metrics["accuracy"] <= 1.0
    classifier = keras.saving.load_model(out / "classifier.keras")
    assert classifier.layer_groups()[-1][-1].units == 2
    import bertzoo

    language_model = bertzoo.load_pretrained(out / "language_model", seq_length=16)
    assert language_model.family == "awd_lstm" and language_model.decoder_bias is not None
