"""Tagging data: word splitting with offsets, the first-WordPiece NER alignment (golden rows written
out by hand), chunking of long sentences, datasets, decoding back to words and entity spans."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bertzoo.data.tagging_data import (
    decode_tags,
    encode_tagged_sentences,
    entities_with_offsets,
    tagging_dataset,
)
from bertzoo.families.bert import WordPieceTokenizer
from bertzoo.text.word_splitter import Word, split_words
from tests.reference import google_tokenization as ref

TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "john", "lives", "in", "new", "york", "u", ".",
          "s", "play", "##ing", "##s", "the", "game", "ca", "##fe", ",", "京"]
I = {token: index for index, token in enumerate(TOKENS)}
CLS, SEP, PAD = I["[CLS]"], I["[SEP]"], I["[PAD]"]
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
L = {name: index for index, name in enumerate(LABELS)}

SENTENCES = [["John", "plays", "in", "New", "York", "."], ["U.S.", "\x07", "café"]]
TAGS = [["B-PER", "O", "O", "B-LOC", "I-LOC", "O"], ["B-LOC", "O", "O"]]


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer(TOKENS, lowercase=True)


def ids(*tokens):
    return [I[t] for t in tokens]


# -- split_words ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("Hello, world!", [("Hello", 0, 5), (",", 5, 6), ("world", 7, 12), ("!", 12, 13)]),
    ("U.S.", [("U", 0, 1), (".", 1, 2), ("S", 2, 3), (".", 3, 4)]),
    ("don't", [("don", 0, 3), ("'", 3, 4), ("t", 4, 5)]),
    # Accents stay (precomposed or combining); the offsets count code points.
    ("Café naïve", [("Café", 0, 4), ("naïve", 5, 10)]),
    ("Cafe\u0301 x", [("Cafe\u0301", 0, 5), ("x", 6, 7)]),
    # CJK ideographs are words of their own; CJK punctuation is punctuation; Hangul/kana are not CJK.
    ("我爱Paris。", [("我", 0, 1), ("爱", 1, 2), ("Paris", 2, 7), ("。", 7, 8)]),
    ("한국어 カタカナ", [("한국어", 0, 3), ("カタカナ", 4, 8)]),
    # Runs of spaces, tabs, newlines, no-break and ideographic spaces, line separator.
    (" \t a\t\tb \n", [("a", 3, 4), ("b", 6, 7)]),
    ("New\u00a0York\u3000x\u2028y", [("New", 0, 3), ("York", 4, 8), ("x", 9, 10), ("y", 11, 12)]),
    # Controls are dropped without splitting: inside a word they stay in its span, never at its ends.
    ("a\x07b \u200b c\x00", [("a\x07b", 0, 3), ("c", 6, 7)]),
    ("a\x1cb", [("a\x1cb", 0, 3)]),  # \x1c: str.split splits on it, but Google removes it first
    ("\ufeff\x00\ufffd", []),
    # Symbols (S*) are not punctuation; ASCII $ is.
    ("$5 €5 ©", [("$", 0, 1), ("5", 1, 2), ("€5", 3, 5), ("©", 6, 7)]),
    ("", []),
])
def test_split_words_golden(text, expected):
    words = split_words(text)
    assert words == [Word(*w) for w in expected]
    assert all(text[w.start:w.end] == w.text for w in words)


_ALPHABET = "aZé\u0301 \t\n\u00a0\u3000\u2028.,'$€©-中京한\x00\x07\x1c\x85\u200b\ufeff\ufffd\u1fef"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=25))
def test_split_words_matches_google_basic_tokenizer(text):
    """Without lowercasing, Google's BasicTokenizer words are ours with the controls removed."""
    words = split_words(text)
    assert all(text[w.start:w.end] == w.text for w in words)
    assert all(a.end <= b.start for a, b in zip(words, words[1:]))
    cleaned = ["".join(c for c in w.text if not (c in "\x00\ufffd" or ref.is_control(c))) for w in words]
    assert cleaned == ref.BasicTokenizer(do_lower_case=False, strip_accents=False).tokenize(text)


# -- encode_tagged_sentences: golden alignments -------------------------------------------------------


