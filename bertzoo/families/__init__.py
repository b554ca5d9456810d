"""Model families: one folder per family (``bert/``, ...) holding its config, network, tokenizer and
preprocessor, checkpoint formats, pretraining objective and catalogue entries; ``registry`` is how
loading finds them.

A family imports shared layers and text (``bertzoo.layers``, ``bertzoo.text``) and never heads,
models, training, export or recipes.
"""

from bertzoo.families.registry import (
    Family,
    Pretrained,
    UnknownCheckpointFormatError,
    detect_family,
    family_names,
    get_family,
    register_family,
)

__all__ = ["Family", "Pretrained", "UnknownCheckpointFormatError", "detect_family", "family_names", "get_family",
           "register_family"]
