"""Recipe `bertzoo export`: a fine-tuned model for TF Serving, or an encoder in TF Hub's format.

``--format serving`` (default) writes ``OUT_DIR/<version>/``, a SavedModel whose ``serving_default``
takes raw text (see ``bertzoo.export.saved_model``), then loads it back and answers its warm-up
requests, so a broken export fails here rather than in the model server. ``--format hub`` writes
``OUT_DIR/encoder`` and ``OUT_DIR/preprocessor`` with TF Hub's BERT interface, from a fine-tuned
model's encoder or from any pretrained checkpoint.
"""

from __future__ import annotations

import json
import pathlib

import tensorflow as tf

from bertzoo.export.saved_model_export import SERVING_DEFAULT, saved_model
from bertzoo.export.warmup_requests import read_warmup_requests
from bertzoo.models.finetuned import ENCODER_DIR, is_finetuned_checkpoint, load_finetuned, read_task_manifest
from bertzoo.pretrained import detect_format, load_pretrained
from bertzoo.recipes.finetune import _say

FORMATS = ("serving", "hub")


def run(*, model: str, output: str, format: str = "serving", version: int | None = None, overwrite: bool = False,
        seq_length: int | None = None, verbose: bool = True) -> dict:
    """Exports ``model`` into ``output``; returns what was written (paths, signatures, a sample answer).

    ``seq_length`` is the hub preprocessor's default length (None: the fine-tuned model's, else 128);
    a serving export always uses the length the model was fine-tuned with.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; expected one of {', '.join(FORMATS)}")
    if format == "hub":
        return _export_hub(model, output, overwrite, seq_length, verbose)
    if not is_finetuned_checkpoint(model):
        hint = ""
        if pathlib.Path(model).is_dir():
            try:
                hint = (f" It holds a pretrained encoder ({detect_format(model)} format): fine-tune it first "
                        "(`bertzoo finetune`), or export the encoder with `--format hub`.")
            except (OSError, ValueError):
                pass
        raise ValueError(f"{model} is not a fine-tuned bertzoo model (no task.json).{hint}")
    _say(verbose, f"loading {model}")
    finetuned = load_finetuned(model)
    _say(verbose, f"exporting the {finetuned.task} model (seq_length {finetuned.seq_length}) and auditing its ops")
    version_dir = saved_model(finetuned, output, version=version, overwrite=overwrite)
    loaded = tf.saved_model.load(str(version_dir))
    signature = loaded.signatures[SERVING_DEFAULT]
    request = read_warmup_requests(version_dir)[0]
    answer = signature(**{name: tf.make_ndarray(proto) for name, proto in request.inputs.items()})
    sample = {name: _plain(value.numpy()[0]) for name, value in answer.items()}
    _say(verbose, f"wrote {version_dir}; it loads, and answers its first warm-up request with {json.dumps(sample)}")
    inputs = {name: str(spec.dtype.name) for name, spec in signature.structured_input_signature[1].items()}
    return {"version_dir": str(version_dir), "inputs": inputs, "outputs": sorted(answer), "sample": sample}


def _export_hub(model: str, output: str, overwrite: bool, seq_length: int | None, verbose: bool) -> dict:
    from bertzoo.export.hub_format import export_hub

    if is_finetuned_checkpoint(model):
        # A fine-tuned model's encoder/ is a pretrained checkpoint in bertzoo's format.
        seq_length = seq_length or read_task_manifest(model)["seq_length"]
        model = pathlib.Path(model) / ENCODER_DIR
    bert = load_pretrained(model, seq_length=seq_length or 128)
    paths = export_hub(bert, output, overwrite=overwrite)
    _say(verbose, "wrote " + ", ".join(f"{name}: {path}" for name, path in paths.items()))
    return {name: str(path) for name, path in paths.items()}


def _plain(value):
    """A numpy value as JSON-friendly Python."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value.tolist() if hasattr(value, "tolist") else value
