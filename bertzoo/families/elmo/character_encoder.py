"""ELMo's token layer: a word's characters -> one context-free vector (character CNN, highway, projection)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="bertzoo")
class ElmoCharacterEncoder(keras.layers.Layer):
    """Character ids ``[batch, seq_length, max_chars]`` -> token vectors ``[batch, seq_length, projection_dim]``.

    bilm-tf's ``_build_word_char_embeddings``: character embeddings; per filter a convolution over
    the characters (width ``w``, VALID), max over positions, then the activation; the filters
    concatenated; ``num_highway`` highway layers (``t = sigmoid(x W_carry + b_carry)``,
    ``x = t * relu(x W_transform + b_transform) + (1 - t) * x``); a projection to
    ``projection_dim`` when the filters are wider. Variables keep bilm-tf's shapes and names
    (``char_embed``, ``CNN/W_cnn_i`` ``[1, w, dim, n]``, ``CNN_high_k/...``, ``CNN_proj/...``), so
    ``weights.hdf5`` reads and writes without reshaping. ``char_embed`` has the inference layout:
    262 rows, row 0 for "no token" is never read (its embeddings are masked to zero, as the zero row
    bilm-tf prepends at inference), so training cannot move it away from zero's role.

    Args:
        char_embedding_dim: character embedding width.
        filters: ``(width, number)`` per convolution.
        num_highway: highway layers.
        activation: ``relu`` or ``tanh`` after the max-pool.
        projection_dim: output width (no projection when it equals the total filters).
        max_characters_per_token: the characters axis of the input.
        n_characters: rows of ``char_embed`` (262).
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> layer = ElmoCharacterEncoder(4, [(1, 4), (2, 8)], 1, "relu", 8)
        >>> layer(np.ones((2, 3, 50), "int32")).shape
        (2, 3, 8)
    """

    def __init__(self, char_embedding_dim: int, filters: Sequence[Sequence[int]], num_highway: int,
                 activation: str, projection_dim: int, max_characters_per_token: int = 50, n_characters: int = 262,
                 **kwargs):
        super().__init__(**kwargs)
        self.char_embedding_dim = int(char_embedding_dim)
        self.filters = [(int(w), int(n)) for w, n in filters]
        self.num_highway = int(num_highway)
        self.activation = activation
        self.projection_dim = int(projection_dim)
        self.max_characters_per_token = int(max_characters_per_token)
        self.n_characters = int(n_characters)
        self.num_filters = sum(n for _, n in self.filters)
        self.use_projection = self.num_filters != self.projection_dim

    def build(self, input_shape=None):
        dim = self.char_embedding_dim
        self.char_embed = self.add_weight(shape=(self.n_characters, dim), name="char_embed",
                                          initializer=keras.initializers.RandomUniform(-1.0, 1.0))
        self.kernels, self.biases = [], []
        for i, (width, number) in enumerate(self.filters):
            init = (keras.initializers.RandomUniform(-0.05, 0.05) if self.activation == "relu"
                    else keras.initializers.RandomNormal(stddev=float(np.sqrt(1.0 / (width * dim)))))
            self.kernels.append(self.add_weight(shape=(1, width, dim, number), name=f"W_cnn_{i}", initializer=init))
            self.biases.append(self.add_weight(shape=(number,), name=f"b_cnn_{i}", initializer="zeros"))
        width = self.num_filters
        normal = keras.initializers.RandomNormal(stddev=float(np.sqrt(1.0 / width)))
        self.highways = []
        for k in range(self.num_highway):
            self.highways.append({
                "W_carry": self.add_weight(shape=(width, width), name=f"W_carry_{k}", initializer=normal),
                "b_carry": self.add_weight(shape=(width,), name=f"b_carry_{k}",
                                           initializer=keras.initializers.Constant(-2.0)),
                "W_transform": self.add_weight(shape=(width, width), name=f"W_transform_{k}", initializer=normal),
                "b_transform": self.add_weight(shape=(width,), name=f"b_transform_{k}", initializer="zeros"),
            })
        if self.use_projection:
            self.projection_kernel = self.add_weight(shape=(width, self.projection_dim), name="W_proj",
                                                     initializer=normal)
            self.projection_bias = self.add_weight(shape=(self.projection_dim,), name="b_proj", initializer="zeros")
        self.built = True

    def checkpoint_variables(self) -> dict[str, keras.Variable]:
        """bilm-tf's ``weights.hdf5`` dataset name -> variable (``char_embed`` with its extra row 0)."""
        names = {"char_embed": self.char_embed}
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            names[f"CNN/W_cnn_{i}"] = kernel
            names[f"CNN/b_cnn_{i}"] = bias
        for k, highway in enumerate(self.highways):
            for key, variable in highway.items():
                names[f"CNN_high_{k}/{key}"] = variable
        if self.use_projection:
            names["CNN_proj/W_proj"] = self.projection_kernel
            names["CNN_proj/b_proj"] = self.projection_bias
        return names

    def call(self, char_ids):
        char_ids = tf.cast(char_ids, tf.int32)
        shape = tf.shape(char_ids)
        dtype = self.compute_dtype
        embedded = tf.gather(tf.cast(self.char_embed, dtype), char_ids)
        embedded = embedded * tf.cast(char_ids > 0, dtype)[..., tf.newaxis]  # row 0: "no token" = zeros
        activation = tf.nn.relu if self.activation == "relu" else tf.nn.tanh
        pooled = []
        for kernel, bias in zip(self.kernels, self.biases):
            convolved = tf.nn.conv2d(embedded, tf.cast(kernel, dtype), strides=[1, 1, 1, 1], padding="VALID")
            convolved = convolved + tf.cast(bias, dtype)
            pooled.append(activation(tf.reduce_max(convolved, axis=2)))
        x = tf.reshape(tf.concat(pooled, axis=-1), [-1, self.num_filters])
        for highway in self.highways:
            carry = tf.sigmoid(tf.matmul(x, tf.cast(highway["W_carry"], dtype)) + tf.cast(highway["b_carry"], dtype))
            transform = tf.nn.relu(tf.matmul(x, tf.cast(highway["W_transform"], dtype))
                                   + tf.cast(highway["b_transform"], dtype))
            x = carry * transform + (1.0 - carry) * x
        if self.use_projection:
            x = tf.matmul(x, tf.cast(self.projection_kernel, dtype)) + tf.cast(self.projection_bias, dtype)
        return tf.reshape(x, tf.concat([shape[:2], [self.projection_dim]], axis=0))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2]) + (self.projection_dim,)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"char_embedding_dim": self.char_embedding_dim, "filters": [list(f) for f in self.filters],
                       "num_highway": self.num_highway, "activation": self.activation,
                       "projection_dim": self.projection_dim,
                       "max_characters_per_token": self.max_characters_per_token,
                       "n_characters": self.n_characters})
        return config
