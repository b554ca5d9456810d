"""CheckpointWeights: what every checkpoint reader returns, whatever the source format.

Readers translate their own names and layouts into bertzoo's canonical ones
(``bertzoo.families.bert.checkpoints.weight_names``), so one function can assign weights into the encoder
whatever the file was. This module also holds the small checks the readers share.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from bertzoo.families.bert.checkpoints import weight_names

_LAYER_NAME_PATTERNS = tuple(
    re.compile("^" + re.escape(template).replace(re.escape("{i}"), r"(0|[1-9][0-9]*)") + "$")
    for template in weight_names.LAYER_NAME_TEMPLATES
)
_FIXED_NAMES = frozenset(
    weight_names.EMBEDDING_NAMES
    + weight_names.POOLER_NAMES
    + weight_names.MASKED_LM_NAMES
    + weight_names.NEXT_SENTENCE_NAMES
)


@dataclasses.dataclass(frozen=True)
class CheckpointWeights:
    """Weights read from a checkpoint, translated into canonical names and layouts.

    Args:
        weights: canonical name -> float32 array (an owned copy, never a view into a
            memory-mapped file), with TensorFlow layouts (dense kernels ``[in, out]``).
        unused: source names that were not translated (optimizer slots, ``global_step``,
            buffers, unknown variables), sorted; kept so callers can report them.
        source: the file or directory read, for error messages.
    """

    weights: dict[str, np.ndarray]
    unused: tuple[str, ...]
    source: str


def is_canonical_name(name: str) -> bool:
    """Whether ``name`` is one of the canonical weight names of ``weight_names``."""
    if name in _FIXED_NAMES:
        return True
    return any(pattern.match(name) for pattern in _LAYER_NAME_PATTERNS)


def as_float32(array: np.ndarray, name: str, source: str) -> np.ndarray:
    """Returns an owned float32 copy of a floating-point weight (float16/bfloat16/float64 too).

    Args:
        array: the stored tensor.
        name: its name in the source file, for the error message.
        source: the file it came from, for the error message.

    Raises:
        ValueError: the tensor is not floating point (an integer or string weight).
    """
    array = np.asarray(array)
    # bfloat16 (from ml_dtypes) is not a numpy floating subtype, so test by name too.
    if not (np.issubdtype(array.dtype, np.floating) or array.dtype.name == "bfloat16"):
        raise ValueError(
            f"{source}: weight {name!r} has dtype {array.dtype}, expected a floating-point tensor."
        )
    return np.array(array, dtype=np.float32, copy=True)


def require_weights(
    weights: dict[str, np.ndarray], names: list[str], source: str, kind: str
) -> None:
    """Raises a ValueError when a reader found no BERT weight at all in ``source``.

    Args:
        weights: the translated weights.
        names: the source names seen, a few of which are quoted in the message.
        source: the file read.
        kind: the format the file was read as, e.g. "Google BERT checkpoint".
    """
    if weights:
        return
    sample = ", ".join(repr(name) for name in sorted(names)[:8]) or "none"
    raise ValueError(
        f"{source}: no BERT weights found reading it as a {kind}; names found: {sample}"
        f"{' ...' if len(names) > 8 else ''}."
    )
