"""One run per output directory: ``run.lock`` in ``--output`` says who holds it.

Two runs on one ``--output`` would interleave their checkpoints and overwrite each other's model and
``metrics.json``. The first run writes ``run.lock`` (its host, pid, process start and start time,
and command); a second one exits at once naming the holder. A lock whose holder is gone (same host,
the process no longer exists: a SIGKILL, a crash) is taken over with a message. A lock held from
another host is never taken over automatically: delete the file once that run is known to be over.

Locally the lock file is created with ``O_EXCL`` semantics (a hard link of a complete file), so two
runs starting together cannot both win; on a remote filesystem (``gs://``) it is advisory (checked,
then written). Under multi-worker training only the chief holds it.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import sys
import weakref

import tensorflow as tf

from bertzoo.invocation import command_line

__all__ = ["LOCK_FILE", "RunLock", "RunLockedError", "hold_run_lock"]

LOCK_FILE = "run.lock"


class RunLockedError(OSError):
    """Another live run holds the output directory."""


def hold_run_lock(location: str, *, chief: bool = True) -> "RunLock | None":
    """Takes ``location``'s lock for this process (the chief only; other workers get None).

    The lock is released when the returned object is released or garbage collected, or when the
    process exits; keep a reference for as long as the run writes to ``location``.
    """
    if not chief:
        return None
    lock = RunLock(location)
    lock.acquire()
    return lock


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """The lock file ``location/run.lock``; see the module docstring."""

    def __init__(self, location: str):
        self.location = os.fspath(location)
        self.path = os.path.join(self.location, LOCK_FILE)
        self.held = False
        self._finalizer = None

    def _record(self) -> dict:
        return {"host": socket.gethostname(), "pid": os.getpid(), "process_start": _process_start(os.getpid()),
                "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "command": command_line()}

    def read(self) -> dict | None:
        """The holder's record (None: no lock file; ``{}``: a file that cannot be read as one)."""
        try:
            with tf.io.gfile.GFile(self.path) as handle:
                text = handle.read()
        except tf.errors.NotFoundError:
            return None
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            return {}
        return record if isinstance(record, dict) else {}

    def _holder_gone(self, record: dict) -> bool:
        if not record:  # empty or unreadable: a writer died before the link made it whole
            return True
        if record.get("host") != socket.gethostname():
            return False
        pid = record.get("pid")
        if not isinstance(pid, int):
            return True
        if pid == os.getpid():
            return True  # an earlier run in this process that ended without releasing it
        if not _pid_alive(pid):
            return True
        recorded_start = record.get("process_start")
        return recorded_start is not None and _process_start(pid) not in (None, recorded_start)

    def acquire(self) -> None:
        """Takes the lock, or raises ``RunLockedError`` naming the live holder."""
        tf.io.gfile.makedirs(self.location)
        record = self._record()
        for _ in range(3):
            if self._create(record):
                self._hold()
                return
            holder = self.read()
            if holder is None:
                continue  # released in between: try again
            if not self._holder_gone(holder):
                raise RunLockedError(
                    f"{self.location} is in use by another run: {_describe(holder)} (lock file {self.path}). "
                    "Wait for it, use another --output, or delete the lock file if that run is over")
            print(f"taking over the stale lock {self.path} of a run that is gone ({_describe(holder)})",
                  file=sys.stderr, flush=True)
            try:
                tf.io.gfile.remove(self.path)
            except tf.errors.NotFoundError:
                pass
        raise RunLockedError(f"could not take the lock {self.path}: other runs keep taking it")

    def _create(self, record: dict) -> bool:
        text = json.dumps(record, indent=2) + "\n"
        if "://" in self.path:
            if tf.io.gfile.exists(self.path):
                return False
            with tf.io.gfile.GFile(self.path, "w") as handle:
                handle.write(text)
            return True
        temporary = f"{self.path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            os.link(temporary, self.path)  # atomic, and fails if the lock exists: O_EXCL with the content in
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(temporary)

    def _hold(self) -> None:
        self.held = True
        _HELD.add(self)
        self._finalizer = weakref.finalize(self, _release, self.path, os.getpid())

    def release(self) -> None:
        """Removes the lock file if this process still holds it."""
        if self.held:
            self.held = False
            _HELD.discard(self)
            if self._finalizer is not None:
                self._finalizer()

    def __enter__(self) -> "RunLock":
        if not self.held:
            self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


_HELD: "weakref.WeakSet[RunLock]" = weakref.WeakSet()


def _release(path: str, pid: int) -> None:
    """Removes ``path`` if it still names process ``pid`` (runs at release, collection or exit)."""
    try:
        with tf.io.gfile.GFile(path) as handle:
            record = json.loads(handle.read())
        if record.get("pid") == pid and record.get("host") == socket.gethostname():
            tf.io.gfile.remove(path)
    except Exception:  # already gone or replaced: nothing of ours to remove
        pass


def _describe(record: dict) -> str:
    if not record:
        return "an unreadable lock record"
    return (f"pid {record.get('pid')} on host {record.get('host')}, started {record.get('started')}"
            + (f" ({record['command']})" if record.get("command") else ""))
