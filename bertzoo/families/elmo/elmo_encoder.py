"""ElmoEncoder: the biLM of allenai/bilm-tf behind the encoder contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from bertzoo.families.elmo.character_encoder import ElmoCharacterEncoder
from bertzoo.families.elmo.elmo_config import ElmoConfig
from bertzoo.families.elmo.elmo_lstm import ElmoLstm


@keras.saving.register_keras_serializable(package="bertzoo")
class ElmoEncoder(keras.Model):
    """ELMo's biLM (character CNN + two-direction projected LSTMs) with the TF Hub BERT interface.

    Inputs (a dict): ``input_char_ids`` int32 ``[batch, seq_length, max_characters_per_token]``
    (ELMo reads characters: required), ``input_mask`` ``[batch, seq_length]`` (1 for real tokens,
    a prefix of each row; without it, a token is real when any of its character ids is non-zero,
    as bilm-tf decides); ``input_word_ids`` and ``input_type_ids`` are accepted and not read.
    ``ElmoPreprocessor`` makes all four from strings, ``<S>`` and ``</S>`` included as tokens.

    Outputs (the encoder contract), every layer ``[forward; backward]`` = ``2 * projection_dim`` wide
    and zero at padded positions:

    - ``embedding_output``: the token layer (the character CNN's vector, duplicated to
      ``[token; token]`` as allennlp's ``_ElmoBiLm`` and bilm-tf's ``lm_embeddings`` do);
    - ``encoder_outputs``: ``[token layer, LSTM 1, ..., LSTM n]`` (ELMo's layers 0..n, the input
      of ``ScalarMix``);
    - ``sequence_output``: the top LSTM layer;
    - ``pooled_output``: the mean of ``sequence_output`` over the positions where ``input_mask`` is 1
      (``<S>`` and ``</S>`` included). ELMo has no pooled vector of its own; the masked mean is the
      usual sentence vector from it.

    With ``stateful=True`` the LSTM states carry from one call to the next per row, as the original
    biLM (see ``ElmoLstm``); ``reset_states()`` starts over.

    Args:
        char_embedding_dim, filters, num_highway, activation, max_characters_per_token,
        n_characters: the character CNN (``ElmoConfig``).
        lstm_dim, projection_dim, num_layers, cell_clip, proj_clip, use_skip_connections: the LSTMs.
        stateful: carry LSTM states across calls.
        max_batch_size: rows of the carried state.
        unroll: unroll the LSTMs' time loop (static ``seq_length``; for XLA-compiled training steps).
        **kwargs: passed to ``keras.Model``.

    Example:
        >>> encoder = ElmoEncoder.from_elmo_config(ElmoConfig.tiny())
        >>> outputs = encoder({"input_char_ids": char_ids, "input_mask": mask})  # doctest: +SKIP
        >>> outputs["sequence_output"].shape  # doctest: +SKIP
        TensorShape([2, 8, 32])
    """

    def __init__(self, char_embedding_dim: int = 16, filters: Sequence[Sequence[int]] = ((1, 32),),
                 num_highway: int = 2, activation: str = "relu", max_characters_per_token: int = 50,
                 lstm_dim: int = 4096, projection_dim: int = 512, num_layers: int = 2, cell_clip: float | None = 3.0,
                 proj_clip: float | None = 3.0, use_skip_connections: bool = True, n_characters: int = 262,
                 stateful: bool = False, max_batch_size: int = 128, unroll: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.config = ElmoConfig(char_embedding_dim=char_embedding_dim, filters=tuple(tuple(f) for f in filters),
                                 num_highway=num_highway, activation=activation,
                                 max_characters_per_token=max_characters_per_token, lstm_dim=lstm_dim,
                                 projection_dim=projection_dim, num_layers=num_layers, cell_clip=cell_clip,
                                 proj_clip=proj_clip, use_skip_connections=use_skip_connections,
                                 n_characters=n_characters)
        self.stateful = bool(stateful)
        self.max_batch_size = int(max_batch_size)
        self.unroll = bool(unroll)
        self.character_encoder = ElmoCharacterEncoder(
            char_embedding_dim, filters, num_highway, activation, projection_dim,
            max_characters_per_token=max_characters_per_token, n_characters=n_characters,
            dtype=self.dtype_policy, name="character_encoder")
        self.lstm = ElmoLstm(lstm_dim, projection_dim, num_layers, cell_clip, proj_clip, use_skip_connections,
                             stateful=stateful, max_batch_size=max_batch_size, unroll=unroll, dtype=self.dtype_policy,
                             name="lstm")
        self.character_encoder.build((None, None, max_characters_per_token))
        self.lstm.build((None, None, projection_dim))

    @classmethod
    def from_elmo_config(cls, config: ElmoConfig, **kwargs: Any) -> "ElmoEncoder":
        """An encoder of ``config``'s shape, random weights (``stateful``, ``dtype``, ... as keywords)."""
        return cls(char_embedding_dim=config.char_embedding_dim, filters=config.filters,
                   num_highway=config.num_highway, activation=config.activation,
                   max_characters_per_token=config.max_characters_per_token, lstm_dim=config.lstm_dim,
                   projection_dim=config.projection_dim, num_layers=config.num_layers, cell_clip=config.cell_clip,
                   proj_clip=config.proj_clip, use_skip_connections=config.use_skip_connections,
                   n_characters=config.n_characters, **kwargs)

    def checkpoint_variables(self) -> dict[str, keras.Variable]:
        """bilm-tf's ``weights.hdf5`` dataset name -> variable, for every weight of the biLM."""
        return {**self.character_encoder.checkpoint_variables(), **self.lstm.checkpoint_variables()}

    def reset_states(self) -> None:
        """Zeros the carried LSTM states of a stateful encoder."""
        self.lstm.reset_states()

    def call(self, inputs: Mapping[str, Any], training: bool | None = None) -> dict[str, Any]:
        if not isinstance(inputs, Mapping):
            raise ValueError(f"ElmoEncoder takes a dict of inputs (input_char_ids, input_mask, ...), got "
                             f"{type(inputs).__name__}")
        if "input_char_ids" not in inputs:
            raise ValueError(
                "ElmoEncoder reads characters: its inputs need 'input_char_ids' int32 [batch, seq_length, "
                f"{self.config.max_characters_per_token}] (ElmoPreprocessor makes it from strings); got "
                f"{sorted(inputs)}")
        char_ids = tf.cast(inputs["input_char_ids"], tf.int32)
        if char_ids.shape.rank != 3 or (char_ids.shape[-1] not in (None, self.config.max_characters_per_token)):
            raise ValueError(f"input_char_ids must be [batch, seq_length, {self.config.max_characters_per_token}], "
                             f"got shape {char_ids.shape}")
        if inputs.get("input_mask") is not None:
            mask = tf.cast(inputs["input_mask"], tf.int32)
        else:
            mask = tf.cast(tf.reduce_any(char_ids > 0, axis=-1), tf.int32)
        dtype = self.compute_dtype
        real = tf.cast(mask, dtype)[..., tf.newaxis]
        tokens = self.character_encoder(char_ids) * real
        token_layer = tf.concat([tokens, tokens], axis=-1)
        layers = [token_layer, *self.lstm(tokens, mask)]
        sequence_output = layers[-1]
        count = tf.maximum(tf.reduce_sum(tf.cast(real, tf.float32), axis=1), 1.0)
        pooled = tf.reduce_sum(tf.cast(sequence_output, tf.float32), axis=1) / count
        return {"sequence_output": sequence_output, "pooled_output": tf.cast(pooled, dtype),
                "encoder_outputs": layers, "embedding_output": token_layer}

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": keras.saving.serialize_keras_object(
            self.dtype_policy)}
        c = self.config
        config.update({"char_embedding_dim": c.char_embedding_dim, "filters": [list(f) for f in c.filters],
                       "num_highway": c.num_highway, "activation": c.activation,
                       "max_characters_per_token": c.max_characters_per_token, "lstm_dim": c.lstm_dim,
                       "projection_dim": c.projection_dim, "num_layers": c.num_layers, "cell_clip": c.cell_clip,
                       "proj_clip": c.proj_clip, "use_skip_connections": c.use_skip_connections,
                       "n_characters": c.n_characters, "stateful": self.stateful,
                       "max_batch_size": self.max_batch_size, "unroll": self.unroll})
        return config
