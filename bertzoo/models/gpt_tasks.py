"""GPT-1's fine-tuning as Keras tasks on raw strings: ``GPTTextClassifier`` and ``GPTMultipleChoice``.

``TextClassifier.from_pretrained`` / ``MultipleChoice.from_pretrained`` give these on a GPT-1 model
(``bertzoo.models.task.FAMILY_TASKS``). They keep the tasks' raw-string ``fit``/``evaluate``/``predict``,
``compile()`` defaults, answers and ``.keras`` round trip, and change what GPT-1 does differently
(Radford et al. 2018, section 3.3), with the same pieces as ``bertzoo finetune --pretrained <gpt model>``:

- the inputs: GPT-1's transformations (``bertzoo.models.gpt_task_inputs``), run on the host in the
  ``tf.data`` pipeline: one text -> ``classification``; a pair ``(texts, text_pairs)`` -> ``entailment``,
  or with ``similarity=True`` both orders, whose representations the head sums; multiple choice ->
  ``[start] context [delimiter] ending [classify]`` per ending;
- the network: ``GPTTaskModel`` (a linear head on the classify token's hidden state);
- the objective: the task's loss (the compiled one) plus ``lm_weight`` (0.5) x the auxiliary
  language-model loss of the batch (``GPTTaskModel``'s ``lm_loss``), in ``fit`` and ``evaluate``;
  ``loss_terms`` is ``gpt_task_loss_terms`` for the bertzoo trainer.

GPT-1 has no multi-label head, span question answering or token tagging here (a ValueError says so);
GPT-2 has no start/delimiter/classify tokens, so it has none of GPT-1's transformations.
"""

from __future__ import annotations

import os
import types
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from bertzoo.models.bert_classifier import classification_metric_terms
from bertzoo.models.bert_multiple_choice import multiple_choice_metric_terms
from bertzoo.models.gpt_task_inputs import transform
from bertzoo.models.gpt_task_model import LM_WEIGHT, GPTTaskModel, gpt_task_loss_terms
from bertzoo.models.multiple_choice import MultipleChoice
from bertzoo.models.task import AUTO
from bertzoo.models.text_classifier import TextClassifier, class_count

GPT1_LEARNING_RATE = 6.25e-5  # the paper's fine-tuning rate (compile(paper_defaults=True))
GPT1_WARMUP_FRACTION = 0.002  # warmup over 0.2% of training
PROBLEM_TYPES = ("single_label", "regression")
_SEQUENCES = {"classification": 1, "entailment": 1, "similarity": 2}


def check_gpt1(bundle, task: str) -> None:
    """A ValueError unless ``bundle`` is a GPT model with GPT-1's special tokens and a tokenizer."""
    config = bundle.config
    if config.variant != "gpt1" or not config.special_token_ids:
        raise ValueError(f"{task} on gpt models is GPT-1's fine-tuning, whose inputs are framed by its start, "
                         f"delimiter and classify tokens; this {config.variant} model has none (num_special_tokens "
                         f"{config.num_special_tokens}). Supported: GPT-1 checkpoints (gpt1, hf-openai-gpt)")
    if bundle.tokenizer is None:
        raise ValueError(f"{task}: the gpt model in {bundle.source or 'this directory'} has no tokenizer files; "
                         "the task needs them to read raw strings")


