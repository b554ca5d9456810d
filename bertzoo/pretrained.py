"""``load_pretrained`` and ``save_pretrained`` for every family: a name or path in, a bundle out.

A name, handle or URL becomes a local directory through the gate (``bertzoo.hub``: catalogue names,
``hf://``, TF Hub / Kaggle handles, KerasHub presets, ``gs://``); the family and checkpoint format come
from the directory's files (``bertzoo.families.registry``), or from the catalogue entry; the
family's own loader builds the bundle.
"""

from __future__ import annotations

import inspect
import os
import pathlib
from typing import Any

from bertzoo.errors import UnknownOptionError
from bertzoo.families.registry import Family, Pretrained, detect_family, get_family


def resolve_checkpoint(name_or_path: str | os.PathLike) -> pathlib.Path:
    """A local checkpoint directory for ``name_or_path``: a directory, a catalogue name (downloaded
    once into ``BERTZOO_HOME``), ``hf://org/name``, a TF Hub / Kaggle handle, a KerasHub preset name
    or a TensorFlow-filesystem URL (``gs://...``)."""
    from bertzoo.hub.resolve import resolve

    return resolve(name_or_path).directory


def detect_format(name_or_path: str | os.PathLike) -> str:
    """Which checkpoint format a directory holds (``google``, ``hugging_face``, ``bertzoo``, ...)."""
    return detect_family(resolve_checkpoint(name_or_path))[1]


def load_pretrained(name_or_path: str | os.PathLike, seq_length: int = 128, *, family: str | None = None,
                    **options: Any) -> Pretrained:
    """Reads a pretrained model of any family.

    Args:
        name_or_path: a checkpoint directory (family and format detected from its files), a catalogue
            name or alias (``"bert-base-uncased"``; `bertzoo models` lists them), ``hf://org/name``,
            a TF Hub / Kaggle handle, a KerasHub preset name, or a ``gs://`` directory.
        seq_length: the preprocessor's fixed output length.
        family: skip detection and read the directory as this family.
        **options: the family's own options (BERT: ``do_lower_case``, ``dtype``); they override the
            catalogue entry's ``load_options`` (e.g. the casing Google documents for the model).

    Returns:
        The family's bundle: ``family``, ``config``, ``encoder``, ``tokenizer``, ``preprocessor``.
    """
    from bertzoo.hub.resolve import resolve

    resolved = resolve(name_or_path)
    family = family or resolved.family
    found = detect_family(resolved.directory)[0] if family is None else get_family(family)
    # An option left at None (``do_lower_case=None``: "no override") keeps the entry's setting.
    given = {key: value for key, value in options.items() if value is not None or key not in resolved.load_options}
    _check_options(found, resolved.directory, given)
    return found.load(resolved.directory, seq_length=seq_length, **{**resolved.load_options, **given})


def _check_options(family: Family, directory: pathlib.Path, options: dict[str, Any]) -> None:
    """Raises ``UnknownOptionError`` for options the family's loader does not take (Python's own
    ``TypeError`` would name neither the directory nor the family)."""
    parameters = inspect.signature(family.load).parameters
    if any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters.values()):
        return  # a loader taking ``**options`` checks them itself
    taken = sorted(name for name, parameter in parameters.items()
                   if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
                   and name not in ("path", "directory", "seq_length"))
    unknown = tuple(sorted(set(options) - set(parameters)))
    if unknown:
        raise UnknownOptionError(
            f"{directory} holds a {family.name} model, whose loader takes no option "
            f"{', '.join(map(repr, unknown))}; it takes {', '.join(taken) or 'none'}", unknown)


def save_pretrained(bundle: Pretrained, out_dir: str | os.PathLike, overwrite: bool = False) -> pathlib.Path:
    """Writes ``bundle`` in bertzoo's own format for its family; ``load_pretrained`` reads it back."""
    return get_family(bundle.family).save(bundle, out_dir, overwrite=overwrite)
