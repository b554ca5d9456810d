"""Canonical weight names: the one vocabulary every checkpoint format is translated into.

bertzoo names weights exactly as Google's original BERT release does (``bert/...`` for the encoder,
``cls/...`` for the pretraining heads), with TensorFlow layouts: dense kernels are ``[in, out]``,
embeddings ``[rows, hidden]``. Each format reader maps its own names and layouts onto these, so one
function assigns weights into the encoder whatever the source, and bertzoo's own format stores these
names as they are.
"""

from __future__ import annotations

EMBEDDING_NAMES = (
    "bert/embeddings/word_embeddings",  # [vocab_size, hidden]
    "bert/embeddings/token_type_embeddings",  # [type_vocab_size, hidden]
    "bert/embeddings/position_embeddings",  # [max_position_embeddings, hidden]
    "bert/embeddings/LayerNorm/gamma",  # [hidden]
    "bert/embeddings/LayerNorm/beta",  # [hidden]
)

# Per transformer layer; "{i}" is the layer index from 0.
LAYER_NAME_TEMPLATES = (
    "bert/encoder/layer_{i}/attention/self/query/kernel",  # [hidden, hidden]
    "bert/encoder/layer_{i}/attention/self/query/bias",  # [hidden]
    "bert/encoder/layer_{i}/attention/self/key/kernel",
    "bert/encoder/layer_{i}/attention/self/key/bias",
    "bert/encoder/layer_{i}/attention/self/value/kernel",
    "bert/encoder/layer_{i}/attention/self/value/bias",
    "bert/encoder/layer_{i}/attention/output/dense/kernel",  # [hidden, hidden]
    "bert/encoder/layer_{i}/attention/output/dense/bias",
    "bert/encoder/layer_{i}/attention/output/LayerNorm/gamma",
    "bert/encoder/layer_{i}/attention/output/LayerNorm/beta",
    "bert/encoder/layer_{i}/intermediate/dense/kernel",  # [hidden, intermediate]
    "bert/encoder/layer_{i}/intermediate/dense/bias",  # [intermediate]
    "bert/encoder/layer_{i}/output/dense/kernel",  # [intermediate, hidden]
    "bert/encoder/layer_{i}/output/dense/bias",  # [hidden]
    "bert/encoder/layer_{i}/output/LayerNorm/gamma",
    "bert/encoder/layer_{i}/output/LayerNorm/beta",
)

POOLER_NAMES = (
    "bert/pooler/dense/kernel",  # [hidden, hidden]
    "bert/pooler/dense/bias",  # [hidden]
)

# Pretraining heads, as Google's checkpoints carry them. The masked-LM output projection is tied
# to bert/embeddings/word_embeddings, so only its bias is stored.
MASKED_LM_NAMES = (
    "cls/predictions/transform/dense/kernel",  # [hidden, hidden]
    "cls/predictions/transform/dense/bias",  # [hidden]
    "cls/predictions/transform/LayerNorm/gamma",
    "cls/predictions/transform/LayerNorm/beta",
    "cls/predictions/output_bias",  # [vocab_size]
)
NEXT_SENTENCE_NAMES = (
    "cls/seq_relationship/output_weights",  # [2, hidden]  (note: [out, in], as Google stores it)
    "cls/seq_relationship/output_bias",  # [2]
)


def encoder_weight_names(num_layers: int) -> list[str]:
    """All canonical names of a BERT encoder with ``num_layers`` transformer layers."""
    names = list(EMBEDDING_NAMES)
    for i in range(num_layers):
        names.extend(template.format(i=i) for template in LAYER_NAME_TEMPLATES)
    names.extend(POOLER_NAMES)
    return names


def pretraining_head_names() -> list[str]:
    """Canonical names of the masked-LM and next-sentence heads."""
    return list(MASKED_LM_NAMES) + list(NEXT_SENTENCE_NAMES)
