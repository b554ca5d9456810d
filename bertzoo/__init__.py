"""bertzoo: BERT and the models around it, for Keras 3 / TensorFlow.

    import bertzoo
    bert = bertzoo.load_pretrained("path/to/checkpoint", seq_length=128)
    outputs = bert.encoder(bert.preprocessor(["hello world"]))

Public names resolve on first use (PEP 562), so importing one submodule does not import them all.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "BertConfig": "bertzoo.config",
    "ConfigError": "bertzoo.config",
    "BertEncoder": "bertzoo.encoders.bert_encoder",
    "PretrainedBert": "bertzoo.io.pretrained",
    "detect_format": "bertzoo.io.pretrained",
    "load_pretrained": "bertzoo.io.pretrained",
    "save_pretrained": "bertzoo.io.pretrained",
    "BertPreprocessor": "bertzoo.text",
    "Vocabulary": "bertzoo.text",
    "WordPieceTokenizer": "bertzoo.text",
    "BertClassifier": "bertzoo.models.bert_classifier",
    "BertSpanLabeler": "bertzoo.models.bert_span_labeler",
    "BertTagger": "bertzoo.models.bert_tagger",
    "BertPretrainer": "bertzoo.models.bert_pretrainer",
    "FinetunedModel": "bertzoo.io.finetuned",
    "load_finetuned": "bertzoo.io.finetuned",
    "save_finetuned": "bertzoo.io.finetuned",
}
# Subpackages reachable as attributes after a plain `import bertzoo` (bertzoo.features.sentence_embeddings).
_SUBMODULES = ("export", "features")

__all__ = sorted(_EXPORTS) + list(_SUBMODULES)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"bertzoo.{name}")
    raise AttributeError(f"module 'bertzoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
