"""TextClassifier: the Keras task on raw strings for one text or a pair (single-label, multi-label, regression)."""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np

from bertzoo.models import fine_tuning_defaults as defaults
from bertzoo.models.bert_classifier import BertClassifier, classification_loss_terms, classification_metric_terms
from bertzoo.models.task import Task, as_string_array, family_task, load_bundle


def class_count(problem_type: str, num_classes: int | None, label_names: list[str] | None) -> int:
    """The head's width: 1 for regression, else ``num_classes`` or the number of ``label_names``."""
    if problem_type == "regression":
        return 1
    if num_classes is None:
        if not label_names:
            raise ValueError("give num_classes or label_names")
        return len(label_names)
    return num_classes


@keras.saving.register_keras_serializable(package="bertzoo")
class TextClassifier(Task):
    """A text classifier that takes raw strings and answers with labels and probabilities.

    ``x``: a sequence of strings, or for pairs a tuple ``(texts, text_pairs)`` (segment ids 0 and
    1). ``y``: class names or ids (single_label), multi-hot rows or lists of names (multi_label),
    floats (regression). ``predict`` gives one dict per input: ``label`` and ``probabilities``
    (single_label), ``labels`` and ``probabilities`` (multi_label) or ``score`` (regression).

    Args:
        network: a ``BertClassifier``.
        preprocessor: the checkpoint's preprocessor.
        label_names: class names, index = id (None for regression; ids as strings when not given).
        problem_type: None: the network's (``BertClassifier.problem_type``).

    On a GPT-1 model ``from_pretrained`` gives a ``GPTTextClassifier`` (``bertzoo.models.gpt_tasks``:
    GPT-1's input transformations and auxiliary LM loss) with the same ``fit``/``predict``.

    Example:
        >>> classifier = TextClassifier.from_pretrained("path/or/name", label_names=["neg", "pos"])
        >>> classifier.compile()
        >>> classifier.fit(["great food", "awful"], ["pos", "neg"])          # doctest: +SKIP
        >>> classifier.predict(["lovely staff"])[0]["label"]                 # doctest: +SKIP
        'pos'
    """

    def __init__(self, network: BertClassifier, preprocessor, label_names: list[str] | None = None,
                 pair: bool = False, problem_type: str | None = None, **kwargs):
        super().__init__(network, preprocessor, **kwargs)
        self.pair = bool(pair)
        self.problem_type = problem_type or network.problem_type
        if self.problem_type == "regression":
            label_names = None
        elif label_names is None:
            label_names = [str(i) for i in range(network.num_classes)]
        elif len(label_names) != network.num_classes:
            raise ValueError(f"{len(label_names)} label names for {network.num_classes} classes")
        self.label_names = None if label_names is None else [str(name) for name in label_names]
        self._label_ids = {name: i for i, name in enumerate(self.label_names or [])}
        self.monitor = ("val_loss", "min") if self.problem_type == "regression" else (
            ("val_accuracy", "max") if self.problem_type == "single_label" else ("val_label_accuracy", "max"))

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, *, num_classes: int | None = None,
                        label_names: list[str] | None = None, problem_type: str = "single_label",
                        seq_length: int = 128, dropout_rate: float = 0.1, pooling: str = "auto", pair: bool = False,
                        similarity: bool = False, lm_weight: float | None = None,
                        **load_options: Any) -> TextClassifier:
        """A classifier on a pretrained encoder (``bertzoo.load_pretrained``: a directory or a name);
        on a GPT-1 model, a ``GPTTextClassifier`` (GPT-1's fine-tuning).

        Args:
            num_classes: classes (or labels); taken from ``label_names`` when None; 1 for regression.
            label_names: class names in id order.
            problem_type: ``single_label``, ``multi_label`` or ``regression``.
            seq_length: tokens per example (a pair's two texts together).
            pair: whether it classifies text pairs (``x=(texts, text_pairs)``); set by ``fit`` too.
            pooling: ``auto`` (mean for sentence-transformers checkpoints, else the [CLS] pooler),
                ``pooler`` or ``mean``.
            similarity, lm_weight: GPT-1 only: classify pairs by both orders summed (similarity);
                the auxiliary LM loss's weight (None: 0.5).
        """
        num_classes = class_count(problem_type, num_classes, label_names)
        bert, directory = load_bundle(name_or_path, seq_length, task="TextClassifier", **load_options)
        own = family_task("TextClassifier", bert.family)
        if own is not None:  # a family with its own classifier (GPT-1's fine-tuning)
            return own.from_bundle(bert, num_classes=num_classes, label_names=label_names, problem_type=problem_type,
                                   seq_length=seq_length, dropout_rate=dropout_rate, pooling=pooling, pair=pair,
                                   similarity=similarity, lm_weight=lm_weight)
        if similarity or lm_weight is not None:
            raise ValueError(f"similarity and lm_weight are options of GPT-1's fine-tuning; this is a {bert.family} "
                             "model, which classifies a pair as one sequence and has no auxiliary LM loss")
        if pooling == "auto":
            pooling = defaults.checkpoint_pooling(directory)
        network = BertClassifier(bert.encoder, num_classes=num_classes, problem_type=problem_type,
                                 dropout_rate=dropout_rate, pooling=pooling)
        network.build()
        return cls(network, bert.preprocessor, label_names=label_names, pair=pair)

    def get_config(self):
        config = super().get_config()
        config.update(label_names=self.label_names, pair=self.pair)
        return config

    # -- data -----------------------------------------------------------------------------------------

    def _host_inputs(self, x):
        if isinstance(x, tuple) and len(x) == 2:
            self.pair = True
            return (as_string_array(x[0], "x[0] (texts)"), as_string_array(x[1], "x[1] (text pairs)"))
        return as_string_array(x, "x")

    def _preprocess(self, x):
        if isinstance(x, dict):  # a tf.data of {"text": ..., "text_pair": ...}
            x = (x["text"], x["text_pair"]) if "text_pair" in x else x["text"]
        return self.preprocessor(tuple(x) if isinstance(x, (tuple, list)) else x)

    def _host_labels(self, y):
        if self.problem_type == "regression":
            return np.asarray(y, np.float32).reshape(-1, 1)
        if self.problem_type == "multi_label":
            rows = [row for row in (y.to_numpy() if hasattr(y, "to_numpy") else y)]
            if rows and isinstance(rows[0], (list, tuple, set)) and all(isinstance(v, str) for r in rows for v in r):
                multi_hot = np.zeros((len(rows), len(self.label_names)), np.float32)
                for i, names in enumerate(rows):
                    for name in names:
                        multi_hot[i, self._label_id(name)] = 1.0
                return multi_hot
            return np.asarray(rows, np.float32)
        values = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
        if values.dtype.kind in "iu":
            ids = values.astype(np.int32)
        else:
            ids = np.asarray([self._label_id(v) for v in values], np.int32)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.label_names)):
            raise ValueError(f"y holds class ids outside 0..{len(self.label_names) - 1}")
        return ids

    def _label_id(self, name) -> int:
        key = name.decode() if isinstance(name, bytes) else str(name)
        if key not in self._label_ids:
            raise ValueError(f"y holds the label {key!r}, which is not one of the classifier's labels "
                             f"{self.label_names}")
        return self._label_ids[key]

    # -- objective ------------------------------------------------------------------------------------

    def default_loss(self):
        if self.problem_type == "single_label":
            return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if self.problem_type == "multi_label":
            return keras.losses.BinaryCrossentropy(from_logits=True)
        return keras.losses.MeanSquaredError()

    def default_metrics(self):
        if self.problem_type == "single_label":
            return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        if self.problem_type == "multi_label":
            return [keras.metrics.BinaryAccuracy(name="label_accuracy", threshold=0.0)]
        return [keras.metrics.MeanAbsoluteError(name="mean_absolute_error")]

    def loss_terms(self, labels, outputs) -> dict:
        """The trainer's loss: ``labels`` as ``training_dataset`` yields them, ``outputs`` = ``self(inputs)``."""
        targets = labels[:, 0] if self.problem_type == "regression" else labels
        return classification_loss_terms(self.problem_type)({"labels": targets}, {"logits": outputs})

    def metric_terms(self, labels, outputs) -> dict:
        targets = labels[:, 0] if self.problem_type == "regression" else labels
        return classification_metric_terms(self.problem_type)({"labels": targets}, {"logits": outputs})

    def to_finetuned(self):
        from bertzoo.models.finetuned import FinetunedModel

        task = {"single_label": "pair" if self.pair else "classify", "multi_label": "multilabel",
                "regression": "regression"}[self.problem_type]
        settings = {"text_column": "text", "text_pair_column": "text_pair" if self.pair else None,
                    "label_column": "label", "delimiter": None, "has_header": True, "label_separator": ",",
                    "dropout_rate": self.network.dropout_rate}
        return FinetunedModel(task=task, model=self.network, bert=self.pretrained_bundle(),
                              label_names=self.label_names, settings=settings)

    # -- answers --------------------------------------------------------------------------------------

    def decode(self, x, outputs) -> list[dict]:
        logits = np.asarray(outputs, np.float64)
        if self.problem_type == "regression":
            return [{"score": float(row[0])} for row in logits]
        if self.problem_type == "multi_label":
            probabilities = 1.0 / (1.0 + np.exp(-logits))
            return [{"labels": [n for n, p in zip(self.label_names, row) if p > 0.5],
                     "probabilities": dict(zip(self.label_names, map(float, row)))} for row in probabilities]
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=-1, keepdims=True)
        return [{"label": self.label_names[int(row.argmax())], "label_id": int(row.argmax()),
                 "probabilities": dict(zip(self.label_names, map(float, row)))} for row in probabilities]
