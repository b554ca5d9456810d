"""References that belong to another ecosystem, each resolved by that ecosystem's own client.

- ``hf://org/name[@revision]``: a Hugging Face repository, through ``huggingface_hub``'s
  ``snapshot_download`` (only the files a BERT needs), honouring ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``,
  ``HF_HUB_CACHE`` / ``HF_HOME`` and ``HF_TOKEN`` (read at call time);
- TF Hub / Kaggle model URLs (``https://tfhub.dev/...``, ``https://www.kaggle.com/models/...``),
  through ``tensorflow_hub.resolve`` and its ``TFHUB_CACHE_DIR``;
- ``kaggle://owner/model/framework/variation[/version]`` and KerasHub preset names
  (``bert_base_en_uncased``), through ``kagglehub`` (keras-hub's own download client) and its
  ``KAGGLEHUB_CACHE``;
- any TensorFlow filesystem URL (``gs://bucket/dir``, ``s3://``, ``hdfs://``, ``ram://``): the
  directory is copied into ``BERTZOO_HOME/remote`` (the readers need local files), verified like a
  download, and copied again only when a file's size or modification time changed.

``BERTZOO_OFFLINE=1`` applies to every one of them: only what their caches already hold is used.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import re

from bertzoo.hub import cache, settings
from bertzoo.hub.entry_lock import EntryLock
from bertzoo.hub.errors import DownloadError, OfflineError, UnknownModelError

# What a BERT directory from Hugging Face needs (safetensors only: bertzoo never unpickles weights).
HF_PATTERNS = ["config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "*.safetensors",
               "model.safetensors.index.json"]
TF_HUB_PREFIXES = ("https://tfhub.dev/", "http://tfhub.dev/", "https://www.kaggle.com/models/",
                   "https://kaggle.com/models/")
_KERAS_HUB_PRESET = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def scheme_of(reference: str) -> str | None:
    """The ``scheme`` of ``scheme://...`` (lowercase), or None for a plain name or path."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", reference)
    return match.group(1).lower() if match else None


def is_tf_hub_handle(reference: str) -> bool:
    return reference.startswith(TF_HUB_PREFIXES)


# -------------------------------------------------------------------------------------- Hugging Face
def resolve_hugging_face(reference: str) -> pathlib.Path:
    """``hf://org/name[@revision]`` -> the snapshot folder in the Hugging Face cache."""
    import huggingface_hub
    from huggingface_hub import errors as hf_errors

    repo = reference[len("hf://"):]
    repo_id, _, revision = repo.partition("@")
    if repo_id.count("/") > 1 or not repo_id.strip("/"):
        raise UnknownModelError(f"{reference}: expected hf://org/name or hf://name (optionally @revision)")
    offline = settings.offline() or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    cache_dir = os.environ.get("HF_HUB_CACHE") or (
        os.path.join(os.environ["HF_HOME"], "hub") if os.environ.get("HF_HOME") else None)
    try:
        folder = huggingface_hub.snapshot_download(
            repo_id, revision=revision or None, allow_patterns=HF_PATTERNS, cache_dir=cache_dir,
            local_files_only=offline, endpoint=os.environ.get("HF_ENDPOINT") or None,
            token=os.environ.get("HF_TOKEN") or None)
    except hf_errors.LocalEntryNotFoundError as error:
        where = cache_dir or huggingface_hub.constants.HF_HUB_CACHE
        raise OfflineError(f"{reference} is not in the Hugging Face cache ({where}) and offline mode "
                           f"({'BERTZOO_OFFLINE' if settings.offline() else 'HF_HUB_OFFLINE'}) forbids "
                           f"downloading it ({error.__class__.__name__})") from error
    except (hf_errors.RepositoryNotFoundError, hf_errors.RevisionNotFoundError) as error:
        raise UnknownModelError(f"{reference}: {str(error).splitlines()[0]}") from error
    except (hf_errors.HfHubHTTPError, OSError) as error:
        raise DownloadError(f"{reference}: {str(error).splitlines()[0] if str(error) else error!r}") from error
    folder = pathlib.Path(folder)
    if not any(folder.glob("*.safetensors")) and not (folder / "model.safetensors.index.json").exists():
        raise DownloadError(f"{reference}: the repository has no safetensors weights (bertzoo does not read "
                            f"pickled pytorch_model.bin); found {sorted(p.name for p in folder.iterdir())}")
    return folder


# ---------------------------------------------------------------------------------- TF Hub / Kaggle
def tf_hub_cache_folder(handle: str) -> pathlib.Path | None:
    """Where ``tensorflow_hub`` keeps ``handle`` (its cache key: the handle's sha1), if it is cached."""
    from tensorflow_hub import resolver

    cache_dir = resolver.tfhub_cache_dir(use_temp=True)
    folder = pathlib.Path(cache_dir) / hashlib.sha1(handle.encode("utf8")).hexdigest()
    return folder if folder.is_dir() and any(folder.iterdir()) else None


