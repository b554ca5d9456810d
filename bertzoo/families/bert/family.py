"""BERT's registration with the family registry: how its directories are recognised and read."""

from bertzoo.families.bert.pretrained_bert import LOOKED_FOR, bert_format, load_bert, save_bert
from bertzoo.families.registry import Family

FAMILY = Family(name="bert", detect=bert_format, load=load_bert, save=save_bert, looked_for=LOOKED_FOR)
