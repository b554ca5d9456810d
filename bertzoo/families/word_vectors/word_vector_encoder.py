"""``WordVectorEncoder``: a word-vector table behind the encoder contract, so every head and
``bertzoo.features`` work on GloVe, word2vec or fastText vectors as on BERT."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


@keras.saving.register_keras_serializable(package="bertzoo")
class WordVectorEncoder(keras.Model):
    """Looks up one vector per token: the same vector for a word wherever it stands.

    Outputs (the encoder contract): ``sequence_output`` and ``embedding_output`` are the looked-up
    vectors ``[batch, seq_length, hidden_size]``; ``encoder_outputs`` is ``[sequence_output]``;
    ``pooled_output`` is their mean over the tokens with ``input_mask`` 1 (zeros for an empty row).
    ``input_type_ids`` is accepted and not used. Row 0 (``[PAD]``) and row 1 (``[UNK]``) are zero.

    Args:
        vocab_size: rows of the table (words + ``[PAD]`` + ``[UNK]``).
        hidden_size: the vectors' dimension.
        trainable_vectors: let training update the vectors (False: frozen, the usual way to use
            pretrained vectors).
        seq_length: static sequence length of the inputs, or None.
        dtype: dtype policy.

    Example:
        >>> encoder = WordVectorEncoder(vocab_size=5, hidden_size=3)
        >>> ids = np.array([[2, 3, 0]], "int32")
        >>> out = encoder({"input_word_ids": ids, "input_mask": (ids > 0).astype("int32"), "input_type_ids": 0 * ids})
        >>> out["pooled_output"].shape
        TensorShape([1, 3])
    """

    def __init__(self, vocab_size: int, hidden_size: int, trainable_vectors: bool = False,
                 seq_length: int | None = None, dtype=None, **kwargs):
        # === Layers ===
        self.word_embeddings = keras.layers.Embedding(
            vocab_size, hidden_size, embeddings_initializer=keras.initializers.RandomUniform(-0.5 / hidden_size,
                                                                                            0.5 / hidden_size),
            trainable=trainable_vectors, dtype=dtype, name="word_embeddings")

        # === Functional model ===
        inputs = {name: keras.Input(shape=(seq_length,), dtype="int32", name=name) for name in INPUT_NAMES}
        vectors = self.word_embeddings(inputs["input_word_ids"])
        mask = ops.cast(ops.expand_dims(inputs["input_mask"], -1), vectors.dtype)
        count = ops.maximum(ops.sum(mask, axis=1), ops.cast(1, vectors.dtype))
        pooled = ops.sum(vectors * mask, axis=1) / count
        outputs = {"sequence_output": vectors, "pooled_output": pooled, "encoder_outputs": [vectors],
                   "embedding_output": vectors}
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

        # === Config ===
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.trainable_vectors = trainable_vectors
        self.seq_length = seq_length

    def set_vectors(self, vectors: np.ndarray) -> None:
        """Loads the word vectors: ``vectors`` are rows 2.. (the table's words); rows 0-1 become zero."""
        vectors = np.asarray(vectors, np.float32)
        if vectors.shape != (self.vocab_size - 2, self.hidden_size):
            raise ValueError(f"expected vectors of shape {(self.vocab_size - 2, self.hidden_size)} (the words, without "
                             f"[PAD] and [UNK]), got {vectors.shape}")
        table = np.concatenate([np.zeros((2, self.hidden_size), np.float32), vectors])
        self.word_embeddings.embeddings.assign(table)

    def get_config(self):
        return {"vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
                "trainable_vectors": self.trainable_vectors, "seq_length": self.seq_length, "name": self.name,
                "trainable": self.trainable, "dtype": keras.saving.serialize_keras_object(self.dtype_policy)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(config["dtype"])
        return cls(**config)
