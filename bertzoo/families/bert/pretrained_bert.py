"""BERT's pretrained bundle: ``load_bert`` reads any BERT checkpoint directory into one
``PretrainedBert`` (config, encoder, tokenizer, preprocessor); ``save_bert`` writes bertzoo's own
format. ``bertzoo.load_pretrained`` reaches them through the family registry.

Formats are detected from the files a directory holds (never from its name):
- bertzoo: ``bertzoo.json``;
- Google's original release: ``bert_config.json`` + ``*.ckpt.index`` (+ data) + ``vocab.txt``;
- KerasHub preset: ``config.json`` naming a keras-hub class + ``model.weights.h5``;
- Hugging Face: ``config.json`` + ``model.safetensors`` (or a sharded index) + ``vocab.txt``;
- TF Hub encoder SavedModel: ``saved_model.pb`` + ``variables/`` or ``assets/vocab.txt`` (Google's
  tfhub.dev BERT encoders, and bertzoo's ``export_hub``), casing from its ``do_lower_case`` variable.
Casing comes from the checkpoint's own files (HF ``tokenizer_config.json``, the KerasHub tokenizer
config, bertzoo's manifest); Google's release has no such file, so the vocabulary decides: an
uncased vocabulary has no token that lowercasing would change.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pathlib
from typing import Any, ClassVar

import numpy as np

from bertzoo.errors import ConfigError
from bertzoo.families.bert.bert_config import BertConfig
from bertzoo.families.bert.bert_encoder import BertEncoder
from bertzoo.families.bert.bert_preprocessor import BertPreprocessor
from bertzoo.families.bert.checkpoints import bertzoo_format
from bertzoo.families.bert.checkpoints.encoder_weights import assign_encoder_weights, read_encoder_weights
from bertzoo.families.bert.checkpoints.weight_names import pretraining_head_names
from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer
from bertzoo.families.registry import Pretrained, UnknownCheckpointFormatError
from bertzoo.text import Vocabulary

logger = logging.getLogger(__name__)

FORMATS = ("bertzoo", "google", "keras_hub", "hugging_face", "tf_hub")


@dataclasses.dataclass
class PretrainedBert(Pretrained):
    """A pretrained BERT: everything needed to turn raw text into contextual vectors.

    Attributes:
        config: the architecture, with the casing of the checkpoint's tokenizer.
        encoder: ``BertEncoder`` with the checkpoint's weights (the encoder contract of DESIGN.md).
        tokenizer: ``WordPieceTokenizer`` with the checkpoint's vocabulary and casing.
        preprocessor: ``BertPreprocessor``: strings or (strings_a, strings_b) -> encoder inputs.
        pretraining_weights: the checkpoint's masked-LM / next-sentence head weights (canonical
            ``cls/...`` names), empty when it has none.
        source: the directory it was read from; ``format``: which format that was.
        unused_weights: checkpoint weights neither the encoder nor the heads use (optimizer
            slots, ``global_step``, buffers), reported rather than fatal.
    """

    config: BertConfig
    encoder: BertEncoder
    tokenizer: WordPieceTokenizer
    preprocessor: BertPreprocessor
    family: ClassVar[str] = "bert"
    pretraining_weights: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    source: str = ""
    format: str = ""
    unused_weights: tuple[str, ...] = ()

    @property
    def tokenizer_settings(self) -> dict[str, Any]:
        """Casing, accent and CJK settings of the tokenizer, as bertzoo's manifest stores them."""
        return {
            "lowercase": self.tokenizer.lowercase,
            "strip_accents": self.tokenizer.strip_accents,
            "tokenize_chinese_chars": self.tokenizer.tokenize_chinese_chars,
        }


@dataclasses.dataclass
class _Contents:
    """What a format reader found, before the encoder is built."""

    config: BertConfig
    weights: dict[str, np.ndarray]
    unused: tuple[str, ...]
    vocabulary_path: pathlib.Path
    tokenizer_settings: dict[str, Any]
    weights_source: str


LOOKED_FOR = (
    f"bertzoo ({bertzoo_format.MANIFEST}); Google's release (bert_config.json + bert_model.ckpt.index/"
    f".data-* + vocab.txt); KerasHub preset (config.json + model.weights.h5 + "
    f"assets/tokenizer/vocabulary.txt); Hugging Face (config.json + model.safetensors + vocab.txt); TF Hub encoder "
    f"SavedModel (saved_model.pb + variables/ + assets/vocab.txt)")


