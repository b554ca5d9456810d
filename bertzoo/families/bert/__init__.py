"""BERT's enclosure: everything specific to BERT.

- ``bert_config``: ``BertConfig`` (presets, Google and Hugging Face config files);
- ``bert_encoder``, ``bert_embeddings``: the encoder meeting the contract (shared blocks from
  ``bertzoo.layers``);
- ``wordpiece_tokenizer``, ``bert_preprocessor``: Google-exact WordPiece and [CLS]/[SEP] packing;
- ``checkpoints/``: one module per checkpoint format (Google, Hugging Face, KerasHub, TF Hub, bertzoo);
- ``pretrained_bert``: the bundle and its loader; ``family``: the registry entry;
- ``bert_pretrainer``, ``masked_lm_head``, ``next_sentence_head``: the pretraining objective.

Imports only shared layers and text (``bertzoo.layers``, ``bertzoo.text``, ``bertzoo.errors``);
never heads, models, training, export or recipes.
"""

from bertzoo.families.bert.bert_config import BertConfig
from bertzoo.families.bert.bert_encoder import BertEncoder
from bertzoo.families.bert.bert_preprocessor import BertPreprocessor
from bertzoo.families.bert.pretrained_bert import PretrainedBert, load_bert, save_bert
from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer

__all__ = ["BertConfig", "BertEncoder", "BertPreprocessor", "PretrainedBert", "WordPieceTokenizer", "load_bert",
           "save_bert"]
