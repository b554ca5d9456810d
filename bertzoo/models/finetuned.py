"""Fine-tuned checkpoints: a task model (encoder + head) with everything needed to predict again.

A fine-tuned directory holds
- ``encoder/``: the fine-tuned encoder in bertzoo's pretrained format (config, weights, vocabulary,
  tokenizer settings), so ``load_pretrained(dir / "encoder")`` reads it as any pretrained BERT;
- ``head.safetensors``: the head's weights, keyed by their path inside the model;
- ``task.json``: the task, the model class and its arguments, the label names, the sequence
  length and the task's settings (text columns, SQuAD window sizes, ...), so ``evaluate`` and
  ``predict`` need nothing but the directory.
It is written into a temporary sibling and renamed into place, like the pretrained format.

A GPT fine-tuned directory (``bertzoo finetune --pretrained <gpt model>``) holds instead
``model.keras`` (the ``GPTTaskModel``), ``pretrained/`` (decoder and tokenizer) and
``finetuned.json``; ``load_finetuned`` reads both kinds, deciding on the files present
(``finetuned_format``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Any

import keras
import numpy as np
import safetensors.numpy

from bertzoo.errors import ConfigError
from bertzoo.atomic_directory import staged_directory
from bertzoo.families.bert.checkpoints.bertzoo_format import file_sha256, read_safetensors, verify_sha256
from bertzoo.families.bert.pretrained_bert import PretrainedBert
from bertzoo.pretrained import load_pretrained, save_pretrained
from bertzoo.models.bert_classifier import BertClassifier
from bertzoo.models.bert_multiple_choice import BertMultipleChoice
from bertzoo.models.bert_span_labeler import BertSpanLabeler
from bertzoo.models.bert_tagger import BertTagger

TASK_MANIFEST = "task.json"
GPT_MANIFEST = "finetuned.json"
GPT_MODEL = "model.keras"
GPT_PRETRAINED_DIR = "pretrained"
HEAD_WEIGHTS = "head.safetensors"
ENCODER_DIR = "encoder"
FORMAT_NAME = "bertzoo-finetuned"
FORMAT_VERSION = 1
MODEL_CLASSES = {cls.__name__: cls for cls in (BertClassifier, BertMultipleChoice, BertSpanLabeler, BertTagger)}
_BASE_CONFIG_KEYS = ("encoder", "name", "trainable", "dtype")


@dataclasses.dataclass
class FinetunedModel:
    """A task model and what surrounds it.

    Attributes:
        task: the task name (``classify``, ``pair``, ``regression``, ``multilabel``, ``squad``, ``ner``).
        model: the Keras task model (``BertClassifier``, ``BertSpanLabeler`` or ``BertTagger``).
        bert: the pretrained bundle whose encoder is ``model.encoder`` (tokenizer, preprocessor, config).
        label_names: class or tag names (index = id); None for regression and SQuAD.
        settings: the task's settings (JSON-serialisable), e.g. text columns or ``doc_stride``.
    """

    task: str
    model: keras.Model
    bert: PretrainedBert
    label_names: list[str] | None = None
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def seq_length(self) -> int:
        return int(self.bert.preprocessor.seq_length)


def _head_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model._flatten_layers(include_self=False, recursive=False) if layer is not model.encoder]


def read_head_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """The model's weights outside its encoder, as ``{"<head layer>/<path inside it>": array}``."""
    weights = {}
    for layer in _head_layers(model):
        for variable in layer.weights:
            key = f"{layer.name}/{variable.path.split(layer.name + '/', 1)[-1]}"
            weights[key] = np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float32)
    return weights


def assign_head_weights(model: keras.Model, weights: dict[str, np.ndarray], source: str) -> None:
    """Assigns what ``read_head_weights`` wrote; a missing, extra or misshapen weight is an error."""
    expected = {}
    for layer in _head_layers(model):
        for variable in layer.weights:
            expected[f"{layer.name}/{variable.path.split(layer.name + '/', 1)[-1]}"] = variable
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise ValueError(f"{source}: head weights do not match {type(model).__name__}: "
                         f"missing {missing or 'none'}, unexpected {extra or 'none'}")
    for key, variable in expected.items():
        if tuple(weights[key].shape) != tuple(variable.shape):
            raise ValueError(f"{source}: weight {key!r} has shape {tuple(weights[key].shape)}, "
                             f"the model expects {tuple(variable.shape)}")
        variable.assign(weights[key].astype(variable.dtype))