@keras.saving.register_keras_serializable(package="bertzoo")
class GPTTaskPreprocessor(keras.layers.Layer):
    """GPT-1's input transformations as a task's preprocessor: raw strings -> ``input_word_ids`` /
    ``input_mask`` ``[batch, sequences, seq_length]`` (``gpt_task_inputs.transform``, on the host
    through ``tf.py_function``). Saved with its task: the settings in its config, the tokenizer's
    ``encoder.json`` / ``vocab.bpe`` as the layer's assets.

    Args:
        tokenizer: a ``GPT1Tokenizer`` (None until ``load_assets`` when loaded from a ``.keras`` file).
        seq_length: tokens per sequence.
        start_id, delimiter_id, classify_id: GPT-1's special token ids (the model's config's).
        ftfy_normalization: the tokenizer's setting, kept for loading it again.
    """

    def __init__(self, tokenizer=None, seq_length: int = 128, start_id: int = 0, delimiter_id: int = 0,
                 classify_id: int = 0, ftfy_normalization: str | None = "NFKC", **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.tokenizer = tokenizer
        self.seq_length = int(seq_length)
        self.start_id, self.delimiter_id, self.classify_id = int(start_id), int(delimiter_id), int(classify_id)
        self.ftfy_normalization = getattr(tokenizer, "ftfy_normalization", ftfy_normalization)
        self.built = True

    @classmethod
    def from_bundle(cls, bundle, seq_length: int) -> GPTTaskPreprocessor:
        special = bundle.config.special_token_ids
        return cls(bundle.tokenizer, seq_length=seq_length, start_id=special["start"],
                   delimiter_id=special["delimiter"], classify_id=special["classify"])

    def transform(self, transformation: str, **parts) -> dict[str, np.ndarray]:
        """``gpt_task_inputs.transform`` with this model's tokenizer, special ids and length."""
        if self.tokenizer is None:
            raise RuntimeError("GPTTaskPreprocessor has no tokenizer (a .keras file is read by keras.saving.load_model)")
        config = types.SimpleNamespace(special_token_ids={"start": self.start_id, "delimiter": self.delimiter_id,
                                                          "classify": self.classify_id})
        return transform(self.tokenizer, transformation, self.seq_length, config=config, **parts)

    def call(self, inputs, transformation: str = "classification"):
        """``inputs``: texts (classification); ``(texts, text_pairs)`` (entailment, similarity);
        ``(contexts, endings [batch, choices])`` (multiple_choice)."""
        columns = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
        columns = [tf.convert_to_tensor(column, tf.string) for column in columns]
        if len(columns) != (1 if transformation == "classification" else 2):
            raise ValueError(f"GPT-1's {transformation} transformation takes "
                             f"{'one text' if transformation == 'classification' else 'two columns'} per row, "
                             f"got {len(columns)}")
        sequences = _SEQUENCES.get(transformation) or columns[1].shape[-1]

        def encode(*tensors):
            strings = [tensor.numpy() for tensor in tensors]
            texts = [text.decode("utf-8") for text in strings[0].reshape([-1])]
            if not texts:
                empty = np.zeros((0, sequences or 1, self.seq_length), np.int32)
                return empty, empty
            parts = {}
            if transformation == "multiple_choice":
                parts["choices"] = [[ending.decode("utf-8") for ending in row] for row in strings[1]]
            elif transformation != "classification":
                parts["text_pairs"] = [text.decode("utf-8") for text in strings[1].reshape([-1])]
            packed = self.transform(transformation, texts=texts, **parts)
            return packed["input_word_ids"], packed["input_mask"]

        word_ids, mask = tf.py_function(encode, columns, (tf.int32, tf.int32))
        word_ids.set_shape([None, sequences, self.seq_length])
        mask.set_shape([None, sequences, self.seq_length])
        return {"input_word_ids": word_ids, "input_mask": mask}

    def get_config(self):
        config = super().get_config()
        config.update(seq_length=self.seq_length, start_id=self.start_id, delimiter_id=self.delimiter_id,
                      classify_id=self.classify_id, ftfy_normalization=self.ftfy_normalization)
        return config

    def save_assets(self, dir_path):
        from bertzoo.families.gpt.bpe_vocabulary import write_bpe_files

        write_bpe_files(self.tokenizer.encoder, self.tokenizer.merges, dir_path)

    def load_assets(self, dir_path):
        from bertzoo.families.gpt.gpt1_tokenizer import GPT1Tokenizer

        self.tokenizer = GPT1Tokenizer.from_files(os.path.join(dir_path, "encoder.json"),
                                                  os.path.join(dir_path, "vocab.bpe"),
                                                  ftfy_normalization=self.ftfy_normalization)


class _GPTTask:
    """What GPT-1's fine-tuning changes in a ``Task`` (mixed in before the task class): the network
    answers ``{"logits", "lm_loss"}``; the compiled loss and metrics read the logits, and
    ``lm_weight`` x the batch's mean LM loss is added to the loss."""

    lm_weight: float

    def compile(self, optimizer: Any = AUTO, loss: Any = AUTO, metrics: Any = AUTO, *,
                learning_rate: float | None = None, warmup_fraction: float | None = None,
                paper_defaults: bool = False, lm_weight: float | None = None, **kwargs):
        """``Task.compile``; ``paper_defaults=True`` gives GPT-1's lr 6.25e-5 with warmup over 0.2% of
        the steps (3 epochs, batch 32). ``lm_weight``: replaces the auxiliary LM loss's weight."""
        if lm_weight is not None:
            self.lm_weight = float(lm_weight)
        if paper_defaults and learning_rate is None:
            learning_rate = GPT1_LEARNING_RATE
        if warmup_fraction is None:
            warmup_fraction = GPT1_WARMUP_FRACTION if paper_defaults else 0.1
        super().compile(optimizer, loss, metrics, learning_rate=learning_rate, warmup_fraction=warmup_fraction,
                        paper_defaults=paper_defaults, **kwargs)

    def _select(self, outputs):
        return {"logits": outputs["logits"], "lm_loss": outputs["lm_loss"]}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x, y, y_pred["logits"], sample_weight, training=training)
        if self.lm_weight:
            lm_term = self.lm_weight * ops.mean(ops.cast(y_pred["lm_loss"], "float32"))
            # Per replica, as Keras scales the compiled loss under tf.distribute (its gradients are summed).
            lm_term = lm_term / tf.distribute.get_strategy().num_replicas_in_sync
            loss = loss + ops.cast(lm_term, loss.dtype)
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, y, y_pred["logits"], sample_weight)

    def predict_outputs(self, x, batch_size: int | None = None, **kwargs):
        """The logits for raw ``x`` (the network's ``lm_loss`` left out)."""
        return super().predict_outputs(x, batch_size=batch_size, **kwargs)["logits"]

    def to_finetuned(self):
        raise NotImplementedError(f"{type(self).__name__} has no fine-tuned directory format: save it with "
                                  ".save('name.keras') (keras.saving.load_model reads it), or fine-tune with "
                                  "`bertzoo finetune --pretrained <gpt model>` for a directory `bertzoo predict` reads")


