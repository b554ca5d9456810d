"""KerasHub BERT preset directories, read into canonical weights, a BertConfig dict and vocabulary.

A preset directory is what ``keras_hub.models.BertBackbone.save_to_preset`` writes
(``config.json``, ``model.weights.h5``, ``metadata.json``) plus what the tokenizer's
``save_to_preset`` adds (``tokenizer.json``, ``assets/tokenizer/vocabulary.txt``). keras-hub loads
its own preset; this module then translates the backbone's variables into canonical names.

Layouts, as read in keras-hub 0.32 (``keras_hub/src/models/bert/bert_backbone.py``,
``keras_hub/src/layers/modeling/transformer_encoder.py``) and Keras 3's ``MultiHeadAttention``
(``EinsumDense`` layers): query/key/value kernels are ``[hidden, heads, head_dim]`` and their
biases ``[heads, head_dim]``; the attention output kernel is ``[heads, head_dim, hidden]``. Heads
are the outer index, as in Google's ``[hidden, hidden]`` kernels, so a plain reshape translates
them. ``TransformerEncoder`` is post-norm (``normalize_first=False``): its
``self_attention_layer_norm`` is Google's ``attention/output/LayerNorm`` and its
``feedforward_layer_norm`` is ``output/LayerNorm``.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
from typing import Any

import keras
import numpy as np

from bertzoo.families.bert.checkpoints.checkpoint_weights import CheckpointWeights, as_float32, require_weights

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.weights.h5"
SHARDED_WEIGHTS_NAME = "model.weights.json"  # keras-hub's save_to_preset(max_shard_size=...)
TOKENIZER_CONFIG_NAME = "tokenizer.json"
_BACKBONE_CLASS = "BertBackbone"

# keras-hub variable path -> (canonical name, how to reshape: None, "heads_in" or "heads_out").
_EMBEDDING_PATHS = {
    "token_embedding/embeddings": "bert/embeddings/word_embeddings",
    "position_embedding/embeddings": "bert/embeddings/position_embeddings",
    "segment_embedding/embeddings": "bert/embeddings/token_type_embeddings",
    "embeddings_layer_norm/gamma": "bert/embeddings/LayerNorm/gamma",
    "embeddings_layer_norm/beta": "bert/embeddings/LayerNorm/beta",
    "pooled_dense/kernel": "bert/pooler/dense/kernel",
    "pooled_dense/bias": "bert/pooler/dense/bias",
}
_LAYER_PATHS = {
    "self_attention_layer/query/kernel": "attention/self/query/kernel",
    "self_attention_layer/query/bias": "attention/self/query/bias",
    "self_attention_layer/key/kernel": "attention/self/key/kernel",
    "self_attention_layer/key/bias": "attention/self/key/bias",
    "self_attention_layer/value/kernel": "attention/self/value/kernel",
    "self_attention_layer/value/bias": "attention/self/value/bias",
    "self_attention_layer/attention_output/kernel": "attention/output/dense/kernel",
    "self_attention_layer/attention_output/bias": "attention/output/dense/bias",
    "self_attention_layer_norm/gamma": "attention/output/LayerNorm/gamma",
    "self_attention_layer_norm/beta": "attention/output/LayerNorm/beta",
    "feedforward_intermediate_dense/kernel": "intermediate/dense/kernel",
    "feedforward_intermediate_dense/bias": "intermediate/dense/bias",
    "feedforward_output_dense/kernel": "output/dense/kernel",
    "feedforward_output_dense/bias": "output/dense/bias",
    "feedforward_layer_norm/gamma": "output/LayerNorm/gamma",
    "feedforward_layer_norm/beta": "output/LayerNorm/beta",
}
_LAYER_PATH = re.compile(r"^transformer_layer_(\d+)/(.+)$")


@dataclasses.dataclass(frozen=True)
class KerasHubPreset:
    """A KerasHub BERT preset, translated for bertzoo.

    Args:
        config: ``BertConfig`` field values (``vocab_size``, ``hidden_size``, ...,
            ``hidden_act`` as ``"gelu_erf"``, ``"gelu_tanh"`` or ``"relu"``).
        weights: the backbone's weights under canonical names (no pretraining heads: a
            backbone preset has none).
        vocabulary_path: the WordPiece vocabulary, one token a line.
        lowercase: the tokenizer's ``lowercase`` setting, None when the preset has no
            ``tokenizer.json`` or it does not say.
    """

    config: dict[str, Any]
    weights: CheckpointWeights
    vocabulary_path: pathlib.Path
    lowercase: bool | None


def read_keras_hub_preset(directory: str | pathlib.Path) -> KerasHubPreset:
    """Reads a KerasHub ``BertBackbone`` preset directory.

    Args:
        directory: the preset directory (a local path; nothing is downloaded).

    Returns:
        The config, canonical float32 weights, vocabulary path and casing.

    Raises:
        FileNotFoundError: the directory, its ``config.json``, ``model.weights.h5`` (or sharded
            ``model.weights.json``) or vocabulary is missing.
        ValueError: not a ``BertBackbone`` preset, or its files cannot be loaded.

    Example:
    ```python
    preset = read_keras_hub_preset("bert_tiny_en_uncased")
    preset.config["hidden_size"], preset.lowercase  # (128, True)
    ```
    """
    import keras_hub  # Imported here: only this reader needs it.

    directory = pathlib.Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"No KerasHub preset directory at {directory}.")
    config_path = directory / CONFIG_NAME
    class_name = _read_json(config_path).get("class_name")
    if class_name != _BACKBONE_CLASS:
        raise ValueError(
            f"{config_path} describes a {class_name!r}, "
            f"expected a KerasHub {_BACKBONE_CLASS!r} preset."
        )
    weights_path = directory / WEIGHTS_NAME
    if not weights_path.is_file() and (directory / SHARDED_WEIGHTS_NAME).is_file():
        weights_path = directory / SHARDED_WEIGHTS_NAME
    if not weights_path.is_file():
        raise FileNotFoundError(
            f"No weights in KerasHub preset {directory}: looked for {WEIGHTS_NAME} "
            f"(or a sharded {SHARDED_WEIGHTS_NAME})."
        )
    vocabulary_path, lowercase = _read_tokenizer_files(directory)
    try:
        backbone = keras_hub.models.BertBackbone.from_preset(str(directory))
    except Exception as e:  # keras-hub and h5py raise many types for damaged presets.
        raise ValueError(
            f"keras-hub cannot load the BERT preset in {directory} ({weights_path}): {e}"
        ) from e
    return KerasHubPreset(
        config=bert_config_of_backbone(backbone),
        weights=canonical_weights_of_backbone(backbone, source=str(weights_path)),
        vocabulary_path=vocabulary_path,
        lowercase=lowercase,
    )


def bert_config_of_backbone(backbone: keras.Model) -> dict[str, Any]:
    """The ``BertConfig`` fields of a built ``keras_hub.models.BertBackbone``.

    keras-hub 0.32's ``bert_backbone.py`` builds every ``TransformerEncoder`` with
    ``activation=gelu_approximate`` (``keras_hub/src/utils/keras_utils.py``:
    ``keras.activations.gelu(x, approximate=True)``, the tanh approximation, as Google's BERT
    uses) and ``layer_norm_epsilon=1e-12``, and passes its single ``dropout`` to both the
    hidden layers and ``MultiHeadAttention``. The values are read from the built layers rather
    than assumed, so a future keras-hub that changes them is reported, not mistranslated.

    Args:
        backbone: the loaded backbone.
    """
    first_layer = backbone.transformer_layers[0] if backbone.transformer_layers else None
    epsilon = (
        first_layer.layer_norm_epsilon if first_layer else backbone.embeddings_layer_norm.epsilon
    )
    return {
        "vocab_size": int(backbone.vocabulary_size),
        "hidden_size": int(backbone.hidden_dim),
        "num_hidden_layers": int(backbone.num_layers),
        "num_attention_heads": int(backbone.num_heads),
        "intermediate_size": int(backbone.intermediate_dim),
        "max_position_embeddings": int(backbone.max_sequence_length),
        "type_vocab_size": int(backbone.num_segments),
        "hidden_dropout_prob": float(backbone.dropout),
        "attention_probs_dropout_prob": float(backbone.dropout),
        "layer_norm_eps": float(epsilon),
        "hidden_act": _activation_name(first_layer.activation) if first_layer else "gelu_tanh",
    }


def canonical_weights_of_backbone(backbone: keras.Model, source: str) -> CheckpointWeights:
    """Translates a ``keras_hub.models.BertBackbone``'s variables into canonical weights.

    Args:
        backbone: the loaded backbone.
        source: the weights file, for error messages.
    """
    hidden = int(backbone.hidden_dim)
    weights: dict[str, np.ndarray] = {}
    unused: list[str] = []
    for variable in backbone.weights:
        path = variable.path
        canonical = _EMBEDDING_PATHS.get(path)
        layer_match = _LAYER_PATH.match(path)
        if canonical is None and layer_match and layer_match.group(2) in _LAYER_PATHS:
            canonical = (
                f"bert/encoder/layer_{layer_match.group(1)}/{_LAYER_PATHS[layer_match.group(2)]}"
            )
        if canonical is None:
            unused.append(path)
            continue
        value = as_float32(variable.numpy(), path, source)
        weights[canonical] = _reshape_attention(value, path, canonical, hidden, source)
    require_weights(weights, [v.path for v in backbone.weights], source, "KerasHub BertBackbone")
    return CheckpointWeights(weights=weights, unused=tuple(sorted(unused)), source=source)


def _reshape_attention(
    value: np.ndarray, path: str, canonical: str, hidden: int, source: str
) -> np.ndarray:
    """Merges MultiHeadAttention's per-head axes into Google's flat ``[hidden, hidden]`` layout."""
    if "/attention/self/" in canonical:
        expected_ndim = 3 if canonical.endswith("/kernel") else 2  # [H, heads, d] or [heads, d]
        target = (hidden, hidden) if canonical.endswith("/kernel") else (hidden,)
    elif canonical.endswith("/attention/output/dense/kernel"):
        expected_ndim, target = 3, (hidden, hidden)  # [heads, d, H]
    else:
        return value
    if value.ndim != expected_ndim or value.size != int(np.prod(target)):
        raise ValueError(
            f"{source}: {path} has shape {value.shape}, expected {expected_ndim} axes holding "
            f"{target} values for {canonical!r}."
        )
    return np.ascontiguousarray(value.reshape(target))


def _activation_name(activation: Any) -> str:
    """Maps a Keras activation function onto bertzoo's canonical activation names."""
    from keras_hub.src.utils.keras_utils import gelu_approximate

    if activation is gelu_approximate:
        return "gelu_tanh"
    if activation is keras.activations.relu:
        return "relu"
    if activation is keras.activations.silu:
        return "silu"
    if activation is keras.activations.gelu:  # Keras's default is approximate=False (erf).
        return "gelu_erf"
    raise ValueError(f"Unknown activation {activation!r} in a KerasHub BertBackbone.")


