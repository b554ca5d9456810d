"""Recipe `bertzoo evaluate`: the official metric of a fine-tuned model's task on a labelled file."""

from __future__ import annotations

import pathlib
from typing import Any

from bertzoo.models.finetuned import load_finetuned
from bertzoo.recipes.finetune import _say, evaluate_examples, update_metrics_file
from bertzoo.recipes.tasks import task_of_finetuned
from bertzoo.training import describe_batch, resolve_strategy


def run(*, model: str, data: str, output: str = "output/evaluate", overrides: dict[str, Any] | None = None,
        global_batch_size: int = 32, strategy: str = "auto", jit_compile: bool = False,
        verbose: bool = True) -> dict[str, float]:
    """Evaluates the fine-tuned ``model`` directory on ``data``; writes ``output/metrics.json`` and
    ``output/eval_predictions.jsonl``.

    Args:
        overrides: task settings to change for this file (e.g. another ``text_column``); the rest
            come from the model's task.json.
    """
    distribution = resolve_strategy(strategy)
    describe_batch(distribution, global_batch_size)
    with distribution.scope():
        finetuned = load_finetuned(model)
    task = task_of_finetuned(finetuned, overrides)
    _say(verbose, f"{model}: task {finetuned.task}, seq_length {finetuned.seq_length}")
    examples = task.read(data, training=False)
    out_dir = pathlib.Path(output)
    results = evaluate_examples(task, finetuned, examples, out_dir, strategy=distribution,
                                global_batch_size=global_batch_size, jit_compile=jit_compile, verbose=verbose)
    update_metrics_file(out_dir / "metrics.json", {"model": str(model), "data": str(data), "eval": results})
    _say(verbose, f"wrote {out_dir / 'metrics.json'} and {out_dir / 'eval_predictions.jsonl'}")
    return results
