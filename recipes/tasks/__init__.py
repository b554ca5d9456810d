"""The fine-tuning tasks behind `bertzoo finetune`, `evaluate` and `predict`.

Each task says how to read its files, turn examples into fixed-length model inputs on the host,
build the model, which loss the trainer minimises, how the official metric is computed, and what a
prediction looks like as a JSON line. The recipes run the same steps for every task.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import keras
import numpy as np
import tensorflow as tf

from bertzoo.data.batching import batched_dataset
from bertzoo.data.length_buckets import bucketed_training_dataset
from bertzoo.families.bert.pretrained_bert import PretrainedBert

CLASSIFICATION_TASKS = ("classify", "pair", "regression", "multilabel")
TASK_NAMES = CLASSIFICATION_TASKS + ("squad", "ner", "multiple_choice")


@dataclasses.dataclass
class Encoded:
    """Examples as model inputs: ``inputs`` (int32 ``[n, seq_length]`` arrays), ``labels`` (arrays
    with ``n`` rows, or None when unlabeled) and ``context`` (what decoding needs: SQuAD features,
    tagging alignments)."""

    inputs: dict[str, np.ndarray]
    labels: dict[str, np.ndarray] | None = None
    context: Any = None

    @property
    def num_rows(self) -> int:
        return len(self.inputs["input_word_ids"])


class Task(Protocol):
    """What every fine-tuning task provides (see the module docstring)."""

    name: str
    label_names: list[str] | None
    default_seq_length: int

    def settings(self) -> dict[str, Any]: ...
    def read(self, path: str, *, training: bool) -> Any: ...
    def parse_records(self, records: list[Any], source: str) -> Any: ...
    def encode(self, examples: Any, bert: PretrainedBert, *, training: bool) -> Encoded: ...
    def build_model(self, encoder: keras.Model) -> keras.Model: ...
    def loss_fn(self): ...
    def metrics_fn(self): ...
    def evaluate(self, examples: Any, encoded: Encoded, outputs: dict[str, np.ndarray]) -> dict[str, float]: ...
    def predictions(self, examples: Any, encoded: Encoded, outputs: dict[str, np.ndarray]) -> list[dict]: ...


def make_task(name: str, settings: dict[str, Any] | None = None, label_names: list[str] | None = None) -> Task:
    """The task called ``name`` with its settings (command-line options or a checkpoint's task.json)."""
    settings = dict(settings or {})
    if name in CLASSIFICATION_TASKS:
        from bertzoo.recipes.tasks.classification import ClassificationTask

        return ClassificationTask(name, label_names=label_names, **settings)
    if name == "squad":
        from bertzoo.recipes.tasks.squad import SquadTask

        return SquadTask(**settings)
    if name == "ner":
        from bertzoo.recipes.tasks.ner import NerTask

        return NerTask(label_names=label_names, **settings)
    if name == "multiple_choice":
        from bertzoo.recipes.tasks.multiple_choice import MultipleChoiceTask

        return MultipleChoiceTask(**settings)
    raise ValueError(f"unknown task {name!r}; expected one of {', '.join(TASK_NAMES)}")


def task_of_finetuned(finetuned: Any, overrides: dict[str, Any] | None = None) -> Task:
    """The task of a loaded fine-tuned model (BERT's or GPT's directory), with ``overrides`` of its settings.

    For a GPT model the task reads and scores files as usual but encodes with GPT-1's transformation."""
    settings = dict(finetuned.settings, **{k: v for k, v in (overrides or {}).items() if v is not None})
    task = make_task(finetuned.task, settings, finetuned.label_names)
    if getattr(finetuned.bert, "family", "bert") == "gpt":
        from bertzoo.recipes.gpt_finetune import GPTTask

        return GPTTask(task, finetuned.seq_length)
    return task


def training_dataset(encoded: Encoded, global_batch_size: int, seed: int,
                     length_buckets: tuple[int, ...] | None = None) -> tf.data.Dataset:
    """``(inputs, labels)`` reshuffled every epoch, repeated, in static ``global_batch_size`` batches;
    with ``length_buckets`` (widths), batches of similar lengths each cut to its bucket width."""
    if length_buckets:
        return bucketed_training_dataset(encoded.inputs, encoded.labels, batch_size=global_batch_size,
                                         widths=length_buckets, seed=seed)
    return batched_dataset(encoded.inputs, encoded.labels, batch_size=global_batch_size, training=True, seed=seed)
