"""Errors every part of bertzoo raises for bad input, so callers catch one type per kind of fault."""


class ConfigError(ValueError):
    """A config file or value that bertzoo cannot honour; the message names the field."""


class UnknownOptionError(ConfigError):
    """``load_pretrained`` was given options the directory's family does not take; ``options`` names
    them, the message also the family and the options it takes."""

    def __init__(self, message: str, options: tuple[str, ...]):
        super().__init__(message)
        self.options = options


class DiskFullError(OSError):
    """A write ran out of space (``ENOSPC``); the message names the path, the free space left and
    what was kept intact."""


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` is a full disk: ``OSError(ENOSPC)``, or TensorFlow's / safetensors' wording of it."""
    import errno

    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    text = str(error)
    return "No space left on device" in text or "ENOSPC" in text


def free_space(path: str) -> str:
    """Free space on the filesystem holding ``path`` (its nearest existing parent), e.g. ``'12.3 MB'``."""
    import os
    import shutil

    if "://" in path:
        return "unknown (remote filesystem)"
    probe = os.path.abspath(path)
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return "unknown"
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if free < 1000 or unit == "TB":
            return f"{free:.0f} {unit}" if unit == "bytes" else f"{free:.1f} {unit}"
        free /= 1000
    return "unknown"


def disk_full_error(path: str, error: BaseException, kept: str) -> DiskFullError:
    """A ``DiskFullError`` for a write under ``path`` that failed with ``error``; ``kept`` says what is intact."""
    import errno

    return DiskFullError(errno.ENOSPC, f"no space left on device while writing {path} ({free_space(path)} free "
                                       f"there); {kept}. Free some space and rerun")


def signal_name(number: int) -> str:
    """``SIGTERM`` for 15, ..."""
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class TrainingInterrupted(Exception):
    """Training stopped on SIGTERM or SIGINT after saving a checkpoint at the current step.

    ``exit_status`` is ``128 + signal number`` (143 for SIGTERM, 130 for SIGINT), the status a shell
    reports for a process ended by that signal: what schedulers (Kubernetes, Slurm, TPU VM
    maintenance) expect of a preempted job. Rerunning the same command resumes from ``checkpoint``.
    """

    def __init__(self, signal_number: int, step: int, checkpoint: str | None):
        self.signal_number = signal_number
        self.step = step
        self.checkpoint = checkpoint
        self.exit_status = 128 + signal_number
        super().__init__(f"stopped by {signal_name(signal_number)} at step {step}; checkpoint {checkpoint} saved "
                         "and metrics.json written: rerun the same command to resume")
