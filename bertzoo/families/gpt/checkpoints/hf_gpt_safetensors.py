"""Hugging Face GPT directories: ``config.json`` (``model_type`` ``gpt2`` or ``openai-gpt``) + safetensors.

transformers names GPT-2's weights ``wte.weight``, ``wpe.weight``, ``h.{i}.ln_1.weight``,
``h.{i}.attn.c_attn.weight`` ..., ``ln_f.weight`` (under ``transformer.`` in ``GPT2LMHeadModel``)
and GPT-1's ``tokens_embed.weight``, ``positions_embed.weight``, ``h.{i}...`` (no ``ln_f``). Its
``Conv1D`` stores weights ``[in, out]``, the layout of OpenAI's kernels, so nothing is transposed.
``openai-gpt`` keeps only the 40,478 BPE rows; GPT-1's special rows are appended as the original's
``train.py`` does (``openai_gpt1_npy.special_token_rows``). The tokenizer files are ``vocab.json`` +
``merges.txt``. Read with ``safetensors`` in numpy, never torch.
"""

from __future__ import annotations

import json
import pathlib
import re
from typing import Mapping

import numpy as np
import safetensors.numpy

from bertzoo.errors import ConfigError
from bertzoo.families.gpt.checkpoints.openai_gpt1_npy import special_token_rows
from bertzoo.families.gpt.gpt_config import GPTConfig

SAFETENSORS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"
MODEL_TYPES = ("gpt2", "openai-gpt")
_PREFIXES = ("transformer.",)
_EMBEDDINGS = {"gpt2": {"wte.weight": "wte", "wpe.weight": "wpe"},
               "openai-gpt": {"tokens_embed.weight": "wte", "positions_embed.weight": "wpe"}}
_PARAMETER = {"weight": None, "bias": "b"}
_LAYER_NORMS = ("ln_1", "ln_2", "ln_f")
_IGNORED = re.compile(r"(^lm_head\.weight$)|(\.attn\.(masked_)?bias$)|(^position_ids$)")


def hf_model_type(directory: pathlib.Path) -> str | None:
    """``model_type`` of a Hugging Face ``config.json`` beside safetensors, if any."""
    names = {path.name for path in directory.iterdir()}
    if "config.json" not in names or not ({SAFETENSORS_NAME, INDEX_NAME} & names):
        return None
    try:
        data = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data.get("model_type") if isinstance(data, dict) else None


def hf_name_to_canonical(name: str, model_type: str) -> str | None:
    """One transformers weight name -> the canonical name (None: not a decoder weight)."""
    for prefix in _PREFIXES:
        name = name.removeprefix(prefix)
    if name in _EMBEDDINGS[model_type]:
        return _EMBEDDINGS[model_type][name]
    match = re.fullmatch(r"(?:h\.(\d+)\.)?(.+)\.(weight|bias)", name)
    if not match or _IGNORED.search(name):
        return None
    layer, module, parameter = match.groups()
    if module in _LAYER_NORMS:
        suffix = f"{module}/{'g' if parameter == 'weight' else 'b'}"
    elif module in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
        suffix = f"{module.replace('.', '/')}/{'w' if parameter == 'weight' else 'b'}"
    else:
        return None
    return suffix if layer is None else f"h{layer}/{suffix}"


def _load_tensors(directory: pathlib.Path) -> tuple[dict[str, np.ndarray], str]:
    if (directory / SAFETENSORS_NAME).is_file():
        path = directory / SAFETENSORS_NAME
        try:
            return safetensors.numpy.load_file(str(path)), str(path)
        except Exception as error:  # safetensors raises its own types for corrupt files
            raise ValueError(f"{path}: not a readable safetensors file ({error})") from error
    index_path = directory / INDEX_NAME
    try:
        files = sorted(set(json.loads(index_path.read_text())["weight_map"].values()))
    except (OSError, json.JSONDecodeError, KeyError) as error:
        raise ConfigError(f"{index_path}: not a safetensors index with a 'weight_map' ({error})") from error
    tensors = {}
    for file in files:
        if not (directory / file).is_file():
            raise FileNotFoundError(f"{directory / file} is missing (named in {index_path})")
        tensors.update(safetensors.numpy.load_file(str(directory / file)))
    return tensors, str(index_path)


def read_hf_gpt(directory: str | pathlib.Path, seed: int = 0) -> tuple[GPTConfig, dict[str, np.ndarray], list[str], str]:
    """Reads ``(config, canonical weights, unused names, source)`` from a Hugging Face GPT directory."""
    directory = pathlib.Path(directory)
    config = GPTConfig.from_hf_json(directory / "config.json")
    model_type = "gpt2" if config.variant == "gpt2" else "openai-gpt"
    tensors, source = _load_tensors(directory)
    weights, unused = {}, []
    for name, value in tensors.items():
        canonical = hf_name_to_canonical(name, model_type)
        if canonical is None:
            unused.append(name)
        else:
            weights[canonical] = np.asarray(value, np.float32)
    if config.variant == "gpt1" and "wte" in weights:
        weights["wte"] = np.concatenate([weights["wte"], special_token_rows(config.hidden_size, seed)])
    return config, weights, unused, source


def write_hf_gpt(directory: str | pathlib.Path, config: GPTConfig, weights: Mapping[str, np.ndarray]) -> pathlib.Path:
    """Writes canonical-name weights as a transformers ``GPT2Model`` / ``OpenAIGPTModel`` directory
    (``config.json`` + ``model.safetensors``; GPT-1's special rows are not part of it)."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model_type = "gpt2" if config.variant == "gpt2" else "openai-gpt"
    inverse = {canonical: hf for hf, canonical in _EMBEDDINGS[model_type].items()}
    tensors = {}
    for name, value in weights.items():
        value = np.ascontiguousarray(value, np.float32)
        if name in inverse:
            if name == "wte" and config.variant == "gpt1":
                value = np.ascontiguousarray(value[: config.vocab_size - config.num_special_tokens])
            tensors[inverse[name]] = value
            continue
        parts = name.split("/")
        layer = f"h.{parts[0][1:]}." if parts[0].startswith("h") and parts[0][1:].isdigit() else ""
        path = parts[1:] if layer else parts
        parameter = "weight" if path[-1] in ("g", "w") else "bias"
        tensors[f"{layer}{'.'.join(path[:-1])}.{parameter}"] = value
    safetensors.numpy.save_file(tensors, str(directory / SAFETENSORS_NAME), metadata={"format": "pt"})
    (directory / "config.json").write_text(json.dumps(config.to_hf_dict(), indent=2) + "\n")
    return directory
