"""Google's original BERT checkpoints (``bert_model.ckpt.index`` + ``.data-*``) in and out.

Google's release names its variables exactly as bertzoo's canonical names, so reading is a
filter: canonical names are kept (cast to float32), everything else (``global_step``, Adam
slots ``.../adam_m`` and ``.../adam_v``, unknown variables) is reported as unused. Reading and
writing use TF2 eager APIs only (``tf.train.load_checkpoint``, ``tf.raw_ops.SaveV2``), no TF1
graph code.
"""

from __future__ import annotations

import pathlib

import numpy as np
import tensorflow as tf

from bertzoo.families.bert.checkpoints.checkpoint_weights import (
    CheckpointWeights,
    as_float32,
    is_canonical_name,
    require_weights,
)

_TF2_OBJECT_MARKERS = (".ATTRIBUTES/VARIABLE_VALUE", "_CHECKPOINTABLE_OBJECT_GRAPH")


def find_checkpoint_prefix(prefix_or_dir: str | pathlib.Path) -> str:
    """Resolves a checkpoint directory or prefix to the prefix TensorFlow reads.

    A directory resolves to its ``checkpoint`` state file's latest checkpoint when it has one,
    else to the single ``*.index`` file in it.

    Args:
        prefix_or_dir: a directory, or a prefix such as ``.../bert_model.ckpt``.

    Raises:
        FileNotFoundError: no checkpoint there.
        ValueError: a directory holds several checkpoints and no ``checkpoint`` state file.
    """
    path = pathlib.Path(prefix_or_dir)
    if path.is_dir():
        latest = tf.train.latest_checkpoint(str(path))
        if latest is not None and pathlib.Path(latest + ".index").is_file():
            return latest
        candidates = sorted(str(index)[: -len(".index")] for index in path.glob("*.index"))
        if not candidates:
            raise FileNotFoundError(
                f"No TensorFlow checkpoint in {path}: looked for a '*.index' file "
                "(Google's release names it 'bert_model.ckpt.index')."
            )
        if len(candidates) > 1:
            raise ValueError(
                f"Several checkpoints in {path} and no 'checkpoint' state file to choose one; "
                f"pass the prefix of one of: {', '.join(candidates)}."
            )
        return candidates[0]
    if path.name.endswith(".index"):
        path = path.with_name(path.name[: -len(".index")])
    elif ".data-" in path.name:
        path = path.with_name(path.name.split(".data-")[0])
    if not pathlib.Path(str(path) + ".index").is_file():
        raise FileNotFoundError(
            f"No TensorFlow checkpoint at {path}: looked for {path}.index "
            "(Google's release names it 'bert_model.ckpt.index')."
        )
    return str(path)


def read_google_checkpoint(prefix_or_dir: str | pathlib.Path) -> CheckpointWeights:
    """Reads a checkpoint in Google's original BERT format into canonical weights.

    Args:
        prefix_or_dir: the checkpoint prefix (``.../bert_model.ckpt``, or its ``.index`` file)
            or a directory holding one checkpoint.

    Returns:
        The canonical weights as float32 (bfloat16/float16 stored tensors are cast), and the
        names not translated (``global_step``, optimizer slots, anything not canonical).

    Raises:
        FileNotFoundError: no checkpoint found.
        ValueError: the files are corrupt or truncated, it is a TF2 object-based checkpoint,
            or it holds no BERT weight.

    Example:
    ```python
    checkpoint = read_google_checkpoint("uncased_L-12_H-768_A-12/bert_model.ckpt")
    checkpoint.weights["bert/embeddings/word_embeddings"].shape  # (30522, 768)
    ```
    """
    prefix = find_checkpoint_prefix(prefix_or_dir)
    try:
        reader = tf.train.load_checkpoint(prefix)
        shapes = reader.get_variable_to_shape_map()
    except Exception as e:  # TF raises several unrelated types for damaged files.
        raise ValueError(f"Cannot read TensorFlow checkpoint {prefix}: {e}") from e
    names = sorted(shapes)
    # Quote a variable's name (".../.ATTRIBUTES/VARIABLE_VALUE") before the object graph's.
    object_names = sorted(
        (n for n in names if any(marker in n for marker in _TF2_OBJECT_MARKERS)),
        key=lambda n: _TF2_OBJECT_MARKERS[0] not in n,
    )
    if object_names:
        raise ValueError(
            f"{prefix} is a TF2 object-based checkpoint (names such as {object_names[0]!r}), "
            "not Google's original BERT format with variable names such as "
            "'bert/embeddings/word_embeddings'; bertzoo does not read it as a pretrained BERT."
        )
    weights: dict[str, np.ndarray] = {}
    unused: list[str] = []
    for name in names:
        if not is_canonical_name(name):
            unused.append(name)
            continue
        try:
            tensor = reader.get_tensor(name)
        except Exception as e:  # A truncated data file surfaces as IndexError, OpError, ...
            raise ValueError(f"Cannot read weight {name!r} from checkpoint {prefix}: {e}") from e
        weights[name] = as_float32(tensor, name, prefix)
    require_weights(weights, names, prefix, "Google BERT checkpoint")
    return CheckpointWeights(weights=weights, unused=tuple(unused), source=prefix)


def write_google_checkpoint(
    weights: dict[str, np.ndarray],
    prefix: str | pathlib.Path,
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    """Writes canonical weights as a checkpoint in Google's original format.

    Produces ``{prefix}.index`` and ``{prefix}.data-00000-of-00001`` with exactly the given
    variable names, readable by ``tf.train.load_checkpoint`` and by Google's TF1 code.

    Args:
        weights: canonical name -> array; every name must be canonical.
        prefix: the checkpoint prefix, e.g. ``out/bert_model.ckpt``; its folder is created.
        extra: further variables written under their names as given (e.g. ``global_step``
            or ``.../adam_m`` slots, as real training checkpoints carry).

    Raises:
        ValueError: a name in ``weights`` is not canonical, or a name is in both dicts.
    """
    not_canonical = sorted(name for name in weights if not is_canonical_name(name))
    if not_canonical:
        raise ValueError(f"Not canonical weight names (pass them in `extra`): {not_canonical}")
    extra = dict(extra or {})
    clashes = sorted(set(weights) & set(extra))
    if clashes:
        raise ValueError(f"Names given in both `weights` and `extra`: {clashes}")
    tensors = {**weights, **extra}
    pathlib.Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    names = sorted(tensors)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.convert_to_tensor(tensors[name]) for name in names],
    )
