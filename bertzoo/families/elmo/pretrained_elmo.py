"""ELMo's pretrained bundle: ``load_elmo`` reads a bilm-tf / allennlp directory (``options.json`` +
``weights.hdf5``) into one ``PretrainedElmo``; ``save_elmo`` writes the same format back, so a saved
model is read by bilm-tf and allennlp too.

A directory is ELMo when it holds an options file (``options.json`` or ``*_options.json``, the
names of allennlp's downloads) whose JSON has ``char_cnn`` and ``lstm``, and one weight file
(``weights.hdf5``, ``lm_weights.hdf5`` or ``*_weights.hdf5``). An optional ``vocab.txt`` (bilm-tf's
vocabulary, one word per line) gives word ids, needed only to go on training the language model.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Any, ClassVar

import numpy as np

from bertzoo.atomic_directory import staged_directory
from bertzoo.families.elmo.elmo_config import ElmoConfig
from bertzoo.families.elmo.elmo_encoder import ElmoEncoder
from bertzoo.families.elmo.elmo_preprocessor import ElmoPreprocessor
from bertzoo.families.elmo.elmo_tokenizer import ElmoTokenizer
from bertzoo.families.elmo.elmo_weights import assign_elmo_weights, read_hdf5_datasets, write_elmo_weights
from bertzoo.families.registry import Pretrained, UnknownCheckpointFormatError

OPTIONS = "options.json"
WEIGHTS = "weights.hdf5"
VOCABULARY = "vocab.txt"
SOFTMAX_PREFIX = "softmax/"
LOOKED_FOR = "bilm-tf / allennlp ELMo (options.json or *_options.json with char_cnn + lstm, and weights.hdf5 or " \
             "*_weights.hdf5; vocab.txt optional)"


@dataclasses.dataclass
class PretrainedElmo(Pretrained):
    """A pretrained ELMo biLM: raw text in, per-layer contextual vectors out.

    Attributes:
        config: the architecture (``options.json``).
        encoder: ``ElmoEncoder`` with the checkpoint's weights.
        tokenizer: ``ElmoTokenizer`` (character ids; the vocabulary when the directory has one).
        preprocessor: ``ElmoPreprocessor``: strings -> ``<S> words </S>`` inputs of ``seq_length``.
        pretraining_weights: the language model's softmax (``softmax/W``, ``softmax/b``) when saved.
        source: the directory read; ``format``: ``bilm_tf``.
    """

    config: ElmoConfig
    encoder: ElmoEncoder
    tokenizer: ElmoTokenizer
    preprocessor: ElmoPreprocessor
    family: ClassVar[str] = "elmo"
    pretraining_weights: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    source: str = ""
    format: str = "bilm_tf"


def _find(directory: pathlib.Path, exact: tuple[str, ...], suffix: str) -> list[pathlib.Path]:
    found = [directory / name for name in exact if (directory / name).is_file()]
    return found[:1] or sorted(p for p in directory.iterdir() if p.is_file() and p.name.endswith(suffix))


def elmo_files(directory: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path] | None:
    """The options and weight files of an ELMo directory, or None when it is not one."""
    options = _find(directory, (OPTIONS,), "_options.json")
    weights = _find(directory, (WEIGHTS, "lm_weights.hdf5"), "_weights.hdf5")
    if len(options) != 1 or len(weights) != 1:
        return None
    try:
        data = json.loads(options[0].read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not (isinstance(data, dict) and ("char_cnn" in data or "lstm" in data)):
        return None
    return options[0], weights[0]


def elmo_format(directory: pathlib.Path) -> str | None:
    """``"bilm_tf"`` when the directory holds an ELMo biLM, else None."""
    return "bilm_tf" if elmo_files(directory) else None


def read_vocabulary(path: pathlib.Path) -> list[str]:
    """bilm-tf's ``vocab.txt``: one word per line (stripped), id = line number."""
    words = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [w for w in words if w]


def load_elmo(path: str | os.PathLike, seq_length: int = 128, *, stateful: bool = False, max_batch_size: int = 128,
              word_split: str | None = None, dtype: Any = None) -> PretrainedElmo:
    """Reads a pretrained ELMo from a bilm-tf / allennlp directory.

    Args:
        path: the directory (``options.json`` + ``weights.hdf5``; allennlp's long file names work).
        seq_length: the preprocessor's fixed length, ``<S>`` and ``</S>`` included.
        stateful: carry LSTM states between calls per row, as the original biLM.
        max_batch_size: rows of the carried state (stateful only).
        word_split: ``"whitespace"`` (tokenized text, the original) or ``"punctuation"``; default: the
            split a bertzoo-trained model records in its options (``"bertzoo": {"word_split": ...}``),
            else ``"whitespace"``.
        dtype: dtype policy of the encoder.

    Returns:
        A ``PretrainedElmo``.

    Raises:
        ConfigError: an options field missing or wrong (named), a weight dataset missing (named).
    """
    directory = pathlib.Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"checkpoint directory not found: {directory}")
    files = elmo_files(directory)
    if files is None:
        raise UnknownCheckpointFormatError(
            f"{directory} holds no ELMo checkpoint. Looked for: {LOOKED_FOR}. Found: "
            f"{sorted(p.name for p in directory.iterdir()) or 'nothing'}")
    options_path, weights_path = files
    config = ElmoConfig.from_options_json(options_path)
    encoder = ElmoEncoder.from_elmo_config(config, stateful=stateful, max_batch_size=max_batch_size, dtype=dtype)
    unused = assign_elmo_weights(encoder, weights_path)
    pretraining = {}
    if any(name.startswith(SOFTMAX_PREFIX) for name in unused):
        datasets = read_hdf5_datasets(weights_path)
        pretraining = {name: datasets[name] for name in unused if name.startswith(SOFTMAX_PREFIX)}
    vocabulary = read_vocabulary(directory / VOCABULARY) if (directory / VOCABULARY).is_file() else None
    word_split = word_split or config.word_split or "whitespace"
    tokenizer = ElmoTokenizer(config.max_characters_per_token, word_split=word_split, vocabulary=vocabulary)
    return PretrainedElmo(config=config, encoder=encoder, tokenizer=tokenizer,
                          preprocessor=ElmoPreprocessor(tokenizer, seq_length=seq_length),
                          pretraining_weights=pretraining, source=str(directory))


def save_elmo(elmo: PretrainedElmo, out_dir: str | os.PathLike, overwrite: bool = False) -> pathlib.Path:
    """Writes ``options.json``, ``weights.hdf5`` (and ``vocab.txt``), atomically; ``load_elmo`` reads it back."""
    with staged_directory(out_dir, overwrite=overwrite) as staging:
        elmo.config.to_json_file(staging / OPTIONS)
        write_elmo_weights(elmo.encoder, staging / WEIGHTS, extra=elmo.pretraining_weights)
        if elmo.tokenizer.vocabulary is not None:
            (staging / VOCABULARY).write_text("\n".join(elmo.tokenizer.vocabulary) + "\n", encoding="utf-8")
    return pathlib.Path(out_dir)

