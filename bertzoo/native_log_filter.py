"""Filters TensorFlow's native log lines out of the process's stderr, keeping the real stderr reachable.

The CLI runs every command inside :func:`without_native_log_lines`. Helper processes that must be
heard even when this process cannot forward anything (the multi-worker watchdog kills a process
blocked in C++ with the GIL held) write to :func:`unfiltered_stderr` instead of file descriptor 2.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

# TensorFlow's C++ log lines (``I0000 00:00:1796403476.197077    3331 port.cc:153] ...``) and absl's
# notice that precedes them; written before absl logging is initialised, no environment variable
# silences them.
NATIVE_LOG_LINE = re.compile(rb"^(?:[IWE]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [^ \]]+:\d+\] |WARNING: All log messages "
                             rb"before absl::InitializeLog\(\) is called)")

_real_stderr: int | None = None


def unfiltered_stderr() -> int:
    """The file descriptor of the process's stderr as it was before filtering (2 when not filtering)."""
    return 2 if _real_stderr is None else _real_stderr


@contextlib.contextmanager
def without_native_log_lines() -> Iterator[None]:
    """Runs the block with TensorFlow's native log lines filtered out of the process's stderr.

    File descriptor 2 becomes a pipe; a thread forwards every other line (bertzoo's messages,
    Python warnings, tracebacks) to the real stderr.
    """
    global _real_stderr
    sys.stderr.flush()
    real_stderr = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                if not NATIVE_LOG_LINE.match(line):
                    os.write(real_stderr, line)

    thread = threading.Thread(target=forward, name="bertzoo-stderr-filter", daemon=True)
    thread.start()
    _real_stderr = real_stderr
    try:
        yield
    finally:
        sys.stderr.flush()
        _real_stderr = None
        os.dup2(real_stderr, 2)  # closes the pipe's last write end, so the thread sees its end
        thread.join(timeout=5)
        os.close(real_stderr)
