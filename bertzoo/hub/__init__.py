"""The zoo's gate: pretrained models by name, downloaded once, verified, cached, usable offline.

    import bertzoo
    bert = bertzoo.load_pretrained("bert-base-uncased")     # a catalogue name or alias
    folder = bertzoo.download("chinese_L-12_H-768_A-12")    # just the files
    bertzoo.register_model("our-bert", "https://models.example.com/our_bert.zip", sha256="...",
                           format="google", family="bert")

References ``load_pretrained`` takes (``bertzoo.hub.resolve``): a local directory; a catalogue name
or alias; ``hf://org/name[@revision]`` (huggingface_hub); a TF Hub / Kaggle model URL
(tensorflow_hub); ``kaggle://...`` or a KerasHub preset name (kagglehub, keras-hub's client); a
TensorFlow-filesystem URL (``gs://bucket/dir``); any ``https://`` archive or file URL.

Modules: ``catalogue`` (entries, ``register_model``, ``BERTZOO_MODELS``), ``download`` (entry ->
cache folder), ``transfer`` (one verified file: resume, retries, checksums, progress), ``archive``
(safe extraction), ``cache`` (layout, completeness, list/verify/purge), ``entry_lock`` (one download
per entry across processes), ``handles`` (other ecosystems' clients), ``settings`` (environment).

Environment (read at each call): ``BERTZOO_HOME`` (cache; default ``$KERAS_HOME/bertzoo`` or
``~/.cache/bertzoo``), ``BERTZOO_OFFLINE=1``, ``BERTZOO_MIRROR`` (replaces
``https://storage.googleapis.com/bert_models/``; or ``ORIGINAL=REPLACEMENT`` pairs),
``BERTZOO_MODELS`` (JSON file of entries), ``BERTZOO_DOWNLOAD_RETRIES`` (5),
``BERTZOO_RETRY_BACKOFF`` (1 s, doubled per retry), ``BERTZOO_DOWNLOAD_TIMEOUT`` (60 s), proxies and CA
bundles through ``HTTPS_PROXY``/``NO_PROXY``/``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE``.

Catalogue entry schema (``PRESETS`` in ``bertzoo/families/<family>/presets.py``, one dict per name;
the same keys in ``BERTZOO_MODELS`` objects and ``register_model`` keywords)::

    "name": {                      # letters, digits, . _ -; matched case-insensitively; unique
        "family": "bert",          # the family that loads it (None: detected from the files)
        "format": "google",        # the family's checkpoint-format name of the downloaded folder
        "files": {"local/name": "https://..."},   # either single files ...
        "archive": "https://.../x.zip",           # ... or one zip / tar archive, extracted
        "archive_root": "x",       # folder inside the archive that is the checkpoint (None: a lone
                                   # top-level folder, else the top level)
        "sha256": None,            # or {"file or archive name": "<hex>"} (a string when one file)
        "size": 440_000_000,       # approximate bytes (listing, free-space check) or None
        "aliases": ["bert-base-uncased"],
        "load_options": {"do_lower_case": True},  # keyword arguments for the family's load()
        "required_files": [],      # extra glob patterns ("a|b": either) a complete entry must hold
        # card fields, shown by `bertzoo models`: "description", "languages", "license", "paper",
        # "layers", "hidden", "heads", "cased", "tokenizer", ...
    }

A ``BERTZOO_MODELS`` object has at least ``name`` and ``url`` (``url`` becomes ``archive`` when it
names a zip / tar, else ``files``); ``register_model(name, url, sha256=None, format=None, **card)``.
The catalogue reads every ``bertzoo/families/*/presets.py`` as a data file (without importing the
family, so ``bertzoo models`` needs no TensorFlow); a family living outside bertzoo calls
``register_presets(family, PRESETS)`` beside its ``register_family``.
"""

from bertzoo.hub.catalogue import (
    CatalogueEntry,
    entries,
    find_entry,
    get_entry,
    register_model,
    register_presets,
    unregister_model,
)
from bertzoo.hub.download import download, fetch_entry
from bertzoo.hub.errors import (
    CatalogueError,
    ChecksumError,
    DamagedArchiveError,
    DownloadError,
    NotEnoughSpaceError,
    OfflineError,
    UnknownModelError,
    UnsafeArchiveError,
)
from bertzoo.hub.resolve import ResolvedCheckpoint, resolve

__all__ = ["CatalogueEntry", "CatalogueError", "ChecksumError", "DamagedArchiveError", "DownloadError",
           "NotEnoughSpaceError", "OfflineError", "ResolvedCheckpoint", "UnknownModelError", "UnsafeArchiveError",
           "download", "entries", "fetch_entry", "find_entry", "get_entry", "register_model", "register_presets",
           "resolve",
           "unregister_model"]
