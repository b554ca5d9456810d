"""The sinusoidal position encoding of "Attention Is All You Need" (section 3.5).

The paper's formula interleaves the two functions over the dimensions:

    PE(pos, 2i)     = sin(pos / 10000 ** (2i / d_model))
    PE(pos, 2i + 1) = cos(pos / 10000 ** (2i / d_model))

tensor2tensor's ``get_timing_signal_1d`` (what the paper's models were trained with) differs in two
ways: it concatenates all sines then all cosines (``[sin(pos * f_0..f_{d/2-1}), cos(...)]``) and
spaces its frequencies as ``10000 ** (-i / (d/2 - 1))`` rather than ``10000 ** (-2i / d)``. Both
encode the same information for a model trained from scratch; bertzoo follows the paper's formula,
so a checkpoint trained with tensor2tensor's layout would need its own table.
"""

from __future__ import annotations

import numpy as np


def sinusoidal_positions(length: int, hidden_size: int) -> np.ndarray:
    """float32 ``[length, hidden_size]``: row ``pos`` is the paper's encoding of position ``pos``."""
    if hidden_size % 2:
        raise ValueError(f"hidden_size must be even for sin/cos pairs, got {hidden_size}")
    positions = np.arange(length, dtype=np.float64)[:, None]
    pair_index = np.arange(0, hidden_size, 2, dtype=np.float64)[None, :]  # 2i
    angles = positions / np.power(10000.0, pair_index / hidden_size)
    table = np.empty((length, hidden_size), np.float64)
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles)
    return table.astype(np.float32)
