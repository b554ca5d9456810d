"""A rough device-memory estimate for training a BERT, printed before training starts.

So a user can pick the per-replica batch and ``accumulation_steps`` that fit a device before
finding out by running out of memory. Activations follow Korthikanti et al. (2022), "Reducing
Activation Recomputation in Large Transformer Models": per layer ``s*b*h*(34 + 5*a*s/h)`` bytes with
16-bit activations and 1-byte dropout masks; with float32 activations the 16-bit parts double,
giving about ``s*b*h*(66 + 10*a*s/h)``. Weights, gradients and Adam's two slots are float32 under
every precision policy. It is an estimate: the framework's workspace and fragmentation come on top.
"""

from __future__ import annotations

import dataclasses

_GIB = 1024 ** 3


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per replica for each part of a training step."""

    parameters: int
    weights: int
    gradients: int
    optimizer_slots: int
    accumulation_buffers: int
    activations: int

    @property
    def total(self) -> int:
        return (self.weights + self.gradients + self.optimizer_slots + self.accumulation_buffers
                + self.activations)

    def describe(self) -> str:
        """One line, in GiB."""
        parts = [("weights", self.weights), ("gradients", self.gradients), ("Adam slots", self.optimizer_slots)]
        if self.accumulation_buffers:
            parts.append(("accumulation", self.accumulation_buffers))
        parts.append(("activations", self.activations))
        return (f"memory estimate per replica: {self.total / _GIB:.2f} GiB ("
                + ", ".join(f"{name} {value / _GIB:.2f}" for name, value in parts)
                + f"; {self.parameters / 1e6:.1f}M parameters)")


def estimate_training_memory(*, parameters: int, num_layers: int, hidden_size: int, num_heads: int,
                             seq_length: int, micro_batch_size: int, mixed_precision: str | None = None,
                             accumulation_steps: int = 1, num_loss_terms: int = 1,
                             output_positions: int = 0, output_classes: int = 0) -> MemoryEstimate:
    """Estimates one replica's training memory.

    Args:
        parameters: trainable parameters of the model (``model.count_params()``).
        num_layers, hidden_size, num_heads: the encoder's shape.
        seq_length: tokens per example.
        micro_batch_size: examples per forward pass on one replica (per-replica batch divided by
            ``accumulation_steps``).
        mixed_precision: None/"float32", "mixed_bfloat16" or "mixed_float16".
        accumulation_steps: with more than one, a float32 gradient buffer per loss term is kept.
        num_loss_terms: loss terms (2 for masked LM + next sentence).
        output_positions, output_classes: the widest output (e.g. masked-LM predictions x vocab),
            whose float32 logits and softmax are kept for the backward pass.
    """
    s, b, h, a = seq_length, micro_batch_size, hidden_size, num_heads
    if mixed_precision in ("mixed_bfloat16", "mixed_float16"):
        per_layer = s * b * h * (34 + 5 * a * s / h)
    else:
        per_layer = s * b * h * (66 + 10 * a * s / h)
    embeddings = s * b * h * (4 if mixed_precision in (None, "float32") else 2) * 3
    logits = 2 * 4 * b * output_positions * output_classes
    buffers = 4 * parameters * num_loss_terms if accumulation_steps > 1 else 0
    return MemoryEstimate(parameters=parameters, weights=4 * parameters, gradients=4 * parameters,
                          optimizer_slots=8 * parameters, accumulation_buffers=buffers,
                          activations=int(num_layers * per_layer + embeddings + logits))
