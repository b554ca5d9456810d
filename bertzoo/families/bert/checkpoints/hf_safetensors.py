"""Hugging Face BERT weights in safetensors files, in and out of bertzoo's canonical names.

Hugging Face names a weight by its PyTorch module path (``encoder.layer.0.attention.self.query
.weight``), optionally under a ``bert.`` prefix (``BertForPreTraining``, ``BertForMaskedLM``) or
none (``BertModel``), and stores ``torch.nn.Linear`` weights ``[out, in]``. The canonical names are
Google's (``bert/encoder/layer_0/attention/self/query/kernel``) with kernels ``[in, out]``, so each
dense ``weight`` is transposed. Two exceptions, both as Google stores them: embedding tables keep
their ``[rows, hidden]`` layout, and ``cls.seq_relationship.weight`` ``[2, hidden]`` is Google's
``cls/seq_relationship/output_weights`` as it is. Files are read with ``safetensors`` in numpy,
never with torch.
"""

from __future__ import annotations

import json
import pathlib
import re
import warnings

import numpy as np
import safetensors
import safetensors.numpy

from bertzoo.families.bert.checkpoints.checkpoint_weights import (
    CheckpointWeights,
    as_float32,
    is_canonical_name,
    require_weights,
)

SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX_NAME = "model.safetensors.index.json"
_TORCH_PICKLE_NAMES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
_BERT_PREFIX = "bert."
# Canonical names whose Hugging Face name is not a module path + parameter.
_SPECIAL_TO_HF = {
    "bert/embeddings/word_embeddings": "embeddings.word_embeddings.weight",
    "bert/embeddings/position_embeddings": "embeddings.position_embeddings.weight",
    "bert/embeddings/token_type_embeddings": "embeddings.token_type_embeddings.weight",
    "cls/predictions/output_bias": "cls.predictions.bias",
    "cls/seq_relationship/output_weights": "cls.seq_relationship.weight",  # [2, H], no transpose
    "cls/seq_relationship/output_bias": "cls.seq_relationship.bias",
}
_SPECIAL_FROM_HF = {hf: canonical for canonical, hf in _SPECIAL_TO_HF.items()}
# HF ties the masked-LM decoder bias to ``cls.predictions.bias``; old files store both.
_SPECIAL_FROM_HF["cls.predictions.decoder.bias"] = "cls/predictions/output_bias"
# Parameter names: torch's LayerNorm says weight/bias (older files gamma/beta), Linear weight/bias.
_LAYER_NORM_FROM_HF = {"weight": "gamma", "gamma": "gamma", "bias": "beta", "beta": "beta"}
_DENSE_FROM_HF = {"weight": "kernel", "bias": "bias"}
_PARAMETER_TO_HF = {"gamma": "weight", "beta": "bias", "kernel": "weight", "bias": "bias"}
_DECODER_WEIGHT_NAME = "cls.predictions.decoder.weight"  # tied to the word embeddings
_TORCH_CONVERSION_HINT = (
    "bertzoo does not read pickled torch weights. Convert them to safetensors once, where torch "
    'and transformers are installed: python -c "from transformers import BertModel; '
    "BertModel.from_pretrained('DIR').save_pretrained('DIR', safe_serialization=True)\" "
    "(use BertForPreTraining to keep the pretraining heads)."
)


def hf_name_to_canonical(hf_name: str) -> tuple[str, bool] | None:
    """Translates one Hugging Face BERT weight name into its canonical name.

    Args:
        hf_name: the name in the file, with or without the ``bert.`` prefix.

    Returns:
        ``(canonical_name, transpose)``, where ``transpose`` says the tensor is a
        ``torch.nn.Linear`` weight ``[out, in]`` to transpose into a kernel ``[in, out]``;
        None for names that are not BERT weights (buffers, other heads, the tied decoder).
    """
    name = hf_name.removeprefix(_BERT_PREFIX)
    if name in _SPECIAL_FROM_HF:
        return _SPECIAL_FROM_HF[name], False
    if "." not in name:
        return None
    module, parameter = name.rsplit(".", 1)
    module_path = re.sub(r"^encoder\.layer\.(\d+)\.", r"encoder.layer_\1.", module)
    module_path = module_path.replace(".", "/")
    if not module_path.startswith("cls/"):
        module_path = "bert/" + module_path
    transpose = False
    if module_path.endswith("/LayerNorm"):
        variable = _LAYER_NORM_FROM_HF.get(parameter)
    else:
        variable = _DENSE_FROM_HF.get(parameter)
        transpose = variable == "kernel"
    if variable is None:
        return None
    canonical = f"{module_path}/{variable}"
    return (canonical, transpose) if is_canonical_name(canonical) else None


