"""``bertzoo evaluate``: a fine-tuned model's official metric on a labelled file."""

from __future__ import annotations

import argparse

from bertzoo.commands.common import inference_options, task_column_options, task_settings


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate", parents=[inference_options(), task_column_options()],
        help="score a fine-tuned model on a labelled file with the task's official metric",
        description="Writes OUTPUT/metrics.json and OUTPUT/eval_predictions.jsonl. Column options override "
                    "the ones the model was fine-tuned with.")
    parser.add_argument("--model", metavar="DIR", required=True, help="fine-tuned model (finetune's OUTPUT/model)")
    parser.add_argument("--data", metavar="FILE", required=True, help="labelled file in the task's format")
    parser.add_argument("--output", metavar="DIR", default="output/evaluate")


def run(args: argparse.Namespace) -> None:
    from bertzoo.models.finetuned import read_finetuned_manifest
    from bertzoo.recipes import evaluate

    task = read_finetuned_manifest(args.model)["task"]
    evaluate.run(model=args.model, data=args.data, output=args.output,
                 overrides=task_settings(task, args, defaults=False), global_batch_size=args.global_batch_size,
                 strategy=args.strategy)