def save_finetuned(finetuned: FinetunedModel, out_dir: str | os.PathLike, overwrite: bool = False) -> pathlib.Path:
    """Writes a fine-tuned model directory atomically; ``load_finetuned`` reads it back."""
    model = finetuned.model
    class_name = type(model).__name__
    if class_name not in MODEL_CLASSES:
        raise ValueError(f"cannot save a {class_name}; fine-tuned models are {sorted(MODEL_CLASSES)}")
    if not model.built:
        model.build()  # a head that was never called has no weights yet
    model_config = {key: value for key, value in model.get_config().items() if key not in _BASE_CONFIG_KEYS}
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "task": finetuned.task,
        "model_class": class_name,
        "model_config": model_config,
        "label_names": finetuned.label_names,
        "seq_length": finetuned.seq_length,
        "settings": finetuned.settings,
    }
    with staged_directory(out_dir, overwrite) as staging:
        bert = dataclasses.replace(finetuned.bert, encoder=model.encoder, pretraining_weights={})
        save_pretrained(bert, staging / ENCODER_DIR)
        safetensors.numpy.save_file(read_head_weights(model), str(staging / HEAD_WEIGHTS),
                                    metadata={"format": FORMAT_NAME})
        manifest["sha256"] = {HEAD_WEIGHTS: file_sha256(staging / HEAD_WEIGHTS)}
        (staging / TASK_MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return pathlib.Path(out_dir)


def is_finetuned_checkpoint(directory: str | os.PathLike) -> bool:
    """Whether ``directory`` holds a fine-tuned model's ``task.json``."""
    return (pathlib.Path(directory) / TASK_MANIFEST).is_file()


def finetuned_format(directory: str | os.PathLike) -> str:
    """``"bert"`` (task.json + encoder/ + head.safetensors) or ``"gpt"`` (finetuned.json + model.keras +
    pretrained/), from the files ``directory`` holds; an error naming the files looked for otherwise."""
    directory = pathlib.Path(directory)
    if (directory / TASK_MANIFEST).is_file():
        return "bert"
    if (directory / GPT_MANIFEST).is_file():
        return "gpt"
    hint = (" (it is a pretrained checkpoint: fine-tune it first with `bertzoo finetune`)"
            if directory.is_dir() and any(directory.glob("*.json")) else "")
    raise FileNotFoundError(
        f"{directory} is not a fine-tuned bertzoo model: looked for {TASK_MANIFEST} (with {ENCODER_DIR}/ and "
        f"{HEAD_WEIGHTS}: an encoder and head) and {GPT_MANIFEST} (with {GPT_MODEL} and {GPT_PRETRAINED_DIR}/: "
        f"a GPT task model), found neither{hint}")


def read_finetuned_manifest(directory: str | os.PathLike) -> dict[str, Any]:
    """The manifest of either kind of fine-tuned directory (``task.json`` or GPT's ``finetuned.json``),
    with at least ``task``, ``label_names``, ``seq_length`` and ``settings``."""
    directory = pathlib.Path(directory)
    if finetuned_format(directory) == "bert":
        return read_task_manifest(directory)
    path = directory / GPT_MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from error
    for field in ("task", "seq_length"):
        if field not in manifest:
            raise ConfigError(f"{path}: field {field!r} is missing")
    for name in (GPT_MODEL, GPT_PRETRAINED_DIR):
        if not (directory / name).exists():
            raise FileNotFoundError(f"{directory / name} is missing (a GPT fine-tuned directory has {GPT_MANIFEST}, "
                                    f"{GPT_MODEL} and {GPT_PRETRAINED_DIR}/)")
    return manifest


def read_task_manifest(directory: str | os.PathLike) -> dict[str, Any]:
    """``task.json`` of a fine-tuned directory, checked."""
    directory = pathlib.Path(directory)
    path = directory / TASK_MANIFEST
    if not path.is_file():
        hint = (" (it is a pretrained checkpoint: fine-tune it first with `bertzoo finetune`)"
                if directory.is_dir() and any(directory.glob("*.json")) else "")
        raise FileNotFoundError(f"{directory} is not a fine-tuned bertzoo model: {TASK_MANIFEST} not found{hint}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from error
    if manifest.get("format") != FORMAT_NAME:
        raise ConfigError(f"{path}: field 'format' is {manifest.get('format')!r}, expected {FORMAT_NAME!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{path}: field 'format_version' is {manifest.get('format_version')!r}; "
                          f"this bertzoo reads version {FORMAT_VERSION}")
    if manifest.get("model_class") not in MODEL_CLASSES:
        raise ConfigError(f"{path}: field 'model_class' is {manifest.get('model_class')!r}, "
                          f"expected one of {sorted(MODEL_CLASSES)}")
    return manifest


def load_finetuned(path: str | os.PathLike, seq_length: int | None = None, dtype: Any = None) -> FinetunedModel:
    """Reads a directory written by ``save_finetuned``.

    Args:
        path: the fine-tuned directory.
        seq_length: the preprocessor's length; None keeps the one it was fine-tuned with.
        dtype: dtype policy for the model, e.g. ``"mixed_bfloat16"``.
    """
    directory = pathlib.Path(path)
    if finetuned_format(directory) == "gpt":
        return _load_gpt_finetuned(directory, seq_length)
    manifest = read_task_manifest(directory)
    seq_length = int(seq_length or manifest["seq_length"])
    bert = load_pretrained(directory / ENCODER_DIR, seq_length=seq_length, dtype=dtype)
    model = MODEL_CLASSES[manifest["model_class"]](bert.encoder, **manifest["model_config"])
    model.build()
    head_path = directory / HEAD_WEIGHTS
    if not head_path.is_file():
        raise FileNotFoundError(f"{head_path} is missing (named in {directory / TASK_MANIFEST})")
    # Readable, then the right names and shapes, then the bytes written: each fault named by file.
    assign_head_weights(model, read_safetensors(head_path), source=str(head_path))
    verify_sha256(head_path, (manifest.get("sha256") or {}).get(HEAD_WEIGHTS), directory / TASK_MANIFEST)
    return FinetunedModel(task=manifest["task"], model=model, bert=bert, label_names=manifest.get("label_names"),
                          settings=dict(manifest.get("settings") or {}))


def _load_gpt_finetuned(directory: pathlib.Path, seq_length: int | None) -> FinetunedModel:
    """A GPT fine-tuned directory: the ``GPTTaskModel`` from ``model.keras``, the tokenizer and config
    from ``pretrained/``; the bundle's decoder is the task model's."""
    manifest = read_finetuned_manifest(directory)
    seq_length = int(seq_length or manifest["seq_length"])
    model = keras.saving.load_model(directory / GPT_MODEL)
    gpt = load_pretrained(directory / GPT_PRETRAINED_DIR, seq_length=seq_length)
    gpt = dataclasses.replace(gpt, encoder=model.decoder)
    settings = dict(manifest.get("settings") or {})
    return FinetunedModel(task=manifest["task"], model=model, bert=gpt, label_names=manifest.get("label_names"),
                          settings=settings)