def bert_format(directory: pathlib.Path) -> str | None:
    """Which of ``FORMATS`` the directory holds, judged by its files; None when it holds no BERT."""
    names = {path.name for path in directory.iterdir()}
    if bertzoo_format.is_bertzoo_checkpoint(directory):
        return "bertzoo"
    if "bert_config.json" in names and any(".ckpt" in name and name.endswith(".index") for name in names):
        return "google"
    if "config.json" in names and "model.weights.h5" in names and _is_keras_hub_config(directory / "config.json"):
        return "keras_hub"
    if "config.json" in names and ({"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"} & names):
        return "hugging_face" if _hf_model_type(directory / "config.json") in (None, "bert") else None
    if "saved_model.pb" in names and ((directory / "assets" / "vocab.txt").is_file()
                                      or (directory / "variables").is_dir()):
        return "tf_hub"
    return None


def detect_format(directory: str | os.PathLike) -> str:
    """Which of ``FORMATS`` the directory holds, judged by its files."""
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"checkpoint directory not found: {directory}")
    found = bert_format(directory)
    if found is None:
        raise UnknownCheckpointFormatError(
            f"{directory} holds no BERT checkpoint format bertzoo reads. Looked for: {LOOKED_FOR}. "
            f"Found: {sorted(path.name for path in directory.iterdir()) or 'nothing'}")
    return found


def load_bert(path: str | os.PathLike, seq_length: int = 128, do_lower_case: bool | None = None,
                    dtype: Any = None) -> PretrainedBert:
    """Reads a pretrained BERT from a checkpoint directory in any supported format.

    Args:
        path: the checkpoint directory (format detected from its files).
        seq_length: the preprocessor's fixed output length.
        do_lower_case: override the casing the checkpoint's files imply (rarely needed).
        dtype: dtype policy for the encoder, e.g. ``"mixed_bfloat16"``.

    Returns:
        A ``PretrainedBert`` whose encoder carries the checkpoint's weights.
    """
    directory = pathlib.Path(path)
    checkpoint_format = detect_format(directory)
    reader = {
        "bertzoo": _read_bertzoo,
        "google": _read_google,
        "keras_hub": _read_keras_hub,
        "hugging_face": _read_hugging_face,
        "tf_hub": _read_tf_hub,
    }[checkpoint_format]
    contents = reader(directory)
    vocabulary = Vocabulary.from_file(contents.vocabulary_path)
    settings = dict(contents.tokenizer_settings)
    if do_lower_case is not None:
        settings["lowercase"] = do_lower_case
    if settings.get("lowercase") is None:
        settings["lowercase"] = vocabulary.infer_lowercase()
        logger.info("%s: no casing metadata; the vocabulary looks %s", directory,
                    "uncased" if settings["lowercase"] else "cased")
    config = contents.config.replace(do_lower_case=settings["lowercase"])
    if seq_length > config.max_position_embeddings:
        raise ConfigError(
            f"seq_length {seq_length} exceeds the checkpoint's max_position_embeddings "
            f"({config.max_position_embeddings}) in {directory}")
    if len(vocabulary) > config.vocab_size:
        raise ConfigError(
            f"{contents.vocabulary_path} has {len(vocabulary)} tokens but the config's vocab_size is "
            f"{config.vocab_size}: token ids past the embedding table would be out of range")

    encoder = BertEncoder.from_bert_config(config, dtype=dtype)
    unused_by_encoder = assign_encoder_weights(encoder, contents.weights, source=contents.weights_source)
    head_names = set(pretraining_head_names())
    pretraining_weights = {name: contents.weights[name] for name in unused_by_encoder if name in head_names}
    unused = tuple(sorted(set(contents.unused) | (set(unused_by_encoder) - head_names)))
    _report_unused(contents.weights_source, unused)

    tokenizer = WordPieceTokenizer(
        vocabulary, lowercase=settings["lowercase"], strip_accents=settings.get("strip_accents"),
        tokenize_chinese_chars=settings.get("tokenize_chinese_chars", True))
    preprocessor = BertPreprocessor(tokenizer, seq_length=seq_length)
    return PretrainedBert(config=config, encoder=encoder, tokenizer=tokenizer, preprocessor=preprocessor,
                          pretraining_weights=pretraining_weights, source=str(directory),
                          format=checkpoint_format, unused_weights=unused)


def save_bert(bert: PretrainedBert, out_dir: str | os.PathLike, overwrite: bool = False) -> pathlib.Path:
    """Writes ``bert`` in bertzoo's own format; ``load_bert`` reads it back."""
    weights = read_encoder_weights(bert.encoder)
    weights.update(bert.pretraining_weights)
    return bertzoo_format.write_bertzoo_checkpoint(
        out_dir, config=bert.config, tokenizer_settings=bert.tokenizer_settings, weights=weights,
        vocabulary=list(bert.tokenizer.vocabulary.tokens), overwrite=overwrite)


