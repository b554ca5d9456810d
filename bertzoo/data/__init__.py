"""bertzoo/data: files -> tf.data of (inputs, labels)."""

from bertzoo.data.pretraining_data import (
    MaskedLMMasker,
    create_masked_lm_predictions,
    create_pretraining_tfrecords,
    pretraining_dataset,
    shard_paths,
    validate_tfrecords,
)

__all__ = [
    "MaskedLMMasker",
    "create_masked_lm_predictions",
    "create_pretraining_tfrecords",
    "pretraining_dataset",
    "shard_paths",
    "validate_tfrecords",
]
