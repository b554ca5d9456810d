"""TF Hub BERT encoder SavedModels (TF Model Garden's ``BertEncoder`` as tfhub.dev publishes it) in.

Model Garden names an encoder's variables ``word_embeddings/embeddings``,
``transformer/layer_{i}/self_attention/query/kernel`` (``[hidden, heads, head_size]``), ...,
``pooler_transform/kernel``; ``HUB_NAMES`` maps each canonical name to that name, and the layouts
differ only by a reshape. bertzoo's own TF Hub export (``bertzoo.export.hub_format``) writes the
same names and layouts, so this one reader reads both.

Reading needs no graph: variable names come from the SavedModel's object graph
(``saved_model.pb``) and values from its checkpoint (``variables/variables``), so a SavedModel
loads here even when its functions need ops this process lacks. The architecture is inferred
from the shapes (attention heads from the 3-D query kernel); what shapes cannot tell (activation,
LayerNorm epsilon, dropout) comes from a ``bertzoo_config.json`` asset when the export wrote one,
else Model Garden's BERT defaults (``gelu`` as the tanh approximation, epsilon 1e-12).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2, trackable_object_graph_pb2

from bertzoo.families.bert.bert_config import BertConfig, ConfigError
from bertzoo.families.bert.checkpoints.checkpoint_weights import CheckpointWeights, as_float32
from bertzoo.families.bert.checkpoints.weight_names import EMBEDDING_NAMES, LAYER_NAME_TEMPLATES, POOLER_NAMES

__all__ = ["HUB_NAMES", "TfHubEncoder", "hub_weight_name", "hub_weight_shape", "read_tf_hub_encoder"]

# Asset written by bertzoo's export with the full BertConfig (bertzoo's activation names).
CONFIG_ASSET = "bertzoo_config.json"

_HUB_EMBEDDING_NAMES = (
    "word_embeddings/embeddings",
    "type_embeddings/embeddings",
    "position_embedding/embeddings",
    "embeddings/layer_norm/gamma",
    "embeddings/layer_norm/beta",
)
_HUB_LAYER_TEMPLATES = (
    "transformer/layer_{i}/self_attention/query/kernel",  # [hidden, heads, head_size]
    "transformer/layer_{i}/self_attention/query/bias",  # [heads, head_size]
    "transformer/layer_{i}/self_attention/key/kernel",
    "transformer/layer_{i}/self_attention/key/bias",
    "transformer/layer_{i}/self_attention/value/kernel",
    "transformer/layer_{i}/self_attention/value/bias",
    "transformer/layer_{i}/self_attention/attention_output/kernel",  # [heads, head_size, hidden]
    "transformer/layer_{i}/self_attention/attention_output/bias",
    "transformer/layer_{i}/self_attention_layer_norm/gamma",
    "transformer/layer_{i}/self_attention_layer_norm/beta",
    "transformer/layer_{i}/intermediate/kernel",
    "transformer/layer_{i}/intermediate/bias",
    "transformer/layer_{i}/output/kernel",
    "transformer/layer_{i}/output/bias",
    "transformer/layer_{i}/output_layer_norm/gamma",
    "transformer/layer_{i}/output_layer_norm/beta",
)
_HUB_POOLER_NAMES = ("pooler_transform/kernel", "pooler_transform/bias")

# Canonical name (template) -> Model Garden's name (template); "{i}" is the layer index.
HUB_NAMES: dict[str, str] = dict(
    zip(EMBEDDING_NAMES + LAYER_NAME_TEMPLATES + POOLER_NAMES,
        _HUB_EMBEDDING_NAMES + _HUB_LAYER_TEMPLATES + _HUB_POOLER_NAMES, strict=True)
)

_HUB_LAYER_PATTERN = re.compile(r"(?:^|/)(transformer/layer_(0|[1-9][0-9]*)/.+)$")


def hub_weight_name(canonical_name: str) -> str:
    """Model Garden's TF Hub name for a canonical encoder weight name."""
    match = re.match(r"^bert/encoder/layer_(\d+)/(.+)$", canonical_name)
    if match:
        return HUB_NAMES["bert/encoder/layer_{i}/" + match.group(2)].format(i=match.group(1))
    if canonical_name not in HUB_NAMES:
        raise KeyError(f"{canonical_name!r} is not a canonical encoder weight name")
    return HUB_NAMES[canonical_name]


