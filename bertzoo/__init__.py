"""bertzoo: BERT and the models around it, for Keras 3 / TensorFlow.

    import bertzoo
    bert = bertzoo.load_pretrained("bert-base-uncased", seq_length=128)   # or a directory, hf://..., ...
    outputs = bert.encoder(bert.preprocessor(["hello world"]))

Public names resolve on first use (PEP 562), so importing one submodule does not import them all.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "BertConfig": "bertzoo.families.bert.bert_config",
    "ConfigError": "bertzoo.errors",
    "BertEncoder": "bertzoo.families.bert.bert_encoder",
    "PretrainedBert": "bertzoo.families.bert.pretrained_bert",
    "Pretrained": "bertzoo.families.registry",
    "detect_format": "bertzoo.pretrained",
    "load_pretrained": "bertzoo.pretrained",
    "save_pretrained": "bertzoo.pretrained",
    "BertPreprocessor": "bertzoo.families.bert.bert_preprocessor",
    "Vocabulary": "bertzoo.text.vocabulary",
    "WordPieceTokenizer": "bertzoo.families.bert.wordpiece_tokenizer",
    "BertClassifier": "bertzoo.models.bert_classifier",
    "BertSpanLabeler": "bertzoo.models.bert_span_labeler",
    "BertTagger": "bertzoo.models.bert_tagger",
    "BertMultipleChoice": "bertzoo.models.bert_multiple_choice",
    "TextClassifier": "bertzoo.models.text_classifier",
    "MultipleChoice": "bertzoo.models.multiple_choice",
    "SpanQuestionAnswerer": "bertzoo.models.span_question_answerer",
    "TokenTagger": "bertzoo.models.token_tagger",
    "BertPretrainer": "bertzoo.families.bert.bert_pretrainer",
    "FinetunedModel": "bertzoo.models.finetuned",
    "load_finetuned": "bertzoo.models.finetuned",
    "save_finetuned": "bertzoo.models.finetuned",
    "register_family": "bertzoo.families.registry",
    "PretrainedWordVectors": "bertzoo.families.word_vectors.pretrained_word_vectors",
    "VectorTable": "bertzoo.families.word_vectors.vector_table",
    "WordVectorEncoder": "bertzoo.families.word_vectors.word_vector_encoder",
    "GPTConfig": "bertzoo.families.gpt.gpt_config",
    "GPTDecoder": "bertzoo.families.gpt.gpt_decoder",
    "PretrainedGPT": "bertzoo.families.gpt.pretrained_gpt",
    "GPTGenerator": "bertzoo.families.gpt.gpt_generation",
    "download": "bertzoo.hub.download",
    "register_model": "bertzoo.hub.catalogue",
    "TransformerConfig": "bertzoo.families.transformer.transformer_config",
    "TransformerEncoder": "bertzoo.families.transformer.transformer_encoder",
    "TransformerSeq2Seq": "bertzoo.families.transformer.transformer_seq2seq",
    "PretrainedTransformer": "bertzoo.families.transformer.pretrained_transformer",
}
# Subpackages reachable as attributes after a plain `import bertzoo` (bertzoo.features.sentence_embeddings).
_SUBMODULES = ("export", "features", "hub")

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
