"""AwdLstmEncoder: ULMFiT's AWD-LSTM behind the encoder contract.

Embedding (with embedding dropout) -> locked input dropout -> LSTM layers with weight-dropped
recurrences, locked dropout between them. Contract outputs:

- ``embedding_output``: the embedded tokens fed to the first LSTM ``[batch, seq, embedding_size]``;
- ``encoder_outputs``: every LSTM layer's output; the layers differ in width (1152, 1152, 400 for
  ULMFiT), so each says its own size;
- ``sequence_output``: the last layer's output (``encoder_outputs[-1]``);
- ``pooled_output``: ULMFiT's concat pooling ``[last real token, max, mean]`` over real tokens,
  ``[batch, 3 * embedding_size]`` (the classifier's input; a sentence vector, not a [CLS] vector).
``input_type_ids`` is accepted and ignored (an LSTM has no segments). Padding must come after the
real tokens (the preprocessor pads on the right), so it never reaches a real token's state.
"""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.families.awd_lstm.awd_lstm_config import AwdLstmConfig
from bertzoo.layers.locked_dropout import LockedDropout
from bertzoo.layers.weight_dropped_lstm import WeightDroppedLSTM

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


@keras.saving.register_keras_serializable(package="bertzoo")
class EmbeddingDropout(keras.layers.Layer):
    """A lookup table whose rows (whole words) are dropped together during training, per batch."""

    def __init__(self, vocab_size: int, embedding_size: int, rate: float = 0.0, initializer_range: float = 0.1,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_size = int(vocab_size), int(embedding_size)
        self.rate, self.initializer_range, self.seed = float(rate), float(initializer_range), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            shape=(self.vocab_size, self.embedding_size), name="embeddings",
            initializer=keras.initializers.RandomUniform(-self.initializer_range, self.initializer_range))

    def call(self, ids, training=False):
        table = ops.convert_to_tensor(self.embeddings)
        if training and self.rate > 0.0:
            keep = keras.random.uniform((self.vocab_size, 1), seed=self.seed_generator) >= self.rate
            table = table * ops.cast(keep, table.dtype) / (1.0 - self.rate)
        return ops.take(table, ops.cast(ids, "int32"), axis=0)

    def get_config(self) -> dict:
        return {**super().get_config(), "vocab_size": self.vocab_size, "embedding_size": self.embedding_size,
                "rate": self.rate, "initializer_range": self.initializer_range, "seed": self.seed}


def concat_pool(sequence, mask):
    """``[last real token, max over real tokens, mean over real tokens]`` of ``[batch, seq, width]``."""
    mask = ops.cast(mask, sequence.dtype)
    lengths = ops.maximum(ops.sum(mask, axis=1), 1.0)
    last_index = ops.cast(lengths, "int32") - 1
    last = ops.take_along_axis(sequence, last_index[:, None, None], axis=1)[:, 0]
    very_negative = ops.cast(-1e9, sequence.dtype)
    maximum = ops.max(ops.where(mask[..., None] > 0, sequence, very_negative), axis=1)
    mean = ops.sum(sequence * mask[..., None], axis=1) / lengths[:, None]
    return ops.concatenate([last, maximum, mean], axis=-1)


@keras.saving.register_keras_serializable(package="bertzoo")
class AwdLstmEncoder(keras.Model):
    """The AWD-LSTM encoder on the TF Hub BERT interface (see the module docstring).

    Args:
        vocab_size, embedding_size, hidden_size, num_layers, pad_token_id, embedding_dropout,
        input_dropout, weight_dropout, hidden_dropout, output_dropout, initializer_range: as
        ``AwdLstmConfig`` (``from_config_object`` builds one from it). ``output_dropout`` is not
        used by the encoder; the language model and the classifier apply it.

    Example:
        >>> encoder = AwdLstmEncoder.from_config_object(AwdLstmConfig(vocab_size=100, embedding_size=16,
        ...                                                           hidden_size=32))
        >>> outputs = encoder(preprocessor(["a text"]))  # doctest: +SKIP
    """

    def __init__(self, vocab_size: int, embedding_size: int = 400, hidden_size: int = 1152, num_layers: int = 3,
                 pad_token_id: int = 1, embedding_dropout: float = 0.0, input_dropout: float = 0.0,
                 weight_dropout: float = 0.0, hidden_dropout: float = 0.0, output_dropout: float = 0.0,
                 initializer_range: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.config = AwdLstmConfig(
            vocab_size=vocab_size, embedding_size=embedding_size, hidden_size=hidden_size, num_layers=num_layers,
            pad_token_id=pad_token_id, embedding_dropout=embedding_dropout, input_dropout=input_dropout,
            weight_dropout=weight_dropout, hidden_dropout=hidden_dropout, output_dropout=output_dropout,
            initializer_range=initializer_range)
        self.embedding = EmbeddingDropout(vocab_size, embedding_size, embedding_dropout, initializer_range,
                                          name="embedding")
        self.input_dropout = LockedDropout(input_dropout, name="input_dropout")
        self.rnns = [WeightDroppedLSTM(units, weight_dropout, name=f"lstm_{index}")
                     for index, units in enumerate(self.config.layer_sizes)]
        self.hidden_dropouts = [LockedDropout(hidden_dropout, name=f"hidden_dropout_{index}")
                                for index in range(num_layers - 1)]

    @classmethod
    def from_config_object(cls, config: AwdLstmConfig, **kwargs) -> "AwdLstmEncoder":
        return cls(**config.to_dict(), **kwargs)

    def call(self, inputs, training=False):
        missing = [name for name in ("input_word_ids", "input_mask") if name not in inputs]
        if missing:
            raise ValueError(f"AwdLstmEncoder inputs need {missing}; got {sorted(inputs)}")
        ids, mask = inputs["input_word_ids"], inputs["input_mask"]
        embedded = self.embedding(ids, training=training)
        x = self.input_dropout(embedded, training=training)
        layer_outputs = []
        for index, rnn in enumerate(self.rnns):
            x = rnn(x, training=training)
            layer_outputs.append(x)
            if index < len(self.hidden_dropouts):
                x = self.hidden_dropouts[index](x, training=training)
        sequence = layer_outputs[-1]
        return {"sequence_output": sequence, "pooled_output": concat_pool(sequence, mask),
                "encoder_outputs": layer_outputs, "embedding_output": embedded}

    def get_config(self) -> dict:
        return {**super().get_config(), **self.config.to_dict()}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
