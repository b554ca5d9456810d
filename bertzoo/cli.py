"""The `bertzoo` command line: each subcommand (``bertzoo/commands/``) runs one recipe from `recipes/`."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys

from bertzoo.commands import COMMANDS
from bertzoo.errors import TrainingInterrupted
from bertzoo.invocation import set_command_line
from bertzoo.native_log_filter import without_native_log_lines


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="bertzoo", description="BERT and friends for Keras 3 / TensorFlow.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show TensorFlow's start-up messages and log what loaders report (INFO level)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"bertzoo.commands.{name}")
        before = set(commands.choices)
        module.add_parser(commands)
        for added in set(commands.choices) - before:
            commands.choices[added].set_defaults(run_command=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `bertzoo` console script."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    quiet = contextlib.nullcontext() if args.verbose else without_native_log_lines()
    set_command_line(["bertzoo", *(sys.argv[1:] if argv is None else argv)])

    try:
        with quiet:
            args.run_command(args)
    except TrainingInterrupted as stopped:
        # Preempted (SIGTERM) or interrupted (SIGINT) after a checkpoint: 128 + the signal's number,
        # as a shell reports a process ended by it (143, 130); rerunning resumes.
        print(f"bertzoo {args.command}: {stopped}", file=sys.stderr)
        return stopped.exit_status
    except (ValueError, OSError) as error:
        # Bad input (a config field, a checkpoint file, a path) is reported in one line; the
        # traceback is for --verbose.
        if args.verbose:
            raise
        print(f"bertzoo {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
