"""``export_generation``: a GPT-2 as a SavedModel that continues raw prompts, in core TensorFlow ops.

Signature ``serving_default``: ``prompt`` (tf.string ``[batch]``) -> ``text`` (each continuation,
tf.string), ``token_ids`` (int32 ``[batch, max_length]``: prompt + continuation + padding) and
``lengths`` (int32: tokens before the first generated end-of-text). The in-graph GPT-2 tokenizer,
the KV-cached ``tf.while_loop`` of ``bertzoo.families.gpt.gpt_generation.generate_ids`` and the
detokenizer are all core ops, audited on export (a stock TF Serving loads it). ``max_length`` is
fixed at export; a prompt that leaves no room fails the request with a message saying so. Greedy
output is the same as ``GPTGenerator`` in Python, token for token (the same function).
"""

from __future__ import annotations

import json
import os
import pathlib

import tensorflow as tf

from bertzoo.export.op_audit import assert_core_ops_only
from bertzoo.families.gpt.gpt_generation import GenerationSettings, generate_ids

__all__ = ["GenerationServing", "export_generation"]
MANIFEST = os.path.join("assets.extra", "bertzoo_export.json")


class GenerationServing(tf.Module):
    """The serving module: raw prompts -> continuations, with a fixed ``max_length``."""

    def __init__(self, decoder, tokenizer, settings: GenerationSettings):
        super().__init__(name="gpt_generation")
        self.decoder = decoder
        self.tokenizer = tokenizer
        self.settings = settings

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prompt")])
    def generate(self, prompt):
        settings = self.settings
        ids = tf.cast(self.tokenizer(prompt), tf.int32)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        checks = [
            tf.debugging.assert_less(lengths, settings.max_length, message=(
                f"a prompt is too long: at most {settings.max_length - 1} tokens leave room to generate "
                f"(max_length {settings.max_length}, the model's context is {self.decoder.max_position_embeddings})")),
            tf.debugging.assert_positive(lengths, message="a prompt is empty"),
        ]
        with tf.control_dependencies(checks):
            padded = ids.to_tensor(default_value=settings.pad_id)
        tokens, total = generate_ids(self.decoder, padded, lengths, settings)
        positions = tf.range(settings.max_length)[None, :]
        generated = (positions >= lengths[:, None]) & (positions < total[:, None])
        continuation = tf.ragged.boolean_mask(tokens, generated)
        return {"text": self.tokenizer.detokenize(continuation), "token_ids": tokens, "lengths": total}


def export_generation(bundle, export_dir: str | os.PathLike, max_length: int = 64, strategy: str = "greedy",
                      temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, num_beams: int = 4,
                      seed: int = 0, audit: bool = True) -> pathlib.Path:
    """Writes the generation SavedModel of a GPT-2 bundle into ``export_dir``; returns it."""
    if bundle.family != "gpt":
        raise ValueError(f"generation export needs a GPT model, got a {bundle.family} model")
    from bertzoo.families.gpt.gpt2_tokenizer import GPT2Tokenizer

    if not isinstance(bundle.tokenizer, GPT2Tokenizer):
        raise ValueError("generation export needs GPT-2's in-graph tokenizer (this model has "
                         f"{type(bundle.tokenizer).__name__}); GPT-1's tokenizer runs on the host")
    if max_length > bundle.config.max_position_embeddings:
        raise ValueError(f"max_length {max_length} exceeds the model's context of "
                         f"{bundle.config.max_position_embeddings} tokens")
    end_id = bundle.end_of_text_id
    settings = GenerationSettings(strategy=strategy, max_length=max_length, temperature=temperature, top_k=top_k,
                                  top_p=top_p, num_beams=num_beams, end_id=end_id,
                                  pad_id=end_id if end_id is not None else 0, seed=seed,
                                  vocabulary_size=min(bundle.tokenizer.vocabulary_size, bundle.config.vocab_size))
    module = GenerationServing(bundle.decoder, bundle.tokenizer, settings)
    export_dir = pathlib.Path(export_dir)
    tf.saved_model.save(module, str(export_dir), signatures={"serving_default": module.generate})
    (export_dir / "assets.extra").mkdir(exist_ok=True)
    (export_dir / MANIFEST).write_text(json.dumps({"task": "generate", "max_length": max_length,
                                                   "strategy": strategy, "end_id": end_id}, indent=2) + "\n")
    if audit:
        assert_core_ops_only(export_dir)
    return export_dir
