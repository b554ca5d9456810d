"""GPT's pretrained bundle: ``load_gpt`` reads any GPT checkpoint directory into one ``PretrainedGPT``;
``save_gpt`` writes bertzoo's own format. ``bertzoo.load_pretrained`` reaches them through the registry.

Formats, detected from the files a directory holds:
- ``bertzoo_gpt``: ``bertzoo_gpt.json`` + ``model.safetensors`` + ``encoder.json``/``vocab.bpe``;
- ``openai_gpt2_tf1``: OpenAI's GPT-2 release, ``hparams.json`` + ``model.ckpt.*`` + ``encoder.json`` + ``vocab.bpe``;
- ``openai_gpt1_npy``: GPT-1's release, ``params_shapes.json`` + ``params_{0..9}.npy`` +
  ``encoder_bpe_40000.json`` + ``vocab_40000.bpe``;
- ``hugging_face``: ``config.json`` with ``model_type`` ``gpt2`` / ``openai-gpt`` + safetensors, tokenizer
  in ``vocab.json`` + ``merges.txt``.
A directory without tokenizer files still loads (weights-only downloads are common): its bundle has
``tokenizer = preprocessor = None`` and a warning is logged; whatever needs text then says so.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
from typing import Any, ClassVar

from bertzoo.atomic_directory import staged_directory
from bertzoo.errors import ConfigError
from bertzoo.families.gpt.checkpoints import bertzoo_gpt, hf_gpt_safetensors, openai_gpt1_npy, openai_gpt2_tf1
from bertzoo.families.gpt.checkpoints.gpt_weights import assign_decoder_weights, read_decoder_weights
from bertzoo.families.gpt.gpt_config import GPTConfig
from bertzoo.families.gpt.gpt_decoder import GPTDecoder
from bertzoo.families.gpt.gpt_preprocessor import GPTPreprocessor
from bertzoo.families.registry import Pretrained, UnknownCheckpointFormatError

logger = logging.getLogger(__name__)

FORMATS = ("bertzoo_gpt", "openai_gpt2_tf1", "openai_gpt1_npy", "hugging_face")
LOOKED_FOR = ("bertzoo_gpt (bertzoo_gpt.json); OpenAI GPT-2 (hparams.json + model.ckpt.index/.data-*); "
              "GPT-1 (params_shapes.json + params_0..9.npy); Hugging Face GPT (config.json with model_type "
              "gpt2 or openai-gpt + model.safetensors)")
# format -> candidate (encoder, merges) file names, first found wins.
_TOKENIZER_FILES = {
    "bertzoo_gpt": [("encoder.json", "vocab.bpe")],
    "openai_gpt2_tf1": [("encoder.json", "vocab.bpe")],
    "openai_gpt1_npy": [("encoder_bpe_40000.json", "vocab_40000.bpe"), ("encoder.json", "vocab.bpe")],
    "hugging_face": [("vocab.json", "merges.txt"), ("encoder.json", "vocab.bpe")],
}


@dataclasses.dataclass
class PretrainedGPT(Pretrained):
    """A pretrained GPT-1 or GPT-2.

    Attributes:
        config: ``GPTConfig``.
        encoder: ``GPTDecoder`` with the checkpoint's weights (the encoder contract).
        tokenizer: ``GPT2Tokenizer`` (in-graph) or ``GPT1Tokenizer`` (host), None without tokenizer files.
        preprocessor: ``GPTPreprocessor`` (GPT-1's frames inputs with start/delimiter/classify).
        source, format: where it was read from, and which format that was.
        tokenizer_files: ``{"encoder.json": path, "vocab.bpe": path}`` the tokenizer was read from.
        unused_weights: checkpoint tensors the decoder does not use.
    """

    config: GPTConfig
    encoder: GPTDecoder
    tokenizer: Any
    preprocessor: Any
    family: ClassVar[str] = "gpt"
    source: str = ""
    format: str = ""
    tokenizer_files: dict = dataclasses.field(default_factory=dict)
    unused_weights: tuple[str, ...] = ()

    @property
    def decoder(self) -> GPTDecoder:
        return self.encoder

    @property
    def end_of_text_id(self) -> int | None:
        """GPT-2's ``<|endoftext|>`` id (generation stops there); None for GPT-1."""
        if self.config.variant != "gpt2" or self.tokenizer is None:
            return None
        return self.tokenizer.end_of_text_id


def gpt_format(directory: pathlib.Path) -> str | None:
    """Which of ``FORMATS`` the directory holds; None when it holds no GPT."""
    if bertzoo_gpt.is_bertzoo_gpt(directory):
        return "bertzoo_gpt"
    if openai_gpt2_tf1.is_gpt2_tf1(directory):
        return "openai_gpt2_tf1"
    if openai_gpt1_npy.is_gpt1_npy(directory):
        return "openai_gpt1_npy"
    if hf_gpt_safetensors.hf_model_type(directory) in hf_gpt_safetensors.MODEL_TYPES:
        return "hugging_face"
    return None


def load_gpt(path: str | os.PathLike, seq_length: int = 128, dtype: Any = None, num_attention_heads: int | None = None,
             seed: int = 0) -> PretrainedGPT:
    """Reads a pretrained GPT from a checkpoint directory in any supported format.

    Args:
        path: the checkpoint directory (format detected from its files).
        seq_length: the preprocessor's fixed output length (at most the context length).
        dtype: dtype policy for the decoder, e.g. ``"mixed_bfloat16"``.
        num_attention_heads: GPT-1's release does not record its heads (12, hidden / 64 by default).
        seed: seeds GPT-1's special-token rows where a format does not store them.
    """
    directory = pathlib.Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"checkpoint directory not found: {directory}")
    checkpoint_format = gpt_format(directory)
    if checkpoint_format is None:
        raise UnknownCheckpointFormatError(
            f"{directory} holds no GPT checkpoint format bertzoo reads. Looked for: {LOOKED_FOR}. "
            f"Found: {sorted(p.name for p in directory.iterdir()) or 'nothing'}")
    unused: list[str] = []
    tokenizer_kind = None
    if checkpoint_format == "bertzoo_gpt":
        config, weights, tokenizer_kind, source = bertzoo_gpt.read_bertzoo_gpt(directory)
    elif checkpoint_format == "openai_gpt2_tf1":
        config, weights, source = openai_gpt2_tf1.read_gpt2_tf1(directory)
    elif checkpoint_format == "openai_gpt1_npy":
        config, weights, source = openai_gpt1_npy.read_gpt1_npy(directory, num_attention_heads=num_attention_heads,
                                                                seed=seed)
    else:
        config, weights, unused, source = hf_gpt_safetensors.read_hf_gpt(directory, seed=seed)
    if seq_length > config.max_position_embeddings:
        raise ConfigError(f"seq_length {seq_length} exceeds the checkpoint's context length "
                          f"(max_position_embeddings {config.max_position_embeddings}) in {directory}")
    decoder = GPTDecoder.from_gpt_config(config, dtype=dtype)
    unused += assign_decoder_weights(decoder, weights, source=source)
    if unused:
        logger.info("%s: %d tensors not used by the decoder: %s", source, len(unused), ", ".join(sorted(unused)[:10]))
    tokenizer, files = _read_tokenizer(directory, checkpoint_format, tokenizer_kind or config.variant)
    if tokenizer is not None and tokenizer.vocabulary_size > config.vocab_size:
        raise ConfigError(f"{files['encoder.json']} has {tokenizer.vocabulary_size} tokens but the decoder's "
                          f"vocab_size is {config.vocab_size}: ids past the embedding table would be out of range")
    if tokenizer is not None and config.variant == "gpt1" and tokenizer.vocabulary_size != config.vocab_size:
        raise ConfigError(f"{files['encoder.json']}: GPT-1's special tokens follow the encoder's "
                          f"{tokenizer.vocabulary_size - 3} tokens, but the weights have {config.vocab_size - 3} "
                          "token rows before them: the tokenizer does not belong to these weights")
    preprocessor = None if tokenizer is None else make_preprocessor(config, tokenizer, seq_length)
    return PretrainedGPT(config=config, encoder=decoder, tokenizer=tokenizer, preprocessor=preprocessor,
                         source=str(directory), format=checkpoint_format, tokenizer_files=files,
                         unused_weights=tuple(sorted(unused)))


