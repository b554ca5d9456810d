"""Random canonical BERT weights with tiny dimensions, shared by the checkpoint tests."""

from __future__ import annotations

import numpy as np

from bertzoo.families.bert.checkpoints import weight_names


def random_canonical_weights(
    num_layers: int = 2,
    hidden: int = 8,
    intermediate: int = 16,
    vocab: int = 30,
    max_positions: int = 16,
    type_vocab: int = 2,
    heads: bool = True,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Every canonical weight of a tiny BERT, float32, with distinct random values.

    Args:
        num_layers: transformer layers.
        hidden: hidden size.
        intermediate: feed-forward size; keep it different from ``hidden`` so a missing or
            extra transpose changes a shape.
        vocab: vocabulary size.
        max_positions: position embedding rows.
        type_vocab: token type (segment) embedding rows.
        heads: include the masked-LM and next-sentence pretraining heads.
        seed: random seed.
    """
    shapes = {
        "bert/embeddings/word_embeddings": (vocab, hidden),
        "bert/embeddings/token_type_embeddings": (type_vocab, hidden),
        "bert/embeddings/position_embeddings": (max_positions, hidden),
        "cls/predictions/output_bias": (vocab,),
        "cls/seq_relationship/output_weights": (2, hidden),
        "cls/seq_relationship/output_bias": (2,),
    }
    names = weight_names.encoder_weight_names(num_layers)
    if heads:
        names += weight_names.pretraining_head_names()
    rng = np.random.default_rng(seed)
    weights = {}
    for name in names:
        if name in shapes:
            shape = shapes[name]
        elif name.endswith("intermediate/dense/kernel"):
            shape = (hidden, intermediate)
        elif name.endswith("intermediate/dense/bias"):
            shape = (intermediate,)
        elif name.endswith("output/dense/kernel") and "/attention/" not in name:
            shape = (intermediate, hidden)
        elif name.endswith("/kernel"):
            shape = (hidden, hidden)
        else:  # biases, LayerNorm gamma and beta
            shape = (hidden,)
        weights[name] = rng.normal(size=shape).astype(np.float32)
    return weights
