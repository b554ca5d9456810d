"""Fine-tuning hyperparameters: the BERT paper's, and bertzoo's defaults that also work on small data.

The paper fine-tunes BERT-base/large on GLUE-sized sets with lr in {5e-5, 3e-5, 2e-5}, 2-4 epochs,
batch 16/32, picked on the dev set. Used as-is on a small model and a small dataset those settings
under-train: a 384-wide model such as all-MiniLM-L6-v2 wants a larger step, and 3 epochs of a
thousand rows are fewer than a hundred updates. bertzoo's default rule (``recommended_settings``):

- learning rate ``5e-5 * (768 / hidden_size) ** 2``, clipped to [2e-5, 3e-4]: the paper's 5e-5 for
  a base-width model, 2e-4 for a 384-wide one, 2.8e-5 for a large one;
- epochs: the paper's 3, raised until training makes at least ``MIN_UPDATES`` (300) optimizer
  steps, at most ``MAX_EPOCHS`` (10); big datasets keep 3;
- the sentence vector the checkpoint was trained to give: a sentence-transformers checkpoint whose
  ``1_Pooling/config.json`` says mean pooling is read by a masked mean of its tokens (its [CLS]
  pooler was never trained), every other checkpoint by its [CLS] pooler;
- with validation data the weights of the best epoch are kept (``fit(validation_data=...)``; on the
  command line with ``--eval`` when the epochs are the rule's, i.e. ``--epochs`` is not given).

``PAPER`` holds the paper's settings (``--paper-defaults`` on the command line, ``paper_defaults=True``
in ``compile``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib

MIN_UPDATES = 300
MAX_EPOCHS = 10
PAPER_EPOCHS = 3


@dataclasses.dataclass(frozen=True)
class FineTuningSettings:
    """What a fine-tuning run uses when the user gives nothing."""

    learning_rate: float = 5e-5
    epochs: int = PAPER_EPOCHS
    batch_size: int = 32
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    pooling: str = "pooler"
    keep_best_epoch: bool = False

    def describe(self) -> str:
        return (f"lr {self.learning_rate:g}, {self.epochs} epochs, batch {self.batch_size}, "
                f"{self.pooling} pooling" + (", best epoch kept" if self.keep_best_epoch else ""))


PAPER = FineTuningSettings()


def default_learning_rate(hidden_size: int) -> float:
    """``5e-5 * (768 / hidden_size) ** 2`` clipped to [2e-5, 3e-4] (see the module docstring)."""
    return float(min(3e-4, max(2e-5, 5e-5 * (768.0 / hidden_size) ** 2)))


def default_epochs(num_train_examples: int, batch_size: int) -> int:
    """The paper's 3 epochs, more (at most ``MAX_EPOCHS``) until there are ``MIN_UPDATES`` updates."""
    steps_per_epoch = max(1, num_train_examples // batch_size)
    return int(min(MAX_EPOCHS, max(PAPER_EPOCHS, math.ceil(MIN_UPDATES / steps_per_epoch))))


def checkpoint_pooling(directory: str | os.PathLike | None) -> str:
    """``"mean"`` for a sentence-transformers checkpoint that mean-pools, else ``"pooler"``."""
    if directory is None:
        return "pooler"
    path = pathlib.Path(directory) / "1_Pooling" / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "pooler"
    return "mean" if config.get("pooling_mode_mean_tokens") else "pooler"


def recommended_settings(*, hidden_size: int, num_train_examples: int, batch_size: int = 32,
                         checkpoint_dir: str | os.PathLike | None = None, has_validation: bool = False,
                         paper_defaults: bool = False) -> FineTuningSettings:
    """bertzoo's defaults for one run (the module docstring states the rule), or ``PAPER``'s."""
    if paper_defaults:
        return dataclasses.replace(PAPER, batch_size=batch_size)
    return FineTuningSettings(learning_rate=default_learning_rate(hidden_size),
                              epochs=default_epochs(num_train_examples, batch_size), batch_size=batch_size,
                              pooling=checkpoint_pooling(checkpoint_dir), keep_best_epoch=has_validation)
