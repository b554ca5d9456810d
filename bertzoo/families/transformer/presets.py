"""Catalogue entries for the Transformer family.

Empty on purpose: no Transformer checkpoint in bertzoo's format is published. The paper's models
were trained with tensor2tensor, whose checkpoints use its concatenated position table and its own
variable names, so they are not entries here. Train one with ``bertzoo translate``.
"""

PRESETS: dict[str, dict] = {}
