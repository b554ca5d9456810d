"""Safe extraction of a downloaded zip or tar archive into a folder.

Every member is checked before anything is written: absolute paths, ``..`` components, symbolic
and hard links, devices and fifos are refused (``UnsafeArchiveError`` naming the member), so an
archive can never write outside its folder. A truncated or corrupt archive (bad CRC, cut-off tar)
is a ``DamagedArchiveError``. The caller extracts into a temporary folder and renames it into
place only when everything succeeded.
"""

from __future__ import annotations

import pathlib
import stat
import tarfile
import zipfile

from bertzoo.hub.errors import DamagedArchiveError, UnsafeArchiveError

_CHUNK = 1 << 20


def extracted_size(archive: pathlib.Path) -> int:
    """Bytes the members take once extracted (from the archive's index; 0 when unknown)."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zipped:
                return sum(info.file_size for info in zipped.infolist())
        with tarfile.open(archive) as tarred:
            return sum(member.size for member in tarred.getmembers())
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
        raise DamagedArchiveError(f"{archive.name} is damaged or truncated: {error}") from error


def extract_archive(archive: pathlib.Path, target: pathlib.Path) -> list[str]:
    """Extracts ``archive`` (zip or tar, any compression) into the empty folder ``target``.

    Returns:
        The member files' paths relative to ``target``.
    """
    target.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            return _extract_zip(archive, target)
        if tarfile.is_tarfile(archive):
            return _extract_tar(archive, target)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, ValueError) as error:
        raise DamagedArchiveError(f"{archive.name} is damaged or truncated: {error}") from error
    raise DamagedArchiveError(f"{archive.name} is neither a zip nor a tar archive (damaged, truncated, or an "
                              "error page saved under the archive's name)")


def _check_member_path(archive: pathlib.Path, name: str) -> pathlib.PurePosixPath:
    normalized = name.replace("\\", "/")
    path = pathlib.PurePosixPath(normalized)
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":") or path.is_absolute():
        raise UnsafeArchiveError(f"{archive.name}: member {name!r} has an absolute path; refused, nothing extracted")
    if ".." in path.parts:
        raise UnsafeArchiveError(f"{archive.name}: member {name!r} escapes the target folder ('..'); refused, "
                                 "nothing extracted")
    return path


def _extract_zip(archive: pathlib.Path, target: pathlib.Path) -> list[str]:
    with zipfile.ZipFile(archive) as zipped:
        infos = zipped.infolist()
        for info in infos:
            _check_member_path(archive, info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchiveError(f"{archive.name}: member {info.filename!r} is a symbolic link; refused, "
                                         "nothing extracted")
        names = []
        for info in infos:
            path = target / _check_member_path(archive, info.filename)
            if info.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(info) as source, open(path, "wb") as out:  # reading checks the CRC
                while chunk := source.read(_CHUNK):
                    out.write(chunk)
            names.append(path.relative_to(target).as_posix())
        return names


def _extract_tar(archive: pathlib.Path, target: pathlib.Path) -> list[str]:
    with tarfile.open(archive) as tarred:
        members = tarred.getmembers()  # reads to the end: a truncated tar fails here
        for member in members:
            _check_member_path(archive, member.name)
            if member.issym() or member.islnk():
                raise UnsafeArchiveError(f"{archive.name}: member {member.name!r} is a link; refused, nothing "
                                         "extracted")
            if not (member.isfile() or member.isdir()):
                raise UnsafeArchiveError(f"{archive.name}: member {member.name!r} is a device or fifo; refused, "
                                         "nothing extracted")
        # The "data" filter repeats the checks inside tarfile itself.
        tarred.extractall(target, members=members, filter="data")
        return [pathlib.PurePosixPath(member.name).as_posix() for member in members if member.isfile()]
