"""Readers for fine-tuning data: sentence(-pair) classification files and CoNLL tagging files.

Files are read the way the benchmark's own code reads them, because the published numbers depend
on it: GLUE's TSV files are read with `csv.QUOTE_NONE` (a `"` inside a sentence is text, not a
quote), as GLUE's and google-research/bert's `_read_tsv` do. A malformed row raises `ValueError`
naming the file, the line and what was expected, rather than being skipped silently.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from typing import Any, Iterator, Sequence

import numpy as np

__all__ = [
    "ConllSentence",
    "TextClassificationData",
    "read_conll",
    "read_text_classification",
]

Column = str | int


@dataclasses.dataclass
class TextClassificationData:
    """Examples of a sentence or sentence-pair task.

    Attributes:
        texts: the first text of each example.
        text_pairs: the second text of each example, or None for single-sentence tasks.
        labels: None when the file has no labels (a test split); else int64 class ids `[n]`,
            float32 scores `[n]` for regression, or float32 multi-hot vectors
            `[n, len(label_names)]` for multilabel tasks.
        label_names: the class names, index = class id; None for regression.
    """

    texts: list[str]
    text_pairs: list[str] | None
    labels: np.ndarray | None
    label_names: list[str] | None


@dataclasses.dataclass
class ConllSentence:
    """One sentence of a CoNLL file: its words and their tags (e.g. `B-PER`)."""

    words: list[str]
    labels: list[str]


def _sort_label_names(names: set[str]) -> list[str]:
    """Sorted label names; numerically when every name is an integer ("2" before "10")."""
    try:
        return sorted(names, key=int)
    except ValueError:
        return sorted(names)


def _guess_format(path: str, delimiter: str | None) -> str:
    """Returns "jsonl", or the field delimiter for a CSV/TSV file."""
    extension = os.path.splitext(path)[1].lower()
    if extension == ".jsonl":
        return "jsonl"
    if delimiter is not None:
        return delimiter
    if extension == ".tsv":
        return "\t"
    if extension == ".csv":
        return ","
    raise ValueError(
        f"{path}: cannot tell the format from the extension {extension!r}; use .tsv, .csv or "
        f".jsonl, or pass delimiter=."
    )


def _delimited_rows(
    path: str, delimiter: str, has_header: bool
) -> tuple[list[str] | None, Iterator[tuple[int, list[str]]]]:
    """The header (or None) and an iterator of (line number, fields) for a CSV/TSV file.

    Tab-separated files are read with `csv.QUOTE_NONE`, as GLUE distributes and reads them;
    other delimiters use standard CSV quoting. Blank rows are skipped.
    """
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    handle = open(path, encoding="utf-8", newline="")
    reader = csv.reader(handle, delimiter=delimiter, quoting=quoting)
    header = None
    if has_header:
        header = next(reader, None)
        if header is None:
            handle.close()
            raise ValueError(f"{path}: the file is empty, expected a header row.")

    def rows() -> Iterator[tuple[int, list[str]]]:
        with handle:
            start_line = reader.line_num + 1
            for fields in reader:
                if fields:
                    yield start_line, fields
                start_line = reader.line_num + 1

    return header, rows()


def _column_index(path: str, column: Column, role: str, header: list[str] | None,
                  num_fields: int) -> int:
    """Resolves a column name or index to an index, or raises a ValueError listing the columns."""
    if isinstance(column, int) and not isinstance(column, bool):
        index = column if column >= 0 else num_fields + column
        if not 0 <= index < num_fields:
            raise ValueError(
                f"{path}: {role} {column} does not exist; rows have {num_fields} fields."
            )
        return index
    if header is None:
        raise ValueError(
            f"{path}: {role} {column!r} is a name but the file has no header "
            f"(has_header=False); give the column as an integer index."
        )
    if column not in header:
        raise ValueError(
            f"{path}: {role} {column!r} does not exist; columns found: {header}."
        )
    return header.index(column)


def _read_delimited(
    path: str, delimiter: str, has_header: bool, columns: dict[str, Column]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yields (line number, {role: field}) for each row of a CSV/TSV file."""
    header, rows = _delimited_rows(path, delimiter, has_header)
    indices: dict[str, int] | None = None
    num_fields = len(header) if header is not None else None
    for line_number, fields in rows:
        if num_fields is None:
            num_fields = len(fields)  # a header-less file: the first row sets the width
        if len(fields) != num_fields:
            raise ValueError(
                f"{path}, line {line_number}: expected {num_fields} fields separated by "
                f"{delimiter!r}, found {len(fields)}."
            )
        if indices is None:
            indices = {
                role: _column_index(path, column, role, header, num_fields)
                for role, column in columns.items()
            }
        yield line_number, {role: fields[index] for role, index in indices.items()}
    if indices is None and header is not None:
        # No rows: still report a column that does not exist.
        for role, column in columns.items():
            _column_index(path, column, role, header, len(header))


