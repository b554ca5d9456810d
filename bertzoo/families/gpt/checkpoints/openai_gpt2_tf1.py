"""OpenAI's GPT-2 release: a TF1 checkpoint ``model.ckpt.*`` + ``hparams.json`` + ``encoder.json`` + ``vocab.bpe``.

openai/gpt-2 ``src/model.py`` names its variables ``model/wte``, ``model/wpe``,
``model/h{i}/{ln_1,ln_2}/{g,b}``, ``model/h{i}/attn/{c_attn,c_proj}/{w,b}``,
``model/h{i}/mlp/{c_fc,c_proj}/{w,b}`` and ``model/ln_f/{g,b}``; its ``conv1d`` kernels are
``[1, in, out]``. They are read with ``tf.train.load_checkpoint`` (no graph is built) and translated
to the canonical names by dropping ``model/`` and the leading 1.
"""

from __future__ import annotations

import json
import pathlib
from typing import Mapping

import numpy as np
import tensorflow as tf

from bertzoo.families.gpt.gpt_config import GPTConfig

SCOPE = "model/"
FILES = ("hparams.json", "encoder.json", "vocab.bpe")


def checkpoint_prefix(directory: pathlib.Path) -> str | None:
    """The checkpoint prefix in ``directory`` (``checkpoint`` file first, else the one ``*.index``)."""
    latest = tf.train.latest_checkpoint(str(directory))
    # A ``checkpoint`` file may name an absolute path elsewhere (a copied directory): only trust it inside.
    if latest and pathlib.Path(latest + ".index").is_file() and pathlib.Path(latest).parent.resolve() == directory.resolve():
        return latest
    indexes = sorted(directory.glob("*.ckpt*.index"))
    return str(indexes[0])[: -len(".index")] if indexes else None


def is_gpt2_tf1(directory: pathlib.Path) -> bool:
    return (directory / "hparams.json").is_file() and checkpoint_prefix(directory) is not None


def read_gpt2_tf1(directory: str | pathlib.Path) -> tuple[GPTConfig, dict[str, np.ndarray], str]:
    """Reads the config and canonical-name weights; returns ``(config, weights, source)``."""
    directory = pathlib.Path(directory)
    config = GPTConfig.from_openai_hparams(directory / "hparams.json")
    prefix = checkpoint_prefix(directory)
    if prefix is None:
        raise FileNotFoundError(f"{directory}: no TF checkpoint (model.ckpt.index + model.ckpt.data-*)")
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as error:
        raise ValueError(f"{prefix}: not a readable TensorFlow checkpoint ({error})") from error
    weights = {}
    for name in reader.get_variable_to_shape_map():
        if not name.startswith(SCOPE):
            continue
        value = reader.get_tensor(name)
        canonical = name[len(SCOPE):]
        weights[canonical] = value[0] if value.ndim == 3 and value.shape[0] == 1 else value
    return config, weights, prefix


def write_gpt2_tf1(directory: str | pathlib.Path, config: GPTConfig, weights: Mapping[str, np.ndarray]) -> pathlib.Path:
    """Writes canonical-name ``weights`` as OpenAI's TF1 checkpoint ``model.ckpt`` + ``hparams.json``
    (variables under ``model/``, kernels ``[1, in, out]``), with a TF1 ``Saver`` as the original."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if config.variant != "gpt2" or config.intermediate_size != 4 * config.hidden_size:
        raise ValueError("OpenAI's GPT-2 checkpoint format holds GPT-2 with a 4 x hidden feed-forward only")
    hparams = {"n_vocab": config.vocab_size, "n_ctx": config.max_position_embeddings, "n_embd": config.hidden_size,
               "n_head": config.num_attention_heads, "n_layer": config.num_hidden_layers}
    (directory / "hparams.json").write_text(json.dumps(hparams, indent=2) + "\n")
    graph = tf.Graph()
    with graph.as_default():
        variables = []
        for name, value in weights.items():
            value = np.asarray(value, np.float32)
            if name.endswith("/w"):
                value = value[None]
            variables.append(tf.compat.v1.Variable(value, name=SCOPE + name))
        saver = tf.compat.v1.train.Saver(variables, save_relative_paths=True)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(directory / "model.ckpt"))
    return directory