def canonical_to_hf_name(canonical_name: str, prefix: str = "") -> tuple[str, bool]:
    """Translates a canonical name into its Hugging Face name, the inverse of the above.

    Args:
        canonical_name: a name from ``bertzoo.families.bert.checkpoints.weight_names``.
        prefix: ``""`` (``BertModel`` names) or ``"bert."``; the ``cls.`` heads never take it.

    Returns:
        ``(hf_name, transpose)``, ``transpose`` True for dense kernels.
    """
    if not is_canonical_name(canonical_name):
        raise ValueError(f"Not a canonical weight name: {canonical_name!r}")
    is_head = canonical_name.startswith("cls/")
    if canonical_name in _SPECIAL_TO_HF:
        name, transpose = _SPECIAL_TO_HF[canonical_name], False
    else:
        module_path, variable = canonical_name.rsplit("/", 1)
        module = re.sub(r"/layer_(\d+)/", r"/layer/\1/", module_path).replace("/", ".")
        parameter = _PARAMETER_TO_HF[variable]
        name, transpose = f"{module}.{parameter}", variable == "kernel"
        name = name.removeprefix("bert.")
    return (name if is_head else prefix + name), transpose


def read_hf_safetensors(directory_or_file: str | pathlib.Path) -> CheckpointWeights:
    """Reads Hugging Face BERT weights from safetensors files into canonical weights.

    Args:
        directory_or_file: a model directory (``model.safetensors``, or a sharded
            ``model.safetensors.index.json`` with its shards), or one of those files.

    Returns:
        Canonical float32 weights (float16/bfloat16 are cast), and the names not translated
        (``embeddings.position_ids``, the tied ``cls.predictions.decoder.weight``, other heads).

    Raises:
        FileNotFoundError: no safetensors file (naming the files looked for; a directory with
            only ``pytorch_model.bin`` says how to convert it).
        ValueError: a corrupt file, a bad shard index, or two names mapping to one weight.

    Example:
    ```python
    checkpoint = read_hf_safetensors("all-MiniLM-L6-v2")
    checkpoint.weights["bert/encoder/layer_0/intermediate/dense/kernel"].shape  # (384, 1536)
    ```
    """
    path = _find_safetensors(pathlib.Path(directory_or_file))
    if path.name.endswith(".json"):
        shard_keys = _read_shard_index(path)
    else:
        shard_keys = {path: None}

    weights: dict[str, np.ndarray] = {}
    origin: dict[str, str] = {}  # canonical name -> the HF name it came from
    unused: list[str] = []
    all_names: list[str] = []
    decoder_weight: np.ndarray | None = None
    for shard, keys in shard_keys.items():
        with _open_safetensors(shard) as handle:
            names = sorted(handle.keys()) if keys is None else keys
            missing = sorted(set(names) - set(handle.keys()))
            if missing:
                raise ValueError(f"{path} maps {missing[:5]} to {shard}, which does not hold them.")
            for hf_name in names:
                all_names.append(hf_name)
                translated = hf_name_to_canonical(hf_name)
                if translated is None:
                    unused.append(hf_name)
                    if hf_name.removeprefix(_BERT_PREFIX) == _DECODER_WEIGHT_NAME:
                        decoder_weight = _get_tensor(handle, hf_name, shard)
                    continue
                canonical, transpose = translated
                tensor = as_float32(_get_tensor(handle, hf_name, shard), hf_name, str(shard))
                if transpose:
                    if tensor.ndim != 2:
                        raise ValueError(
                            f"{shard}: {hf_name!r} has shape {tensor.shape}, expected a 2-D "
                            "torch Linear weight [out, in]."
                        )
                    tensor = np.ascontiguousarray(tensor.T)
                if canonical in weights:
                    if _is_tied_bias_pair(origin[canonical], hf_name, weights[canonical], tensor):
                        unused.append(hf_name)
                        continue
                    raise ValueError(
                        f"{path}: both {origin[canonical]!r} and {hf_name!r} map to the weight "
                        f"{canonical!r}; expected only one of them."
                    )
                weights[canonical] = tensor
                origin[canonical] = hf_name

    require_weights(weights, all_names, str(path), "Hugging Face BERT safetensors file")
    word_embeddings = weights.get("bert/embeddings/word_embeddings")
    if decoder_weight is not None and word_embeddings is not None:
        if decoder_weight.shape != word_embeddings.shape or not np.array_equal(
            decoder_weight.astype(np.float32), word_embeddings
        ):
            warnings.warn(
                f"{path}: {_DECODER_WEIGHT_NAME!r} differs from the word embeddings; bertzoo ties "
                "the masked-LM output projection to the word embeddings and ignores it.",
                stacklevel=2,
            )
    return CheckpointWeights(weights=weights, unused=tuple(sorted(unused)), source=str(path))


