"""The original BERT optimizer for Keras 3: AdamW, warmup + linear decay, global-norm clipping, layer-wise decay.

Three things here differ from a stock ``keras.optimizers.AdamW`` on purpose:

- Weight decay skips LayerNorm weights and every bias, as in google-research/bert
  (``exclude_from_weight_decay=["LayerNorm", "layer_norm", "bias"]``).
- Layer-wise learning-rate decay scales each variable's *learning rate* (its update, weight decay
  included, as ELECTRA does). Scaling gradients would not work: Adam divides the gradient by its own
  running RMS, so a constant factor on a variable's gradient cancels out.
- Gradients are summed over replicas *before* global-norm clipping. Keras 3.15's TF optimizer clips
  first (each replica its own partial gradient) and sums afterwards, which under
  ``MirroredStrategy`` clips by the wrong norm and no longer equals single-device training.

``SyncedLossScaleOptimizer`` fixes the same kind of replica blindness in Keras's loss scaling.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

import keras
import tensorflow as tf
from keras import ops

# Matched (``re.search``) against each variable's name: LayerNorm's gamma/beta and all biases.
WEIGHT_DECAY_EXCLUSIONS = (r"^gamma$", r"^beta$", r"bias", r"layer_norm", r"LayerNorm")

_TRANSFORMER_LAYER = re.compile(r"(?:^|/)transformer_layer_(\d+)/")
_EMBEDDINGS = re.compile(r"(?:^|/)embeddings/")


@keras.saving.register_keras_serializable(package="bertzoo")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to ``peak_learning_rate`` over ``warmup_steps``, then linear decay to 0.

    The rate is ``peak * step / warmup_steps`` before ``warmup_steps`` and
    ``peak * (num_train_steps - step) / (num_train_steps - warmup_steps)`` after (0 past the end).
    Google's original decays from the peak at step 0 (``peak * (1 - step / num_train_steps)``), so
    its rate right after warmup is slightly below the peak; this one reaches the peak exactly.

    Args:
        peak_learning_rate: the rate at the end of warmup.
        warmup_steps: steps of linear warmup (0: start at the peak).
        num_train_steps: the step at which the rate reaches 0.

    Example:
        >>> schedule = WarmupLinearDecay(1e-4, warmup_steps=10, num_train_steps=100)
        >>> float(schedule(5))
        5e-05
    """

    def __init__(self, peak_learning_rate: float, warmup_steps: int, num_train_steps: int):
        if num_train_steps <= 0:
            raise ValueError(f"num_train_steps must be positive, got {num_train_steps}")
        if not 0 <= warmup_steps <= num_train_steps:
            raise ValueError(f"warmup_steps must be in [0, num_train_steps={num_train_steps}], got {warmup_steps}")
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.num_train_steps = int(num_train_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = self.peak_learning_rate
        warmup = peak * step / float(max(self.warmup_steps, 1))
        remaining = ops.maximum(float(self.num_train_steps) - step, 0.0)
        decay = peak * remaining / float(max(self.num_train_steps - self.warmup_steps, 1))
        return ops.where(step < float(self.warmup_steps), warmup, decay)

    def get_config(self) -> dict:
        return {"peak_learning_rate": self.peak_learning_rate, "warmup_steps": self.warmup_steps,
                "num_train_steps": self.num_train_steps}


def bert_layer_depth(path: str) -> int | None:
    """Depth of a BERT encoder variable for layer-wise decay: embeddings 0, ``transformer_layer_i`` i + 1.

    Anything else (pooler, task heads) returns ``None``: it trains at the full rate.

    Args:
        path: the variable's path, e.g. ``transformer_layer_3/query/kernel``.
    """
    match = _TRANSFORMER_LAYER.search(path)
    if match:
        return int(match.group(1)) + 1
    if _EMBEDDINGS.search(path):
        return 0
    return None


def layer_decay_multiplier(depth: int | None, num_layers: int, layer_decay: float) -> float:
    """``layer_decay ** (num_layers + 1 - depth)``: layer i of L gets ``** (L - i)``, embeddings ``** (L + 1)``.

    Args:
        depth: from ``bert_layer_depth`` (``None``: full rate).
        num_layers: L, the number of transformer layers.
        layer_decay: the per-layer factor, in (0, 1].
    """
    if depth is None:
        return 1.0
    if not 0 <= depth <= num_layers + 1:
        raise ValueError(f"layer depth {depth} is outside [0, {num_layers + 1}] for {num_layers} layers")
    return float(layer_decay) ** (num_layers + 1 - depth)


@tf.function(jit_compile=True, autograph=False)
def _decay_and_adam_step(variable, momentum, velocity, gradient, learning_rate, decay, local_step,
                         beta_1, beta_2, epsilon):
    """Decoupled weight decay, then Keras's Adam step (same formula, same order of operations), as
    one XLA kernel: one pass over the variable, its moments and its gradient. The decay as a
    multiply and an in-place subtract, then TensorFlow's fused Adam kernel, pass over the variable
    three times: on a [768, 3072] float32 variable (2 cores) 4.0 ms against 2.0 ms here, and a
    BERT-Base fine-tuning step (batch 8) about 3 % faster. Takes resource handles: under a
    distribution strategy, those of the replica being updated."""
    dtype = gradient.dtype
    value = tf.raw_ops.ReadVariableOp(resource=variable, dtype=dtype)
    old_momentum = tf.raw_ops.ReadVariableOp(resource=momentum, dtype=dtype)
    old_velocity = tf.raw_ops.ReadVariableOp(resource=velocity, dtype=dtype)
    decayed = value - value * (decay * learning_rate)
    alpha = learning_rate * tf.sqrt(1 - tf.pow(beta_2, local_step)) / (1 - tf.pow(beta_1, local_step))
    new_momentum = old_momentum + (gradient - old_momentum) * (1 - beta_1)
    new_velocity = old_velocity + (tf.square(gradient) - old_velocity) * (1 - beta_2)
    tf.raw_ops.AssignVariableOp(resource=momentum, value=new_momentum)
    tf.raw_ops.AssignVariableOp(resource=velocity, value=new_velocity)
    tf.raw_ops.AssignVariableOp(
        resource=variable, value=decayed - (new_momentum * alpha) / (tf.sqrt(new_velocity) + epsilon))


@keras.saving.register_keras_serializable(package="bertzoo")
class BertAdamW(keras.optimizers.AdamW):
    """AdamW as BERT trains with it: decoupled weight decay without LayerNorm/bias, optional layer-wise decay.

    Weight decay is ``variable -= lr_i * weight_decay * variable`` before the Adam step, with
    ``lr_i`` the variable's (layer-decayed) learning rate. Variables whose name matches one of
    ``weight_decay_exclusions`` are not decayed. Under a distribution strategy the gradients are
    summed over replicas first, then clipped (see the module docstring).

    Args:
        learning_rate: a float or a ``LearningRateSchedule``.
        weight_decay: decoupled weight-decay rate.
        beta_1, beta_2, epsilon: Adam's constants (BERT: 0.9, 0.999, 1e-6).
        global_clipnorm: clip the summed gradients to this global norm.
        layer_decay: ``None`` or a factor in (0, 1]: layer-wise learning-rate decay.
        num_layers: number of transformer layers for layer-wise decay; ``None`` infers it from the
            variables' depths.
        weight_decay_exclusions: regular expressions matched against variable names.
        layer_depth_fn: maps a variable path to its depth (not serialised; default
            ``bert_layer_depth``).

    Example:
        >>> optimizer = BertAdamW(1e-4, layer_decay=0.8)
        >>> optimizer.build(encoder.trainable_variables)
        >>> optimizer.learning_rate_multipliers["embeddings/word_embeddings"]
    """

    def __init__(self, learning_rate=1e-4, weight_decay: float = 0.01, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-6, global_clipnorm: float | None = 1.0,
                 layer_decay: float | None = None, num_layers: int | None = None,
                 weight_decay_exclusions: Sequence[str] = WEIGHT_DECAY_EXCLUSIONS,
                 layer_depth_fn: Callable[[str], int | None] | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, global_clipnorm=global_clipnorm, **kwargs)
        if layer_decay is not None and not 0.0 < layer_decay <= 1.0:
            raise ValueError(f"layer_decay must be in (0, 1], got {layer_decay}")
        self.layer_decay = layer_decay
        self.num_layers = num_layers
        self.weight_decay_exclusions = tuple(weight_decay_exclusions)
        self.layer_depth_fn = layer_depth_fn or bert_layer_depth
        self.exclude_from_weight_decay(var_names=list(self.weight_decay_exclusions))
        self.learning_rate_multipliers: dict[str, float] = {}
        self.decayed_variables: dict[str, bool] = {}

    def build(self, var_list):
        super().build(var_list)
        depths = [self.layer_depth_fn(variable.path) if self.layer_decay is not None else None
                  for variable in var_list]
        num_layers = self.num_layers
        if num_layers is None:
            num_layers = max([depth for depth in depths if depth is not None], default=0)
        self._multipliers = [layer_decay_multiplier(depth, num_layers, self.layer_decay or 1.0)
                             for depth in depths]
        self._decays = [bool(self.weight_decay) and self._use_weight_decay(variable) for variable in var_list]
        self.learning_rate_multipliers = {v.path: m for v, m in zip(var_list, self._multipliers)}
        self.decayed_variables = {v.path: d for v, d in zip(var_list, self._decays)}

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        learning_rate = ops.cast(learning_rate, variable.dtype) * self._multipliers[index]
        if self.amsgrad:  # Keras's AMSGrad step, after the decay.
            if self._decays[index]:
                self.assign_sub(variable, variable * (ops.cast(self.weight_decay, variable.dtype) * learning_rate))
            super().update_step(gradient, variable, learning_rate)
            return
        dtype = variable.dtype
        decay = ops.cast(self.weight_decay if self._decays[index] else 0.0, dtype)
        _decay_and_adam_step(
            variable.handle, self._momentums[index].handle, self._velocities[index].handle,
            ops.cast(gradient, dtype), learning_rate, decay, ops.cast(self.iterations + 1, dtype),
            ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype), ops.cast(self.epsilon, dtype))

    def _apply_weight_decay(self, variables):
        # Applied per variable in update_step, with the variable's own learning rate.
        return

    def _clip_gradients(self, grads):
        # Sum over replicas before clipping, so the global norm is the norm of the full gradient.
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            grads = context.all_reduce(tf.distribute.ReduceOp.SUM, list(grads))
        return super()._clip_gradients(grads)

    def _all_reduce_sum_gradients(self, grads_and_vars):
        # Already summed in _clip_gradients.
        return list(grads_and_vars)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"layer_decay": self.layer_decay, "num_layers": self.num_layers,
                       "weight_decay_exclusions": list(self.weight_decay_exclusions)})
        return config


