"""``saved_model``: a fine-tuned model as a TF Serving SavedModel that takes raw text.

Writes ``export_dir/<version>/``, the layout TF Serving watches (it serves the highest version):
- signature ``serving_default``: raw strings in (``text``; ``text`` and ``text_pair`` for pair
  tasks; ``question`` and ``context`` for SQuAD), the task's answer out (see
  ``ClassificationServing``, ``SquadServing``, ``NerServing``);
- signatures ``serving_ids`` (int32) and ``serving_ids_int64``: the packed ``input_word_ids``,
  ``input_mask``, ``input_type_ids`` ``[batch, seq_length]``, for clients that tokenize themselves;
  classification answers as ``serving_default`` does, SQuAD and NER give the model's logits;
- ``assets.extra/tf_serving_warmup_requests``: a few real requests, replayed by TF Serving on load;
- ``assets.extra/bertzoo_export.json``: the task, labels, sequence length and signature names.

The preprocessing in the graph is bertzoo's core-ops pipeline, so the SavedModel loads in a stock
TF Serving (or any plain ``tensorflow``) without tensorflow-text; the written graph is audited and
the export refused, naming the op, if anything else slipped in.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Callable

import tensorflow as tf

import bertzoo
from bertzoo.export.classification_serving import ClassificationServing
from bertzoo.export.op_audit import assert_core_ops_only
from bertzoo.export.warmup_requests import predict_request, write_warmup_requests
from bertzoo.atomic_directory import staged_directory
from bertzoo.models.finetuned import FinetunedModel, load_finetuned

__all__ = ["SERVING_DEFAULT", "SERVING_IDS", "SERVING_IDS_INT64", "EXPORT_MANIFEST", "saved_model",
           "serving_module", "next_version"]

SERVING_DEFAULT = "serving_default"
SERVING_IDS = "serving_ids"
SERVING_IDS_INT64 = "serving_ids_int64"
EXPORT_MANIFEST = os.path.join("assets.extra", "bertzoo_export.json")
INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")
CLASSIFICATION_TASKS = ("classify", "pair", "regression", "multilabel")
TASKS = CLASSIFICATION_TASKS + ("squad", "ner")

_WARMUP_TEXTS = ["The food was great and the staff were friendly.", "",
                 "Anna flew from Paris to Oslo on Monday, then took the train to Lima."]
_WARMUP_PAIRS = ["Was the food good?", "Nothing at all.", "Where did Anna go?"]
_WARMUP_QUESTIONS = ["Where did Anna fly to?", "Who took the train?"]
_WARMUP_CONTEXTS = ["Anna flew from Paris to Oslo on Monday, then took the train to Lima.",
                    "Boris stayed at home. Carla took the train to Quito."]


@dataclasses.dataclass
class ServingModule:
    """A task's serving module and how its raw-text signature is called.

    Attributes:
        module: the ``tf.Module`` holding the model and the core-ops preprocessing.
        text_inputs: the names of the string inputs of ``serving_default``, in order.
        answer: the function behind ``serving_default``, called with the string tensors in order.
        from_ids: the function behind ``serving_ids``, called with the packed int inputs (a dict).
        warmup: example requests for ``serving_default`` (input name -> list of strings).
    """

    module: tf.Module
    text_inputs: tuple[str, ...]
    answer: Callable[..., dict[str, tf.Tensor]]
    from_ids: Callable[[dict[str, tf.Tensor]], dict[str, tf.Tensor]]
    warmup: dict[str, list[str]]


def _model_logits(model) -> Callable[[dict[str, tf.Tensor]], dict[str, tf.Tensor]]:
    def from_ids(inputs):
        inputs = {name: tf.cast(value, tf.int32) for name, value in inputs.items()}
        return {name: tf.cast(value, tf.float32) for name, value in model(inputs, training=False).items()}
    return from_ids


def serving_module(finetuned: FinetunedModel) -> ServingModule:
    """The serving module of a fine-tuned model, chosen by its task."""
    task = finetuned.task
    if task in CLASSIFICATION_TASKS:
        serving = ClassificationServing.from_finetuned(finetuned)
        if serving.pair:
            return ServingModule(serving, ("text", "text_pair"), serving.classify, serving.from_inputs,
                                 {"text": _WARMUP_TEXTS, "text_pair": _WARMUP_PAIRS})
        return ServingModule(serving, ("text",), serving.classify, serving.from_inputs, {"text": _WARMUP_TEXTS})
    if task == "squad":
        from bertzoo.export.squad_serving import SquadServing

        serving = SquadServing.from_finetuned(finetuned)
        return ServingModule(serving, ("question", "context"), serving.answer, _model_logits(serving.model),
                             {"question": _WARMUP_QUESTIONS, "context": _WARMUP_CONTEXTS})
    if task == "ner":
        from bertzoo.export.ner_serving import NerServing

        serving = NerServing.from_finetuned(finetuned)
        return ServingModule(serving, ("text",), serving.entities, _model_logits(serving.model),
                             {"text": _WARMUP_TEXTS})
    raise ValueError(f"cannot export task {task!r}: bertzoo exports {', '.join(TASKS)}")


def _signatures(serving: ServingModule, seq_length: int) -> dict[str, tf.types.experimental.ConcreteFunction]:
    """``serving_default`` on strings and ``serving_ids`` on int32 / int64 packed inputs."""
    def on_text(*strings):
        return serving.answer(*strings)

    def on_ids(input_word_ids, input_mask, input_type_ids):
        return serving.from_ids(dict(zip(INPUT_NAMES, (input_word_ids, input_mask, input_type_ids))))

    # A signature's input names are the names of its TensorSpecs.
    text_specs = [tf.TensorSpec([None], tf.string, name=name) for name in serving.text_inputs]
    signatures = {SERVING_DEFAULT: tf.function(on_text).get_concrete_function(*text_specs)}
    for name, dtype in ((SERVING_IDS, tf.int32), (SERVING_IDS_INT64, tf.int64)):
        specs = [tf.TensorSpec([None, seq_length], dtype, name=input_name) for input_name in INPUT_NAMES]
        signatures[name] = tf.function(on_ids).get_concrete_function(*specs)
    return signatures


def next_version(export_dir: str | os.PathLike) -> int:
    """One above the highest numeric version directory in ``export_dir`` (1 when there is none)."""
    directory = pathlib.Path(export_dir)
    versions = [int(p.name) for p in directory.iterdir() if p.is_dir() and p.name.isdigit()] if directory.is_dir() else []
    return max(versions, default=0) + 1


def saved_model(model: FinetunedModel | str | os.PathLike, export_dir: str | os.PathLike, *,
                version: int | None = None, overwrite: bool = False, audit: bool = True) -> pathlib.Path:
    """Exports a fine-tuned model for TF Serving and returns the version directory it wrote.

    Args:
        model: a ``FinetunedModel``, a Keras task model (``TextClassifier``) or the directory
            ``bertzoo finetune`` wrote.
        export_dir: the model's base directory for TF Serving (``--model_base_path``).
        version: the version number; None: one above the highest version already there.
        overwrite: replace an existing version directory instead of refusing.
        audit: check that every op in the written graph is a core TensorFlow op (a subprocess
            lists them); a failing export is removed.

    Example:
    >>> path = saved_model("output/demo/model", "export/sentiment")  # doctest: +SKIP
    >>> tf.saved_model.load(str(path)).signatures["serving_default"](text=tf.constant(["great!"]))  # doctest: +SKIP
    """
    if hasattr(model, "to_finetuned"):  # a Keras task model (bertzoo.models.TextClassifier, ...)
        model = model.to_finetuned()
    finetuned = model if isinstance(model, FinetunedModel) else load_finetuned(model)
    if getattr(finetuned.bert, "family", "bert") == "gpt":  # GPT-1's tokenizer runs on the host
        raise ValueError(f"cannot export a GPT fine-tuned model ({finetuned.task}) for serving yet: GPT-1's "
                         "tokenizer is not in-graph; `bertzoo predict` runs it")
    if version is None:
        version = next_version(export_dir)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError(f"version must be a non-negative integer (TF Serving's version directories), got {version!r}")
    version_dir = pathlib.Path(export_dir) / str(version)
    if version_dir.exists() and not overwrite:
        raise FileExistsError(f"{version_dir} already exists: pick another version, or pass overwrite=True "
                              "(--overwrite) to replace it")
    serving = serving_module(finetuned)
    seq_length = int(finetuned.seq_length)
    signatures = _signatures(serving, seq_length)
    with staged_directory(version_dir, overwrite=True) as staging:
        tf.saved_model.save(serving.module, str(staging), signatures=signatures)
        ids = finetuned.bert.preprocessor(tf.constant(serving.warmup[serving.text_inputs[-1]]))
        write_warmup_requests(staging, [predict_request(serving.warmup, SERVING_DEFAULT),
                                        predict_request({k: v.numpy() for k, v in ids.items()}, SERVING_IDS)])
        manifest = {"format": "bertzoo-serving", "bertzoo_version": bertzoo.__version__, "task": finetuned.task,
                    "label_names": finetuned.label_names, "seq_length": seq_length,
                    "signatures": {SERVING_DEFAULT: list(serving.text_inputs),
                                   SERVING_IDS: list(INPUT_NAMES), SERVING_IDS_INT64: list(INPUT_NAMES)}}
        (staging / EXPORT_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if audit:
            assert_core_ops_only(str(staging))
    return version_dir
