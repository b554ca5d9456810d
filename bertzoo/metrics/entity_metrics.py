"""Entity-level precision, recall and F1 for tagging tasks (CoNLL-2003 NER), as conlleval counts.

The published CoNLL NER numbers come from the `conlleval` Perl script; `seqeval`'s default
(non-strict) mode ports its chunk rules. Both score *entities*, not tokens: an entity counts as
correct only when its type, first token and last token all match. Ill-formed tag sequences are
read leniently, as those tools read them:

- `I-X` after `O`, or after a tag of another type, starts a new entity (so IOB1 files, where
  `I-` opens an entity and `B-` only separates two adjacent entities of one type, are read
  correctly with the same rules);
- a change of type always ends the previous entity (`B-PER I-LOC` is two entities);
- IOBES tags (`E-`, `S-`) end entities as those tools end them.

A tag is split into its prefix (the first character) and its type (what follows the first `-`,
or `_` when there is none), as seqeval does.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

__all__ = ["Entity", "entity_scores", "extract_entities"]


class Entity(NamedTuple):
    """One entity: its type and the token span `[start, end)` (end exclusive)."""

    type: str
    start: int
    end: int


def _split_tag(tag: str) -> tuple[str, str]:
    """Splits `B-PER` into (`B`, `PER`); `O` -> (`O`, `_`), as seqeval's default mode."""
    if not tag:
        raise ValueError("Empty tag in a tag sequence.")
    return tag[0], tag[1:].split("-", maxsplit=1)[-1] or "_"


def _ends_entity(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    """Whether an entity ends between the previous token and this one (conlleval's endOfChunk)."""
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", "O"):
        return True
    return prev_prefix not in ("O", ".") and prev_type != type_


def _starts_entity(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    """Whether an entity starts at this token (conlleval's startOfChunk)."""
    if prefix in ("B", "S"):
        return True
    if prev_prefix in ("E", "S", "O") and prefix in ("E", "I"):
        return True
    return prefix not in ("O", ".") and prev_type != type_


def _extract_flat(tags: Sequence[str]) -> list[Entity]:
    """Entities of one flat tag sequence, by the exact state machine of seqeval/conlleval.

    Processing starts in state (`O`, type "") and a final `O` closes the last entity.
    """
    prev_prefix, prev_type = "O", ""
    begin = 0
    entities = []
    for index, tag in enumerate(list(tags) + ["O"]):
        prefix, type_ = _split_tag(tag)
        if _ends_entity(prev_prefix, prefix, prev_type, type_):
            entities.append(Entity(prev_type, begin, index))
        if _starts_entity(prev_prefix, prefix, prev_type, type_):
            begin = index
        prev_prefix, prev_type = prefix, type_
    return entities


def extract_entities(tags: Sequence[str]) -> list[Entity]:
    """The entities in one sentence's tag sequence (BIO/IOB2, IOB1 or IOBES).

    Args:
        tags: one tag per token, e.g. `["B-PER", "I-PER", "O", "I-LOC"]`.

    Returns:
        The entities in order, e.g. `[Entity("PER", 0, 2), Entity("LOC", 3, 4)]`.

    Example:
        >>> extract_entities(["O", "I-PER", "B-LOC", "I-MISC"])
        [Entity(type='PER', start=1, end=2), Entity(type='LOC', start=2, end=3), \
Entity(type='MISC', start=3, end=4)]
    """
    return _extract_flat(tags)


def _corpus_entities(sequences: Sequence[Sequence[str]]) -> dict[str, set[tuple[int, int]]]:
    """Entities of a corpus, keyed by type, as (start, end) in the corpus-wide token offsets.

    Sentences are joined with an `O` after each (as seqeval joins them), so no entity crosses a
    sentence boundary and the state carried into a sentence is exactly seqeval's.
    """
    flat: list[str] = []
    for sentence in sequences:
        flat.extend(sentence)
        flat.append("O")
    by_type: dict[str, set[tuple[int, int]]] = {}
    for entity in _extract_flat(flat):
        by_type.setdefault(entity.type, set()).add((entity.start, entity.end))
    return by_type


def _precision_recall_f1(num_correct: int, num_predicted: int, num_true: int) -> tuple[float, float, float]:
    """P, R and F1 with 0 for an empty denominator, in seqeval's order of float operations."""
    precision = num_correct / num_predicted if num_predicted else 0.0
    recall = num_correct / num_true if num_true else 0.0
    denominator = precision + recall
    f1 = 2.0 * precision * recall / (denominator if denominator else 1.0)
    return precision, recall, f1


def entity_scores(
    true_sequences: Sequence[Sequence[str]], pred_sequences: Sequence[Sequence[str]]
) -> dict:
    """Micro-averaged entity precision/recall/F1 and the same per entity type.

    Equals conlleval's figures (as fractions, not percentages) and `seqeval.metrics` in its
    default mode (`precision_score`, `recall_score`, `f1_score`, `classification_report`).

    Args:
        true_sequences: gold tags, one list of tags per sentence.
        pred_sequences: predicted tags, the same shape.

    Returns:
        `{"precision", "recall", "f1", "per_type": {type: {"precision", "recall", "f1",
        "support"}}}`, where `support` is the number of gold entities of that type; types are
        every type seen in gold or predicted tags, sorted.

    Example:
        >>> entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "B-LOC"]])["precision"]
        0.5
    """
    if len(true_sequences) != len(pred_sequences):
        raise ValueError(
            f"Got {len(true_sequences)} gold sentences but {len(pred_sequences)} predicted."
        )
    for index, (true_tags, pred_tags) in enumerate(zip(true_sequences, pred_sequences)):
        if len(true_tags) != len(pred_tags):
            raise ValueError(
                f"Sentence {index} has {len(true_tags)} gold tags but {len(pred_tags)} predicted."
            )
    true_entities = _corpus_entities(true_sequences)
    pred_entities = _corpus_entities(pred_sequences)
    per_type = {}
    total_correct = total_predicted = total_true = 0
    for type_ in sorted(set(true_entities) | set(pred_entities)):
        gold = true_entities.get(type_, set())
        predicted = pred_entities.get(type_, set())
        num_correct = len(gold & predicted)
        precision, recall, f1 = _precision_recall_f1(num_correct, len(predicted), len(gold))
        per_type[type_] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": len(gold),
        }
        total_correct += num_correct
        total_predicted += len(predicted)
        total_true += len(gold)
    precision, recall, f1 = _precision_recall_f1(total_correct, total_predicted, total_true)
    return {"precision": precision, "recall": recall, "f1": f1, "per_type": per_type}
