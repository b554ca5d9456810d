"""The Transformer's pretrained bundle and bertzoo's directory format for it.

A directory holds ``transformer_config.json`` (``TransformerConfig``), ``sentencepiece.model`` and
``model.weights.h5`` (the ``TransformerSeq2Seq`` weights, Keras's HDF5 weight file, no pickles).
No released Transformer checkpoint is read: tensor2tensor's checkpoints use its concatenated
position table and its own variable names, and are not offered in the catalogue.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
import tempfile
from typing import ClassVar

from bertzoo.families.registry import Pretrained
from bertzoo.families.transformer.sentencepiece_tokenizer import SentencePieceTokenizer
from bertzoo.families.transformer.transformer_config import TransformerConfig
from bertzoo.families.transformer.transformer_encoder import TransformerEncoder
from bertzoo.families.transformer.transformer_preprocessor import TransformerPreprocessor
from bertzoo.families.transformer.transformer_seq2seq import TransformerSeq2Seq
from bertzoo.families.transformer.translator import Translator

CONFIG_FILE = "transformer_config.json"
SENTENCEPIECE_FILE = "sentencepiece.model"
WEIGHTS_FILE = "model.weights.h5"
FORMAT = "bertzoo_transformer"
LOOKED_FOR = f"{CONFIG_FILE} + {SENTENCEPIECE_FILE} + {WEIGHTS_FILE} (bertzoo's Transformer format)"


@dataclasses.dataclass
class PretrainedTransformer(Pretrained):
    """A trained Transformer: the encoder half on the encoder contract, and the whole seq2seq model.

    Attributes:
        config: ``TransformerConfig``.
        encoder: ``TransformerEncoder`` (``model.encoder``: the same weights).
        tokenizer: ``SentencePieceTokenizer``.
        preprocessor: ``TransformerPreprocessor``: strings -> encoder inputs.
        model: ``TransformerSeq2Seq``.
        source: the directory it was read from.
    """

    config: TransformerConfig
    encoder: TransformerEncoder
    tokenizer: SentencePieceTokenizer
    preprocessor: TransformerPreprocessor
    model: TransformerSeq2Seq = None
    source: str = ""
    format: str = FORMAT
    family: ClassVar[str] = "transformer"

    def translator(self, max_decode_length: int | None = None, beam_size: int = 4, alpha: float = 0.6) -> Translator:
        """A ``Translator`` (strings -> strings) on this model, sources cut at the preprocessor's length."""
        seq_length = self.preprocessor.seq_length
        return Translator(self.model, self.tokenizer, seq_length=seq_length,
                          max_decode_length=max_decode_length or seq_length, beam_size=beam_size, alpha=alpha)


def transformer_format(directory: pathlib.Path) -> str | None:
    directory = pathlib.Path(directory)
    if all((directory / name).is_file() for name in (CONFIG_FILE, SENTENCEPIECE_FILE, WEIGHTS_FILE)):
        return FORMAT
    return None


def bundle_from_model(config: TransformerConfig, model: TransformerSeq2Seq, tokenizer: SentencePieceTokenizer,
                      seq_length: int = 128, source: str = "") -> PretrainedTransformer:
    """The bundle around a (trained) model."""
    return PretrainedTransformer(config=config, encoder=model.encoder, tokenizer=tokenizer,
                                 preprocessor=TransformerPreprocessor(tokenizer, seq_length=seq_length),
                                 model=model, source=source)


def load_transformer(directory: str | os.PathLike, *, seq_length: int = 128) -> PretrainedTransformer:
    """Reads bertzoo's Transformer directory."""
    directory = pathlib.Path(directory)
    if transformer_format(directory) is None:
        found = sorted(path.name for path in directory.iterdir()) if directory.is_dir() else "no such directory"
        raise FileNotFoundError(f"{directory} is not a Transformer directory: looked for {LOOKED_FOR}; found {found}")
    config = TransformerConfig.from_json_file(directory / CONFIG_FILE)
    tokenizer = SentencePieceTokenizer.from_file(directory / SENTENCEPIECE_FILE)
    if tokenizer.vocab_size != config.vocab_size:
        raise ValueError(f"{directory / SENTENCEPIECE_FILE} has {tokenizer.vocab_size} pieces but "
                         f"{directory / CONFIG_FILE} says vocab_size {config.vocab_size}")
    model = TransformerSeq2Seq.from_transformer_config(config)
    model.build()
    model.load_weights(directory / WEIGHTS_FILE)
    return bundle_from_model(config, model, tokenizer, seq_length=seq_length, source=str(directory))


def save_transformer(bundle: PretrainedTransformer, out_dir: str | os.PathLike, overwrite: bool = False) -> pathlib.Path:
    """Writes ``bundle`` in bertzoo's Transformer format (staged, then renamed into place)."""
    out_dir = pathlib.Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} exists; pass overwrite=True to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        (staging / CONFIG_FILE).write_text(json.dumps(bundle.config.to_dict(), indent=2) + "\n")
        (staging / SENTENCEPIECE_FILE).write_bytes(bundle.tokenizer.model_proto)
        bundle.model.save_weights(staging / WEIGHTS_FILE)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir
