"""`bertzoo feature-ner --glove DIR`: the static-vector row beside BERT's, on a synthetic CoNLL task
whose names and places have vectors that tell them apart."""

from __future__ import annotations

import json

import numpy as np

from bertzoo.cli import main as cli_main
from bertzoo.families.word_vectors.glove_text import write_glove_text
from bertzoo.families.word_vectors.vector_table import VectorTable
from finetune_data import NAMES, PLACES, WORDS, write_conll, write_tiny_pretrained


def test_glove_row_tags_from_static_vectors(tmp_path):
    pretrained = write_tiny_pretrained(tmp_path / "bert")
    words = sorted({word.lower() for word in WORDS if not word.startswith("##")})
    rng = np.random.default_rng(0)
    vectors = rng.normal(scale=0.1, size=(len(words), 8)).astype(np.float32)
    for row, word in enumerate(words):
        vectors[row, 0] += 1.0 if word in {n.lower() for n in NAMES} else 0.0
        vectors[row, 1] += 1.0 if word in {p.lower() for p in PLACES} else 0.0
    glove = tmp_path / "glove"
    glove.mkdir()
    write_glove_text(glove / "vectors.txt", VectorTable(words, vectors))
    write_conll(tmp_path / "train.txt", 96, seed=1)
    write_conll(tmp_path / "eval.txt", 32, seed=2)
    out = tmp_path / "run"
    assert cli_main(["feature-ner", "--pretrained", str(pretrained), "--train", str(tmp_path / "train.txt"),
                     "--eval", str(tmp_path / "eval.txt"), "--output", str(out), "--layers", "last",
                     "--glove", str(glove), "--finetune-epochs", "0", "--epochs", "12", "--lstm-units", "16",
                     "--learning-rate", "1e-2", "--global-batch-size", "16", "--seq-length", "32",
                     "--strategy", "cpu"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    row = metrics["strategies"]["glove"]
    assert row["dim"] == 8 and metrics["settings"]["glove"] == str(glove)
    assert row["f1"] > 0.8, row  # names and places are separable in the vectors alone
    assert "| glove | 8 |" in (out / "table.md").read_text()
