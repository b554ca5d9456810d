"""Corpus BLEU as the field reports it: sacrebleu itself (13a tokenization, exponential smoothing off,
one reference per sentence), so a bertzoo figure is a sacrebleu figure with its signature."""

from __future__ import annotations

from typing import Sequence


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], *, tokenize: str = "13a",
                lowercase: bool = False) -> dict:
    """BLEU of detokenized ``hypotheses`` against one detokenized reference each.

    Returns:
        ``{"bleu": score (0-100), "signature": sacrebleu's signature, "precisions": [p1..p4],
        "brevity_penalty", "hypothesis_length", "reference_length"}``.
    """
    import sacrebleu

    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references; one reference per "
                         f"hypothesis is expected")
    for which, texts in (("hypothesis", hypotheses), ("reference", references)):
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"{which} {index} is a {type(text).__name__}, not a str")
    metric = sacrebleu.metrics.BLEU(tokenize=tokenize, lowercase=lowercase)
    score = metric.corpus_score(hypotheses, [references])
    return {"bleu": score.score, "signature": str(metric.get_signature()), "precisions": list(score.precisions),
            "brevity_penalty": score.bp, "hypothesis_length": score.sys_len, "reference_length": score.ref_len}
