"""A virtual environment holding only `tensorflow` (no tensorflow-text, keras-hub or bertzoo): where a
stock TF Serving user stands. Made once and cached between test runs."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import tensorflow as tf

REPO = pathlib.Path(__file__).resolve().parents[1]


def tf_only_python() -> pathlib.Path:
    """The Python of the cached environment, created on first use (pip reads its wheel cache).

    Its location: ``$BERTZOO_TF_ONLY_VENV``, else ``.venv-tf-only/`` at the top of the repository.
    """
    directory = pathlib.Path(os.environ.get("BERTZOO_TF_ONLY_VENV", REPO / ".venv-tf-only"))
    python = directory / "bin" / "python"
    stamp = directory / f".tensorflow-{tf.__version__}"
    if not stamp.is_file():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(directory)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"tensorflow=={tf.__version__}"],
                       check=True)
        stamp.touch()
    return python