def make_preprocessor(config: GPTConfig, tokenizer, seq_length: int) -> GPTPreprocessor:
    """GPT-2: plain ids; GPT-1: framed by its start / delimiter / classify tokens."""
    special = config.special_token_ids
    return GPTPreprocessor(tokenizer, seq_length=seq_length, start_id=special.get("start"),
                           delimiter_id=special.get("delimiter"), classify_id=special.get("classify"))


def save_gpt(bundle: PretrainedGPT, out_dir: str | os.PathLike, overwrite: bool = False) -> pathlib.Path:
    """Writes ``bundle`` in bertzoo's own GPT format; ``load_gpt`` reads it back."""
    weights = read_decoder_weights(bundle.encoder)
    files = dict(bundle.tokenizer_files)
    with staged_directory(out_dir, overwrite) as staging:
        if bundle.tokenizer is not None and not files:
            from bertzoo.families.gpt.bpe_vocabulary import write_bpe_files

            write_bpe_files(bundle.tokenizer.encoder, bundle.tokenizer.merges, staging)
        bertzoo_gpt.write_bertzoo_gpt(staging, bundle.config, weights,
                                      None if bundle.tokenizer is None else bundle.config.variant, files)
    return pathlib.Path(out_dir)


def _read_tokenizer(directory: pathlib.Path, checkpoint_format: str, kind: str):
    for encoder_name, merges_name in _TOKENIZER_FILES[checkpoint_format]:
        encoder_path, merges_path = directory / encoder_name, directory / merges_name
        if encoder_path.is_file() and merges_path.is_file():
            break
    else:
        names = " or ".join(f"{a} + {b}" for a, b in _TOKENIZER_FILES[checkpoint_format])
        logger.warning("%s: no tokenizer files (%s); the bundle has no tokenizer or preprocessor", directory, names)
        return None, {}
    if kind == "gpt1":
        from bertzoo.families.gpt.gpt1_tokenizer import GPT1Tokenizer

        tokenizer = GPT1Tokenizer.from_files(encoder_path, merges_path)
    else:
        from bertzoo.families.gpt.gpt2_tokenizer import GPT2Tokenizer

        tokenizer = GPT2Tokenizer.from_files(encoder_path, merges_path)
    return tokenizer, {"encoder.json": encoder_path, "vocab.bpe": merges_path}
