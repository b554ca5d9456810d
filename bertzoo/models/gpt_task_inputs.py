"""GPT-1's input transformations (Radford et al. 2018, section 3.3; finetune-transformer-lm's
``transform_roc``): every task becomes one or more token sequences framed by the start, delimiter
and classify tokens, packed into ``[rows, sequences, seq_length]`` arrays.

- classification: ``[start] text [classify]``;
- entailment: ``[start] premise [delimiter] hypothesis [classify]``;
- similarity: both orders, ``[start] a [delimiter] b [classify]`` and ``[start] b [delimiter] a [classify]``
  (the task model sums their representations);
- multiple choice: one sequence per answer, ``[start] context [delimiter] answer [classify]``.

Parts are cut to share the room as the original does (each part of a pair to half of what the
framing leaves). Tokenization runs on the host (GPT-1's tokenizer is host-side).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

TRANSFORMATIONS = ("classification", "entailment", "similarity", "multiple_choice")


def _special_ids(tokenizer, config) -> tuple[int, int, int]:
    special = config.special_token_ids if config is not None else {}
    if special:
        return special["start"], special["delimiter"], special["classify"]
    for name in ("start_id", "delimiter_id", "classify_id"):
        if not hasattr(tokenizer, name):
            raise ValueError("GPT-1's input transformations need its start, delimiter and classify tokens; this "
                             "model has none (num_special_tokens is 0)")
    return tokenizer.start_id, tokenizer.delimiter_id, tokenizer.classify_id


def frame(parts: Sequence[Sequence[int]], seq_length: int, start: int, delimiter: int, classify: int) -> list[int]:
    """``[start] part1 [delimiter] part2 ... [classify]``, each part cut to an equal share of the room."""
    room = seq_length - 1 - len(parts)
    if room < len(parts):
        raise ValueError(f"seq_length {seq_length} leaves no room for {len(parts)} part(s) and the framing tokens")
    share = room // len(parts)
    ids = [start]
    for index, part in enumerate(parts):
        if index:
            ids.append(delimiter)
        ids += list(part)[:share]
    return ids + [classify]


def pack(rows: list[list[list[int]]], seq_length: int, pad_id: int = 0) -> dict[str, np.ndarray]:
    """Rows of sequences -> ``input_word_ids`` / ``input_mask`` ``[rows, sequences, seq_length]``."""
    count = len(rows[0]) if rows else 1
    word_ids = np.full((len(rows), count, seq_length), pad_id, np.int32)
    mask = np.zeros_like(word_ids)
    for r, sequences in enumerate(rows):
        if len(sequences) != count:
            raise ValueError(f"row {r} has {len(sequences)} sequences, the first row has {count}: multiple-choice "
                             "rows need the same number of choices")
        for s, ids in enumerate(sequences):
            word_ids[r, s, : len(ids)] = ids
            mask[r, s, : len(ids)] = 1
    return {"input_word_ids": word_ids, "input_mask": mask}


def transform(tokenizer, transformation: str, seq_length: int, *, texts: Sequence[str] | None = None,
              text_pairs: Sequence[str] | None = None, choices: Sequence[Sequence[str]] | None = None,
              config=None) -> dict[str, np.ndarray]:
    """Encodes a task's examples with GPT-1's transformation (see the module docstring).

    Args:
        tokenizer: GPT-1's (or any tokenizer with ``encode``; special ids from ``config`` or it).
        transformation: one of ``TRANSFORMATIONS``.
        texts: the texts, premises, first sentences or contexts.
        text_pairs: hypotheses or second sentences (entailment, similarity).
        choices: per row, its candidate answers (multiple choice).
        config: the model's ``GPTConfig`` (its special token ids).
    """
    if transformation not in TRANSFORMATIONS:
        raise ValueError(f"transformation must be one of {TRANSFORMATIONS}, got {transformation!r}")
    start, delimiter, classify = _special_ids(tokenizer, config)
    texts = list(texts or [])
    encoded = [tokenizer.encode(text) for text in texts]
    if transformation in ("entailment", "similarity"):
        if text_pairs is None or len(text_pairs) != len(texts):
            raise ValueError(f"{transformation} needs text_pairs, one per text")
        second = [tokenizer.encode(text) for text in text_pairs]
    rows = []
    for index, first in enumerate(encoded):
        if transformation == "classification":
            rows.append([frame([first], seq_length, start, delimiter, classify)])
        elif transformation == "entailment":
            rows.append([frame([first, second[index]], seq_length, start, delimiter, classify)])
        elif transformation == "similarity":
            rows.append([frame([first, second[index]], seq_length, start, delimiter, classify),
                         frame([second[index], first], seq_length, start, delimiter, classify)])
        else:
            if choices is None or len(choices) != len(texts):
                raise ValueError("multiple_choice needs choices, a list of answers per text")
            rows.append([frame([first, tokenizer.encode(answer)], seq_length, start, delimiter, classify)
                         for answer in choices[index]])
    return pack(rows, seq_length)