def write_hf_safetensors(
    weights: dict[str, np.ndarray],
    path: str | pathlib.Path,
    prefix: str = "",
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    """Writes canonical weights as a Hugging Face BERT safetensors file (the reader's inverse).

    Args:
        weights: canonical name -> array; kernels are transposed into torch's ``[out, in]``.
        path: the file to write (its folder is created), or an existing directory to write
            ``model.safetensors`` into.
        prefix: ``""`` for ``BertModel`` names, or ``"bert."`` for ``BertForPreTraining``-style
            names; the ``cls.`` heads never carry it.
        extra: further tensors written under their names as given (e.g. the
            ``embeddings.position_ids`` buffer).

    Raises:
        ValueError: an unknown prefix, a name that is not canonical, or a name written twice.
    """
    if prefix == "bert":
        prefix = _BERT_PREFIX
    if prefix not in ("", _BERT_PREFIX):
        raise ValueError(
            f"prefix must be '' or 'bert.' (what the reader recognises), got {prefix!r}"
        )
    tensors: dict[str, np.ndarray] = {}
    for canonical, value in weights.items():
        hf_name, transpose = canonical_to_hf_name(canonical, prefix)
        value = np.asarray(value)
        tensors[hf_name] = np.ascontiguousarray(value.T if transpose else value)
    for name, value in (extra or {}).items():
        if name in tensors:
            raise ValueError(f"{name!r} is given in `extra` and also produced from `weights`.")
        tensors[name] = np.ascontiguousarray(value)
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / SAFETENSORS_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    # "format": "pt" is what transformers expects to find in a safetensors file's metadata.
    safetensors.numpy.save_file(tensors, str(path), metadata={"format": "pt"})


def _find_safetensors(path: pathlib.Path) -> pathlib.Path:
    """Resolves a directory or file to the safetensors file or shard index to read."""
    if path.is_dir():
        for name in (SAFETENSORS_NAME, SAFETENSORS_INDEX_NAME):
            if (path / name).is_file():
                return path / name
        torch_files = [path / name for name in _TORCH_PICKLE_NAMES if (path / name).is_file()]
        if torch_files:
            raise FileNotFoundError(
                f"No {SAFETENSORS_NAME} or {SAFETENSORS_INDEX_NAME} in {path}, only "
                f"{torch_files[0]}. {_TORCH_CONVERSION_HINT}"
            )
        raise FileNotFoundError(
            f"No Hugging Face weights in {path}: looked for {SAFETENSORS_NAME} or "
            f"{SAFETENSORS_INDEX_NAME}."
        )
    if not path.is_file():
        raise FileNotFoundError(f"No such safetensors file or directory: {path}")
    if path.suffix in (".bin", ".pt", ".pth") or path.name == "pytorch_model.bin.index.json":
        raise ValueError(f"{path} holds pickled torch weights. {_TORCH_CONVERSION_HINT}")
    return path


def _read_shard_index(index_path: pathlib.Path) -> dict[pathlib.Path, list[str]]:
    """Reads a ``model.safetensors.index.json``: shard file -> the names it holds."""
    try:
        weight_map = json.loads(index_path.read_text())["weight_map"]
        if not isinstance(weight_map, dict):
            raise TypeError(f"'weight_map' is a {type(weight_map).__name__}, expected an object")
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ValueError(
            f"{index_path} is not a safetensors shard index (a JSON object with a 'weight_map' "
            f"of name -> shard file): {e!r}"
        ) from e
    shards: dict[pathlib.Path, list[str]] = {}
    for name, shard_name in sorted(weight_map.items()):
        shards.setdefault(index_path.parent / shard_name, []).append(name)
    for shard in shards:
        if not shard.is_file():
            raise FileNotFoundError(f"Shard {shard}, listed in {index_path}, does not exist.")
    return shards


def _open_safetensors(path: pathlib.Path):
    """Opens a safetensors file for numpy, turning a damaged header into a ValueError."""
    try:
        return safetensors.safe_open(str(path), framework="np")
    except safetensors.SafetensorError as e:
        raise ValueError(
            f"{path} is not a valid safetensors file (corrupt or truncated?): {e}"
        ) from e


def _get_tensor(handle, name: str, path: pathlib.Path) -> np.ndarray:
    """Reads one tensor, turning a damaged file into a ValueError naming file and tensor."""
    try:
        return handle.get_tensor(name)
    except Exception as e:  # safetensors raises its own error, or numpy's, for damaged data.
        raise ValueError(f"Cannot read {name!r} from {path} (corrupt or truncated?): {e}") from e


def _is_tied_bias_pair(
    first: str, second: str, first_value: np.ndarray, second_value: np.ndarray
) -> bool:
    """Whether two names are HF's tied masked-LM bias pair, stored twice with equal values."""
    pair = {first.removeprefix(_BERT_PREFIX), second.removeprefix(_BERT_PREFIX)}
    return pair == {"cls.predictions.bias", "cls.predictions.decoder.bias"} and np.array_equal(
        first_value, second_value
    )
