"""Small synthetic fine-tuning tasks that a tiny BERT learns in a few hundred steps, and a tiny
pretrained checkpoint to start from."""

from __future__ import annotations

import json
import pathlib

import numpy as np

import bertzoo
from bertzoo.text import Vocabulary
from bertzoo.families.bert import BertPreprocessor, WordPieceTokenizer

FILLER = ["the", "a", "day", "was", "it", "and", "then", "we", "saw", "some", "very", "really", "food", "place"]
NAMES = ["anna", "boris", "carla", "dmitri"]
PLACES = ["paris", "oslo", "lima", "quito"]
COLORS = ["red", "blue", "green"]
WORDS = FILLER + NAMES + PLACES + COLORS + ["good", "bad", "yes", "no", "what", "is", "code", "?", ".", "##s"]


def write_tiny_pretrained(directory: pathlib.Path, seq_length: int = 32) -> pathlib.Path:
    """A random-weight, dropout-free tiny BERT in bertzoo's format, with the vocabulary above."""
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    config = bertzoo.BertConfig(vocab_size=len(tokens), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=32, max_position_embeddings=64, hidden_dropout_prob=0.0,
                                attention_probs_dropout_prob=0.0, do_lower_case=True)
    tokenizer = WordPieceTokenizer(Vocabulary(tokens), lowercase=True)
    bert = bertzoo.PretrainedBert(config=config, encoder=bertzoo.BertEncoder.from_bert_config(config),
                                  tokenizer=tokenizer, preprocessor=BertPreprocessor(tokenizer, seq_length=seq_length))
    return bertzoo.save_pretrained(bert, directory)


def _filler(rng, n):
    return list(rng.choice(FILLER, n))


def write_classification(path: pathlib.Path, n: int, seed: int, kind: str) -> None:
    """TSV with a header. classify: good/bad decides; pair: 'yes'/'no' in the second text decides;
    regression: the count of 'good'; multilabel: which colours occur."""
    rng = np.random.default_rng(seed)
    header = ["sentence", "label"] if kind != "pair" else ["sentence1", "sentence2", "label"]
    rows = ["\t".join(header)]
    for _ in range(n):
        words = _filler(rng, 6)
        if kind == "classify":
            label = int(rng.integers(2))
            words.insert(int(rng.integers(0, 6)), "good" if label else "bad")
            rows.append(f"{' '.join(words)}\t{['neg', 'pos'][label]}")
        elif kind == "pair":
            label = int(rng.integers(2))
            second = _filler(rng, 4)
            second.insert(int(rng.integers(0, 4)), "yes" if label else "no")
            rows.append(f"{' '.join(words)}\t{' '.join(second)}\t{label}")
        elif kind == "regression":
            count = int(rng.integers(0, 4))
            for _ in range(count):
                words.insert(int(rng.integers(0, len(words))), "good")
            rows.append(f"{' '.join(words)}\t{count / 3:.3f}")
        else:
            present = [color for color in COLORS if rng.random() < 0.4] or [COLORS[int(rng.integers(3))]]
            for color in present:
                words.insert(int(rng.integers(0, len(words))), color)
            rows.append(f"{' '.join(words)}\t{','.join(present)}")
    path.write_text("\n".join(rows) + "\n")


def write_conll(path: pathlib.Path, n: int, seed: int) -> None:
    """Names are B-PER and places B-LOC; every other word is O."""
    rng = np.random.default_rng(seed)
    lines = ["-DOCSTART- O", ""]
    for _ in range(n):
        sentence = [(word, "O") for word in _filler(rng, 5)]
        sentence.insert(int(rng.integers(0, 5)), (str(rng.choice(NAMES)), "B-PER"))
        sentence.insert(int(rng.integers(0, 6)), (str(rng.choice(PLACES)), "B-LOC"))
        lines += [f"{word} {tag}" for word, tag in sentence] + [""]
    path.write_text("\n".join(lines) + "\n")


def write_squad(path: pathlib.Path, n: int, seed: int) -> None:
    """'... code is NAME ...' : the answer to 'what is code ?' is the name after 'is'."""
    rng = np.random.default_rng(seed)
    paragraphs = []
    for index in range(n):
        name = str(rng.choice(NAMES))
        before, after = " ".join(_filler(rng, int(rng.integers(1, 8)))), " ".join(_filler(rng, 4))
        context = f"{before} code is {name} . {after}"
        paragraphs.append({"context": context, "qas": [{
            "id": f"q{index}", "question": "what is code ?",
            "answers": [{"text": name, "answer_start": context.index(f" is {name}") + 4}]}]})
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]}))


def write_task_files(directory: pathlib.Path, task: str, n_train: int = 192, n_eval: int = 64) -> tuple[str, str]:
    """Train and eval files of ``task``; returns their paths."""
    suffix = {"squad": "json", "ner": "txt"}.get(task, "tsv")
    train, evaluation = directory / f"{task}_train.{suffix}", directory / f"{task}_eval.{suffix}"
    for path, n, seed in ((train, n_train, 1), (evaluation, n_eval, 2)):
        if task == "squad":
            write_squad(path, n, seed)
        elif task == "ner":
            write_conll(path, n, seed)
        else:
            write_classification(path, n, seed, task)
    return str(train), str(evaluation)
