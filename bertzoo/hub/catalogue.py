"""The catalogue: every downloadable model bertzoo knows by name, as data.

Entries come from three places, later ones replacing earlier ones of the same name:
1. each family's ``bertzoo/families/<family>/presets.py`` (``PRESETS``), for every family folder
   that has one, and ``register_presets(family, PRESETS)`` for families living outside bertzoo;
2. the JSON file named by ``BERTZOO_MODELS`` (a list of objects with at least ``name`` and ``url``);
3. ``register_model(...)`` calls in this process.

Names and aliases match case-insensitively (Google's file names keep their capitals:
``uncased_L-12_H-768_A-12``); an alias may not name two entries.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import json
import os
import pathlib
import re
import sys
import threading
from typing import Any
from urllib.parse import urlparse

from bertzoo.hub.errors import CatalogueError, UnknownModelError

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Keys with a meaning to the download layer; every other key is a card field (shown by `bertzoo models`).
_LAYER_KEYS = {"family", "format", "files", "archive", "archive_root", "sha256", "size", "aliases",
               "load_options", "required_files"}


@dataclasses.dataclass(frozen=True)
class CatalogueEntry:
    """One downloadable model.

    Attributes:
        name: the catalogue name (also the cache folder's name).
        family: the family that loads it (None: detected from the downloaded files).
        format: the family's checkpoint-format name of the downloaded directory (None: detected).
        files: local file name -> URL, for entries made of single files.
        archive: the URL of one archive (zip / tar), for entries shipped as one.
        archive_root: the folder inside the archive that is the checkpoint (None: the archive's
            only top-level folder, or its top level).
        sha256: pinned checksums, file or archive name -> hex digest.
        size: approximate bytes (listing, free-space check); the transfer checks the exact length.
        aliases: other names for it.
        load_options: keyword arguments for the family's ``load`` (tokenizer casing, ...).
        required_files: glob patterns (``a|b`` = either) a complete cache entry must hold, beyond
            what its format requires.
        card: every other field: description, languages, license, paper, layers, hidden, heads, ...
        origin: where the entry was declared (a presets module, ``BERTZOO_MODELS`` file, ``register_model``).
    """

    name: str
    family: str | None = None
    format: str | None = None
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    archive: str | None = None
    archive_root: str | None = None
    sha256: dict[str, str] = dataclasses.field(default_factory=dict)
    size: int | None = None
    aliases: tuple[str, ...] = ()
    load_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    required_files: tuple[str, ...] = ()
    card: dict[str, Any] = dataclasses.field(default_factory=dict)
    origin: str = ""

    @property
    def urls(self) -> list[str]:
        """Every URL the entry downloads."""
        return [self.archive] if self.archive else list(self.files.values())

    def to_dict(self) -> dict[str, Any]:
        """The entry in the presets schema (plus ``name`` and ``origin``), JSON-serialisable."""
        data = {"name": self.name, "family": self.family, "format": self.format}
        if self.archive:
            data.update(archive=self.archive, archive_root=self.archive_root)
        else:
            data["files"] = dict(self.files)
        data.update(sha256=dict(self.sha256) or None, size=self.size, aliases=list(self.aliases),
                    load_options=dict(self.load_options), **self.card, origin=self.origin)
        if self.required_files:
            data["required_files"] = list(self.required_files)
        return data


def entry_from_dict(name: str, data: dict[str, Any], origin: str) -> CatalogueEntry:
    """Validates one entry of the presets schema; errors name the origin, the entry and the field."""
    where = f"{origin}: entry {name!r}"
    if not isinstance(data, dict):
        raise CatalogueError(f"{where}: expected an object of fields, got {type(data).__name__}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise CatalogueError(f"{where}: a name is letters, digits, '.', '_' or '-' (it names the cache folder)")
    files, archive = data.get("files"), data.get("archive")
    if bool(files) == bool(archive):
        raise CatalogueError(f"{where}: give exactly one of 'files' (name -> URL) or 'archive' (one URL)")
    if files is not None:
        if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            raise CatalogueError(f"{where}: field 'files' must map local file names to URLs")
        for local in files:
            parts = pathlib.PurePosixPath(local).parts
            if local.startswith("/") or ".." in parts or not parts:
                raise CatalogueError(f"{where}: field 'files' has {local!r}, which leaves the entry's folder")
    for url in ([archive] if archive else list((files or {}).values())):
        if not isinstance(url, str) or not urlparse(url).scheme:
            raise CatalogueError(f"{where}: {url!r} is not an absolute URL (https://..., gs://..., file://...)")
    sha256 = data.get("sha256") or {}
    if isinstance(sha256, str):
        only = _archive_name(archive) if archive else (next(iter(files)) if len(files) == 1 else None)
        if only is None:
            raise CatalogueError(f"{where}: field 'sha256' is one digest but the entry has several files; "
                                 "give a mapping file name -> digest")
        sha256 = {only: sha256}
    if not isinstance(sha256, dict):
        raise CatalogueError(f"{where}: field 'sha256' must be a hex digest or a mapping name -> digest")
    for key, digest in sha256.items():
        if not isinstance(digest, str) or not _SHA256.match(digest.lower()):
            raise CatalogueError(f"{where}: field 'sha256' for {key!r} is not 64 hex digits: {digest!r}")
    size = data.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise CatalogueError(f"{where}: field 'size' must be a number of bytes or null, got {size!r}")
    aliases = data.get("aliases") or []
    if isinstance(aliases, str) or not all(isinstance(a, str) and _NAME.match(a) for a in aliases):
        raise CatalogueError(f"{where}: field 'aliases' must be a list of names, got {aliases!r}")
    load_options = data.get("load_options") or {}
    if not isinstance(load_options, dict):
        raise CatalogueError(f"{where}: field 'load_options' must be an object of keyword arguments")
    required = data.get("required_files") or []
    if isinstance(required, str) or not all(isinstance(p, str) for p in required):
        raise CatalogueError(f"{where}: field 'required_files' must be a list of glob patterns")
    for key in ("family", "format", "archive_root"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise CatalogueError(f"{where}: field {key!r} must be a string or null, got {data[key]!r}")
    return CatalogueEntry(
        name=name, family=data.get("family"), format=data.get("format"), files=dict(files or {}), archive=archive,
        archive_root=data.get("archive_root"), sha256={k: v.lower() for k, v in sha256.items()}, size=size,
        aliases=tuple(aliases), load_options=dict(load_options), required_files=tuple(required),
        card={k: v for k, v in data.items() if k not in _LAYER_KEYS and k != "name"}, origin=origin)


def entry_from_url(name: str, url: str, *, sha256: str | dict | None = None, format: str | None = None,
                   origin: str, **card: Any) -> CatalogueEntry:
    """An entry from one URL: an archive when its name says so, else a single file (or ``files=``)."""
    data: dict[str, Any] = dict(card)
    if "files" not in data and "archive" not in data:
        if _archive_name(url).lower().endswith(ARCHIVE_SUFFIXES):
            data["archive"] = url
        else:
            data["files"] = {_archive_name(url): url}
    data.update(sha256=sha256, format=format)
    return entry_from_dict(name, data, origin)


# --------------------------------------------------------------------------------------- collection
_registered: dict[str, CatalogueEntry] = {}
_preset_modules: dict[str, dict[str, dict]] = {}
_lock = threading.Lock()


def register_model(name: str, url: str, sha256: str | dict | None = None, format: str | None = None,
                   **card: Any) -> CatalogueEntry:
    """Adds a model to the catalogue of this process, so ``load_pretrained(name)`` downloads it.

    Args:
        name: the catalogue name (letters, digits, ``.``, ``_``, ``-``).
        url: an archive (zip / tar) or a single file, by ``https://``, ``file://`` or a TensorFlow
            filesystem URL (``gs://``); several files: ``files={"name": url, ...}`` and any ``url``.
        sha256: the archive's or file's digest (or a mapping file name -> digest), checked on download.
        format: the family's checkpoint format (``google``, ``hugging_face``, ...); None: detected.
        **card: other schema fields: ``family``, ``archive_root``, ``aliases``, ``load_options``,
            ``description``, ``languages``, ``license``, ``layers``, ``hidden``, ``heads``, ...

    Returns:
        The validated entry.
    """
    entry = entry_from_url(name, url, sha256=sha256, format=format, origin="register_model", **card)
    with _lock:
        _registered[name.lower()] = entry
    try:
        entries()  # an alias that collides with another entry is reported now, not at first use
    except CatalogueError:
        with _lock:
            del _registered[name.lower()]
        raise
    return entry


def unregister_model(name: str) -> None:
    """Removes a ``register_model`` entry (tests, notebooks)."""
    with _lock:
        _registered.pop(name.lower(), None)


def entries() -> dict[str, CatalogueEntry]:
    """Every entry, by canonical name (families' presets, then ``BERTZOO_MODELS``, then registered)."""
    found: dict[str, CatalogueEntry] = {}
    for family in _family_names():
        for name, data in _family_presets(family).items():
            entry = entry_from_dict(name, data, origin=f"bertzoo.families.{family}.presets")
            if entry.family is None:
                entry = dataclasses.replace(entry, family=family)
            if name.lower() in {key.lower() for key in found}:
                raise CatalogueError(f"{entry.origin}: {name!r} is already an entry of "
                                     f"{found[_canonical(found, name)].origin}")
            found[name] = entry
    for entry in _user_file_entries():
        found.pop(_canonical(found, entry.name) or entry.name, None)
        found[entry.name] = entry
    with _lock:
        registered = list(_registered.values())
    for entry in registered:
        found.pop(_canonical(found, entry.name) or entry.name, None)
        found[entry.name] = entry
    _check_aliases(found)
    return found


def find_entry(name: str) -> CatalogueEntry | None:
    """The entry called ``name`` or having it as an alias (case-insensitive), else None."""
    wanted = name.lower()
    for entry in entries().values():
        if entry.name.lower() == wanted or wanted in (alias.lower() for alias in entry.aliases):
            return entry
    return None


def get_entry(name: str) -> CatalogueEntry:
    """The entry called ``name``; an unknown name is an error listing close ones."""
    entry = find_entry(name)
    if entry is None:
        raise UnknownModelError(f"{name!r} is not in bertzoo's catalogue{suggestions(name)}; "
                                "`bertzoo models` lists it")
    return entry


def suggestions(name: str) -> str:
    """`` (did you mean ...?)`` for names close to ``name``, or an empty string."""
    names = [n for entry in entries().values() for n in (entry.name, *entry.aliases)]
    close = difflib.get_close_matches(name, names, n=4, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _canonical(entries: dict[str, CatalogueEntry], name: str) -> str | None:
    return next((key for key in entries if key.lower() == name.lower()), None)


def _check_aliases(entries: dict[str, CatalogueEntry]) -> None:
    owner: dict[str, str] = {entry.name.lower(): entry.name for entry in entries.values()}
    for entry in entries.values():
        for alias in entry.aliases:
            key = alias.lower()
            if key in owner and owner[key] != entry.name:
                raise CatalogueError(f"{entry.origin}: alias {alias!r} of {entry.name!r} already names "
                                     f"{owner[key]!r}")
            owner[key] = entry.name


_FAMILIES = pathlib.Path(__file__).resolve().parent.parent / "families"
_plugin_presets: dict[str, dict[str, dict]] = {}


def register_presets(family: str, presets: dict[str, dict]) -> None:
    """Adds the catalogue entries of a family that lives outside bertzoo (beside its ``register_family``)."""
    if not isinstance(presets, dict):
        raise CatalogueError(f"presets of family {family!r}: expected a dict name -> entry")
    with _lock:
        _plugin_presets[family] = dict(presets)


def _family_names() -> list[str]:
    """Families with catalogue entries: every family folder holding ``presets.py``, then plug-ins.

    The folders are read directly (each family is one folder, registered once; tests/test_house.py
    checks that), so the gate does not import the family registry: families sit above the hub.
    """
    built_in = sorted(path.parent.name for path in _FAMILIES.glob("*/presets.py"))
    with _lock:
        plugins = sorted(set(_plugin_presets) - set(built_in))
    return built_in + plugins


def _family_presets(family: str) -> dict[str, dict]:
    """A family's ``PRESETS``, read without importing the family's package (which imports TensorFlow)."""
    with _lock:
        if family in _plugin_presets:
            return _plugin_presets[family]
    if family in _preset_modules:
        return _preset_modules[family]
    module_name = f"bertzoo.families.{family}.presets"
    if module_name in sys.modules:
        module = sys.modules[module_name]
    else:
        spec = importlib.util.spec_from_file_location(module_name, _FAMILIES / family / "presets.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    presets = getattr(module, "PRESETS", None)
    if not isinstance(presets, dict):
        raise CatalogueError(f"{module_name}: PRESETS must be a dict name -> entry")
    _preset_modules[family] = presets
    return presets


_user_file_cache: dict[tuple[str, float], list[CatalogueEntry]] = {}


def _user_file_entries() -> list[CatalogueEntry]:
    """Entries of the ``BERTZOO_MODELS`` JSON file (re-read when the file changes)."""
    value = os.environ.get("BERTZOO_MODELS")
    if not value:
        return []
    path = pathlib.Path(value).expanduser()
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError as error:
        raise CatalogueError(f"BERTZOO_MODELS names {path}, which cannot be read: {error}") from error
    if key in _user_file_cache:
        return _user_file_cache[key]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CatalogueError(f"BERTZOO_MODELS file {path}: not valid JSON ({error})") from error
    if not isinstance(data, list):
        raise CatalogueError(f"BERTZOO_MODELS file {path}: expected a list of objects with 'name' and 'url'")
    entries = []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise CatalogueError(f"BERTZOO_MODELS file {path}: item {index} needs a string field 'name'")
        fields = {k: v for k, v in item.items() if k not in ("name", "url")}
        url = item.get("url")
        origin = f"BERTZOO_MODELS file {path}"
        if url is None and not (fields.get("files") or fields.get("archive")):
            raise CatalogueError(f"{origin}: entry {item['name']!r} needs a field 'url' (or 'files')")
        if url is None:
            entries.append(entry_from_dict(item["name"], fields, origin))
        else:
            entries.append(entry_from_url(item["name"], url, origin=origin, **fields))
    _user_file_cache.clear()
    _user_file_cache[key] = entries
    return entries


def _archive_name(url: str) -> str:
    return pathlib.PurePosixPath(urlparse(url).path).name or "download"
