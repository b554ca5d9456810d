"""Shared material for the gate's tests: a tiny Google-format BERT release, and a clean environment."""

from __future__ import annotations

import json
import pathlib

import numpy as np

from bertzoo.families.bert.checkpoints.google_checkpoint import write_google_checkpoint
from checkpoint_factory import random_canonical_weights

# Lowercase only, so a directory load (casing inferred from the vocabulary) and a catalogue load
# (casing pinned by the entry) read it the same way.
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s", "a",
         "dog", ".", ",", "hello", "world", "!", "is", "big", "small", "##er", "run", "##ning", "and",
         "or", "it", "was", "good", "day"]
TINY_CONFIG = dict(vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=16, max_position_embeddings=16, type_vocab_size=2, hidden_act="gelu",
                   hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, initializer_range=0.02)
TEXTS = ["The cat sat on the mat.", "hello world, the dogs are running!"]
ENVIRONMENT = ("BERTZOO_HOME", "BERTZOO_OFFLINE", "BERTZOO_MIRROR", "BERTZOO_MODELS", "KERAS_HOME")


def write_google_release(directory: pathlib.Path, tokens: list[str] = VOCAB, seed: int = 0) -> pathlib.Path:
    """A tiny random BERT in the layout of Google's zips: bert_config.json, bert_model.ckpt.*, vocab.txt."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = random_canonical_weights(num_layers=2, hidden=8, intermediate=16, vocab=len(tokens),
                                       max_positions=16, seed=seed)
    (directory / "bert_config.json").write_text(json.dumps(dict(TINY_CONFIG, vocab_size=len(tokens))))
    write_google_checkpoint(weights, directory / "bert_model.ckpt")
    (directory / "vocab.txt").write_text("".join(token + "\n" for token in tokens), encoding="utf-8")
    return directory


def clean_environment(monkeypatch, home: pathlib.Path) -> None:
    """The gate's variables unset, its cache in ``home``, quick retries, no proxy for 127.0.0.1."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BERTZOO_HOME", str(home))
    monkeypatch.setenv("BERTZOO_RETRY_BACKOFF", "0.01")
    monkeypatch.setenv("BERTZOO_DOWNLOAD_RETRIES", "3")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def encode(bert, texts=TEXTS) -> np.ndarray:
    return np.asarray(bert.encoder(bert.preprocessor(texts))["sequence_output"])