def test_first_piece_alignment_golden(tokenizer):
    features = encode_tagged_sentences(SENTENCES, tokenizer, seq_length=12, label_names=LABELS,
                                       sentences_labels=TAGS)
    # "plays" -> play ##s; "U.S." -> the basic words u . s . (all that word's); "\x07" -> nothing;
    # "café" -> ca ##fe (uncased: accents stripped).
    assert features.input_word_ids.tolist() == [
        [CLS, *ids("john", "play", "##s", "in", "new", "york", "."), SEP, PAD, PAD, PAD],
        [CLS, *ids("u", ".", "s", ".", "ca", "##fe"), SEP, PAD, PAD, PAD, PAD],
    ]
    assert features.input_mask.tolist() == [[1] * 9 + [0] * 3, [1] * 8 + [0] * 4]
    assert not features.input_type_ids.any()
    assert features.label_weights.tolist() == [
        [0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0],
        [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
    ]
    assert features.word_index.tolist() == [
        [-1, 0, 1, -1, 2, 3, 4, 5, -1, -1, -1, -1],
        [-1, 0, -1, -1, -1, 2, -1, -1, -1, -1, -1, -1],
    ]
    o, b_per, b_loc, i_loc = L["O"], L["B-PER"], L["B-LOC"], L["I-LOC"]
    assert features.label_ids.tolist() == [
        [0, b_per, o, 0, o, b_loc, i_loc, o, 0, 0, 0, 0],
        [0, b_loc, 0, 0, 0, o, 0, 0, 0, 0, 0, 0],
    ]
    assert features.sentence_index.tolist() == [0, 1]
    assert features.num_sentences == 2 and features.num_words == [6, 3]
    for name in ("input_word_ids", "input_mask", "input_type_ids", "label_ids", "word_index"):
        assert getattr(features, name).dtype == np.int32, name
    assert features.label_weights.dtype == np.float32


def test_long_sentences_are_cut_into_rows_of_whole_words(tokenizer):
    # Room for 4 pieces per row: john | play ##s | in fill the first row, new york . the second;
    # u . s . fills one (the pieceless "\x07" rides along), ca ##fe gets the next.
    features = encode_tagged_sentences(SENTENCES, tokenizer, seq_length=6, label_names=LABELS,
                                       sentences_labels=TAGS)
    assert features.input_word_ids.tolist() == [
        [CLS, *ids("john", "play", "##s", "in"), SEP],
        [CLS, *ids("new", "york", "."), SEP, PAD],
        [CLS, *ids("u", ".", "s", "."), SEP],
        [CLS, *ids("ca", "##fe"), SEP, PAD, PAD],
    ]
    assert features.sentence_index.tolist() == [0, 0, 1, 1]
    assert features.word_index.tolist() == [
        [-1, 0, 1, -1, 2, -1],
        [-1, 3, 4, 5, -1, -1],
        [-1, 0, -1, -1, -1, -1],
        [-1, 2, -1, -1, -1, -1],
    ]
    assert features.label_weights.sum() == 8  # every word with a piece, once


def test_a_word_longer_than_a_row_is_truncated_and_empty_sentences_keep_a_row(tokenizer):
    features = encode_tagged_sentences([["U.S.", "in"], []], tokenizer, seq_length=4)
    assert features.input_word_ids.tolist() == [
        [CLS, *ids("u", "."), SEP],
        [CLS, *ids("in"), SEP, PAD],
        [CLS, SEP, PAD, PAD],
    ]
    assert features.word_index.tolist() == [[-1, 0, -1, -1], [-1, 1, -1, -1], [-1, -1, -1, -1]]
    assert features.sentence_index.tolist() == [0, 0, 1]
    # Prediction: no labels, no weights.
    assert not features.has_labels and not features.label_ids.any() and not features.label_weights.any()


def test_label_errors_name_the_sentence_word_and_label(tokenizer):
    bad = [TAGS[0], ["B-LOC", "O", "B-ORG"]]
    with pytest.raises(ValueError, match=r"sentence 1, word 'café': label 'B-ORG' is not in the label set "
                                         r"\['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'\]"):
        encode_tagged_sentences(SENTENCES, tokenizer, seq_length=8, label_names=LABELS, sentences_labels=bad)
    with pytest.raises(ValueError, match="sentence 1 has 3 words but 2 labels"):
        encode_tagged_sentences(SENTENCES, tokenizer, seq_length=8, label_names=LABELS,
                                sentences_labels=[TAGS[0], ["B-LOC", "O"]])
    with pytest.raises(ValueError, match="without label_names"):
        encode_tagged_sentences(SENTENCES, tokenizer, seq_length=8, sentences_labels=TAGS)
    with pytest.raises(ValueError, match="sentence 0 is a str"):
        encode_tagged_sentences(["John lives here"], tokenizer, seq_length=8)
    with pytest.raises(ValueError, match="seq_length must be at least 3"):
        encode_tagged_sentences(SENTENCES, tokenizer, seq_length=2)


# -- tagging_dataset ---------------------------------------------------------------------------


def test_training_dataset_has_static_shapes_and_keeps_rows_whole(tokenizer):
    features = encode_tagged_sentences(SENTENCES, tokenizer, seq_length=6, label_names=LABELS,
                                       sentences_labels=TAGS)
    dataset = tagging_dataset(features, 3, training=True, shuffle_seed=1)
    inputs_spec, labels_spec = dataset.element_spec
    assert set(inputs_spec) == {"input_word_ids", "input_mask", "input_type_ids"}
    assert set(labels_spec) == {"label_ids", "label_weights"}
    assert all(spec.shape == (3, 6) for spec in [*inputs_spec.values(), *labels_spec.values()])
    assert inputs_spec["input_word_ids"].dtype == "int32" and labels_spec["label_weights"].dtype == "float32"
    rows = {tuple(r): i for i, r in enumerate(features.input_word_ids.tolist())}
    seen = []
    for inputs, labels in dataset.take(4):  # 12 rows from 4: repeated
        for k, row in enumerate(inputs["input_word_ids"].numpy().tolist()):
            i = rows[tuple(row)]
            seen.append(i)
            np.testing.assert_array_equal(labels["label_ids"][k], features.label_ids[i])
            np.testing.assert_array_equal(labels["label_weights"][k], features.label_weights[i])
    assert sorted(seen) == sorted([0, 1, 2, 3] * 3)


def test_evaluation_dataset_is_in_row_order_once(tokenizer):
    features = encode_tagged_sentences(SENTENCES, tokenizer, seq_length=6)
    assert len(features) == 4 and features.seq_length == 6
    batches = list(tagging_dataset(features, 3, training=False))
    assert [b["input_word_ids"].shape[0] for b in batches] == [3, 1]
    np.testing.assert_array_equal(np.concatenate([b["input_word_ids"] for b in batches]), features.input_word_ids)
    with pytest.raises(ValueError, match="training needs labelled features"):
        tagging_dataset(features, 3, training=True)


# -- decoding ----------------------------------------------------------------------------------


def test_decode_tags_reads_first_pieces_across_rows(tokenizer):
    features = encode_tagged_sentences(SENTENCES, tokenizer, seq_length=6, label_names=LABELS,
                                       sentences_labels=TAGS)
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=10.0, size=(len(features), 6, len(LABELS))).astype("float32")  # noise elsewhere
    first = features.label_weights > 0
    logits[first] = 5.0 * np.eye(len(LABELS))[features.label_ids[first]]
    assert decode_tags(features, logits, LABELS) == TAGS  # "\x07" has no piece: "O"
    assert decode_tags(features, {"logits": logits}, LABELS) == TAGS
    # Without an "O" in the tag set, a pieceless word gets the first name.
    names = ["X", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    assert decode_tags(features, logits, names)[1] == ["B-LOC", "X", "X"]
    with pytest.raises(ValueError, match=r"logits have shape \(4, 6, 3\), expected \(4, 6, 5\)"):
        decode_tags(features, logits[..., :3], LABELS)


def test_entities_with_offsets_golden():
    text = "Ada  Lovelace met Charles Babbage in New\u00a0York, 1833."
    words = split_words(text)
    tags = ["B-PER", "I-PER", "O", "I-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "O", "O"]
    assert entities_with_offsets(words, tags, text) == [
        {"type": "PER", "text": "Ada  Lovelace", "start": 0, "end": 13, "word_start": 0, "word_end": 2},
        # I- after O opens an entity (conlleval's lenient reading).
        {"type": "PER", "text": "Charles Babbage", "start": 18, "end": 33, "word_start": 3, "word_end": 5},
        {"type": "LOC", "text": "New\u00a0York", "start": 37, "end": 45, "word_start": 6, "word_end": 8},
    ]
    with pytest.raises(ValueError, match="11 words but 2 tags"):
        entities_with_offsets(words, ["O", "O"], text)
    with pytest.raises(ValueError, match="must come from split_words"):
        entities_with_offsets(words, tags, "Eve" + text[3:])


def test_raw_text_to_entities(tokenizer):
    """The predict path: raw text -> words with offsets -> rows -> logits -> tags -> entity spans."""
    text = "John lives in  New York."
    words = split_words(text)
    features = encode_tagged_sentences([[w.text for w in words]], tokenizer, seq_length=8)
    wanted = ["B-PER", "O", "O", "B-LOC", "I-LOC", "O"]
    logits = np.zeros((len(features), 8, len(LABELS)), "float32")
    rows, positions = np.nonzero(features.word_index >= 0)
    logits[rows, positions, [L[wanted[features.word_index[r, p]]] for r, p in zip(rows, positions)]] = 1.0
    tags = decode_tags(features, logits, LABELS)
    assert tags == [wanted]
    assert [(e["type"], e["text"], e["start"], e["end"]) for e in entities_with_offsets(words, tags[0], text)] == [
        ("PER", "John", 0, 4), ("LOC", "New York", 15, 23)]

