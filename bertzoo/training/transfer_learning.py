"""ULMFiT's three fine-tuning techniques (Howard & Ruder 2018, section 3.2-3.3), for any family.

- ``SlantedTriangularLearningRate``: a short linear increase then a long linear decay (STLR);
- discriminative learning rates: each layer group trains at the rate of the group above it divided
  by 2.6 (``discriminative_optimizer`` gives ``BertAdamW`` a per-variable multiplier, the
  mechanism BERT's layer-wise decay uses);
- ``GradualUnfreezing``: the top group trains first, one more group below each epoch.

Layer groups are lists of Keras layers (or variables), bottom first: for ULMFiT's classifier
``[embedding, lstm_0, lstm_1, lstm_2, head]``; for BERT ``[embeddings, layer_0, ..., head]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from bertzoo.training.optimization import BertAdamW


@keras.saving.register_keras_serializable(package="bertzoo")
class SlantedTriangularLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """ULMFiT's STLR (eq. 3): ``cut = floor(T * cut_frac)``; ``p = t / cut`` while ``t < cut``, else
    ``1 - (t - cut) / (cut * (1 / cut_frac - 1))``; ``lr_t = lr_max * (1 + p * (ratio - 1)) / ratio``.

    Args:
        max_learning_rate: the peak ``lr_max``, reached at step ``cut``.
        num_train_steps: ``T``, the number of training iterations.
        cut_frac: share of steps spent increasing (0.1).
        ratio: how much smaller the lowest rate is than the peak (32).

    Example:
        >>> schedule = SlantedTriangularLearningRate(0.01, num_train_steps=1000)
        >>> float(schedule(100))  # the peak, at cut = 100
        0.01
    """

    def __init__(self, max_learning_rate: float, num_train_steps: int, cut_frac: float = 0.1, ratio: float = 32.0):
        if num_train_steps < 1:
            raise ValueError(f"num_train_steps must be positive, got {num_train_steps}")
        if not 0.0 < cut_frac < 1.0:
            raise ValueError(f"cut_frac must be in (0, 1), got {cut_frac}")
        if ratio < 1.0:
            raise ValueError(f"ratio must be at least 1, got {ratio}")
        self.max_learning_rate = float(max_learning_rate)
        self.num_train_steps = int(num_train_steps)
        self.cut_frac = float(cut_frac)
        self.ratio = float(ratio)
        self.cut = max(int(math.floor(self.num_train_steps * self.cut_frac)), 1)

    def __call__(self, step):
        # Exactly the paper's formula up to T (with cut floored, p dips just below 0 near T, as there);
        # past T the rate stays at its value at T.
        t = ops.minimum(ops.cast(step, "float32"), float(self.num_train_steps))
        cut = float(self.cut)
        rising = t / cut
        falling = 1.0 - (t - cut) / (cut * (1.0 / self.cut_frac - 1.0))
        p = ops.where(t < cut, rising, falling)
        return self.max_learning_rate * (1.0 + p * (self.ratio - 1.0)) / self.ratio

    def get_config(self) -> dict:
        return {"max_learning_rate": self.max_learning_rate, "num_train_steps": self.num_train_steps,
                "cut_frac": self.cut_frac, "ratio": self.ratio}


def _variables(group) -> list:
    items = group if isinstance(group, (list, tuple)) else [group]
    found = []
    for item in items:
        found.extend(item.weights if isinstance(item, keras.layers.Layer) else [item])
    return found


def discriminative_multipliers(groups: Sequence[Any], factor: float = 2.6) -> dict[str, float]:
    """``{variable path: multiplier}``: the top group 1, each group below it ``1 / factor`` of the one above."""
    multipliers = {}
    for index, group in enumerate(groups):
        for variable in _variables(group):
            multipliers[variable.path] = factor ** -(len(groups) - 1 - index)
    return multipliers


def discriminative_optimizer(groups: Sequence[Any], learning_rate, factor: float = 2.6, weight_decay: float = 0.01,
                             beta_1: float = 0.9, beta_2: float = 0.99, epsilon: float = 1e-8,
                             global_clipnorm: float | None = None) -> BertAdamW:
    """AdamW whose group ``k`` of ``n`` (bottom first) trains at ``learning_rate / factor ** (n - 1 - k)``.

    Built on ``BertAdamW``'s layer-wise multipliers: the top group has no depth (full rate), group ``k``
    depth ``k + 1`` of ``n - 1``, and ``layer_decay = 1 / factor``. The optimizer is built on every
    group's variables at once, so it can train any subset of them later (gradual unfreezing).
    ULMFiT's Adam constants are (0.7, 0.99) in the paper and (0.9, 0.99) in fastai; fastai's here.
    """
    if factor < 1.0:
        raise ValueError(f"factor must be at least 1, got {factor}")
    depth = {}
    for index, group in enumerate(groups[:-1]):
        for variable in _variables(group):
            depth[variable.path] = index + 1
    optimizer = BertAdamW(learning_rate, weight_decay=weight_decay, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                          global_clipnorm=global_clipnorm, layer_decay=1.0 / factor,
                          num_layers=len(groups) - 1, layer_depth_fn=depth.get)
    optimizer.build([variable for group in groups for variable in _variables(group) if variable.trainable])
    return optimizer


class GradualUnfreezing(keras.callbacks.Callback):
    """Epoch ``e`` (0-based) trains the top ``e + 1`` groups; the rest are frozen (``trainable=False``).

    The train function is rebuilt whenever the set changes, so the step differentiates exactly the
    unfrozen variables. The optimizer must already know every group's variables (as
    ``discriminative_optimizer`` builds it); frozen variables keep their values and their Adam state.

    Args:
        groups: layer groups, bottom first.
        verbose: print which groups train at each epoch.
    """

    def __init__(self, groups: Sequence[Sequence[keras.layers.Layer]], verbose: bool = True):
        super().__init__()
        self.groups = [list(group) if isinstance(group, (list, tuple)) else [group] for group in groups]
        self.verbose = verbose
        self.history: list[int] = []
        self._unfrozen: int | None = None

    def set_unfrozen(self, count: int) -> None:
        """Trains the top ``count`` groups only."""
        count = max(1, min(count, len(self.groups)))
        for index, group in enumerate(self.groups):
            for layer in group:
                layer.trainable = index >= len(self.groups) - count
        # Rebuilding retraces the whole step, so only when the set changed, not at every epoch.
        if self.model is not None and count != self._unfrozen:
            self.model.make_train_function(force=True)
        self._unfrozen = count

    def on_train_begin(self, logs=None):
        # The optimizer must know every group's variables before any is frozen: Keras builds it on
        # the first step's trainable variables otherwise, and cannot update the others later.
        variables = [v for group in self.groups for layer in group for v in layer.trainable_weights]
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(variables)
        else:
            known = {id(v) for v in optimizer._trainable_variables}
            missing = [v.path for v in variables if id(v) not in known]
            if missing:
                raise ValueError(f"GradualUnfreezing: the optimizer was built without {missing[:3]}... "
                                 "build it on every group's variables first (discriminative_optimizer does)")
        self._unfrozen = None  # fit built its train function before this callback ran
        self.set_unfrozen(1)

    def on_epoch_begin(self, epoch, logs=None):
        count = min(epoch + 1, len(self.groups))
        self.set_unfrozen(count)
        self.history.append(count)
        if self.verbose:
            print(f"gradual unfreezing: epoch {epoch + 1} trains the top {count} of {len(self.groups)} layer groups")
