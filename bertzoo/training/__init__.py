"""Training machinery shared by every recipe: strategy, optimizer, and one trainer on ``strategy.run``.

    from bertzoo.training import Trainer, create_optimizer, describe_batch, resolve_strategy

Family-agnostic: takes a Keras model and a dataset; never imports export or recipes.
"""

from bertzoo.training.checkpoint_averaging import average_checkpoints, last_checkpoints
from bertzoo.training.label_smoothing import label_smoothed_cross_entropy
from bertzoo.training.optimization import (
    BertAdamW,
    SyncedLossScaleOptimizer,
    WarmupLinearDecay,
    bert_layer_depth,
    create_optimizer,
    layer_decay_multiplier,
)
from bertzoo.training.strategy import TPUNotFoundError, check_tf_config, describe_batch, resolve_strategy
from bertzoo.training.checkpoint_integrity import DamagedCheckpointsError
from bertzoo.training.run_lock import RunLockedError
from bertzoo.training.trainer import NonFiniteLossError, Trainer, TrainingInterrupted, is_chief, read_scalars
from bertzoo.training.transformer_schedule import TransformerSchedule, transformer_adam

__all__ = [
    "BertAdamW",
    "DamagedCheckpointsError",
    "NonFiniteLossError",
    "RunLockedError",
    "SyncedLossScaleOptimizer",
    "TPUNotFoundError",
    "Trainer",
    "TrainingInterrupted",
    "TransformerSchedule",
    "WarmupLinearDecay",
    "average_checkpoints",
    "bert_layer_depth",
    "check_tf_config",
    "create_optimizer",
    "describe_batch",
    "is_chief",
    "label_smoothed_cross_entropy",
    "last_checkpoints",
    "layer_decay_multiplier",
    "read_scalars",
    "resolve_strategy",
    "transformer_adam",
]
