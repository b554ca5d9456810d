"""Export: TF Serving SavedModels on raw text, TF Hub-format encoders and preprocessors, and the
core-ops preprocessing and op audits that let a stock model server load them.

    from bertzoo.export import saved_model
    version_dir = saved_model("output/demo/model", "export/sentiment")   # export/sentiment/1

Public names resolve on first use, like the top-level package's.

Reads fine-tuned and pretrained models (models/, families/); never imports training or recipes.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "saved_model": "bertzoo.export.saved_model_export",
    "serving_module": "bertzoo.export.saved_model_export",
    "export_hub": "bertzoo.export.hub_format",
    "ClassificationServing": "bertzoo.export.classification_serving",
    "SquadServing": "bertzoo.export.squad_serving",
    "NerServing": "bertzoo.export.ner_serving",
    "CoreOpsTokenizer": "bertzoo.export.core_ops_tokenizer",
    "CorePreprocessor": "bertzoo.export.core_preprocessor",
    "assert_core_ops_only": "bertzoo.export.op_audit",
    "audit_core_ops": "bertzoo.export.op_audit",
    "read_warmup_requests": "bertzoo.export.warmup_requests",
    "export_generation": "bertzoo.export.gpt_generation_serving",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bertzoo.export' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
