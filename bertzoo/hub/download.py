"""``download(name)``: a catalogue entry to a complete, verified folder in the cache, once.

A cache hit (marker + the files its format needs) returns at once, without the network and without
re-extracting. Otherwise, under the entry's lock (a second process waits, then finds the entry
complete): each file goes to a temporary name in the entry's staging folder, is checked
(``bertzoo.hub.transfer``), an archive is extracted into a temporary folder
(``bertzoo.hub.archive``), the files its format needs are checked, the marker with every file's
sha256 is written, and the folder is renamed into place. On a checksum, archive or disk error the
staging folder is removed; a cut connection keeps its part file, which the next call resumes.
"""

from __future__ import annotations

import pathlib
import sys

from bertzoo.hub import cache, settings
from bertzoo.hub.archive import extract_archive, extracted_size
from bertzoo.hub.catalogue import CatalogueEntry, get_entry
from bertzoo.hub.entry_lock import EntryLock
from bertzoo.hub.errors import DamagedArchiveError, OfflineError
from bertzoo.hub.transfer import Received, TransferInterrupted, check_free_space, fetch_file

_EXTRACTED = "extracted"


def download(name: str, *, force: bool = False) -> pathlib.Path:
    """The local folder of the catalogue entry ``name`` (an alias works), downloading it if needed.

    Args:
        name: a catalogue name or alias (``bertzoo models`` lists them).
        force: download again even when the cache holds a complete copy.

    Returns:
        The entry's folder in ``BERTZOO_HOME``.
    """
    return fetch_entry(get_entry(name), force=force)


def fetch_entry(entry: CatalogueEntry, *, force: bool = False) -> pathlib.Path:
    """``download`` for an entry object (catalogue entries and ad-hoc URL entries alike)."""
    if not force and (found := cache.complete_entry(entry)) is not None:
        return found
    if settings.offline():
        raise OfflineError(_offline_message(entry))
    with EntryLock(cache.lock_path(entry.name), entry.name):
        if not force and (found := cache.complete_entry(entry)) is not None:
            return found  # another process finished it while this one waited
        staging = cache.partial_dir(entry.name)
        staging.mkdir(parents=True, exist_ok=True)
        try:
            built, source = _build_archive(entry, staging) if entry.archive else _build_files(entry, staging)
            missing = cache.missing_files(built, cache.required_patterns(entry))
            if missing:
                found = sorted(path.relative_to(built).as_posix() for path in built.rglob("*") if path.is_file())
                raise DamagedArchiveError(
                    f"{entry.name}: the download lacks files its format ({entry.format or 'declared'}) needs: "
                    f"{', '.join(missing)}; found {found[:20]}")
            cache.write_marker(built, entry, files=cache.describe_files(built), source=source)
            target = cache.entry_dir(entry.name)
            if target.exists():  # an incomplete or forced-over copy: swap it out, then remove it
                old = staging / "replaced"
                target.rename(old)
            built.rename(target)
        except (TransferInterrupted, KeyboardInterrupt):
            raise  # the part file stays in the staging folder; the next call resumes it
        except BaseException:
            cache.remove_tree(staging)
            raise
        cache.remove_tree(staging)
        _say(f"{entry.name} is ready in {target}")
        return target


def _build_files(entry: CatalogueEntry, staging: pathlib.Path) -> tuple[pathlib.Path, dict]:
    """Downloads every file of a single-files entry into ``staging/files``."""
    built = staging / "files"
    received: dict[str, dict] = {}
    for local, url in entry.files.items():
        destination = built / local
        if destination.is_file():  # verified and renamed by an earlier, interrupted call
            received[local] = {"url": url, "checks": ["kept from an interrupted download"]}
            continue
        result = fetch_file(settings.mirrored(url), destination, sha256=entry.sha256.get(local),
                            label=f"{entry.name}/{local}")
        received[local] = _record(result)
    return built, {"files": received}


def _build_archive(entry: CatalogueEntry, staging: pathlib.Path) -> tuple[pathlib.Path, dict]:
    """Downloads and extracts an archive entry into ``staging/extracted``; returns the entry's root."""
    archive_name = pathlib.PurePosixPath(entry.archive.split("?")[0]).name
    archive = staging / archive_name
    if not archive.is_file():
        result = fetch_file(settings.mirrored(entry.archive), archive, sha256=entry.sha256.get(archive_name),
                            label=entry.name, reserve=entry.size or 0)
        archive_record = _record(result)
    else:
        archive_record = {"url": entry.archive, "checks": ["kept from an interrupted download"]}
    needed = extracted_size(archive)
    check_free_space(staging, needed, f"extracting {archive_name}")
    extracted = staging / _EXTRACTED
    cache.remove_tree(extracted)  # a half extraction from an earlier crash
    _say(f"extracting {archive_name}")
    extract_archive(archive, extracted)
    root = _archive_root(entry, extracted)
    return root, {"archive": archive_record, "archive_root": root.relative_to(extracted).as_posix()}


def _archive_root(entry: CatalogueEntry, extracted: pathlib.Path) -> pathlib.Path:
    """The folder of the archive that is the checkpoint: ``archive_root``, else a lone top folder."""
    if entry.archive_root and (extracted / entry.archive_root).is_dir():
        return extracted / entry.archive_root
    top = sorted(extracted.iterdir())
    if len(top) == 1 and top[0].is_dir():
        return top[0]
    return extracted  # Google's 2020 miniatures hold their files at the top level


def _record(result: Received) -> dict:
    return {"url": result.url, "size": result.size, "sha256": result.sha256, "checks": result.checks}


def _offline_message(entry: CatalogueEntry) -> str:
    directory = cache.entry_dir(entry.name)
    if directory.is_dir():
        missing = cache.missing_files(directory, cache.required_patterns(entry))
        state = (f"holds no complete copy (missing {', '.join(missing)})" if missing
                 else f"lacks its completion marker {cache.MARKER}")
    else:
        state = "does not exist"
    url = entry.archive or next(iter(entry.files.values()))
    return (f"{entry.name} is not in the cache and BERTZOO_OFFLINE=1 forbids downloading it: {directory} {state}. "
            f"It would download {settings.mirrored(url)}; run `bertzoo download {entry.name}` where the network "
            f"is reachable and copy {directory} into BERTZOO_HOME ({settings.home()}), or unset BERTZOO_OFFLINE")


def _say(message: str) -> None:
    print(f"bertzoo: {message}", file=sys.stderr, flush=True)
