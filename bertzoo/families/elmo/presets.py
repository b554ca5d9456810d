"""Catalogue entries for the official ELMo downloads (AllenNLP's, Peters et al. 2018), as data.

Each entry downloads the options and weight files of one model into an entry directory named
``options.json`` and ``weights.hdf5`` (the names ``load_elmo`` looks for first); the URLs are
AllenNLP's (``allennlp.modules.elmo.DEFAULT_OPTIONS_FILE`` in allennlp 0.9 names the first one).
Sizes and checksums are not recorded here (None): they were not measured from this machine, which
cannot reach the internet.
"""

from __future__ import annotations

_BASE = "https://allennlp.s3.amazonaws.com/models/elmo"
_PAPER = "https://arxiv.org/abs/1802.05365"


def _entry(folder: str, description: str, *, lstm_dim: int, projection_dim: int, highway: int, aliases: list[str],
           training_data: str) -> dict:
    stem = f"{_BASE}/{folder}/elmo_{folder}"
    return {
        "family": "elmo",
        "format": "bilm_tf",
        "files": {"options.json": f"{stem}_options.json", "weights.hdf5": f"{stem}_weights.hdf5"},
        "sha256": None,
        "size": None,
        "aliases": aliases,
        "description": description,
        "languages": ["en"],
        "license": "Apache-2.0",
        "paper": _PAPER,
        "load_options": {},
        "layers": 3,
        "hidden": 2 * projection_dim,
        "lstm_dim": lstm_dim,
        "highway_layers": highway,
        "cased": True,
        "training_data": training_data,
    }


PRESETS: dict[str, dict] = {
    "elmo-original": _entry("2x4096_512_2048cnn_2xhighway", "ELMo original (93.6M parameters), 1024-wide layers",
                            lstm_dim=4096, projection_dim=512, highway=2, aliases=["elmo", "elmo-2x4096"],
                            training_data="1 Billion Word Benchmark"),
    "elmo-medium": _entry("2x2048_256_2048cnn_1xhighway", "ELMo medium (28.0M parameters), 512-wide layers",
                          lstm_dim=2048, projection_dim=256, highway=1, aliases=["elmo-2x2048"],
                          training_data="1 Billion Word Benchmark"),
    "elmo-small": _entry("2x1024_128_2048cnn_1xhighway", "ELMo small (13.6M parameters), 256-wide layers",
                         lstm_dim=1024, projection_dim=128, highway=1, aliases=["elmo-2x1024"],
                         training_data="1 Billion Word Benchmark"),
    "elmo-original-5.5b": _entry("2x4096_512_2048cnn_2xhighway_5.5B",
                                 "ELMo original trained on 5.5B tokens (Wikipedia + WMT news crawl), 1024-wide",
                                 lstm_dim=4096, projection_dim=512, highway=2, aliases=["elmo-5.5b"],
                                 training_data="Wikipedia (1.9B) + WMT 2008-2012 news crawl (3.6B)"),
}
