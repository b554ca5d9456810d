"""GPT-1's release (openai/finetune-transformer-lm ``model/``): ``params_shapes.json`` + ``params_{0..9}.npy``.

As the original ``train.py`` reads them: the ten arrays are concatenated into one flat vector and
split at the cumulative sizes of ``params_shapes.json``; the pieces, reshaped, are in the order
the pretraining code created its variables: the position embeddings ``[512, 768]``, the token
embeddings ``[40478, 768]``, then per block ``attn/c_attn/{w,b}``, ``attn/c_proj/{w,b}``,
``ln_1/{g,b}``, ``mlp/c_fc/{w,b}``, ``mlp/c_proj/{w,b}``, ``ln_2/{g,b}`` (kernels ``[1, in, out]``).
``train.py`` then builds one matrix ``[tokens; special tokens; positions[:n_ctx]]`` with the special
rows drawn from N(0, 0.02); here the token and special rows become ``wte`` (so the special ids are
``len(encoder) + 0, 1, 2``) and the positions ``wpe``. The special rows are drawn from a seeded
generator, so loading twice gives the same decoder.
"""

from __future__ import annotations

import json
import pathlib
from typing import Mapping

import numpy as np

from bertzoo.errors import ConfigError
from bertzoo.families.gpt.gpt_config import GPTConfig

NUM_SHARDS = 10
SHAPES_FILE = "params_shapes.json"
BLOCK_ORDER = ("attn/c_attn/w", "attn/c_attn/b", "attn/c_proj/w", "attn/c_proj/b", "ln_1/g", "ln_1/b",
               "mlp/c_fc/w", "mlp/c_fc/b", "mlp/c_proj/w", "mlp/c_proj/b", "ln_2/g", "ln_2/b")
NUM_SPECIAL_TOKENS = 3  # start, delimiter, classify


def is_gpt1_npy(directory: pathlib.Path) -> bool:
    return (directory / SHAPES_FILE).is_file() and (directory / "params_0.npy").is_file()


def special_token_rows(hidden_size: int, seed: int = 0) -> np.ndarray:
    """GPT-1's start/delimiter/classify rows, N(0, 0.02) as ``train.py`` draws them (seeded here)."""
    return (np.random.default_rng(seed).standard_normal((NUM_SPECIAL_TOKENS, hidden_size)) * 0.02).astype(np.float32)


def read_gpt1_npy(directory: str | pathlib.Path, num_attention_heads: int | None = None,
                  n_ctx: int | None = None, seed: int = 0) -> tuple[GPTConfig, dict[str, np.ndarray], str]:
    """Reads GPT-1's shards into ``(config, canonical weights, source)``.

    Args:
        num_attention_heads: not recorded in the files; 12 for the released model (hidden / 64).
        n_ctx: context length kept (the original keeps ``positions[:n_ctx]``); all 512 by default.
    """
    directory = pathlib.Path(directory)
    shapes_path = directory / SHAPES_FILE
    try:
        shapes = [tuple(int(n) for n in shape) for shape in json.loads(shapes_path.read_text())]
    except (OSError, json.JSONDecodeError, TypeError) as error:
        raise ConfigError(f"{shapes_path}: not a list of shapes ({error})") from error
    shards = []
    for n in range(NUM_SHARDS):
        path = directory / f"params_{n}.npy"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: GPT-1's weights come in {NUM_SHARDS} shards params_0..9.npy")
        shards.append(np.load(path, allow_pickle=False).reshape(-1))
    flat = np.concatenate(shards)
    sizes = [int(np.prod(shape)) for shape in shapes]
    if sum(sizes) != flat.size:
        raise ValueError(f"{directory}: the shards hold {flat.size} numbers but {SHAPES_FILE} describes {sum(sizes)}")
    pieces = [piece.reshape(shape) for piece, shape in zip(np.split(flat, np.cumsum(sizes)[:-1]), shapes)]
    if len(pieces) < 2 or (len(pieces) - 2) % len(BLOCK_ORDER):
        raise ValueError(f"{shapes_path}: {len(pieces)} tensors is not 2 embeddings + {len(BLOCK_ORDER)} per block")
    positions, tokens = pieces[0], pieces[1]
    num_layers = (len(pieces) - 2) // len(BLOCK_ORDER)
    hidden = tokens.shape[1]
    n_ctx = positions.shape[0] if n_ctx is None else n_ctx
    if n_ctx > positions.shape[0]:
        raise ConfigError(f"n_ctx {n_ctx} exceeds the {positions.shape[0]} positions in {directory}")
    weights = {"wte": np.concatenate([tokens, special_token_rows(hidden, seed)]), "wpe": positions[:n_ctx]}
    for layer in range(num_layers):
        for k, suffix in enumerate(BLOCK_ORDER):
            value = pieces[2 + layer * len(BLOCK_ORDER) + k]
            weights[f"h{layer}/{suffix}"] = value[0] if value.ndim == 3 else value
    intermediate = weights["h0/mlp/c_fc/w"].shape[1] if num_layers else 4 * hidden
    config = GPTConfig(variant="gpt1", vocab_size=tokens.shape[0] + NUM_SPECIAL_TOKENS, max_position_embeddings=n_ctx,
                       hidden_size=hidden, num_hidden_layers=num_layers,
                       num_attention_heads=num_attention_heads or max(1, hidden // 64),
                       intermediate_size=intermediate, num_special_tokens=NUM_SPECIAL_TOKENS, pooling="classify_token")
    return config, weights, str(directory / "params_*.npy")


def write_gpt1_npy(directory: str | pathlib.Path, weights: Mapping[str, np.ndarray], num_layers: int) -> pathlib.Path:
    """Writes canonical-name weights as GPT-1's release (the special rows of ``wte`` are not stored,
    as in the original: ``train.py`` draws them afresh)."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = [np.asarray(weights["wpe"]), np.asarray(weights["wte"])[:-NUM_SPECIAL_TOKENS]]
    for layer in range(num_layers):
        for suffix in BLOCK_ORDER:
            value = np.asarray(weights[f"h{layer}/{suffix}"])
            tensors.append(value[None] if suffix.endswith("/w") else value)
    (directory / SHAPES_FILE).write_text(json.dumps([list(t.shape) for t in tensors]))
    flat = np.concatenate([t.astype(np.float32).reshape(-1) for t in tensors])
    for n, shard in enumerate(np.array_split(flat, NUM_SHARDS)):
        np.save(directory / f"params_{n}.npy", shard)
    return directory