def hub_weight_shape(canonical_name: str, canonical_shape: tuple[int, ...], num_heads: int) -> tuple[int, ...]:
    """The Model Garden layout of a canonical weight: attention projections split per head."""
    if "/attention/self/" in canonical_name:  # kernel [hidden, hidden] or bias [hidden]
        return tuple(canonical_shape[:-1]) + (num_heads, canonical_shape[-1] // num_heads)
    if canonical_name.endswith("/attention/output/dense/kernel"):
        return (num_heads, canonical_shape[0] // num_heads, canonical_shape[1])
    return tuple(canonical_shape)


@dataclasses.dataclass(frozen=True)
class TfHubEncoder:
    """What a TF Hub BERT encoder SavedModel holds, in bertzoo's terms.

    Args:
        config: the architecture inferred from the variables (casing from ``do_lower_case``).
        weights: canonical weights (``unused``: variables not part of the encoder).
        vocabulary_path: the ``vocab_file`` asset.
        lowercase: the ``do_lower_case`` variable, or None when the SavedModel has none.
    """

    config: BertConfig
    weights: CheckpointWeights
    vocabulary_path: pathlib.Path
    lowercase: bool | None


def read_tf_hub_encoder(directory: str | pathlib.Path) -> TfHubEncoder:
    """Reads a TF Hub BERT encoder SavedModel (Model Garden's variable names) into canonical weights.

    Args:
        directory: the SavedModel directory (``saved_model.pb``, ``variables/``, ``assets/``).

    Raises:
        FileNotFoundError: no ``saved_model.pb``, checkpoint or vocabulary there.
        ValueError: a SavedModel that is not a BERT encoder (the message names the missing
            variables), or one whose shapes do not fit together.
    """
    directory = pathlib.Path(directory)
    pb_path = directory / "saved_model.pb"
    if not pb_path.is_file():
        raise FileNotFoundError(f"{pb_path} is missing: a TF Hub encoder is a SavedModel directory")
    saved_model = saved_model_pb2.SavedModel.FromString(pb_path.read_bytes())
    meta_graph = saved_model.meta_graphs[0]
    nodes = meta_graph.object_graph_def.nodes
    prefix = str(directory / "variables" / "variables")
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as e:  # TF raises several unrelated types for missing or damaged files.
        raise FileNotFoundError(f"Cannot read the variables of SavedModel {directory} at {prefix}: {e}") from e

    # The checkpoint's object graph numbers its nodes as the SavedModel's does; it gives each
    # variable's checkpoint key, the SavedModel's node its name.
    keys = _checkpoint_keys(reader, prefix)
    stored = {node.variable.name: keys[i] for i, node in enumerate(nodes)
              if node.WhichOneof("kind") == "variable" and i in keys}  # variable name -> checkpoint key
    by_hub_name = _match_hub_names(stored)
    key_shapes = reader.get_variable_to_shape_map()
    config = _infer_config(directory, {name: tuple(key_shapes[key]) for name, key in by_hub_name.items()})
    weights = {}
    for template, hub_template in HUB_NAMES.items():
        for i in range(config.num_hidden_layers) if "{i}" in template else [None]:
            name, hub_name = template.format(i=i), hub_template.format(i=i)
            value = as_float32(reader.get_tensor(by_hub_name[hub_name]), hub_name, prefix)
            canonical_shape = _canonical_shape(name, config)
            if value.size != int(np.prod(canonical_shape)):
                raise ValueError(f"{directory}: variable {hub_name!r} has shape {value.shape}, which does not "
                                 f"fit the inferred {canonical_shape} of {name}")
            weights[name] = value.reshape(canonical_shape)
    used = set(by_hub_name.values())
    unused = tuple(sorted(name for name, key in stored.items() if key not in used))

    root_children = {child.local_name: child.node_id for child in nodes[0].children}
    lowercase = None
    if "do_lower_case" in root_children:
        key = keys[root_children["do_lower_case"]]
        lowercase = bool(reader.get_tensor(key))
        unused = tuple(name for name in unused if stored[name] != key)
    return TfHubEncoder(config=config.replace(do_lower_case=lowercase),
                        weights=CheckpointWeights(weights=weights, unused=unused, source=str(directory)),
                        vocabulary_path=_vocabulary_path(directory, meta_graph, nodes, root_children),
                        lowercase=lowercase)


def _checkpoint_keys(reader, prefix: str) -> dict[int, str]:
    """Node id -> checkpoint key of its value, for every variable in a TF2 object-based checkpoint."""
    try:
        graph = trackable_object_graph_pb2.TrackableObjectGraph.FromString(
            reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    except Exception as e:  # A missing entry or a damaged proto.
        raise ValueError(f"{prefix} has no readable object graph (not a TF2 SavedModel checkpoint): {e}") from e
    return {i: attribute.checkpoint_key for i, node in enumerate(graph.nodes)
            for attribute in node.attributes if attribute.name == "VARIABLE_VALUE"}


def _match_hub_names(stored: dict[str, str]) -> dict[str, str]:
    """Model Garden name -> checkpoint key, for the stored variables whose names end in one (any
    scope prefix, e.g. a model name, is allowed)."""
    matched: dict[str, str] = {}
    fixed = _HUB_EMBEDDING_NAMES + _HUB_POOLER_NAMES
    for name, key in stored.items():
        layer = _HUB_LAYER_PATTERN.search(name)
        if layer:
            matched[layer.group(1)] = key
            continue
        hub_name = next((f for f in fixed if name == f or name.endswith("/" + f)), None)
        if hub_name:
            matched[hub_name] = key
    return matched


def _infer_config(directory: pathlib.Path, shapes: dict[str, tuple[int, ...]]) -> BertConfig:
    """The architecture from the variables' shapes (Model Garden name -> shape), the rest from the
    config asset or Model Garden's defaults."""
    layer_ids = {int(m.group(1)) for m in (re.match(r"transformer/layer_(\d+)/", n) for n in shapes) if m}
    num_layers = max(layer_ids) + 1 if layer_ids else 0
    expected = list(_HUB_EMBEDDING_NAMES) + [t.format(i=i) for i in range(max(num_layers, 1))
                                            for t in _HUB_LAYER_TEMPLATES] + list(_HUB_POOLER_NAMES)
    missing = [name for name in expected if name not in shapes]
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise ValueError(f"{directory} is a SavedModel but not a TF Hub BERT encoder: variables missing "
                         f"(TF Model Garden names): {shown}")
    query_kernel = shapes["transformer/layer_0/self_attention/query/kernel"]
    vocab_size, hidden = shapes["word_embeddings/embeddings"]
    saved = _saved_config(directory)
    if len(query_kernel) == 3:
        heads = query_kernel[1]
    elif saved is not None:
        heads = saved.num_attention_heads
    else:
        raise ValueError(f"{directory}: attention kernel 'transformer/layer_0/self_attention/query/kernel' has "
                         f"shape {list(query_kernel)}, not [hidden, heads, head_size], and no {CONFIG_ASSET} "
                         "asset gives the number of heads")
    shapes = dict(
        vocab_size=int(vocab_size), hidden_size=int(hidden), num_hidden_layers=num_layers,
        num_attention_heads=int(heads),
        intermediate_size=int(shapes["transformer/layer_0/intermediate/kernel"][-1]),
        max_position_embeddings=int(shapes["position_embedding/embeddings"][0]),
        type_vocab_size=int(shapes["type_embeddings/embeddings"][0]),
    )
    if saved is None:
        return BertConfig(**shapes)
    differing = {k: (getattr(saved, k), v) for k, v in shapes.items() if getattr(saved, k) != v}
    if differing:
        raise ConfigError(f"{directory / 'assets' / CONFIG_ASSET} disagrees with the variables' shapes "
                          f"(field: config, variables): {differing}")
    return saved


def _saved_config(directory: pathlib.Path) -> BertConfig | None:
    path = directory / "assets" / CONFIG_ASSET
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from error
    try:
        return BertConfig(**data)
    except TypeError as error:
        raise ConfigError(f"{path}: {error}") from error


def _canonical_shape(name: str, config: BertConfig) -> tuple[int, ...]:
    """The shape of a canonical encoder weight under ``config`` (TF layouts)."""
    hidden, inner = config.hidden_size, config.intermediate_size
    if name.endswith("word_embeddings"):
        return (config.vocab_size, hidden)
    if name.endswith("token_type_embeddings"):
        return (config.type_vocab_size, hidden)
    if name.endswith("position_embeddings"):
        return (config.max_position_embeddings, hidden)
    if name.endswith("intermediate/dense/kernel"):
        return (hidden, inner)
    if name.endswith("intermediate/dense/bias"):
        return (inner,)
    if name.endswith("/output/dense/kernel") and "/attention/" not in name:
        return (inner, hidden)
    if name.endswith("kernel"):
        return (hidden, hidden)
    return (hidden,)


def _vocabulary_path(directory: pathlib.Path, meta_graph, nodes, root_children: dict[str, int]) -> pathlib.Path:
    """The ``vocab_file`` asset (Google's hub encoders hold one), else ``assets/vocab.txt``."""
    path = directory / "assets" / "vocab.txt"
    if "vocab_file" in root_children:
        node = nodes[root_children["vocab_file"]]
        if node.WhichOneof("kind") == "asset":
            filename = meta_graph.asset_file_def[node.asset.asset_file_def_index].filename
            path = directory / "assets" / filename
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: a TF Hub BERT encoder needs its WordPiece vocabulary "
                                "as the 'vocab_file' asset")
    return path
