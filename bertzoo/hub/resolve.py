"""Any reference to a checkpoint -> a local folder, plus the load options its catalogue entry sets.

In order: an existing local path; ``hf://``; ``kaggle://``; a TF Hub / Kaggle URL; another ``http(s)``
URL (a catalogue entry with that URL, else an archive or file downloaded as an ad-hoc entry); any
other ``scheme://`` (a TensorFlow filesystem: ``gs://``, ...); a catalogue name or alias; a KerasHub
preset name. Anything else is an error naming what was tried and close catalogue names.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import re
from typing import Any

from bertzoo.hub import handles
from bertzoo.hub.catalogue import CatalogueEntry, entries, entry_from_url, find_entry, suggestions
from bertzoo.hub.download import fetch_entry
from bertzoo.hub.errors import UnknownModelError

# pathlib turns "hf://org/name" into "hf:/org/name"; such a collapsed reference is restored.
_COLLAPSED = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):/(?!/)")


@dataclasses.dataclass(frozen=True)
class ResolvedCheckpoint:
    """Where a reference led.

    Attributes:
        directory: the local checkpoint folder.
        load_options: keyword arguments the catalogue entry sets for the family's loader.
        family: the entry's family (None: detect it from the files).
        entry: the catalogue entry, when the reference named one.
        kind: ``"path"``, ``"catalogue"``, ``"url"``, ``"hugging_face"``, ``"tf_hub"``, ``"kaggle"``,
            ``"keras_hub"`` or ``"tf_filesystem"``.
    """

    directory: pathlib.Path
    load_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    family: str | None = None
    entry: CatalogueEntry | None = None
    kind: str = "path"


def resolve(reference: str | os.PathLike) -> ResolvedCheckpoint:
    """The local folder (downloading if needed) and load options of ``reference``."""
    if isinstance(reference, os.PathLike) and not isinstance(reference, str):
        path = pathlib.Path(reference)
        if path.exists():
            return ResolvedCheckpoint(path)
        reference = _COLLAPSED.sub(r"\1://", str(reference))
    reference = str(reference)
    if os.path.exists(reference):
        return ResolvedCheckpoint(pathlib.Path(reference))
    scheme = handles.scheme_of(reference)
    if scheme is None and _COLLAPSED.match(reference):
        reference, scheme = _COLLAPSED.sub(r"\1://", reference), _COLLAPSED.match(reference).group(1).lower()
    if scheme == "hf":
        return ResolvedCheckpoint(handles.resolve_hugging_face(reference), kind="hugging_face")
    if scheme == "kaggle":
        return ResolvedCheckpoint(handles.resolve_kaggle(reference), kind="kaggle")
    if handles.is_tf_hub_handle(reference):
        return ResolvedCheckpoint(handles.resolve_tf_hub(reference), kind="tf_hub")
    if scheme in ("http", "https"):
        entry = next((entry for entry in entries().values() if reference in entry.urls), None)
        if entry is None:
            name = "url-" + hashlib.sha256(reference.encode()).hexdigest()[:16]
            entry = entry_from_url(name, reference, origin=f"URL {reference}")
            return ResolvedCheckpoint(fetch_entry(entry), kind="url")
        return _from_entry(entry)
    if scheme is not None:
        return ResolvedCheckpoint(handles.resolve_tf_filesystem(reference), kind="tf_filesystem")
    entry = find_entry(reference)
    if entry is not None:
        return _from_entry(entry)
    if _looks_like_path(reference):
        raise UnknownModelError(f"checkpoint directory not found: {reference}"
                                f"{suggestions(pathlib.Path(reference).name)}")
    handle = handles.keras_hub_preset_handle(reference)
    if handle is not None:
        return ResolvedCheckpoint(handles.resolve_kaggle(handle), kind="keras_hub")
    raise UnknownModelError(
        f"{reference!r} is not a local checkpoint directory, a catalogue name{suggestions(reference)}, a KerasHub "
        "preset, or a handle (hf://org/name, kaggle://..., https://tfhub.dev/..., gs://...); `bertzoo models` "
        "lists the catalogue")


def _from_entry(entry: CatalogueEntry) -> ResolvedCheckpoint:
    return ResolvedCheckpoint(fetch_entry(entry), load_options=dict(entry.load_options), family=entry.family,
                              entry=entry, kind="catalogue")


def _looks_like_path(reference: str) -> bool:
    """A reference written as a path (a separator, ``.``, ``~``): never a catalogue name or preset."""
    return os.sep in reference or "/" in reference or reference.startswith((".", "~"))