def resolve_tf_hub(handle: str) -> pathlib.Path:
    """A TF Hub or Kaggle model URL -> the SavedModel folder ``tensorflow_hub`` resolved it to."""
    if settings.offline():
        folder = tf_hub_cache_folder(handle)
        if folder is None:
            import tensorflow_hub.resolver as resolver

            raise OfflineError(f"{handle} is not in the TF Hub cache ({resolver.tfhub_cache_dir(use_temp=True)}) "
                               "and BERTZOO_OFFLINE=1 forbids downloading it")
        return folder
    import tensorflow_hub as hub

    try:
        return pathlib.Path(hub.resolve(handle))
    except Exception as error:  # tensorflow_hub raises assorted types for network and format failures
        raise DownloadError(f"{handle}: tensorflow_hub could not resolve it: {error}") from error


def resolve_kaggle(handle: str) -> pathlib.Path:
    """``kaggle://owner/model/framework/variation[/version]`` -> the folder ``kagglehub`` keeps it in."""
    import kagglehub

    kaggle_handle = handle[len("kaggle://"):] if handle.startswith("kaggle://") else handle
    if settings.offline():
        from kagglehub.cache import Cache
        from kagglehub.handle import parse_model_handle

        found = Cache().load_from_cache(parse_model_handle(kaggle_handle))
        if found is None:
            from kagglehub.config import get_cache_folder

            raise OfflineError(f"{handle} is not in the Kaggle cache ({get_cache_folder()}) and BERTZOO_OFFLINE=1 "
                               "forbids downloading it (a handle without /version always asks the server)")
        return pathlib.Path(found)
    try:
        return pathlib.Path(kagglehub.model_download(kaggle_handle))
    except Exception as error:  # kagglehub raises its own HTTP and value errors
        raise DownloadError(f"{handle}: kagglehub could not download it: {error}") from error


def keras_hub_preset_handle(name: str) -> str | None:
    """The Kaggle handle of a KerasHub preset name (``bert_base_en_uncased``), or None."""
    if not _KERAS_HUB_PRESET.match(name):
        return None
    import keras_hub  # noqa: F401  (registers the built-in presets)
    from keras_hub.src.utils.preset_utils import BUILTIN_PRESETS

    preset = BUILTIN_PRESETS.get(name)
    return preset.get("kaggle_handle") if preset else None


# ------------------------------------------------------------------------------ TensorFlow filesystem
def resolve_tf_filesystem(url: str) -> pathlib.Path:
    """A directory on a TensorFlow filesystem (``gs://...``) -> a verified local copy of it."""
    key = re.sub(r"[^A-Za-z0-9._-]+", "_", url.rstrip("/"))[-80:] + "-" + hashlib.sha1(url.encode()).hexdigest()[:10]
    local = settings.home() / "remote" / key
    marker = cache.read_marker(local)
    if settings.offline():
        if marker is None:
            raise OfflineError(f"{url} has no local copy in {local} and BERTZOO_OFFLINE=1 forbids reading it")
        return local
    import tensorflow as tf

    if not tf.io.gfile.isdir(url):
        raise FileNotFoundError(f"{url}: no such directory (TensorFlow filesystem)")
    listing = _remote_listing(tf, url.rstrip("/"))
    if marker is not None and marker.get("source", {}).get("listing") == listing:
        return local
    with EntryLock(settings.home() / "locks" / f"remote-{key}.lock", url):
        staging = local.with_name(f".{key}{cache.PARTIAL_SUFFIX}")
        cache.remove_tree(staging)
        try:
            from bertzoo.hub.catalogue import CatalogueEntry
            from bertzoo.hub.transfer import fetch_file

            for relative in listing:
                fetch_file(f"{url.rstrip('/')}/{relative}", staging / relative, label=f"{url}/{relative}")
            cache.write_marker(staging, CatalogueEntry(name=key), files=cache.describe_files(staging),
                               source={"url": url, "listing": listing})
            if local.exists():
                cache.remove_tree(local)
            staging.rename(local)
        except BaseException:
            cache.remove_tree(staging)
            raise
    return local


def _remote_listing(tf, url: str) -> dict[str, list[int]]:
    """relative path -> [size, mtime in ns] of every file under ``url``."""
    listing = {}
    for directory, _, files in tf.io.gfile.walk(url):
        for name in files:
            path = f"{directory.rstrip('/')}/{name}"
            info = tf.io.gfile.stat(path)
            listing[path[len(url) + 1:]] = [int(info.length), int(info.mtime_nsec)]
    return dict(sorted(listing.items()))
