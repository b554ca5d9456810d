"""The learning-rate schedule of "Attention Is All You Need" (section 5.3)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bertzoo")
class TransformerSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``scale * d_model ** -0.5 * min(step ** -0.5, step * warmup_steps ** -1.5)``.

    Linear warmup for ``warmup_steps`` (4000 in the paper), then decay with the inverse square root
    of the step; sometimes called the "Noam" schedule. ``step`` counts from 1 (the optimizer's
    ``iterations`` + 1), so the first update has a small non-zero rate rather than 0 (or, with the
    inverse square root, infinity). ``scale`` is tensor2tensor's ``learning_rate`` multiplier (1 in
    the paper). Use with ``keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9)``.

    Example:
        >>> schedule = TransformerSchedule(d_model=512, warmup_steps=4000)
        >>> round(float(schedule(3999)), 7)  # step 4000: the peak, 512 ** -0.5 * 4000 ** -0.5
        0.0006988
    """

    def __init__(self, d_model: int, warmup_steps: int = 4000, scale: float = 1.0):
        if d_model < 1 or warmup_steps < 1:
            raise ValueError(f"d_model and warmup_steps must be positive, got {d_model} and {warmup_steps}")
        self.d_model = int(d_model)
        self.warmup_steps = int(warmup_steps)
        self.scale = float(scale)

    def __call__(self, iteration):
        step = ops.cast(iteration, "float32") + 1.0
        return (self.scale * self.d_model ** -0.5
                * ops.minimum(ops.rsqrt(step), step * self.warmup_steps ** -1.5))

    def get_config(self):
        return {"d_model": self.d_model, "warmup_steps": self.warmup_steps, "scale": self.scale}


def transformer_adam(schedule, **kwargs) -> keras.optimizers.Adam:
    """The paper's optimizer: Adam with beta_1 0.9, beta_2 0.98, epsilon 1e-9."""
    return keras.optimizers.Adam(learning_rate=schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9, **kwargs)