def _read_jsonl(path: str, columns: dict[str, Column]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yields (line number, {role: value}) for each JSON object of a JSON-lines file."""
    for role, column in columns.items():
        if not isinstance(column, str):
            raise ValueError(
                f"{path}: {role} must be a key name in a .jsonl file, got {column!r}."
            )
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}, line {line_number}: invalid JSON: {error}.") from None
            if not isinstance(record, dict):
                raise ValueError(
                    f"{path}, line {line_number}: expected a JSON object, found "
                    f"{type(record).__name__}."
                )
            values = {}
            for role, column in columns.items():
                if column not in record:
                    raise ValueError(
                        f"{path}, line {line_number}: {role} {column!r} does not exist; "
                        f"columns found: {sorted(record)}."
                    )
                values[role] = record[column]
            yield line_number, values


def _label_strings(value: Any, multilabel: bool, label_separator: str) -> list[str]:
    """The label(s) of one row as strings: one for single-label, any number for multilabel."""
    if multilabel:
        if isinstance(value, list):
            parts = [str(part) for part in value]
        else:
            parts = str(value).split(label_separator)
        return [part.strip() for part in parts if part.strip()]
    return [str(value)]


def read_text_classification(
    path: str | os.PathLike,
    *,
    text_column: Column,
    text_pair_column: Column | None = None,
    label_column: Column | None = None,
    label_names: Sequence[str] | None = None,
    delimiter: str | None = None,
    has_header: bool = True,
    regression: bool = False,
    multilabel: bool = False,
    label_separator: str = ",",
) -> TextClassificationData:
    """Reads a sentence or sentence-pair classification (or regression) file.

    CSV, TSV and JSON-lines files are supported. TSV is read as GLUE reads it (no quoting), so
    GLUE's files work as distributed, e.g. SST-2 `train.tsv` with `text_column="sentence",
    label_column="label"`, or CoLA's header-less `train.tsv` with `has_header=False,
    text_column=3, label_column=1`.

    Args:
        path: the file; its extension picks the format (.tsv, .csv, .jsonl) unless `delimiter`
            is given.
        text_column: the first text: a header name (a key for .jsonl), or an integer index.
        text_pair_column: the second text of a pair task, or None.
        label_column: the label, or None for unlabeled files (test splits).
        label_names: the allowed labels, index = class id; None collects them from the data
            and sorts them (numerically when all are integers).
        delimiter: the field separator; None picks tab for .tsv and comma for .csv.
        has_header: whether the first CSV/TSV row names the columns.
        regression: labels are numbers (STS-B) and come back as float32.
        multilabel: each label field holds several labels separated by `label_separator` (or
            a JSON list), returned as multi-hot float32 vectors.
        label_separator: separator of the labels of one multilabel field.

    Returns:
        A `TextClassificationData`.

    Raises:
        ValueError: naming the file (and line) for a column that does not exist, a row with the
            wrong number of fields, a label outside `label_names`, a non-numeric regression
            label, or a text that is not a string.

    Example:
        >>> data = read_text_classification("glue/SST-2/dev.tsv", text_column="sentence",
        ...                                 label_column="label")  # doctest: +SKIP
    """
    path = os.fspath(path)
    if regression and multilabel:
        raise ValueError("regression and multilabel cannot both be set.")
    columns: dict[str, Column] = {"text column": text_column}
    if text_pair_column is not None:
        columns["text pair column"] = text_pair_column
    if label_column is not None:
        columns["label column"] = label_column

    file_format = _guess_format(path, delimiter)
    if file_format == "jsonl":
        rows = _read_jsonl(path, columns)
    else:
        rows = _read_delimited(path, file_format, has_header, columns)

    texts: list[str] = []
    text_pairs: list[str] | None = [] if text_pair_column is not None else None
    raw_labels: list[tuple[int, Any]] = []
    for line_number, values in rows:
        for role in ("text column", "text pair column"):
            if role in values and not isinstance(values[role], str):
                raise ValueError(
                    f"{path}, line {line_number}: expected a string in {role} "
                    f"{columns[role]!r}, found {values[role]!r}."
                )
        texts.append(values["text column"])
        if text_pairs is not None:
            text_pairs.append(values["text pair column"])
        if label_column is not None:
            raw_labels.append((line_number, values["label column"]))

    if label_column is None:
        names = list(label_names) if label_names is not None else None
        return TextClassificationData(texts, text_pairs, None, None if regression else names)

    if regression:
        scores = np.empty(len(raw_labels), dtype=np.float32)
        for index, (line_number, value) in enumerate(raw_labels):
            try:
                if isinstance(value, bool):
                    raise ValueError
                scores[index] = float(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{path}, line {line_number}: expected a numeric regression label, "
                    f"found {value!r}."
                ) from None
        return TextClassificationData(texts, text_pairs, scores, None)

    row_labels = [
        (line_number, _label_strings(value, multilabel, label_separator))
        for line_number, value in raw_labels
    ]
    if label_names is None:
        names = _sort_label_names({label for _, labels in row_labels for label in labels})
    else:
        names = [str(name) for name in label_names]
    label_ids = {name: index for index, name in enumerate(names)}
    for line_number, labels in row_labels:
        for label in labels:
            if label not in label_ids:
                raise ValueError(
                    f"{path}, line {line_number}: label {label!r} is not in the label set "
                    f"{names}."
                )
    if multilabel:
        multi_hot = np.zeros((len(row_labels), len(names)), dtype=np.float32)
        for row, (_, labels) in enumerate(row_labels):
            multi_hot[row, [label_ids[label] for label in labels]] = 1.0
        return TextClassificationData(texts, text_pairs, multi_hot, names)
    ids = np.asarray([label_ids[labels[0]] for _, labels in row_labels], dtype=np.int64)
    return TextClassificationData(texts, text_pairs, ids, names)


def read_conll(
    path: str | os.PathLike,
    *,
    word_column: int = 0,
    label_column: int = -1,
    expected_columns: int | None = None,
    document_separator: str | None = "-DOCSTART-",
) -> list[ConllSentence]:
    """Reads a CoNLL-2003 style tagging file into sentences.

    One token per line, its columns separated by whitespace (CoNLL-2003: word, POS tag, chunk
    tag, NER tag); a blank line ends a sentence; lines whose first column is
    `document_separator` (`-DOCSTART- -X- -X- O`) are skipped and also end a sentence.

    Args:
        path: the file.
        word_column: index of the word column.
        label_column: index of the tag column (-1: the last).
        expected_columns: number of columns every token line must have; None takes it from the
            first token line.
        document_separator: first column of document-boundary lines, or None for none.

    Returns:
        The sentences in file order (empty sentences are never returned).

    Raises:
        ValueError: naming the file and line for a line with the wrong number of columns, or a
            word/label column outside the columns.
    """
    path = os.fspath(path)
    sentences: list[ConllSentence] = []
    words: list[str] = []
    labels: list[str] = []
    num_columns = expected_columns

    def end_sentence() -> None:
        if words:
            sentences.append(ConllSentence(list(words), list(labels)))
            words.clear()
            labels.clear()

    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                end_sentence()
                continue
            if document_separator is not None and fields[0] == document_separator:
                end_sentence()
                continue
            if num_columns is None:
                num_columns = len(fields)
            if len(fields) != num_columns:
                raise ValueError(
                    f"{path}, line {line_number}: expected {num_columns} whitespace-separated "
                    f"columns, found {len(fields)}: {line.rstrip()!r}."
                )
            for role, column in (("word column", word_column), ("label column", label_column)):
                if not -num_columns <= column < num_columns:
                    raise ValueError(
                        f"{path}, line {line_number}: {role} {column} does not exist; lines "
                        f"have {num_columns} columns."
                    )
            words.append(fields[word_column])
            labels.append(fields[label_column])
    end_sentence()
    return sentences
