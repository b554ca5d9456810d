"""``bertzoo predict``: JSON lines in, a fine-tuned model's answers out."""

from __future__ import annotations

import argparse
import os

from bertzoo.commands.common import inference_options


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "predict", parents=[inference_options()], help="predict with a fine-tuned model: JSON lines in, JSON lines out",
        description='Input lines: JSON objects ({"text": ...}, {"text": ..., "text_pair": ...}, '
                    '{"question": ..., "context": ...}, {"context": ..., "endings": [...]}) or plain text lines '
                    'for single-text tasks. '
                    "Output: one JSON line per input with labels and probabilities, a score, an answer, or "
                    "entities with character offsets, or the chosen ending (index, text, probabilities).")
    parser.add_argument("--model", metavar="DIR", required=True, help="fine-tuned model (finetune's OUTPUT/model)")
    parser.add_argument("--input", metavar="FILE", default="-", help="input lines (default: standard input)")
    parser.add_argument("--output", metavar="DIR", default=None,
                        help="write DIR/predictions.jsonl (default: print to standard output)")


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import predict

    output = None if args.output is None else os.path.join(args.output, "predictions.jsonl")
    predict.run(model=args.model, input=args.input, output=output, global_batch_size=args.global_batch_size,
                strategy=args.strategy)