# ------------------------------------------------------------------------------- format readers
def _read_bertzoo(directory: pathlib.Path) -> _Contents:
    checkpoint = bertzoo_format.read_bertzoo_checkpoint(directory)
    return _Contents(config=checkpoint.config, weights=checkpoint.weights, unused=(),
                     vocabulary_path=checkpoint.vocabulary_path,
                     tokenizer_settings=checkpoint.tokenizer_settings,
                     weights_source=str(directory / bertzoo_format.WEIGHTS))


def _read_google(directory: pathlib.Path) -> _Contents:
    from bertzoo.families.bert.checkpoints.google_checkpoint import read_google_checkpoint

    config = BertConfig.from_google_json(directory / "bert_config.json")
    checkpoint = read_google_checkpoint(directory)
    return _Contents(config=config, weights=checkpoint.weights, unused=tuple(checkpoint.unused),
                     vocabulary_path=_require_file(directory / "vocab.txt", "Google checkpoint"),
                     tokenizer_settings={}, weights_source=checkpoint.source)


def _read_hugging_face(directory: pathlib.Path) -> _Contents:
    from bertzoo.families.bert.checkpoints.hf_safetensors import read_hf_safetensors

    config = BertConfig.from_hf_json(directory / "config.json")
    checkpoint = read_hf_safetensors(directory)
    return _Contents(config=config, weights=checkpoint.weights, unused=tuple(checkpoint.unused),
                     vocabulary_path=_require_file(directory / "vocab.txt", "Hugging Face checkpoint"),
                     tokenizer_settings=_hf_tokenizer_settings(directory), weights_source=checkpoint.source)


def _read_keras_hub(directory: pathlib.Path) -> _Contents:
    from bertzoo.families.bert.checkpoints.keras_hub_preset import read_keras_hub_preset

    preset = read_keras_hub_preset(directory)
    config = BertConfig(**preset.config)
    return _Contents(config=config, weights=preset.weights.weights, unused=tuple(preset.weights.unused),
                     vocabulary_path=preset.vocabulary_path,
                     tokenizer_settings={"lowercase": preset.lowercase}, weights_source=preset.weights.source)


def _read_tf_hub(directory: pathlib.Path) -> _Contents:
    from bertzoo.families.bert.checkpoints.tf_hub_encoder import read_tf_hub_encoder

    encoder = read_tf_hub_encoder(directory)
    settings = {} if encoder.lowercase is None else {"lowercase": encoder.lowercase}
    return _Contents(config=encoder.config, weights=encoder.weights.weights, unused=encoder.weights.unused,
                     vocabulary_path=encoder.vocabulary_path, tokenizer_settings=settings,
                     weights_source=encoder.weights.source)


def _hf_tokenizer_settings(directory: pathlib.Path) -> dict[str, Any]:
    """Casing, accents and CJK splitting from a Hugging Face ``tokenizer_config.json``, if any."""
    path = directory / "tokenizer_config.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from error
    if data.get("do_basic_tokenize") is False:
        raise ConfigError(f"{path}: field 'do_basic_tokenize' is false; bertzoo always applies BERT's "
                          "basic tokenization (punctuation split, CJK split, cleanup)")
    settings: dict[str, Any] = {}
    for source_key, key in (("do_lower_case", "lowercase"), ("strip_accents", "strip_accents"),
                            ("tokenize_chinese_chars", "tokenize_chinese_chars")):
        value = data.get(source_key)
        if value is not None:
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: field '{source_key}' must be true, false or null, got {value!r}")
            settings[key] = value
    return settings


def _hf_model_type(path: pathlib.Path) -> str | None:
    """A Hugging Face config's ``model_type`` (None when absent or unreadable: the reader reports it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data.get("model_type") if isinstance(data, dict) else None


def _is_keras_hub_config(path: pathlib.Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and "class_name" in data and "module" in data


def _require_file(path: pathlib.Path, what: str) -> pathlib.Path:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: a {what} needs its WordPiece vocabulary there")
    return path


def _report_unused(source: str, unused: tuple[str, ...]) -> None:
    if not unused:
        return
    # Optimizer state and framework buffers are expected in checkpoints; anything else is worth a warning.
    expected = [name for name in unused
                if name.endswith(("/adam_m", "/adam_v", "position_ids")) or name == "global_step"]
    others = [name for name in unused if name not in expected]
    if expected:
        logger.info("%s: ignored %d optimizer-state entries and buffers (Adam slots, global_step, "
                    "position_ids)", source, len(expected))
    if others:
        logger.warning("%s: %d weights not used by the encoder or its pretraining heads: %s", source,
                       len(others), ", ".join(others[:10]) + (" ..." if len(others) > 10 else ""))
