"""Sentence and sentence-pair tasks: classify, pair, regression, multilabel (GLUE-style files)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from bertzoo.data.task_readers import TextClassificationData, read_text_classification
from bertzoo.families.bert.pretrained_bert import PretrainedBert
from bertzoo.metrics import classification_metrics as metrics
from bertzoo.models.bert_classifier import BertClassifier, classification_loss_terms, classification_metric_terms
from bertzoo.data.text_classification_data import encode_texts
from bertzoo.recipes.tasks import Encoded

PROBLEM_TYPES = {"classify": "single_label", "pair": "single_label", "regression": "regression",
                 "multilabel": "multi_label"}


class ClassificationTask:
    """``classify`` (one text), ``pair`` (two texts, segment ids 0/1), ``regression`` (a score, one
    text or two) and ``multilabel`` (several labels per text, a sigmoid each).

    Args:
        name: one of ``PROBLEM_TYPES``.
        label_names: the classes (index = id); None: collected from the training file.
        text_column, text_pair_column, label_column: header names (keys in .jsonl) or indexes.
        delimiter, has_header, label_separator: as ``read_text_classification``.
        dropout_rate: dropout on the pooled output.
        pooling: the sentence vector: ``pooler`` ([CLS] pooler) or ``mean`` (sentence-transformers).
    """

    default_seq_length = 128

    def __init__(self, name: str, label_names: list[str] | None = None, *, text_column: Any = "sentence",
                 text_pair_column: Any = None, label_column: Any = "label", delimiter: str | None = None,
                 has_header: bool = True, label_separator: str = ",", dropout_rate: float = 0.1,
                 pooling: str = "pooler"):
        if name not in PROBLEM_TYPES:
            raise ValueError(f"unknown classification task {name!r}")
        if name == "pair" and text_pair_column is None:
            raise ValueError("task 'pair' needs a second text column (--text-pair-column)")
        self.name = name
        self.problem_type = PROBLEM_TYPES[name]
        self.label_names = None if name == "regression" else label_names
        self.text_column = text_column
        self.text_pair_column = text_pair_column
        self.label_column = label_column
        self.delimiter = delimiter
        self.has_header = has_header
        self.label_separator = label_separator
        self.dropout_rate = dropout_rate
        self.pooling = pooling

    def settings(self) -> dict[str, Any]:
        return {"text_column": self.text_column, "text_pair_column": self.text_pair_column,
                "label_column": self.label_column, "delimiter": self.delimiter, "has_header": self.has_header,
                "label_separator": self.label_separator, "dropout_rate": self.dropout_rate,
                "pooling": self.pooling}

    # -- data ------------------------------------------------------------------------------------

    def read(self, path: str, *, training: bool) -> TextClassificationData:
        data = read_text_classification(
            path, text_column=self.text_column, text_pair_column=self.text_pair_column,
            label_column=self.label_column, label_names=self.label_names, delimiter=self.delimiter,
            has_header=self.has_header, regression=self.problem_type == "regression",
            multilabel=self.problem_type == "multi_label", label_separator=self.label_separator)
        if training and self.problem_type != "regression":
            if data.label_names is None or len(data.label_names) < 2:
                raise ValueError(f"{path}: a classifier needs at least 2 labels, found {data.label_names}")
            self.label_names = list(data.label_names)
        return data

    def parse_records(self, records: list[Any], source: str) -> TextClassificationData:
        """Prediction input: plain strings, or JSON objects with ``text`` (and ``text_pair``), or the
        task's column names as keys."""
        texts, pairs = [], []
        for number, record in enumerate(records, start=1):
            if isinstance(record, str):
                if self.text_pair_column is not None:
                    raise ValueError(f"{source}, line {number}: task {self.name!r} takes two texts: give a JSON "
                                     'object {"text": ..., "text_pair": ...}')
                texts.append(record)
                continue
            text = _first_key(record, ("text", self.text_column), source, number)
            texts.append(text)
            if self.text_pair_column is not None:
                pairs.append(_first_key(record, ("text_pair", self.text_pair_column), source, number))
        return TextClassificationData(texts, pairs if self.text_pair_column is not None else None, None,
                                      self.label_names)

    def encode(self, examples: TextClassificationData, bert: PretrainedBert, *, training: bool) -> Encoded:
        inputs = encode_texts(bert.preprocessor, examples.texts, examples.text_pairs)
        labels = None if examples.labels is None else {"labels": examples.labels}
        return Encoded(inputs, labels)

    # -- model -----------------------------------------------------------------------------------

    def build_model(self, encoder: keras.Model) -> BertClassifier:
        num_classes = 1 if self.problem_type == "regression" else len(self.label_names)
        return BertClassifier(encoder, num_classes=num_classes, problem_type=self.problem_type,
                              dropout_rate=self.dropout_rate, pooling=self.pooling)

    def loss_fn(self):
        return classification_loss_terms(self.problem_type)

    def metrics_fn(self):
        return classification_metric_terms(self.problem_type)

    # -- results ---------------------------------------------------------------------------------

    def evaluate(self, examples: TextClassificationData, encoded: Encoded, outputs: dict) -> dict[str, float]:
        if examples.labels is None:
            raise ValueError("evaluation needs a labelled file (the label column is missing)")
        logits = outputs["logits"]
        if self.problem_type == "regression":
            scores = logits[:, 0]
            return {"pearson": metrics.pearson(scores, examples.labels),
                    "spearman": metrics.spearman(scores, examples.labels),
                    "mean_squared_error": float(np.mean((scores - examples.labels) ** 2))}
        if self.problem_type == "multi_label":
            predicted = (logits > 0).astype(np.int64)
            gold = examples.labels.astype(np.int64)
            per_label = [metrics.f1(predicted[:, i], gold[:, i]) for i in range(gold.shape[1])]
            return {"micro_f1": metrics.f1(predicted.ravel(), gold.ravel()), "macro_f1": float(np.mean(per_label)),
                    "exact_match": float(np.mean(np.all(predicted == gold, axis=1)))}
        predicted = logits.argmax(-1)
        binary = len(self.label_names) == 2
        return {"accuracy": metrics.accuracy(predicted, examples.labels),
                ("f1" if binary else "macro_f1"): metrics.f1(predicted, examples.labels,
                                                             average="binary" if binary else "macro"),
                "matthews_corrcoef": metrics.matthews_corrcoef(predicted, examples.labels)}

    def predictions(self, examples: TextClassificationData, encoded: Encoded, outputs: dict) -> list[dict]:
        logits = outputs["logits"].astype(np.float64)
        lines = []
        for row, text in enumerate(examples.texts):
            line: dict[str, Any] = {"text": text}
            if examples.text_pairs is not None:
                line["text_pair"] = examples.text_pairs[row]
            if self.problem_type == "regression":
                line["score"] = float(logits[row, 0])
            elif self.problem_type == "multi_label":
                probabilities = 1.0 / (1.0 + np.exp(-logits[row]))
                line["labels"] = [name for name, p in zip(self.label_names, probabilities) if p > 0.5]
                line["probabilities"] = {name: float(p) for name, p in zip(self.label_names, probabilities)}
            else:
                shifted = np.exp(logits[row] - logits[row].max())
                probabilities = shifted / shifted.sum()
                best = int(probabilities.argmax())
                line["label"] = self.label_names[best]
                line["label_id"] = best
                line["probabilities"] = {name: float(p) for name, p in zip(self.label_names, probabilities)}
            if examples.labels is not None:
                gold = examples.labels[row]
                if self.problem_type == "regression":
                    line["gold"] = float(gold)
                elif self.problem_type == "multi_label":
                    line["gold"] = [name for name, flag in zip(self.label_names, gold) if flag]
                else:
                    line["gold"] = self.label_names[int(gold)]
            lines.append(line)
        return lines


def _first_key(record: Any, keys: tuple, source: str, number: int) -> str:
    if not isinstance(record, dict):
        raise ValueError(f"{source}, line {number}: expected a string or a JSON object, got {type(record).__name__}")
    for key in keys:
        if key is not None and str(key) in record:
            value = record[str(key)]
            if not isinstance(value, str):
                raise ValueError(f"{source}, line {number}: field {key!r} should be a string, got {value!r:.60}")
            return value
    raise ValueError(f"{source}, line {number}: no field {' or '.join(repr(k) for k in keys if k is not None)} "
                     f"in {sorted(record)}")
