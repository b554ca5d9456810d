"""Sentence(-pair) classification examples -> packed model inputs and label arrays."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bertzoo.data.batching import batched_dataset
from bertzoo.data.task_readers import TextClassificationData
from bertzoo.families.bert.bert_preprocessor import BertPreprocessor

_CHUNK = 1024  # texts per preprocessor call


def encode_texts(preprocessor: BertPreprocessor, texts: list[str],
                 text_pairs: list[str] | None = None) -> dict[str, np.ndarray]:
    """Raw texts (or pairs: segment ids 0/1) -> int32 ``[n, seq_length]`` inputs, on the host, in chunks."""
    if text_pairs is not None and len(text_pairs) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(text_pairs)} text pairs")
    parts = []
    for start in range(0, len(texts), _CHUNK):
        batch = tf.constant(texts[start:start + _CHUNK])
        if text_pairs is not None:
            batch = (batch, tf.constant(text_pairs[start:start + _CHUNK]))
        parts.append({name: value.numpy() for name, value in preprocessor(batch).items()})
    if not parts:
        raise ValueError("no texts to encode")
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def text_classification_dataset(data: TextClassificationData, preprocessor: BertPreprocessor, *, batch_size: int,
                                training: bool, seed: int | None = None) -> tf.data.Dataset:
    """``read_text_classification``'s examples as a batched dataset of ``(inputs, {"labels": ...})``
    (see ``batched_dataset``: training batches are shuffled, repeated and of static size).

    Example:
        >>> data = read_text_classification("SST-2/train.tsv", text_column="sentence", label_column="label")
        >>> dataset = text_classification_dataset(data, bert.preprocessor, batch_size=32, training=True)
    """
    inputs = encode_texts(preprocessor, data.texts, data.text_pairs)
    labels = None if data.labels is None else {"labels": data.labels}
    return batched_dataset(inputs, labels, batch_size=batch_size, training=training, seed=seed)
