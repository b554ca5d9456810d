"""MultipleChoice: the Keras task on raw strings that picks the right ending of a context (SWAG)."""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from bertzoo.models import fine_tuning_defaults as defaults
from bertzoo.models.bert_multiple_choice import (
    BertMultipleChoice,
    multiple_choice_loss_terms,
    multiple_choice_metric_terms,
)
from bertzoo.models.task import Task, as_string_array, family_task, load_bundle


@keras.saving.register_keras_serializable(package="bertzoo")
class MultipleChoice(Task):
    """Scores N endings of each context as N sequences ``[CLS] context [SEP] ending [SEP]`` and
    picks one: the BERT paper's SWAG setup.

    ``x``: a tuple ``(contexts, endings)``: ``contexts`` a sequence of strings, ``endings`` one row
    of ``num_choices`` strings per context (a list of lists, a ``[n, num_choices]`` array or a
    pandas DataFrame of the ending columns). ``y``: the index of the right ending. ``predict`` gives
    ``{"choice": index, "ending": text, "probabilities": [...]}`` per context.

    Args:
        network: a ``BertMultipleChoice``.
        preprocessor: the checkpoint's preprocessor; its ``seq_length`` is each sequence's length.

    On a GPT-1 model ``from_pretrained`` gives a ``GPTMultipleChoice`` (``bertzoo.models.gpt_tasks``:
    ``[start] context [delimiter] ending [classify]`` per ending, plus the auxiliary LM loss).

    Example:
        >>> chooser = MultipleChoice.from_pretrained("path/or/name", num_choices=4)
        >>> chooser.fit((contexts, endings), labels)                  # doctest: +SKIP
        >>> chooser.predict((["She opens the fridge."], [["and takes milk.", "...", "...", "..."]]))  # doctest: +SKIP
    """

    monitor = ("val_accuracy", "max")

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, *, num_choices: int = 4, seq_length: int = 128,
                        dropout_rate: float = 0.1, pooling: str = "auto", lm_weight: float | None = None,
                        **load_options: Any) -> MultipleChoice:
        """A multiple-choice model on a pretrained encoder (``bertzoo.load_pretrained``); on a GPT-1
        model, a ``GPTMultipleChoice`` (``lm_weight``: its auxiliary LM loss's weight, None: 0.5)."""
        bert, directory = load_bundle(name_or_path, seq_length, task="MultipleChoice", **load_options)
        own = family_task("MultipleChoice", bert.family)
        if own is not None:  # a family with its own multiple-choice model (GPT-1's fine-tuning)
            return own.from_bundle(bert, num_choices=num_choices, seq_length=seq_length, dropout_rate=dropout_rate,
                                   pooling=pooling, lm_weight=lm_weight)
        if lm_weight is not None:
            raise ValueError(f"lm_weight is an option of GPT-1's fine-tuning; a {bert.family} model has no "
                             "auxiliary LM loss")
        if pooling == "auto":
            pooling = defaults.checkpoint_pooling(directory)
        network = BertMultipleChoice(bert.encoder, num_choices=num_choices, dropout_rate=dropout_rate, pooling=pooling)
        network.build()
        return cls(network, bert.preprocessor)

    @property
    def num_choices(self) -> int:
        return self.network.num_choices

    def _host_inputs(self, x):
        if not (isinstance(x, tuple) and len(x) == 2):
            raise ValueError("x must be a tuple (contexts, endings), endings holding num_choices strings per context")
        contexts = as_string_array(x[0], "x[0] (contexts)")
        endings = x[1].to_numpy() if hasattr(x[1], "to_numpy") else x[1]
        endings = np.asarray([as_string_array(row, f"x[1][{i}] (endings)") for i, row in enumerate(endings)])
        if endings.ndim != 2 or endings.shape[1] != self.num_choices:
            raise ValueError(f"x[1] (endings) must hold {self.num_choices} strings per context, got shape "
                             f"{endings.shape}")
        return (contexts, endings)

    def _preprocess(self, x):
        contexts, endings = x
        repeated = tf.reshape(tf.repeat(tf.expand_dims(contexts, 1), self.num_choices, axis=1), [-1])
        packed = self.preprocessor((repeated, tf.reshape(endings, [-1])))
        return {name: tf.reshape(value, [-1, self.num_choices, self.seq_length]) for name, value in packed.items()}

    def _host_labels(self, y):
        labels = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y).astype(np.int32)
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_choices):
            raise ValueError(f"y holds ending indexes outside 0..{self.num_choices - 1}")
        return labels

    def default_loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def default_metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def loss_terms(self, labels, outputs) -> dict:
        return multiple_choice_loss_terms({"labels": labels}, {"logits": outputs})

    def metric_terms(self, labels, outputs) -> dict:
        return multiple_choice_metric_terms({"labels": labels}, {"logits": outputs})

    def to_finetuned(self):
        from bertzoo.models.finetuned import FinetunedModel

        return FinetunedModel(task="multiple_choice", model=self.network, bert=self.pretrained_bundle(),
                              settings={"dropout_rate": self.network.dropout_rate})

    def decode(self, x, outputs) -> list[dict]:
        logits = np.asarray(outputs, np.float64)
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=-1, keepdims=True)
        endings = None if isinstance(x, tf.data.Dataset) else self._host_inputs(x)[1]
        answers = []
        for row, p in enumerate(probabilities):
            choice = int(p.argmax())
            answer = {"choice": choice, "probabilities": [float(v) for v in p]}
            if endings is not None:
                answer["ending"] = str(endings[row, choice])
            answers.append(answer)
        return answers
