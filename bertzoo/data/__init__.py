"""Data: files -> tf.data of (inputs, labels): pretraining data, classification files, SQuAD, CoNLL.

Reads files and tokenizes with a family's tokenizer; never imports models, training, export or recipes.
"""

from bertzoo.data.batching import batched_dataset
from bertzoo.data.pretraining_data import (
    MaskedLMMasker,
    create_masked_lm_predictions,
    create_pretraining_tfrecords,
    pretraining_dataset,
    shard_paths,
    validate_tfrecords,
)
from bertzoo.data.squad import (
    SquadExample,
    convert_examples_to_features,
    decode_predictions,
    features_to_dataset,
    read_squad_examples,
    squad_example_from_text,
)
from bertzoo.data.tagging_data import decode_tags, encode_tagged_sentences, entities_with_offsets, tagging_dataset
from bertzoo.data.task_readers import ConllSentence, TextClassificationData, read_conll, read_text_classification
from bertzoo.data.text_classification_data import encode_texts, text_classification_dataset

__all__ = [
    "ConllSentence",
    "MaskedLMMasker",
    "SquadExample",
    "TextClassificationData",
    "batched_dataset",
    "convert_examples_to_features",
    "decode_predictions",
    "decode_tags",
    "encode_tagged_sentences",
    "encode_texts",
    "entities_with_offsets",
    "features_to_dataset",
    "read_conll",
    "read_squad_examples",
    "read_text_classification",
    "squad_example_from_text",
    "tagging_dataset",
    "text_classification_dataset",
    "create_masked_lm_predictions",
    "create_pretraining_tfrecords",
    "pretraining_dataset",
    "shard_paths",
    "validate_tfrecords",
]
