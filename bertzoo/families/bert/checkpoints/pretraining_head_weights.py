"""Google's ``cls/...`` pretraining-head weights <-> a ``BertPretrainer``'s heads.

Google stores the next-sentence kernel as ``output_weights`` ``[2, hidden]`` (out, in), so it is
transposed into the Keras ``Dense`` kernel ``[hidden, 2]``; the masked-LM output projection is
the word-embedding table, so only its bias is stored.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from bertzoo.families.bert.checkpoints.encoder_weights import WeightMismatchError
from bertzoo.families.bert.pretrained_bert import PretrainedBert
from bertzoo.families.bert.checkpoints.weight_names import MASKED_LM_NAMES, NEXT_SENTENCE_NAMES
from bertzoo.families.bert.bert_pretrainer import BertPretrainer


def _head_variables(pretrainer: BertPretrainer) -> dict[str, tuple]:
    """Canonical name -> (variable, transpose?) for the pretrainer's heads."""
    mlm = pretrainer.masked_lm_head
    variables = dict(zip(MASKED_LM_NAMES, (
        (mlm.transform.kernel, False), (mlm.transform.bias, False),
        (mlm.layer_norm.gamma, False), (mlm.layer_norm.beta, False), (mlm.output_bias, False)), strict=True))
    if pretrainer.next_sentence_head is not None:
        dense = pretrainer.next_sentence_head.dense
        variables.update(zip(NEXT_SENTENCE_NAMES, ((dense.kernel, True), (dense.bias, False)), strict=True))
    return variables


def assign_pretraining_head_weights(pretrainer: BertPretrainer, weights: Mapping[str, np.ndarray],
                                    source: str) -> list[str]:
    """Loads ``cls/...`` weights into the heads; returns the heads loaded ("masked_lm", "next_sentence").

    A head whose weights are all absent keeps its initialisation (e.g. a Hugging Face
    ``BertForMaskedLM`` has no next-sentence head); a head with some weights missing or wrongly
    shaped is an error naming them.
    """
    if not pretrainer.built:
        pretrainer.build()
    variables = _head_variables(pretrainer)
    groups = {"masked_lm": MASKED_LM_NAMES, "next_sentence": NEXT_SENTENCE_NAMES}
    loaded, problems = [], []
    for head, names in groups.items():
        names = [name for name in names if name in variables]
        present = [name for name in names if name in weights]
        if not present:
            continue
        loaded.append(head)
        for name in names:
            variable, transpose = variables[name]
            if name not in weights:
                problems.append(f"missing {name}")
                continue
            value = np.asarray(weights[name], np.float32)
            value = value.T if transpose else value
            if value.shape != tuple(variable.shape):
                problems.append(f"{name}: checkpoint {value.shape}, head expects {tuple(variable.shape)}")
    if problems:
        raise WeightMismatchError(f"{source}: cannot load the pretraining heads ({'; '.join(problems)})")
    for head in loaded:
        for name in groups[head]:
            if name in variables:
                variable, transpose = variables[name]
                value = np.asarray(weights[name], np.float32)
                variable.assign(value.T if transpose else value)
    return loaded


def read_pretraining_head_weights(pretrainer: BertPretrainer) -> dict[str, np.ndarray]:
    """The heads' weights under Google's ``cls/...`` names and layouts."""
    if not pretrainer.built:
        pretrainer.build()
    return {name: (np.asarray(variable.numpy(), np.float32).T if transpose
                   else np.asarray(variable.numpy(), np.float32))
            for name, (variable, transpose) in _head_variables(pretrainer).items()}


def pretrainer_from_pretrained(bert: PretrainedBert, next_sentence: bool = True) -> BertPretrainer:
    """A ``BertPretrainer`` on ``bert.encoder``, with the checkpoint's heads when it has them
    (randomly initialised heads otherwise, e.g. for Hugging Face ``BertModel`` exports)."""
    pretrainer = BertPretrainer(bert.encoder, next_sentence=next_sentence)
    pretrainer.build()
    if bert.pretraining_weights:
        assign_pretraining_head_weights(pretrainer, bert.pretraining_weights, source=bert.source)
    return pretrainer
