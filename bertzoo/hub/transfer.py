"""One file from a URL to a verified local file: temporary name, resume, retries, checksums, progress.

The transfer is ``requests`` (with ``urllib3`` under it), chosen over keras's ``get_file`` (no lock,
no temporary name, no resume, no access to the server's checksum header) and ``pooch`` (it re-fetches
from scratch on a failure and hides the response headers): ``requests`` gives streaming, ``Range``
resume, the ``x-goog-hash`` header, and reads ``HTTPS_PROXY``/``NO_PROXY``/``REQUESTS_CA_BUNDLE`` the
way every Python tool does. ``huggingface_hub`` serves ``hf://`` handles (``bertzoo.hub.handles``).

The bytes go to ``<name>.part`` beside the destination; an interrupted transfer resumes from what the
part holds (``Range``, guarded by ``If-Range`` on the server's ETag), up to ``BERTZOO_DOWNLOAD_RETRIES``
attempts with exponential backoff (``BERTZOO_RETRY_BACKOFF`` seconds, doubled each time). The part is
renamed to its name only after its size matches the server's length and its digest matches the pinned
sha256 and the server's ``x-goog-hash: md5=...`` (Google Storage's own checksum; composite objects
carry only a crc32c, which is not checked: their sha256 is still recorded). Other schemes:
``file://`` and TensorFlow filesystems (``gs://``, ``s3://``, ``hdfs://``) are read through
``tf.io.gfile`` with the same checks.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import errno
import hashlib
import os
import pathlib
import shutil
import sys
import time
from typing import Callable
from urllib.parse import urlparse

import requests

from bertzoo.hub import settings
from bertzoo.hub.errors import ChecksumError, DownloadError, NotEnoughSpaceError

_CHUNK = 1 << 20
# Bytes per network read: what a cut connection loses of the read in flight, so kept small.
STREAM_CHUNK = 64 * 1024
_PERMANENT_STATUS = {400, 401, 403, 404, 405, 410, 451}
# Room kept free beyond the download itself: a full disk breaks more than this download.
FREE_SPACE_MARGIN = 64 * 1024 * 1024


@dataclasses.dataclass
class Received:
    """A verified file: where it is, its size and digests, and which checks it passed."""

    path: pathlib.Path
    url: str
    size: int
    sha256: str
    checks: list[str]


class TransferInterrupted(DownloadError):
    """Every attempt was cut off; the part file is kept so the next call resumes it."""


def disk_usage(path: pathlib.Path):
    """``shutil.disk_usage`` (a module-level name, so tests can simulate a full disk)."""
    return shutil.disk_usage(path)


def fetch_file(url: str, destination: pathlib.Path, *, sha256: str | None = None, label: str | None = None,
               reserve: int = 0) -> Received:
    """Downloads ``url`` to ``destination`` (created only once verified).

    Args:
        url: the address (``https://``, ``http://``, ``file://``, or a TensorFlow filesystem URL).
        destination: the final path; ``<destination>.part`` holds the bytes meanwhile.
        sha256: the pinned digest (None: none pinned; the digest is computed and returned).
        label: what progress lines call it (default: the file name).
        reserve: bytes that must stay free beyond this file (e.g. an archive's extraction).

    Returns:
        ``Received`` with the verified size and sha256.
    """
    destination = pathlib.Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    label = label or destination.name
    scheme = urlparse(url).scheme.lower()
    if scheme in ("http", "https"):
        size, server_md5, checks = _fetch_http(url, part, label, reserve)
    else:
        size, server_md5, checks = _fetch_filesystem(url, part, label, reserve)
    received_size = part.stat().st_size
    if size is not None and received_size != size:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{url}: received {received_size} bytes, the server announced {size}; nothing kept")
    digests = _digests(part)
    if sha256 is not None:
        if digests["sha256"] != sha256.lower():
            part.unlink(missing_ok=True)
            raise ChecksumError(f"{url}: sha256 {digests['sha256']} differs from the pinned {sha256.lower()}; "
                                "the file was discarded and nothing was added to the cache")
        checks.append("sha256 (pinned)")
    if server_md5 is not None:
        if digests["md5"] != server_md5:
            part.unlink(missing_ok=True)
            raise ChecksumError(f"{url}: md5 {digests['md5']} differs from the server's x-goog-hash md5 "
                                f"{server_md5}; the file was discarded and nothing was added to the cache")
        checks.append("md5 (server's x-goog-hash)")
    os.replace(part, destination)
    return Received(destination, url, received_size, digests["sha256"], checks)


def _fetch_http(url: str, part: pathlib.Path, label: str, reserve: int) -> tuple[int | None, str | None, list[str]]:
    """Streams ``url`` into ``part`` with resume and retries; returns (length, server md5, checks)."""
    attempts = _int_setting("BERTZOO_DOWNLOAD_RETRIES", 5) + 1
    backoff = _float_setting("BERTZOO_RETRY_BACKOFF", 1.0)
    timeout = _float_setting("BERTZOO_DOWNLOAD_TIMEOUT", 60.0)
    etag = server_md5 = None
    last_error: Exception | None = None
    with requests.Session() as session:
        session.headers["User-Agent"] = "bertzoo"
        for attempt in range(attempts):
            if attempt:
                delay = min(backoff * 2 ** (attempt - 1), 60.0)
                _say(f"{label}: {last_error}; retrying in {delay:.1f} s (attempt {attempt + 1} of {attempts})")
                time.sleep(delay)
            offset = part.stat().st_size if part.exists() else 0
            headers = {"Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
                if etag:
                    headers["If-Range"] = etag
            try:
                with session.get(url, headers=headers, stream=True, timeout=(min(timeout, 30.0), timeout),
                                 verify=settings.ca_bundle()) as response:
                    if response.status_code == 416 and offset:
                        part.unlink(missing_ok=True)  # the part is not a prefix of this object: start over
                        last_error = DownloadError("the server refused to resume; starting over")
                        continue
                    if response.status_code in _PERMANENT_STATUS:
                        raise DownloadError(f"{url}: HTTP {response.status_code} {response.reason}"
                                            + (" (is the mirror missing this file?)" if settings.mirrors() else ""))
                    if response.status_code >= 400:
                        last_error = DownloadError(f"HTTP {response.status_code} {response.reason}")
                        continue
                    resumed = response.status_code == 206
                    total = _total_length(response, resumed)
                    etag = response.headers.get("ETag") or etag
                    # A resumed (206) answer may omit the whole object's checksum: keep the first one.
                    server_md5 = _goog_md5(response.headers) or (server_md5 if resumed else None)
                    start = offset if resumed else 0
                    if total is not None:
                        check_free_space(part.parent, total - start + reserve, label)
                    if offset and not resumed:
                        _say(f"{label}: the server does not resume; downloading from the start")
                    _stream(response, part, start, total, label)
            except requests.exceptions.RequestException as error:
                last_error = error
                continue
            received = part.stat().st_size
            if total is not None and received < total:
                last_error = DownloadError(f"connection closed after {received} of {total} bytes")
                continue
            checks = ["size (server's length)"] if total is not None else []
            return total, server_md5, checks
    raise TransferInterrupted(
        f"{url}: giving up after {attempts} attempts ({last_error}); the {part.stat().st_size if part.exists() else 0}"
        f" bytes received are kept in {part} and the next download resumes from them")


def _stream(response: requests.Response, part: pathlib.Path, start: int, total: int | None, label: str) -> None:
    progress = Progress(label, total, start)
    try:
        with open(part, "r+b" if start else "wb") as out:
            out.seek(start)
            out.truncate()
            for chunk in response.iter_content(chunk_size=STREAM_CHUNK):
                if chunk:
                    out.write(chunk)
                    progress.update(len(chunk))
    except OSError as error:
        if error.errno == errno.ENOSPC:
            part.unlink(missing_ok=True)
            raise NotEnoughSpaceError(f"{label}: the disk holding {part.parent} is full; the partial file was "
                                      "removed and nothing was added to the cache") from error
        raise
    finally:
        progress.close()


def _fetch_filesystem(url: str, part: pathlib.Path, label: str, reserve: int):
    """``file://`` and TensorFlow filesystem URLs, read through ``tf.io.gfile``."""
    parsed = urlparse(url)
    source = parsed.path if parsed.scheme == "file" else url
    if parsed.scheme == "file":
        if not os.path.isfile(source):
            raise DownloadError(f"{url}: no such file")
        total = os.path.getsize(source)
        opener: Callable = open
    else:
        import tensorflow as tf

        if not tf.io.gfile.exists(source):
            raise DownloadError(f"{url}: no such file")
        total = tf.io.gfile.stat(source).length
        opener = tf.io.gfile.GFile
    check_free_space(part.parent, total + reserve, label)
    progress = Progress(label, total, 0)
    try:
        with opener(source, "rb") as stream, open(part, "wb") as out:
            while chunk := stream.read(_CHUNK):
                out.write(chunk)
                progress.update(len(chunk))
    except OSError as error:
        part.unlink(missing_ok=True)
        if error.errno == errno.ENOSPC:
            raise NotEnoughSpaceError(f"{label}: the disk holding {part.parent} is full") from error
        raise DownloadError(f"{url}: {error}") from error
    finally:
        progress.close()
    return total, None, ["size (source's length)"]


def check_free_space(directory: pathlib.Path, needed: int, label: str) -> None:
    free = disk_usage(directory).free
    if free < needed + FREE_SPACE_MARGIN:
        raise NotEnoughSpaceError(
            f"{label}: needs {_megabytes(needed)} (+{_megabytes(FREE_SPACE_MARGIN)} kept free) in {directory}, "
            f"but only {_megabytes(free)} is free; set BERTZOO_HOME to a larger disk")


def _total_length(response: requests.Response, resumed: bool) -> int | None:
    if resumed:
        content_range = response.headers.get("Content-Range", "")
        total = content_range.rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def _goog_md5(headers) -> str | None:
    """The hex md5 in Google Storage's ``x-goog-hash: crc32c=...,md5=...`` (None when absent)."""
    for part in headers.get("x-goog-hash", "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "md5" and value:
            try:
                return base64.b64decode(value).hex()
            except (binascii.Error, ValueError):
                return None
    return None


def _digests(path: pathlib.Path) -> dict[str, str]:
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            sha256.update(chunk)
            md5.update(chunk)
    return {"sha256": sha256.hexdigest(), "md5": md5.hexdigest()}


# ----------------------------------------------------------------------------------------- progress
_QUIET_BELOW = 8_000_000  # smaller files get only their start line off a terminal


class Progress:
    """A tqdm bar on a terminal; plain lines every 10 % otherwise (logs, CI, notebooks' files)."""

    def __init__(self, label: str, total: int | None, start: int):
        self.label, self.total, self.done = label, total, start
        self._bar = None
        self._next_percent = 10
        if sys.stderr.isatty():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                             desc=label, leave=False)
        else:
            resume = f", resuming at {_megabytes(start)}" if start else ""
            _say(f"downloading {label} ({_megabytes(total) if total is not None else 'size unknown'}{resume})")
            if total:
                self._next_percent = (start * 100 // total) // 10 * 10 + 10

    def update(self, count: int) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self.total and self.total >= _QUIET_BELOW:
            percent = self.done * 100 // self.total
            if percent >= self._next_percent:
                _say(f"{self.label}: {percent}% ({_megabytes(self.done)} of {_megabytes(self.total)})")
                self._next_percent = percent // 10 * 10 + 10

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _megabytes(count: int | None) -> str:
    return "? MB" if count is None else f"{count / 1e6:.1f} MB"


def _say(message: str) -> None:
    print(f"bertzoo: {message}", file=sys.stderr, flush=True)


def _int_setting(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        raise DownloadError(f"{name}={os.environ[name]!r} is not a whole number") from None


def _float_setting(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        raise DownloadError(f"{name}={os.environ[name]!r} is not a number") from None