def _read_tokenizer_files(directory: pathlib.Path) -> tuple[pathlib.Path, bool | None]:
    """Finds the vocabulary file and the ``lowercase`` setting of a preset's tokenizer."""
    tokenizer_path = directory / TOKENIZER_CONFIG_NAME
    lowercase = None
    assets_name = "tokenizer"
    if tokenizer_path.is_file():
        tokenizer_config = _read_json(tokenizer_path).get("config", {})
        value = tokenizer_config.get("lowercase")
        lowercase = None if value is None else bool(value)
        # keras-hub's PresetSaver.save_tokenizer writes the assets to
        # assets/<config_file up to its first dot>/.
        assets_name = (tokenizer_config.get("config_file") or TOKENIZER_CONFIG_NAME).split(".")[0]
    vocabulary_path = directory / "assets" / assets_name / "vocabulary.txt"
    if not vocabulary_path.is_file():
        raise FileNotFoundError(
            f"No vocabulary in KerasHub preset {directory}: looked for {vocabulary_path} "
            "(written by the tokenizer's save_to_preset)."
        )
    return vocabulary_path, lowercase


def _read_json(path: pathlib.Path) -> dict[str, Any]:
    """Reads a JSON object, with errors naming the file."""
    if not path.is_file():
        raise FileNotFoundError(
            f"No {path.name} in KerasHub preset {path.parent}: looked for {path}."
        )
    try:
        content = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(content, dict):
        raise ValueError(f"{path} holds a JSON {type(content).__name__}, expected an object.")
    return content
