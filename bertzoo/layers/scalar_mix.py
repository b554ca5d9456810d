"""ScalarMix: ELMo's learned, softmax-weighted sum of layers (Peters et al. 2018, eq. 1)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bertzoo")
class ScalarMix(keras.layers.Layer):
    """``gamma * sum_k softmax(s)_k * h_k``: a learned mix of the layers of an encoder.

    Feature-based use of a frozen encoder learns which layers to read inside the downstream model.
    With ``layer_norm=True`` each layer is first normalised to zero mean and unit variance over all
    its unmasked positions and features in the batch (ELMo's and AllenNLP's formulation: one mean
    and one variance per layer, no learned LayerNorm parameters, epsilon 1e-12). Weights, gamma
    and the arithmetic stay in float32; the output has the layer's compute dtype.

    Args:
        num_layers: how many tensors are mixed (e.g. ``num_hidden_layers + 1`` with the embeddings).
        layer_norm: normalise each layer over the unmasked positions first.
        initial_weights: the scalars ``s`` before the softmax (default all 0: equal weights).
        initial_gamma: the initial scale.
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        layers: a list of ``num_layers`` tensors ``[batch, seq_length, hidden]``.
        input_mask: ``[batch, seq_length]``, 1 for real tokens; needed with ``layer_norm``.

    Example:
        >>> outputs = encoder(inputs)  # doctest: +SKIP
        >>> mixed = ScalarMix(7)([outputs["embedding_output"], *outputs["encoder_outputs"]])  # doctest: +SKIP
    """

    def __init__(self, num_layers: int, layer_norm: bool = False, initial_weights: Sequence[float] | None = None,
                 initial_gamma: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"ScalarMix: num_layers must be a positive int, got {num_layers!r}")
        if initial_weights is not None and len(initial_weights) != num_layers:
            raise ValueError(f"ScalarMix: initial_weights has {len(initial_weights)} values for "
                             f"num_layers={num_layers}")
        self.num_layers = num_layers
        self.layer_norm = bool(layer_norm)
        self.initial_weights = None if initial_weights is None else [float(w) for w in initial_weights]
        self.initial_gamma = float(initial_gamma)
        initial = self.initial_weights or [0.0] * num_layers
        self.scalar_weights = self.add_weight(shape=(num_layers,), name="scalar_weights", dtype="float32",
                                              initializer=keras.initializers.Constant(initial))
        self.gamma = self.add_weight(shape=(), name="gamma", dtype="float32",
                                     initializer=keras.initializers.Constant(self.initial_gamma))

    def call(self, layers, input_mask=None):
        if len(layers) != self.num_layers:
            raise ValueError(f"ScalarMix was built for {self.num_layers} layers but got {len(layers)} tensors")
        if self.layer_norm and input_mask is None:
            raise ValueError("ScalarMix(layer_norm=True) needs input_mask to know which positions are real")
        weights = ops.softmax(ops.cast(self.scalar_weights, "float32"))
        mixed = 0.0
        for k, layer in enumerate(layers):
            layer = ops.cast(layer, "float32")
            if self.layer_norm:
                layer = self._normalize(layer, ops.cast(input_mask, "float32"))
            mixed = mixed + weights[k] * layer
        return ops.cast(ops.cast(self.gamma, "float32") * mixed, self.compute_dtype)

    @staticmethod
    def _normalize(layer, mask):
        """Zero mean, unit variance over the unmasked positions and all features of the batch."""
        mask = ops.expand_dims(mask, -1)
        count = ops.maximum(ops.sum(mask) * ops.cast(ops.shape(layer)[-1], "float32"), 1.0)
        mean = ops.sum(layer * mask) / count
        variance = ops.sum(ops.square((layer - mean) * mask)) / count
        return (layer - mean) / ops.sqrt(variance + 1e-12)

    def compute_output_spec(self, layers, input_mask=None):
        return keras.KerasTensor(layers[0].shape, dtype=self.compute_dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"num_layers": self.num_layers, "layer_norm": self.layer_norm,
                       "initial_weights": self.initial_weights, "initial_gamma": self.initial_gamma})
        return config
