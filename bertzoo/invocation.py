"""The command line this process runs, as recorded in ``run.json`` and ``run.lock``.

The CLI records ``bertzoo <arguments>`` (also when ``bertzoo.cli.main`` is called in-process); a
recipe called from Python falls back to ``sys.argv``. No dependencies: the CLI imports it before
TensorFlow.
"""

from __future__ import annotations

import shlex
import sys
from typing import Sequence

_COMMAND_LINE: list[str] = []


def set_command_line(argv: Sequence[str]) -> None:
    """Records the command being run."""
    _COMMAND_LINE[:] = list(argv)


def command_line() -> str:
    """The command being run, shell-quoted: the CLI's, else the Python process's ``sys.argv``."""
    return shlex.join(_COMMAND_LINE or sys.argv)
