"""Translator: raw strings in, translated strings out, in one TensorFlow graph (exportable)."""

from __future__ import annotations

import tensorflow as tf

from bertzoo.families.transformer.seq2seq_decoding import beam_search, greedy_decode
from bertzoo.families.transformer.sentencepiece_tokenizer import SentencePieceTokenizer
from bertzoo.families.transformer.transformer_preprocessor import pack_source


class Translator(tf.Module):
    """SentencePiece tokenization, the encoder, beam search (or greedy) and detokenization.

    ``tf.saved_model.save(translator, path, signatures={"serving_default": translator.serve})``
    gives a SavedModel whose ``serving_default`` maps a ``[batch]`` string tensor ``inputs`` to
    ``translations`` (strings) and ``token_ids`` (int32 ``[batch, max_decode_length]``). Loading it
    needs the tensorflow-text ops (``import tensorflow_text``), TF Serving a build with them.

    Args:
        model: a trained ``TransformerSeq2Seq``.
        tokenizer: its ``SentencePieceTokenizer``.
        seq_length: source tokens kept (``</s>`` included).
        max_decode_length: target tokens generated at most (``</s>`` included).
        beam_size: 1 decodes greedily; more runs beam search (the paper: 4).
        alpha: GNMT length-penalty exponent (the paper: 0.6).
    """

    def __init__(self, model, tokenizer: SentencePieceTokenizer, seq_length: int, max_decode_length: int,
                 beam_size: int = 4, alpha: float = 0.6, name: str | None = None):
        super().__init__(name=name)
        self.model = model
        self.tokenizer = tokenizer
        self.seq_length = seq_length
        self.max_decode_length = max_decode_length
        self.beam_size = beam_size
        self.alpha = alpha
        self.serve = tf.function(self._serve, input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])

    def decode_ids(self, source_word_ids, source_mask):
        """int32 ``[batch, max_decode_length]`` output ids of packed sources."""
        settings = dict(max_decode_length=self.max_decode_length, bos_id=self.tokenizer.bos_id,
                        eos_id=self.tokenizer.eos_id, pad_id=self.tokenizer.pad_id)
        if self.beam_size == 1:
            return greedy_decode(self.model, source_word_ids, source_mask, **settings)
        ids, _ = beam_search(self.model, source_word_ids, source_mask, beam_size=self.beam_size, alpha=self.alpha,
                             **settings)
        return ids

    def _serve(self, inputs):
        ids, mask = pack_source(self.tokenizer.tokenize(inputs), self.seq_length, self.tokenizer.eos_id,
                                self.tokenizer.pad_id)
        output_ids = self.decode_ids(ids, mask)
        return {"translations": self.tokenizer.detokenize(output_ids), "token_ids": output_ids}

    def __call__(self, texts) -> list[str]:
        """Translations of a list of strings, as Python strings."""
        outputs = self.serve(tf.constant(list(texts), tf.string))
        return [text.decode("utf-8") for text in outputs["translations"].numpy()]
