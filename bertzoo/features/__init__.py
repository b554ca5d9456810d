"""Feature extraction the ELMo way: contextual vectors per sentence or per word from any layer.

    import bertzoo.features
    vectors = bertzoo.features.sentence_embeddings(bert, texts, pooling="mean", normalize=True)
    words = bertzoo.features.word_embeddings(bert, texts, strategy="concat_last_four", word_pooling="first")

Layer strategies (``layer_strategies``), the learned ``ScalarMix``, in-graph pooling (``pooling``)
and batched, windowed extraction (``extraction``); ``bertzoo features`` writes them to disk.

Works on any family's encoder through the contract; never imports training, export or recipes.
"""

from bertzoo.features.extraction import (
    Windows,
    WordVectors,
    default_stride,
    document_windows,
    iter_sentence_embeddings,
    iter_word_embeddings,
    sentence_embeddings,
    word_embeddings,
)
from bertzoo.features.layer_strategies import LAYER_STRATEGIES, LayerStrategy, combine_layers, parse_layer_strategy
from bertzoo.features.pooling import SENTENCE_POOLING, WORD_POOLING, l2_normalize, pool_sentence, pool_words
from bertzoo.layers.scalar_mix import ScalarMix

__all__ = [
    "LAYER_STRATEGIES",
    "LayerStrategy",
    "SENTENCE_POOLING",
    "ScalarMix",
    "WORD_POOLING",
    "Windows",
    "WordVectors",
    "combine_layers",
    "default_stride",
    "document_windows",
    "iter_sentence_embeddings",
    "iter_word_embeddings",
    "l2_normalize",
    "parse_layer_strategy",
    "pool_sentence",
    "pool_words",
    "sentence_embeddings",
    "word_embeddings",
]
