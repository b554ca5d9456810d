"""SentencePieceTokenizer: the Transformer's subwords, through tensorflow-text's in-graph op.

The paper used byte-pair encoding (37,000 shared tokens for EN-DE) and word pieces (32,000 for
EN-FR); bertzoo uses a SentencePiece model (BPE or unigram) trained on the training corpus with
``train_sentencepiece``. Training needs the ``sentencepiece`` package; tokenizing and detokenizing
run in the TensorFlow graph (``tensorflow_text.SentencepieceTokenizer``), so the exported
translator takes raw strings. A TF Serving binary must then load the tensorflow-text ops (the
``SentencepieceOp`` kernels), as for any tensorflow-text model.

Make the tokenizer after seeding TensorFlow: ``tf.random.set_seed`` (``keras.utils.set_random_seed``)
in eager mode clears TensorFlow's resource containers, which deletes the op's loaded model (the
op then fails with ``NotFoundError: Resource .../SentencepieceResource does not exist``).

Special ids are fixed when the model is trained: ``pad`` 0, ``unk`` 1, ``bos`` 2, ``eos`` 3.
"""

from __future__ import annotations

import io
import os
import pathlib
from typing import Iterable

import tensorflow as tf

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


class SentencePieceTokenizer(tf.Module):
    """Strings <-> subword ids with a trained SentencePiece model, in the TensorFlow graph.

    A ``tf.Module``, so a SavedModel that holds it carries the model.

    Args:
        model_proto: the serialized SentencePiece model (the bytes of a ``.model`` file).

    Example:
        >>> tokenizer = SentencePieceTokenizer.from_file("spm.model")
        >>> tokenizer.detokenize(tokenizer.tokenize(["hello world"]))
    """

    def __init__(self, model_proto: bytes):
        import tensorflow_text  # noqa: F401  (registers the SentencePiece ops)

        super().__init__(name="sentencepiece_tokenizer")
        if not isinstance(model_proto, (bytes, bytearray)) or not model_proto:
            raise ValueError("model_proto must be the non-empty bytes of a SentencePiece .model file")
        self.model_proto = bytes(model_proto)
        try:
            self._op = tensorflow_text.SentencepieceTokenizer(model=self.model_proto, out_type=tf.int32)
            self.vocab_size = int(self._op.vocab_size())
        except (tf.errors.InternalError, tf.errors.InvalidArgumentError) as error:
            raise ValueError(f"not a SentencePiece model: {error.message.splitlines()[0]}") from None
        pieces = self._op.id_to_string(tf.constant([PAD_ID, UNK_ID, BOS_ID, EOS_ID])).numpy()
        expected = [b"<pad>", b"<unk>", b"<s>", b"</s>"]
        if list(pieces) != expected:
            raise ValueError(f"the SentencePiece model's ids 0-3 are {list(pieces)}; bertzoo's Transformer expects "
                             f"{expected} (train it with train_sentencepiece)")
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = PAD_ID, UNK_ID, BOS_ID, EOS_ID

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "SentencePieceTokenizer":
        path = pathlib.Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"SentencePiece model not found: {path}")
        return cls(path.read_bytes())

    # The encoder contract's feature extraction asks for BERT's special ids: the Transformer's
    # source is "text </s>", so the end-of-sequence token plays [SEP]'s part. It has no [CLS]:
    # bertzoo.features.word_embeddings packs windows as "<s> pieces </s>", one token more than
    # the training sources had (sentence_embeddings packs as the preprocessor does).
    @property
    def sep_id(self) -> int:
        return self.eos_id

    @property
    def cls_id(self) -> int:
        return self.bos_id

    def tokenize(self, strings) -> tf.RaggedTensor:
        """int32 ragged ``[batch, (pieces)]`` of a batch of strings (no ``bos``/``eos``)."""
        return self._op.tokenize(strings)

    def tokenize_words(self, words) -> tf.RaggedTensor:
        """int32 ragged ``[batch, 1, (pieces)]``: each string tokenized as one word (the shape
        ``bertzoo.features.word_embeddings`` reads, where WordPiece may split a string into words)."""
        pieces = self.tokenize(words)
        return tf.RaggedTensor.from_row_lengths(pieces, tf.ones([pieces.nrows()], pieces.row_splits.dtype))

    def detokenize(self, ids) -> tf.Tensor:
        """Strings of a batch of id sequences (ragged or dense); ``pad``, ``bos`` and ``eos`` are dropped."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(ids, tf.int32))
        keep = (ids != self.pad_id) & (ids != self.bos_id) & (ids != self.eos_id)
        return self._op.detokenize(tf.ragged.boolean_mask(ids, keep))

    def id_to_piece(self, ids):
        return self._op.id_to_string(ids)


def train_sentencepiece(texts: Iterable[str], model_prefix: str | os.PathLike, vocab_size: int,
                        model_type: str = "bpe", character_coverage: float = 1.0, seed_sentencepiece_size: int = 1000000,
                        **options) -> pathlib.Path:
    """Trains a SentencePiece model on ``texts`` and writes ``<model_prefix>.model``; returns its path.

    Uses the ``sentencepiece`` package (training only). The special ids are bertzoo's (``pad`` 0,
    ``unk`` 1, ``bos`` 2, ``eos`` 3). ``vocab_size`` must be reachable on the corpus (SentencePiece
    raises otherwise, saying the largest it can make); ``hard_vocab_limit=False`` in ``options``
    makes it an upper bound instead.
    """
    import sentencepiece

    model_prefix = pathlib.Path(model_prefix)
    model_prefix.parent.mkdir(parents=True, exist_ok=True)
    sentences = [text for text in texts if text.strip()]
    if not sentences:
        raise ValueError("train_sentencepiece got no non-empty text")
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=model, vocab_size=vocab_size, model_type=model_type,
        character_coverage=character_coverage, pad_id=PAD_ID, unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID,
        seed_sentencepiece_size=seed_sentencepiece_size, minloglevel=2, num_threads=1, **options)
    path = model_prefix.with_name(model_prefix.name + ".model")
    path.write_bytes(model.getvalue())
    return path
