"""Shared material for the GPT tests: tiny configs, seeded random weights written in every checkpoint
format, a tiny byte-level BPE vocabulary, fixed inputs, and the checked-in reference outputs of
transformers' GPT2Model / OpenAIGPTModel (tests/data/gpt_reference.npz, rewritten by the parity test)."""

from __future__ import annotations

import json
import pathlib

import numpy as np

from bertzoo.families.gpt.bpe_vocabulary import bytes_to_unicode
from bertzoo.families.gpt.checkpoints.gpt_weights import canonical_names
from bertzoo.families.gpt.checkpoints.hf_gpt_safetensors import write_hf_gpt
from bertzoo.families.gpt.checkpoints.openai_gpt1_npy import write_gpt1_npy
from bertzoo.families.gpt.checkpoints.openai_gpt2_tf1 import write_gpt2_tf1
from bertzoo.families.gpt.gpt_config import GPTConfig

REFERENCE = pathlib.Path(__file__).parent / "data" / "gpt_reference.npz"
NO_DROPOUT = dict(hidden_dropout_prob=0.0, embedding_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
GPT2_CONFIG = GPTConfig.preset("gpt2-tiny", vocab_size=300, max_position_embeddings=32, **NO_DROPOUT)
GPT1_CONFIG = GPTConfig.preset("gpt1-tiny", vocab_size=300 + 3, max_position_embeddings=32, **NO_DROPOUT)
SEQ_LENGTH = 12
# Merges of the tiny byte-level vocabulary: ids 256.. in this order, then <|endoftext|>.
TINY_MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "a"), ("i", "n"), ("Ġ", "s"), ("e", "r"), ("o", "n")]


def random_weights(config: GPTConfig, seed: int) -> dict[str, np.ndarray]:
    """Seeded weights for every canonical name, with LayerNorm gains near 1 (not all ones, so a
    gain/bias swap shows)."""
    rng = np.random.default_rng(seed)
    h, inner = config.hidden_size, config.intermediate_size
    shapes = {"wte": (config.vocab_size, h), "wpe": (config.max_position_embeddings, h),
              "attn/c_attn/w": (h, 3 * h), "attn/c_attn/b": (3 * h,), "attn/c_proj/w": (h, h), "attn/c_proj/b": (h,),
              "mlp/c_fc/w": (h, inner), "mlp/c_fc/b": (inner,), "mlp/c_proj/w": (inner, h), "mlp/c_proj/b": (h,)}
    weights = {}
    for name in canonical_names(config.num_hidden_layers, config.pre_layer_norm):
        suffix = name.split("/", 1)[1] if name.startswith("h") and "/" in name else name
        if suffix.endswith("/g"):
            weights[name] = (1.0 + 0.1 * rng.standard_normal(h)).astype(np.float32)
        elif suffix in ("ln_1/b", "ln_2/b", "ln_f/b"):
            weights[name] = (0.1 * rng.standard_normal(h)).astype(np.float32)
        else:
            weights[name] = (0.2 * rng.standard_normal(shapes[suffix])).astype(np.float32)
    return weights


def write_tiny_bpe(directory: pathlib.Path, encoder_name="encoder.json", merges_name="vocab.bpe") -> dict[str, int]:
    """A real (tiny) GPT-2 vocabulary: the 256 byte tokens, ``TINY_MERGES``, ``<|endoftext|>``."""
    alphabet = bytes_to_unicode()
    encoder = {alphabet[b]: b for b in range(256)}
    for left, right in TINY_MERGES:
        encoder[left + right] = len(encoder)
    encoder["<|endoftext|>"] = len(encoder)
    (directory / encoder_name).write_text(json.dumps(encoder), encoding="utf-8")
    (directory / merges_name).write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in TINY_MERGES),
                                         encoding="utf-8")
    return encoder


def gpt2_weights() -> dict[str, np.ndarray]:
    return random_weights(GPT2_CONFIG, seed=2)


def gpt1_weights() -> dict[str, np.ndarray]:
    """GPT-1 weights; the special rows are the seeded ones the readers append (seed 0)."""
    from bertzoo.families.gpt.checkpoints.openai_gpt1_npy import special_token_rows

    weights = random_weights(GPT1_CONFIG, seed=1)
    weights["wte"][-3:] = special_token_rows(GPT1_CONFIG.hidden_size, seed=0)
    return weights


def write_checkpoint(kind: str, directory: pathlib.Path) -> pathlib.Path:
    """One of: ``openai_gpt2_tf1``, ``hf_gpt2``, ``openai_gpt1_npy``, ``hf_openai_gpt``."""
    directory.mkdir(parents=True, exist_ok=True)
    if kind == "openai_gpt2_tf1":
        write_gpt2_tf1(directory, GPT2_CONFIG, gpt2_weights())
        write_tiny_bpe(directory)
    elif kind == "hf_gpt2":
        write_hf_gpt(directory, GPT2_CONFIG, gpt2_weights())
        config = json.loads((directory / "config.json").read_text())
        config.update(resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
        (directory / "config.json").write_text(json.dumps(config))
        write_tiny_bpe(directory, "vocab.json", "merges.txt")
    elif kind == "openai_gpt1_npy":
        write_gpt1_npy(directory, gpt1_weights(), GPT1_CONFIG.num_hidden_layers)
    elif kind == "hf_openai_gpt":
        write_hf_gpt(directory, GPT1_CONFIG, gpt1_weights())
    else:
        raise ValueError(kind)
    return directory


def inputs(vocab_size: int) -> dict[str, np.ndarray]:
    """Three rows of SEQ_LENGTH ids below ``vocab_size``; the last right-padded after 7 tokens."""
    rng = np.random.default_rng(7)
    ids = rng.integers(0, vocab_size, (3, SEQ_LENGTH)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[2, 7:] = 0
    ids[2, 7:] = 0
    return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": np.zeros_like(ids)}


def write_gpt1_vocabulary(directory: pathlib.Path, encoder_name: str, merges_name: str) -> pathlib.Path:
    """A GPT-1 vocabulary for the tiny checkpoints' 300 token rows: letters, letters ending a word, a
    few merges."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    tokens = list(letters) + [c + "</w>" for c in letters] + [".</w>", ",</w>", "the</w>", "th"]
    tokens += [f"unused{i}</w>" for i in range(300 - len(tokens))]
    (directory / encoder_name).write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    (directory / merges_name).write_text("#version: 0.2\nt h\nth e</w>\n")
    return directory
