"""One lock per cache entry, so several processes (or workers of one job) download a model once.

Built on ``filelock`` (an OS lock, ``flock``): the kernel releases it when its holder dies, so a
crashed download never blocks the next one. Beside the lock, ``<name>.lock.json`` says who holds it
(pid, host, since when): a waiting process prints "waiting for ..." with that, and a process that
finds the record of a holder that is gone says it takes over (the staging folder's partial file is
then resumed, not restarted).
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import socket
import sys
import time

import filelock

_REPEAT_SECONDS = 60.0


def _say(message: str) -> None:
    print(f"bertzoo: {message}", file=sys.stderr, flush=True)


class EntryLock:
    """``with EntryLock(path, "bert-base-uncased"):`` holds the entry's lock for the block."""

    def __init__(self, path: pathlib.Path, label: str, poll_interval: float = 0.2):
        self.path = pathlib.Path(path)
        self.label = label
        self.poll_interval = poll_interval
        self.owner_path = self.path.with_name(self.path.name + ".json")
        self.took_over_from: dict | None = None
        self._lock: filelock.BaseFileLock | None = None

    def __enter__(self) -> "EntryLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # thread_local=False and a fresh object per use: two threads of one process exclude each other too.
        self._lock = filelock.FileLock(str(self.path), thread_local=False, is_singleton=False)
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            started = time.monotonic()
            _say(f"waiting for {self.label}: {self._describe_owner()} is downloading it (lock {self.path})")
            while True:
                try:
                    self._lock.acquire(timeout=_REPEAT_SECONDS, poll_interval=self.poll_interval)
                    break
                except filelock.Timeout:
                    _say(f"still waiting for {self.label} after {time.monotonic() - started:.0f} s: "
                         f"{self._describe_owner()}")
        previous = self._read_owner()
        if previous is not None:
            # The lock was free, yet a holder's record remains: it stopped without finishing.
            self.took_over_from = previous
            _say(f"taking over {self.label} from {self._format_owner(previous)}, which stopped before finishing")
        self._write_owner()
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.owner_path.unlink(missing_ok=True)
        finally:
            self._lock.release()

    # ------------------------------------------------------------------------------------ owner record
    def _write_owner(self) -> None:
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "since": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        temporary = self.owner_path.with_name(f"{self.owner_path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(record), encoding="utf-8")
        os.replace(temporary, self.owner_path)

    def _read_owner(self) -> dict | None:
        try:
            data = json.loads(self.owner_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def _describe_owner(self) -> str:
        owner = self._read_owner()
        return self._format_owner(owner) if owner else "another process"

    @staticmethod
    def _format_owner(owner: dict) -> str:
        return f"process {owner.get('pid')} on {owner.get('host')} (since {owner.get('since')})"
