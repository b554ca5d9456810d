"""``bertzoo export``: TF Serving SavedModels on raw text, or TF Hub-format encoders."""

from __future__ import annotations

import argparse

from bertzoo.commands.common import strategy_options


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "export", parents=[strategy_options("exporting runs on the host; accepted like every subcommand's --strategy",
                                            choices=["auto", "cpu"])],
        help="export a fine-tuned model for TF Serving (raw text in), or an encoder in TF Hub's format",
        description="--format serving (default): writes OUT_DIR/<version>/, a SavedModel with signatures "
                    "serving_default (raw strings in: text, text + text_pair, or question + context), serving_ids "
                    "and serving_ids_int64 (packed token ids in), and warm-up requests; only core TensorFlow ops, "
                    "so a stock TF Serving loads it. --format hub: writes OUT_DIR/encoder and OUT_DIR/preprocessor "
                    "SavedModels with TF Hub's BERT interface.")
    parser.add_argument("model", metavar="MODEL_DIR",
                        help="fine-tuned model (finetune's OUTPUT/model); for --format hub also a pretrained "
                             "checkpoint: a directory, a catalogue name (`bertzoo models`) or a handle")
    parser.add_argument("output", metavar="OUT_DIR", help="the model's base directory (TF Serving's --model_base_path)")
    parser.add_argument("--format", choices=["serving", "hub"], default="serving")
    parser.add_argument("--version", type=int, default=None,
                        help="version directory to write (default: one above the highest already in OUT_DIR)")
    parser.add_argument("--overwrite", action="store_true", help="replace that version (or the hub directories)")
    parser.add_argument("--seq-length", type=int, default=None,
                        help="--format hub: the preprocessor's default length (default: the fine-tuned model's, "
                             "else 128)")


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import export

    export.run(model=args.model, output=args.output, format=args.format, version=args.version,
               overwrite=args.overwrite, seq_length=args.seq_length)