def _check_problem_type(problem_type: str) -> None:
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"problem_type {problem_type!r} is not available for gpt models: GPT-1's fine-tuning here "
                         f"covers {' and '.join(PROBLEM_TYPES)} (multi_label needs a BERT-style encoder)")


def _check_options(task: str, pooling: str, lm_weight: float | None) -> float:
    if pooling not in (AUTO, "classify_token"):
        raise ValueError(f"pooling={pooling!r} does not apply to {task} on a gpt model: GPT-1's head reads the "
                         "hidden state at its classify token")
    return LM_WEIGHT if lm_weight is None else float(lm_weight)


@keras.saving.register_keras_serializable(package="bertzoo")
class GPTTextClassifier(_GPTTask, TextClassifier):
    """``TextClassifier`` on GPT-1: ``x`` texts (``[start] text [classify]``) or pairs
    ``(texts, text_pairs)`` (``[start] a [delimiter] b [classify]``; with ``similarity=True`` also
    ``[start] b [delimiter] a [classify]``, the two representations summed). ``problem_type``:
    ``single_label`` or ``regression``. ``predict`` answers as ``TextClassifier``.

    Args:
        network: a ``GPTTaskModel`` (``classification``, ``entailment`` or ``similarity``).
        preprocessor: a ``GPTTaskPreprocessor``.
        label_names, pair: as ``TextClassifier``.
        problem_type: ``single_label`` or ``regression``.
        similarity: pairs are read in both orders (the network's transformation is ``similarity``).
        lm_weight: the auxiliary LM loss's weight in the loss (0.5; 0 leaves it out).

    Example:
        >>> classifier = TextClassifier.from_pretrained("gpt1", label_names=["neg", "pos"])  # doctest: +SKIP
        >>> classifier.compile()                                                            # doctest: +SKIP
        >>> classifier.fit(["great food", "awful"], ["pos", "neg"])                          # doctest: +SKIP
    """

    def __init__(self, network: GPTTaskModel, preprocessor: GPTTaskPreprocessor, label_names: list[str] | None = None,
                 pair: bool = False, problem_type: str = "single_label", similarity: bool = False,
                 lm_weight: float = LM_WEIGHT, **kwargs):
        _check_problem_type(problem_type)
        if network.transformation == "multiple_choice":
            raise ValueError("a GPTTextClassifier needs a GPTTaskModel for classification, entailment or similarity; "
                             "for multiple_choice use GPTMultipleChoice (MultipleChoice.from_pretrained)")
        similarity = bool(similarity) or network.transformation == "similarity"
        super().__init__(network, preprocessor, label_names=label_names, pair=bool(pair) or similarity,
                         problem_type=problem_type, **kwargs)
        self.similarity = similarity
        self.lm_weight = float(lm_weight)

    @classmethod
    def from_bundle(cls, bundle, *, num_classes: int | None = None, label_names: list[str] | None = None,
                    problem_type: str = "single_label", seq_length: int = 128, dropout_rate: float = 0.1,
                    pooling: str = AUTO, pair: bool = False, similarity: bool = False,
                    lm_weight: float | None = None) -> GPTTextClassifier:
        """A classifier on a loaded GPT-1 bundle (``TextClassifier.from_pretrained`` calls this)."""
        check_gpt1(bundle, "TextClassifier")
        lm_weight = _check_options("TextClassifier", pooling, lm_weight)
        _check_problem_type(problem_type)
        num_classes = class_count(problem_type, num_classes, label_names)
        transformation = "similarity" if similarity else ("entailment" if pair else "classification")
        network = GPTTaskModel(bundle.decoder, transformation, num_classes=num_classes, dropout_rate=dropout_rate)
        network.build()
        return cls(network, GPTTaskPreprocessor.from_bundle(bundle, seq_length), label_names=label_names, pair=pair,
                   problem_type=problem_type, similarity=similarity, lm_weight=lm_weight)

    def get_config(self):
        config = super().get_config()
        config.update(problem_type=self.problem_type, similarity=self.similarity, lm_weight=self.lm_weight)
        return config

    def _host_inputs(self, x):
        inputs = super()._host_inputs(x)
        if self.similarity and not isinstance(inputs, tuple):
            raise ValueError("this classifier reads pairs in both orders (similarity=True): x must be a pair "
                             "(texts, text_pairs)")
        return inputs

    def _preprocess(self, x):
        if isinstance(x, dict):  # a tf.data of {"text": ..., "text_pair": ...}
            x = (x["text"], x["text_pair"]) if "text_pair" in x else x["text"]
        if isinstance(x, (tuple, list)):
            return self.preprocessor(tuple(x), transformation="similarity" if self.similarity else "entailment")
        if self.similarity:
            raise ValueError("similarity=True: x must be a pair (texts, text_pairs)")
        return self.preprocessor(x, transformation="classification")

    def loss_terms(self, labels, outputs) -> dict:
        """The trainer's loss: ``gpt_task_loss_terms`` (the task's loss + ``lm_weight`` x the LM loss)."""
        return gpt_task_loss_terms(self.problem_type, self.lm_weight)({"labels": labels}, outputs)

    def metric_terms(self, labels, outputs) -> dict:
        targets = labels[:, 0] if self.problem_type == "regression" else labels
        return classification_metric_terms(self.problem_type)({"labels": targets}, {"logits": outputs["logits"]})


