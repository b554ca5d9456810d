"""MaskedLMHead: BERT's masked-language-model head, scoring the vocabulary at masked positions."""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.layers.activations import get_activation
from bertzoo.layers.layer_norm import LayerNorm


@keras.saving.register_keras_serializable(package="bertzoo")
class MaskedLMHead(keras.layers.Layer):
    """Gathers the masked positions, then dense + activation + LayerNorm, then scores every token.

    The output projection is tied to the encoder's word embeddings (passed at call time, so the
    head holds no reference to another layer's variable and serializes on its own); only its
    bias is the head's own. Logits are float32 under mixed precision. Google's checkpoints name
    these weights ``cls/predictions/...``.

    Args:
        vocab_size: number of tokens scored.
        hidden_size: width of the encoder's ``sequence_output``.
        hidden_act: bertzoo activation name of the transform (the encoder's, in BERT).
        initializer_range: stddev of the transform's initializer.
        layer_norm_eps: LayerNorm epsilon.

    Example:
        >>> head = MaskedLMHead(vocab_size=30, hidden_size=8)
        >>> logits = head(sequence_output, masked_lm_positions, embedding_table)  # [b, p, 30]
    """

    def __init__(self, vocab_size: int, hidden_size: int, hidden_act: str = "gelu_tanh",
                 initializer_range: float = 0.02, layer_norm_eps: float = 1e-12, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.transform = keras.layers.Dense(
            hidden_size, activation=get_activation(hidden_act), name="transform",
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))
        self.layer_norm = LayerNorm(epsilon=layer_norm_eps, dtype="float32",
                                                          name="layer_norm")

    def build(self, sequence_output_shape=None, masked_lm_positions_shape=None, embedding_table_shape=None):
        self.transform.build((None, None, self.hidden_size))
        self.layer_norm.build((None, None, self.hidden_size))
        self.output_bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="output_bias")
        self.built = True

    def call(self, sequence_output, masked_lm_positions, embedding_table):
        """Logits ``[batch, num_positions, vocab_size]`` for the tokens at ``masked_lm_positions``."""
        positions = ops.cast(masked_lm_positions, "int32")
        gathered = ops.take_along_axis(sequence_output, positions[:, :, None], axis=1)
        transformed = self.layer_norm(self.transform(gathered))
        logits = ops.einsum("bph,vh->bpv", ops.cast(transformed, "float32"), ops.cast(embedding_table, "float32"))
        return logits + ops.cast(self.output_bias, "float32")

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, hidden_size=self.hidden_size, hidden_act=self.hidden_act,
                      initializer_range=self.initializer_range, layer_norm_eps=self.layer_norm_eps)
        return config
