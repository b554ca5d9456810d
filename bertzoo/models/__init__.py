"""Models: an encoder plus head(s), trainable as one keras.Model."""

from bertzoo.models.bert_classifier import BertClassifier
from bertzoo.models.bert_pretrainer import BertPretrainer
from bertzoo.models.bert_span_labeler import BertSpanLabeler
from bertzoo.models.bert_tagger import BertTagger

__all__ = ["BertClassifier", "BertPretrainer", "BertSpanLabeler", "BertTagger"]
