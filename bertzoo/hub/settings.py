"""The gate's environment: where the cache lives, whether the network may be used, which mirror.

Read at call time (never at import), so a test or a notebook can change them between calls.

- ``BERTZOO_HOME``: the cache (default ``$KERAS_HOME/bertzoo`` when ``KERAS_HOME`` is set, else
  ``$XDG_CACHE_HOME/bertzoo`` or ``~/.cache/bertzoo``). Never a temporary folder: a cache that the
  system wipes on reboot defeats "downloaded once".
- ``BERTZOO_OFFLINE=1``: never touch the network; a model not in the cache is an error naming it.
- ``BERTZOO_MIRROR``: a base URL replacing Google's ``https://storage.googleapis.com/bert_models/``
  (an air-gapped site serving its own copy with the same layout). Several replacements:
  ``ORIGINAL=REPLACEMENT`` pairs separated by spaces or commas, for other families' hosts.
- ``BERTZOO_MODELS``: a JSON file of extra catalogue entries (``bertzoo.hub.catalogue``).
- Proxies and CA bundles: ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``, ``REQUESTS_CA_BUNDLE`` or
  ``CURL_CA_BUNDLE`` (``requests`` reads them), and ``SSL_CERT_FILE`` as a fallback CA bundle.
"""

from __future__ import annotations

import os
import pathlib

GOOGLE_STORAGE = "https://storage.googleapis.com/bert_models/"
_TRUE = {"1", "true", "yes", "on"}


def home() -> pathlib.Path:
    """The cache root (created on first use)."""
    if os.environ.get("BERTZOO_HOME"):
        return pathlib.Path(os.environ["BERTZOO_HOME"]).expanduser()
    if os.environ.get("KERAS_HOME"):
        return pathlib.Path(os.environ["KERAS_HOME"]).expanduser() / "bertzoo"
    cache = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(cache).expanduser() / "bertzoo"


def offline() -> bool:
    """``BERTZOO_OFFLINE`` is set to a true value."""
    return os.environ.get("BERTZOO_OFFLINE", "").strip().lower() in _TRUE


def mirrors() -> list[tuple[str, str]]:
    """(original base, replacement base) pairs from ``BERTZOO_MIRROR``."""
    value = os.environ.get("BERTZOO_MIRROR", "").strip()
    if not value:
        return []
    pairs = []
    for item in value.replace(",", " ").split():
        before, _, after = item.partition("=")
        if after and "://" in before:
            original, replacement = before, after
        else:
            original, replacement = GOOGLE_STORAGE, item
        pairs.append((_with_slash(original), _with_slash(replacement)))
    return pairs


def mirrored(url: str) -> str:
    """``url`` with its base replaced by the mirror configured for it (unchanged when none)."""
    for original, replacement in mirrors():
        if url.startswith(original):
            return replacement + url[len(original):]
    return url


def ca_bundle() -> str | bool:
    """The CA bundle for HTTPS: requests' own variables first, then ``SSL_CERT_FILE``, else True."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        if os.environ.get(name):
            return os.environ[name]
    return True


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