@keras.saving.register_keras_serializable(package="bertzoo")
class GPTMultipleChoice(_GPTTask, MultipleChoice):
    """``MultipleChoice`` on GPT-1: each ending read as ``[start] context [delimiter] ending [classify]``,
    one score per ending, a softmax over them. ``x``, ``y`` and ``predict`` as ``MultipleChoice``.

    Args:
        network: a ``GPTTaskModel`` with the ``multiple_choice`` transformation.
        preprocessor: a ``GPTTaskPreprocessor``.
        num_choices: endings per context.
        lm_weight: the auxiliary LM loss's weight in the loss (0.5; 0 leaves it out).
    """

    def __init__(self, network: GPTTaskModel, preprocessor: GPTTaskPreprocessor, num_choices: int = 4,
                 lm_weight: float = LM_WEIGHT, **kwargs):
        if network.transformation != "multiple_choice":
            raise ValueError(f"a GPTMultipleChoice needs a GPTTaskModel for multiple_choice, got "
                             f"{network.transformation!r}")
        super().__init__(network, preprocessor, **kwargs)
        self._num_choices = int(num_choices)
        self.lm_weight = float(lm_weight)

    @classmethod
    def from_bundle(cls, bundle, *, num_choices: int = 4, seq_length: int = 128, dropout_rate: float = 0.1,
                    pooling: str = AUTO, lm_weight: float | None = None) -> GPTMultipleChoice:
        """A multiple-choice model on a loaded GPT-1 bundle (``MultipleChoice.from_pretrained`` calls this)."""
        check_gpt1(bundle, "MultipleChoice")
        lm_weight = _check_options("MultipleChoice", pooling, lm_weight)
        network = GPTTaskModel(bundle.decoder, "multiple_choice", dropout_rate=dropout_rate)
        network.build()
        return cls(network, GPTTaskPreprocessor.from_bundle(bundle, seq_length), num_choices=num_choices,
                   lm_weight=lm_weight)

    @property
    def num_choices(self) -> int:
        return self._num_choices

    def get_config(self):
        config = super().get_config()
        config.update(num_choices=self.num_choices, lm_weight=self.lm_weight)
        return config

    def _preprocess(self, x):
        contexts, endings = x
        return self.preprocessor((contexts, endings), transformation="multiple_choice")

    def loss_terms(self, labels, outputs) -> dict:
        """The trainer's loss: ``gpt_task_loss_terms`` (softmax over the endings + ``lm_weight`` x the LM loss)."""
        return gpt_task_loss_terms("single_label", self.lm_weight)({"labels": labels}, outputs)

    def metric_terms(self, labels, outputs) -> dict:
        return multiple_choice_metric_terms({"labels": labels}, {"logits": outputs["logits"]})
