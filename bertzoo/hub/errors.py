"""What can go wrong between a model's name and its files, each a clear, specific error.

Every error is an ``OSError`` (files and network) or ``ValueError`` (a bad name or entry), so the CLI
reports it in one line.
"""

from __future__ import annotations


class DownloadError(OSError):
    """A transfer failed (network, HTTP status, size): nothing was added to the cache."""


class ChecksumError(DownloadError):
    """The bytes received disagree with a pinned sha256 or the server's own checksum header."""


class NotEnoughSpaceError(DownloadError):
    """The cache's disk lacks room for a download or an extraction."""


class UnsafeArchiveError(DownloadError):
    """An archive member would land outside its folder (``../``, an absolute path, a link)."""


class DamagedArchiveError(DownloadError):
    """An archive that cannot be read to the end (truncated, bad CRC) or lacks the files it must hold."""


class OfflineError(FileNotFoundError):
    """``BERTZOO_OFFLINE=1`` and the model is not in the cache."""


class UnknownModelError(FileNotFoundError):
    """A name that is neither a local directory, a catalogue name nor a handle bertzoo understands."""


class CatalogueError(ValueError):
    """A malformed catalogue entry (a family's presets, ``register_model``, ``BERTZOO_MODELS``)."""