@keras.saving.register_keras_serializable(package="bertzoo")
class SyncedLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """Keras's dynamic loss scaling (``mixed_float16``) with the overflow check agreed by all replicas.

    Keras 3.15's ``LossScaleOptimizer`` decides "gradients are finite" from the first replica's
    gradients alone; when another replica overflows, its Inf/NaN gradients are applied and the
    weights become NaN (seen here under ``MirroredStrategy`` with two CPUs). Here each replica's
    verdict is summed over all replicas, so a step is skipped when any replica overflowed.

    Args:
        inner_optimizer: the optimizer that applies the unscaled gradients.
        initial_scale, dynamic_growth_steps: as for ``keras.optimizers.LossScaleOptimizer``.
    """

    def check_finite(self, grads):
        finite = super().check_finite(grads)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            overflowed = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(tf.logical_not(finite), tf.float32))
            finite = tf.equal(overflowed, 0.0)
        return finite


def create_optimizer(
    learning_rate: float,
    num_train_steps: int,
    warmup_steps: int,
    weight_decay: float = 0.01,
    layer_decay: float | None = None,
    num_layers: int | None = None,
    layer_depth_fn: Callable[[str], int | None] | None = None,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-6,
    global_clipnorm: float | None = 1.0,
) -> BertAdamW:
    """The BERT optimizer: ``BertAdamW`` on a ``WarmupLinearDecay`` schedule.

    Args:
        learning_rate: peak learning rate (reached at the end of warmup).
        num_train_steps: total training steps; the rate is 0 there.
        warmup_steps: steps of linear warmup from 0.
        weight_decay: decoupled weight decay (not on LayerNorm weights or biases).
        layer_decay: ``None`` or a factor < 1 for layer-wise learning-rate decay (fine-tuning).
        num_layers: transformer layers for layer-wise decay (``None``: inferred from variable paths).
        layer_depth_fn: variable path -> depth (default ``bert_layer_depth``).
        beta_1, beta_2, epsilon: Adam's constants.
        global_clipnorm: clip the (replica-summed) gradients to this global norm; ``None``: no clipping.

    Example:
        >>> optimizer = create_optimizer(1e-4, num_train_steps=10_000, warmup_steps=1_000)
    """
    schedule = WarmupLinearDecay(learning_rate, warmup_steps=warmup_steps, num_train_steps=num_train_steps)
    return BertAdamW(schedule, weight_decay=weight_decay, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                     global_clipnorm=global_clipnorm, layer_decay=layer_decay, num_layers=num_layers,
                     layer_depth_fn=layer_depth_fn)
