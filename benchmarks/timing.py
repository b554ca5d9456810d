"""Interleaved timing: every candidate of a comparison is run in turn, repetition after repetition."""

from __future__ import annotations

import math
import statistics
import time
from typing import Callable


def time_interleaved(candidates: dict[str, Callable[[], object]], repeats: int, warmup: int,
                     min_seconds: float) -> dict[str, float]:
    """Median seconds per call of each candidate, measured A/B/C, A/B/C, ... after warm-up.

    Each candidate is called ``warmup`` times first (tracing, XLA compilation, allocator warm-up);
    the last warm-up call sets how many calls a repetition makes so that it lasts at least
    ``min_seconds``. The order rotates every repetition, so no candidate always runs first. A
    candidate must block until its result is ready (e.g. return a NumPy value).

    Args:
        candidates: name -> a function running one step.
        repeats: timed repetitions per candidate (the median is reported).
        warmup: untimed calls per candidate first (at least 1).
        min_seconds: minimum duration of one repetition.
    """
    calls = {}
    for name, step in candidates.items():
        for _ in range(max(warmup, 1)):
            start = time.perf_counter()
            step()
            elapsed = time.perf_counter() - start
        calls[name] = max(1, math.ceil(min_seconds / max(elapsed, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for repeat in range(repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]
        for name in order:
            start = time.perf_counter()
            for _ in range(calls[name]):
                candidates[name]()
            samples[name].append((time.perf_counter() - start) / calls[name])
    return {name: statistics.median(values) for name, values in samples.items()}
