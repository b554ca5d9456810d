"""AWD-LSTM's pretrained bundle, its two directory formats, and the loader the registry calls.

- ``fastai``: what fastai's model zoo ships (``wt103-fwd.tgz``: ``lstm_fwd.pth`` + its ``.pkl``
  vocabulary) or ``learn.save`` writes: one ``*.pth`` state dict and one ``*.pkl`` (or ``itos.txt``)
  vocabulary. Reading the ``.pth`` needs PyTorch (see ``fastai_weights``).
- ``bertzoo``: what ``save_pretrained`` writes: ``awd_lstm.json`` (config), ``model.safetensors``
  (weights under bertzoo's names) and ``itos.txt`` (one token per line).
The architecture comes from the weights' shapes (fastai) or the manifest (bertzoo); the dropouts are
fastai's language-model ones unless the caller passes others.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import ClassVar

import numpy as np
import safetensors.numpy

from bertzoo.atomic_directory import staged_directory
from bertzoo.errors import ConfigError
from bertzoo.families.awd_lstm.awd_lstm_config import AwdLstmConfig
from bertzoo.families.awd_lstm.awd_lstm_encoder import AwdLstmEncoder
from bertzoo.families.awd_lstm.fastai_tokenizer import PAD, AwdLstmPreprocessor, AwdLstmTokenizer
from bertzoo.families.awd_lstm.fastai_weights import canonical_awd_lstm_weights, read_fastai_pth, read_itos_pickle
from bertzoo.families.registry import Pretrained

MANIFEST = "awd_lstm.json"
WEIGHTS = "model.safetensors"
VOCABULARY = "itos.txt"
LOOKED_FOR = (f"bertzoo ({MANIFEST} + {WEIGHTS} + {VOCABULARY}); fastai (one *.pth state dict + a *.pkl or "
              f"{VOCABULARY} vocabulary)")


@dataclasses.dataclass
class PretrainedAwdLstm(Pretrained):
    """A pretrained AWD-LSTM: encoder, tokenizer, preprocessor, and the language model's decoder bias.

    Attributes:
        config: ``AwdLstmConfig``.
        encoder: ``AwdLstmEncoder`` (the encoder contract).
        tokenizer: ``AwdLstmTokenizer`` (fastai's rules and the ``itos`` vocabulary).
        preprocessor: ``AwdLstmPreprocessor``: strings -> encoder inputs.
        decoder_bias: the language model's output bias (its matrix is tied to the embeddings), or None.
    """

    config: AwdLstmConfig
    encoder: AwdLstmEncoder
    tokenizer: AwdLstmTokenizer
    preprocessor: AwdLstmPreprocessor
    family: ClassVar[str] = "awd_lstm"
    decoder_bias: np.ndarray | None = None
    source: str = ""
    format: str = ""


def awd_lstm_format(directory: pathlib.Path) -> str | None:
    names = {path.name for path in directory.iterdir()}
    if MANIFEST in names:
        return "bertzoo"
    if any(name.endswith(".pth") for name in names) and (
            VOCABULARY in names or any(name.endswith(".pkl") for name in names)):
        return "fastai"
    return None


def config_from_weights(weights: dict[str, np.ndarray], pad_token_id: int, source: str) -> AwdLstmConfig:
    """The architecture a set of canonical weights implies."""
    vocab_size, embedding_size = weights["embedding"].shape
    layers = sorted(int(name.split("/")[0].split("_")[1]) for name in weights if name.endswith("/weight_hh"))
    if not layers or layers != list(range(len(layers))):
        raise ConfigError(f"{source}: LSTM layers {layers} are not numbered 0..n-1")
    hidden_size = int(weights["lstm_0/weight_hh"].shape[1]) if len(layers) > 1 else embedding_size
    return AwdLstmConfig(vocab_size=int(vocab_size), embedding_size=int(embedding_size), hidden_size=hidden_size,
                         num_layers=len(layers), pad_token_id=pad_token_id)


def assign_awd_lstm_weights(encoder: AwdLstmEncoder, weights: dict[str, np.ndarray], source: str) -> None:
    """Copies canonical weights into a built encoder; a missing or misshapen weight is named."""
    targets = {"embedding": encoder.embedding.embeddings}
    for index, rnn in enumerate(encoder.rnns):
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            targets[f"lstm_{index}/{kind}"] = getattr(rnn, kind)
    for name, variable in targets.items():
        if name not in weights:
            raise ConfigError(f"{source}: weight '{name}' is missing")
        value = weights[name]
        if tuple(value.shape) != tuple(variable.shape):
            raise ConfigError(f"{source}: weight '{name}' has shape {tuple(value.shape)}, the encoder expects "
                              f"{tuple(variable.shape)}")
        variable.assign(value)


def read_awd_lstm_weights(encoder: AwdLstmEncoder) -> dict[str, np.ndarray]:
    weights = {"embedding": np.asarray(encoder.embedding.embeddings)}
    for index, rnn in enumerate(encoder.rnns):
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            weights[f"lstm_{index}/{kind}"] = np.asarray(getattr(rnn, kind))
    return weights


def load_awd_lstm(path: str | os.PathLike, seq_length: int = 128,
                  dropouts: dict[str, float] | None = None) -> PretrainedAwdLstm:
    """Reads an AWD-LSTM directory in either format.

    Args:
        path: the directory.
        seq_length: the preprocessor's fixed length.
        dropouts: ``AwdLstmConfig`` dropout fields to use instead of fastai's language-model ones
            (e.g. ``CLASSIFIER_DROPOUTS``).
    """
    directory = pathlib.Path(path)
    checkpoint_format = awd_lstm_format(directory)
    if checkpoint_format is None:
        raise ConfigError(f"{directory} holds no AWD-LSTM checkpoint. Looked for: {LOOKED_FOR}")
    if checkpoint_format == "bertzoo":
        manifest_path = directory / MANIFEST
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError(f"{manifest_path}: cannot read the AWD-LSTM manifest ({error})") from error
        config = AwdLstmConfig.from_dict(manifest.get("config", {}), source=str(manifest_path))
        weights = safetensors.numpy.load_file(str(directory / WEIGHTS))
        vocabulary = _read_lines(directory / VOCABULARY)
    else:
        pth = sorted(directory.glob("*.pth"))
        if len(pth) != 1:
            raise ConfigError(f"{directory}: expected one *.pth state dict, found {[p.name for p in pth]}")
        weights, _ = canonical_awd_lstm_weights(read_fastai_pth(pth[0]), source=str(pth[0]))
        vocabulary = (_read_lines(directory / VOCABULARY) if (directory / VOCABULARY).is_file()
                      else read_itos_pickle(sorted(directory.glob("*.pkl"))[0]))
        pad = vocabulary.index(PAD) if PAD in vocabulary else 1
        config = config_from_weights(weights, pad, source=str(pth[0]))
    if len(vocabulary) != config.vocab_size:
        raise ConfigError(f"{directory}: the vocabulary has {len(vocabulary)} tokens but the embedding matrix "
                          f"{config.vocab_size} rows")
    if dropouts:
        config = dataclasses.replace(config, **dropouts)
    encoder = AwdLstmEncoder.from_config_object(config)
    tokenizer = AwdLstmTokenizer(vocabulary)
    preprocessor = AwdLstmPreprocessor(tokenizer, seq_length=seq_length)
    encoder(preprocessor(["xxbos"]))  # builds the variables
    assign_awd_lstm_weights(encoder, weights, source=str(directory))
    return PretrainedAwdLstm(config=config, encoder=encoder, tokenizer=tokenizer, preprocessor=preprocessor,
                             decoder_bias=weights.get("decoder_bias"), source=str(directory),
                             format=checkpoint_format)


def save_awd_lstm(bundle: PretrainedAwdLstm, out_dir: str | os.PathLike, overwrite: bool = False) -> pathlib.Path:
    """Writes bertzoo's AWD-LSTM format; ``load_awd_lstm`` reads it back."""
    weights = read_awd_lstm_weights(bundle.encoder)
    if bundle.decoder_bias is not None:
        weights["decoder_bias"] = np.asarray(bundle.decoder_bias, dtype=np.float32)
    with staged_directory(out_dir, overwrite) as staging:
        manifest = {"format": "bertzoo", "family": "awd_lstm", "format_version": 1,
                    "config": bundle.encoder.config.to_dict()}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        safetensors.numpy.save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()},
                                    str(staging / WEIGHTS))
        (staging / VOCABULARY).write_text("".join(token + "\n" for token in bundle.tokenizer.vocabulary),
                                          encoding="utf-8")
    return pathlib.Path(out_dir)


def _read_lines(path: pathlib.Path) -> list[str]:
    if not path.is_file():
        raise ConfigError(f"{path} is missing: an AWD-LSTM needs its vocabulary there")
    return path.read_text(encoding="utf-8").split("\n")[:-1]
