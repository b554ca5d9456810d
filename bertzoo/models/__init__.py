"""Task models: an encoder (any family) plus a head, trainable as one keras.Model, and the
fine-tuned directory format that saves them. May import families, heads and layers; never training,
export or recipes."""

from bertzoo.models.bert_classifier import BertClassifier
from bertzoo.models.bert_span_labeler import BertSpanLabeler
from bertzoo.models.bert_tagger import BertTagger

__all__ = ["BertClassifier", "BertSpanLabeler", "BertTagger"]
