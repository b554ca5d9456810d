"""Task models: an encoder (any family) plus a head, trainable as one keras.Model; the Keras task
API on raw strings (``TextClassifier``, ``MultipleChoice``: preprocessor attached, ``fit``/``predict``
on strings); bertzoo's fine-tuning defaults; and the fine-tuned directory format that saves them.
May import families, heads, layers and ``training.optimization`` (the default optimizer); never
the rest of training, export or recipes."""

from bertzoo.models.bert_classifier import BertClassifier
from bertzoo.models.bert_multiple_choice import BertMultipleChoice
from bertzoo.models.bert_span_labeler import BertSpanLabeler
from bertzoo.models.bert_tagger import BertTagger
from bertzoo.models.multiple_choice import MultipleChoice
from bertzoo.models.text_classifier import TextClassifier

# GPT-1's versions of the tasks (TextClassifier / MultipleChoice.from_pretrained on a GPT-1 model),
# imported with the package so that keras.saving.load_model finds their registered classes.
from bertzoo.models import gpt_tasks  # noqa: E402,F401  isort: skip

__all__ = ["BertClassifier", "BertMultipleChoice", "BertSpanLabeler", "BertTagger", "MultipleChoice",
           "TextClassifier"]
