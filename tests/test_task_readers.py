"""Readers for classification and CoNLL files: GLUE's reading of TSV, and clear errors."""

import csv
import json

import numpy as np
import pytest

from bertzoo.data.task_readers import ConllSentence, read_conll, read_text_classification


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_glue_tsv_quotes_are_text(tmp_path):
    # MRPC-style: quotes that a default CSV reader would treat as quoting (and merge lines).
    text = (
        "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
        '1\t1\t2\t"He said "hi" to me\tShe said "bye\n'
        '0\t3\t4\tAn unbalanced " quote\tplain\n'
    )
    path = _write(tmp_path, "train.tsv", text)
    data = read_text_classification(
        path, text_column="#1 String", text_pair_column="#2 String", label_column="Quality"
    )
    assert data.texts == ['"He said "hi" to me', 'An unbalanced " quote']
    assert data.text_pairs == ['She said "bye', "plain"]
    assert data.label_names == ["0", "1"]
    np.testing.assert_array_equal(data.labels, [1, 0])
    # The same as GLUE's / google-research/bert's _read_tsv.
    with open(path, encoding="utf-8") as f:
        glue_rows = list(csv.reader(f, delimiter="\t", quotechar=None))[1:]
    assert data.texts == [row[3] for row in glue_rows]


def test_headerless_tsv_by_index_like_cola(tmp_path):
    path = _write(tmp_path, "cola.tsv", "gj04\t1\t\tOur friends won't buy this.\ngj04\t0\t*\tThey drank the pub.\n")
    data = read_text_classification(path, text_column=3, label_column=1, has_header=False)
    assert data.texts == ["Our friends won't buy this.", "They drank the pub."]
    assert data.text_pairs is None
    np.testing.assert_array_equal(data.labels, [1, 0])


def test_csv_with_standard_quoting_and_label_names(tmp_path):
    path = _write(tmp_path, "d.csv", 'text,label\n"a, b",pos\nc,neg\n')
    data = read_text_classification(path, text_column="text", label_column="label",
                                    label_names=["neg", "pos"])
    assert data.texts == ["a, b", "c"]
    np.testing.assert_array_equal(data.labels, [1, 0])
    assert data.labels.dtype == np.int64


def test_collected_integer_labels_sort_numerically(tmp_path):
    path = _write(tmp_path, "d.tsv", "s\tl\na\t10\nb\t2\n")
    data = read_text_classification(path, text_column="s", label_column="l")
    assert data.label_names == ["2", "10"]


def test_regression_and_unlabeled(tmp_path):
    path = _write(tmp_path, "stsb.tsv", "s1\ts2\tscore\na\tb\t3.8\nc\td\t0\n")
    data = read_text_classification(path, text_column="s1", text_pair_column="s2",
                                    label_column="score", regression=True)
    np.testing.assert_allclose(data.labels, [3.8, 0.0])
    assert data.labels.dtype == np.float32 and data.label_names is None
    test = read_text_classification(path, text_column="s1")
    assert test.labels is None and test.texts == ["a", "c"]


def test_non_numeric_regression_label(tmp_path):
    path = _write(tmp_path, "stsb.tsv", "s\tscore\na\t3.8\nb\thigh\n")
    with pytest.raises(ValueError, match=r"stsb.tsv, line 3: expected a numeric regression label, found 'high'"):
        read_text_classification(path, text_column="s", label_column="score", regression=True)


def test_multilabel_and_jsonl(tmp_path):
    rows = [{"text": "a", "tags": "x, y"}, {"text": "b", "tags": ""}, {"text": "c", "tags": ["z"]}]
    path = _write(tmp_path, "d.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    data = read_text_classification(path, text_column="text", label_column="tags", multilabel=True)
    assert data.label_names == ["x", "y", "z"]
    np.testing.assert_array_equal(data.labels, [[1, 1, 0], [0, 0, 0], [0, 0, 1]])
    assert data.labels.dtype == np.float32


def test_jsonl_integer_labels(tmp_path):
    path = _write(tmp_path, "d.jsonl", '{"sentence": "a", "label": 1}\n\n{"sentence": "b", "label": 0}\n')
    data = read_text_classification(path, text_column="sentence", label_column="label")
    np.testing.assert_array_equal(data.labels, [1, 0])


def test_missing_column_names_columns(tmp_path):
    path = _write(tmp_path, "d.tsv", "sentence\tlabel\na\t1\n")
    with pytest.raises(ValueError, match=r"d.tsv: text column 'text' does not exist; columns found: \['sentence', 'label'\]"):
        read_text_classification(path, text_column="text", label_column="label")
    with pytest.raises(ValueError, match=r"label column 'gold' does not exist"):
        read_text_classification(path, text_column="sentence", label_column="gold")
    jsonl = _write(tmp_path, "d.jsonl", '{"sentence": "a"}\n')
    with pytest.raises(ValueError, match=r"d.jsonl, line 1: label column 'label' does not exist; columns found: \['sentence'\]"):
        read_text_classification(jsonl, text_column="sentence", label_column="label")


def test_unknown_label(tmp_path):
    path = _write(tmp_path, "d.tsv", "s\tl\na\tpos\nb\tmaybe\n")
    with pytest.raises(ValueError, match=r"d.tsv, line 3: label 'maybe' is not in the label set \['neg', 'pos'\]"):
        read_text_classification(path, text_column="s", label_column="l", label_names=["neg", "pos"])


def test_wrong_field_count(tmp_path):
    path = _write(tmp_path, "d.tsv", "s\tl\na\t1\nb\t0\textra\n")
    with pytest.raises(ValueError, match=r"d.tsv, line 3: expected 2 fields separated by '\\t', found 3"):
        read_text_classification(path, text_column="s", label_column="l")
    headerless = _write(tmp_path, "h.tsv", "a\t1\nb\n")
    with pytest.raises(ValueError, match=r"h.tsv, line 2: expected 2 fields"):
        read_text_classification(headerless, text_column=0, label_column=1, has_header=False)


def test_unknown_extension(tmp_path):
    path = _write(tmp_path, "d.txt", "s\n")
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_text_classification(path, text_column="s")
    assert read_text_classification(path, text_column="s", delimiter="\t").texts == []


CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER


-DOCSTART- -X- -X- O
BRUSSELS NNP B-NP B-LOC
"""


def test_read_conll(tmp_path):
    path = _write(tmp_path, "train.txt", CONLL)
    assert read_conll(path) == [
        ConllSentence(["EU", "rejects", "German"], ["B-ORG", "O", "B-MISC"]),
        ConllSentence(["Peter", "Blackburn"], ["B-PER", "I-PER"]),
        ConllSentence(["BRUSSELS"], ["B-LOC"]),
    ]
    chunks = read_conll(path, label_column=2)
    assert chunks[1].labels == ["B-NP", "I-NP"]


def test_conll_wrong_column_count(tmp_path):
    path = _write(tmp_path, "train.txt", "EU NNP B-NP B-ORG\nrejects VBZ O\n")
    with pytest.raises(ValueError, match=r"train.txt, line 2: expected 4 whitespace-separated columns, found 3"):
        read_conll(path)
    with pytest.raises(ValueError, match=r"line 1: expected 2 whitespace-separated columns, found 4"):
        read_conll(path, expected_columns=2)
