"""Recipe `bertzoo predict`: a fine-tuned model on new inputs, JSON lines in and out.

Input lines are JSON objects (``{"text": ...}``, ``{"text": ..., "text_pair": ...}``,
``{"question": ..., "context": ...}``) or, for single-text tasks, plain text lines. Each output
line holds the input and the prediction: labels with probabilities, a score, an answer, or
entities with character offsets.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import sys

from bertzoo.models.finetuned import load_finetuned
from bertzoo.recipes.finetune import _say, write_jsonl
from bertzoo.recipes.tasks import task_of_finetuned
from bertzoo.training import describe_batch, resolve_strategy
from bertzoo.training.prediction import predict_in_batches


def read_records(path: str) -> list:
    """Input lines as JSON values where they parse as JSON objects, else as plain strings; ``-``: stdin."""
    records = []
    with contextlib.nullcontext(sys.stdin) if path == "-" else open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if line.lstrip().startswith("{"):
                try:
                    records.append(json.loads(line))
                    continue
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}, line {len(records) + 1}: not valid JSON ({error})") from None
            records.append(line)
    if not records:
        raise ValueError(f"{path}: no input lines")
    return records


def predict_records(finetuned, records: list, source: str = "input", *, strategy=None, global_batch_size: int = 32,
                    verbose: bool = False) -> list[dict]:
    """Predictions of a loaded fine-tuned model for input records (strings or JSON objects)."""
    task = task_of_finetuned(finetuned)
    examples = task.parse_records(records, source)
    encoded = task.encode(examples, finetuned.bert, training=False)
    outputs = predict_in_batches(finetuned.model, encoded.inputs, strategy=strategy,
                                 global_batch_size=global_batch_size, verbose=verbose)
    return task.predictions(examples, encoded, outputs)


def run(*, model: str, input: str, output: str | None = None, global_batch_size: int = 32,
        strategy: str = "auto", verbose: bool = True) -> list[dict]:
    """Writes one JSON line per input line to ``output`` (a file; None: standard output)."""
    # With the predictions on standard output, progress goes to standard error.
    with contextlib.redirect_stdout(sys.stderr) if output is None else contextlib.nullcontext():
        distribution = resolve_strategy(strategy)
        describe_batch(distribution, global_batch_size)
        with distribution.scope():
            finetuned = load_finetuned(model)
        records = read_records(input)
        lines = predict_records(finetuned, records, input, strategy=distribution,
                                global_batch_size=global_batch_size, verbose=verbose)
    if output is None:
        for line in lines:
            print(json.dumps(line, ensure_ascii=False))
    else:
        path = pathlib.Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(path, lines)
        _say(verbose, f"wrote {len(lines)} predictions to {path}")
    return lines
