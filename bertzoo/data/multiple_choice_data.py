"""SWAG-style multiple-choice files -> (contexts, endings, labels)."""

from __future__ import annotations

import csv
import dataclasses
import os
import pathlib

import numpy as np

SWAG_ENDINGS = ("ending0", "ending1", "ending2", "ending3")


@dataclasses.dataclass
class MultipleChoiceData:
    """``contexts`` (n strings), ``endings`` (``[n, num_choices]`` strings) and ``labels`` (n ints, or None)."""

    contexts: list[str]
    endings: np.ndarray
    labels: np.ndarray | None

    def __len__(self) -> int:
        return len(self.contexts)


def read_swag(path: str | os.PathLike, *, context_column: str = "sent1", ending_prefix_column: str | None = "sent2",
              ending_columns: tuple[str, ...] = SWAG_ENDINGS, label_column: str = "label") -> MultipleChoiceData:
    """Reads a SWAG CSV (columns ``sent1``, ``sent2``, ``ending0..3``, ``label``).

    As the BERT paper's SWAG setup (and the SWAG authors' baseline), each candidate is the start of
    the second sentence followed by an ending: ``sent2 + " " + ending_i``, paired with ``sent1``.
    ``label`` may be missing (test files); an empty ``ending_prefix_column`` name uses the endings alone.
    """
    path = pathlib.Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        needed = [context_column, *ending_columns] + ([ending_prefix_column] if ending_prefix_column else [])
        missing = [name for name in needed if name not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; the header has {header}")
        has_labels = label_column in header
        contexts, endings, labels = [], [], []
        for number, row in enumerate(reader, start=2):
            prefix = (row[ending_prefix_column] or "").strip() if ending_prefix_column else ""
            contexts.append(row[context_column] or "")
            endings.append([f"{prefix} {row[name] or ''}".strip() for name in ending_columns])
            if has_labels:
                value = (row[label_column] or "").strip()
                if not value.isdigit() or int(value) >= len(ending_columns):
                    raise ValueError(f"{path}, line {number}: column {label_column!r} should be an ending index "
                                     f"0..{len(ending_columns) - 1}, got {value!r}")
                labels.append(int(value))
    if not contexts:
        raise ValueError(f"{path}: no rows")
    return MultipleChoiceData(contexts, np.asarray(endings, dtype=object).astype(str),
                              np.asarray(labels, np.int32) if has_labels else None)
