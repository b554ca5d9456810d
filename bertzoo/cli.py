"""The `bertzoo` command line: each subcommand (``bertzoo/commands/``) runs one recipe from `recipes/`."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import re
import sys
import threading

from bertzoo.commands import COMMANDS
from bertzoo.errors import TrainingInterrupted
from bertzoo.invocation import set_command_line


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
    quiet = contextlib.nullcontext() if args.verbose else _without_native_log_lines()
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


# TensorFlow's C++ log lines (``I0000 00:00:1796403476.197077    3331 port.cc:153] ...``) and absl's
# notice that precedes them; written before absl logging is initialised, no environment variable
# silences them.
_NATIVE_LOG_LINE = re.compile(rb"^(?:[IWE]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [^ \]]+:\d+\] |WARNING: All log messages "
                              rb"before absl::InitializeLog\(\) is called)")


@contextlib.contextmanager
def _without_native_log_lines():
    """Runs the block with TensorFlow's native log lines filtered out of the process's stderr.

    File descriptor 2 becomes a pipe; a thread forwards every other line (bertzoo's messages,
    Python warnings, tracebacks) to the real stderr. ``-v`` skips the filter.
    """
    sys.stderr.flush()
    real_stderr = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                if not _NATIVE_LOG_LINE.match(line):
                    os.write(real_stderr, line)

    thread = threading.Thread(target=forward, name="bertzoo-stderr-filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # closes the pipe's last write end, so the thread sees its end
        thread.join(timeout=5)
        os.close(real_stderr)


if __name__ == "__main__":
    sys.exit(main())
