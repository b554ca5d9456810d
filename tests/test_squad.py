"""SQuAD pre- and post-processing against google-research/bert ``run_squad.py``'s rules, on golden examples."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from bertzoo.data import squad
from tests.reference import google_tokenization as ref

NUMBERS = " ".join(str(i) for i in range(30))  # 30 words, each one WordPiece token
# Irregular whitespace (double space, tab, newline, U+202F), accents, CJK, punctuation inside words.
UNICODE_CONTEXT = "Le  café\tcrème\n東京タワー is   Über-cool\u202Fsince (1895-1943).\n\nThe end."


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer

    return WordPieceTokenizer(minilm_dir / "vocab.txt", lowercase=True)


@pytest.fixture(scope="module")
def reference_tokenizer(minilm_dir):
    return ref.FullTokenizer(ref.load_vocab(minilm_dir / "vocab.txt"), do_lower_case=True)


def write_squad(tmp_path: pathlib.Path, paragraphs: list[dict], name: str = "squad.json") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(json.dumps({"version": "x", "data": [{"title": "t", "paragraphs": paragraphs}]}), encoding="utf-8")
    return path


def qa(qid: str, question: str, context: str, answer: str | None, occurrence: int = 0, **extra) -> dict:
    """A question whose answer is the ``occurrence``-th match of ``answer`` in ``context``."""
    answers = []
    if answer is not None:
        start = -1
        for _ in range(occurrence + 1):
            start = context.index(answer, start + 1)
        answers = [{"text": answer, "answer_start": start}]
    return {"id": qid, "question": question, "answers": answers, **extra}


def positions_of_word(feature, word_index: int) -> list[int]:
    return sorted(p for p, w in feature.token_to_orig_map.items() if w == word_index)


# -- reading ----------------------------------------------------------------------------------


def test_read_splits_irregular_whitespace_and_maps_answer_words(tmp_path):
    path = write_squad(tmp_path, [{"context": UNICODE_CONTEXT, "qas": [qa("q1", "When?", UNICODE_CONTEXT, "1895")]}])
    (example,) = squad.read_squad_examples(path, is_training=True)
    assert example.doc_tokens == [
        "Le", "café", "crème", "東京タワー", "is", "Über-cool", "since", "(1895-1943).", "The", "end.",
    ]  # fmt: skip
    assert (example.start_position, example.end_position) == (7, 7)
    assert example.orig_answer_text == "1895" and not example.is_impossible


def test_read_detects_version_2_and_impossible(tmp_path):
    context = "Paris is in France."
    path = write_squad(
        tmp_path,
        [{"context": context, "qas": [
            qa("has", "Where?", context, "France", is_impossible=False),
            {"id": "none", "question": "Why?", "answers": [], "is_impossible": True},
        ]}],
    )  # fmt: skip
    has, none = squad.read_squad_examples(path, is_training=True)
    assert (has.start_position, has.end_position, has.is_impossible) == (3, 3, False)
    assert (none.start_position, none.end_position, none.orig_answer_text, none.is_impossible) == (-1, -1, "", True)
    # Read as 1.1, the impossible question has no answer, which training cannot use.
    with pytest.raises(ValueError, match=r"'none'.*exactly 1 answer"):
        squad.read_squad_examples(path, is_training=True, version="1.1")


def test_mismatched_answer_is_a_clear_error_or_skipped(tmp_path):
    context = "The cat sat on the mat."
    bad = {"id": "q-bad", "question": "Who?", "answers": [{"text": "dog", "answer_start": 4}]}
    path = write_squad(tmp_path, [{"context": context, "qas": [bad, qa("q-ok", "Where?", context, "mat")]}])
    with pytest.raises(ValueError) as error:
        squad.read_squad_examples(path, is_training=True)
    message = str(error.value)
    assert str(path) in message and "'q-bad'" in message and "'dog'" in message and "'cat'" in message
    examples = squad.read_squad_examples(path, is_training=True, skip_mismatched=True)
    assert [e.qas_id for e in examples] == ["q-ok"]
    # Evaluation does not read answer positions, so nothing is checked there.
    assert len(squad.read_squad_examples(path, is_training=False)) == 2


@pytest.mark.parametrize(
    "question, pattern",
    [
        ({"id": "q7", "answers": []}, r"question id 'q7': missing field 'question'"),
        ({"id": "q8", "question": "?", "answers": [{"text": "a", "answer_start": "0"}]}, r"'q8'.*'answer_start' should be int"),
        ({"id": "q9", "question": "?", "answers": [{"text": "zzzz", "answer_start": 40}]}, r"'q9'.*does not fit"),
    ],
)
def test_malformed_file_names_the_question_and_field(tmp_path, question, pattern):
    path = write_squad(tmp_path, [{"context": "a b c", "qas": [question]}])
    with pytest.raises(ValueError, match=pattern):
        squad.read_squad_examples(path, is_training=True)


def test_not_json_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.json is not valid JSON"):
        squad.read_squad_examples(path, is_training=False)


# -- features ---------------------------------------------------------------------------------


def test_improve_answer_span_and_packing_match_reference(tmp_path, tokenizer, reference_tokenizer):
    path = write_squad(tmp_path, [{"context": UNICODE_CONTEXT, "qas": [qa("q1", "When was it?", UNICODE_CONTEXT, "1895")]}])
    examples = squad.read_squad_examples(path, is_training=True)
    (feature,) = squad.convert_examples_to_features(examples, tokenizer, max_seq_length=64, is_training=True)
    # "(1895-1943)." is ( 1895 - 1943 ) . ; the improved span is "1895" alone.
    assert feature.tokens[feature.start_position : feature.end_position + 1] == ["1895"]
    query = reference_tokenizer.tokenize("When was it?")
    doc = [p for word in examples[0].doc_tokens for p in reference_tokenizer.tokenize(word)]
    assert feature.tokens == ["[CLS]", *query, "[SEP]", *doc, "[SEP]"]
    vocab = reference_tokenizer.vocab
    n = len(feature.tokens)
    assert feature.input_word_ids == [vocab[t] for t in feature.tokens] + [vocab["[PAD]"]] * (64 - n)
    assert feature.input_mask == [1] * n + [0] * (64 - n)
    assert feature.input_type_ids == [0] * (len(query) + 2) + [1] * (len(doc) + 1) + [0] * (64 - n)
    assert positions_of_word(feature, 3) == [i for i, t in enumerate(feature.tokens) if t in ("東", "京", "タ", "##ワ", "##ー")]


def _windows(tmp_path, tokenizer, is_training: bool, answer: str = "9"):
    path = write_squad(tmp_path, [{"context": NUMBERS, "qas": [qa("q", "what?", NUMBERS, answer)]}])
    examples = squad.read_squad_examples(path, is_training=is_training)
    # Query "what ?" is 2 tokens, so each window holds 15 - 2 - 3 = 10 document tokens.
    features = squad.convert_examples_to_features(
        examples, tokenizer, max_seq_length=15, doc_stride=4, max_query_length=64, is_training=is_training
    )
    return examples, features


def test_windows_with_doc_stride_and_answer_at_window_edge(tmp_path, tokenizer):
    _, features = _windows(tmp_path, tokenizer, is_training=True)
    # Windows of document tokens [0-9], [4-13], [8-17], [12-21], [16-25], [20-29].
    assert [f.token_to_orig_map[4] for f in features] == [0, 4, 8, 12, 16, 20]
    assert all(len(f.tokens) == 15 for f in features)
    # "9" is the last document token of window 0 (just before [SEP]), inside windows 1 and 2,
    # and outside the others, which are labelled [CLS] (0, 0).
    assert [(f.start_position, f.end_position) for f in features] == [(13, 13), (9, 9), (5, 5), (0, 0), (0, 0), (0, 0)]
    assert features[0].tokens[13] == "9" and features[0].tokens[14] == "[SEP]"
    # Max context of token 9: window 1 (min(5, 4) + 0.1) beats window 0 (0.1) and window 2 (1.1).
    assert [f.token_is_max_context[p] for f, p in zip(features[:3], (13, 9, 5))] == [False, True, False]
    # Every document token has exactly one max-context window.
    owners = {}
    for f in features:
        for position, is_max in f.token_is_max_context.items():
            if is_max:
                assert f.token_to_orig_map[position] not in owners
                owners[f.token_to_orig_map[position]] = f.doc_span_index
    assert sorted(owners) == list(range(30))
    assert [f.unique_id for f in features] == list(range(1000000000, 1000000006))


def test_query_truncated_to_max_query_length(tmp_path, tokenizer):
    path = write_squad(tmp_path, [{"context": "a b", "qas": [{"id": "q", "question": "one two three four", "answers": []}]}])
    examples = squad.read_squad_examples(path, is_training=False)
    (feature,) = squad.convert_examples_to_features(examples, tokenizer, max_seq_length=16, max_query_length=2, is_training=False)
    assert feature.tokens == ["[CLS]", "one", "two", "[SEP]", "a", "b", "[SEP]"]
    assert feature.start_position is None


def test_features_to_dataset_shapes(tmp_path, tokenizer):
    _, features = _windows(tmp_path, tokenizer, is_training=True)
    train = squad.features_to_dataset(features, batch_size=4, is_training=True, shuffle_seed=0)
    inputs_spec, labels_spec = train.element_spec
    assert {k: (v.shape.as_list(), v.dtype.name) for k, v in inputs_spec.items()} == {
        k: ([4, 15], "int32") for k in ("input_word_ids", "input_mask", "input_type_ids")
    }
    assert {k: v.shape.as_list() for k, v in labels_spec.items()} == {"start_positions": [4], "end_positions": [4]}
    assert len(list(train)) == 1  # 6 features, drop_remainder
    evaluation = list(squad.features_to_dataset(features, batch_size=4, is_training=False))
    assert [b["input_word_ids"].shape[0] for b in evaluation] == [4, 2]
    np.testing.assert_array_equal(
        np.concatenate([b["input_word_ids"] for b in evaluation]), [f.input_word_ids for f in features]
    )


# -- decoding ---------------------------------------------------------------------------------


def one_hot_logits(features, spans: dict[int, tuple[int, int, float, float]], low: float = -10.0):
    """Logits that are ``low`` everywhere except ``{feature row: (start, end, start logit, end logit)}``."""
    start = np.full((len(features), len(features[0].input_word_ids)), low)
    end = start.copy()
    for row, (s, e, s_logit, e_logit) in spans.items():
        start[row, s] = s_logit
        end[row, e] = e_logit
    return start, end


def test_decode_answer_in_two_windows_max_context_wins(tmp_path, tokenizer):
    examples, features = _windows(tmp_path, tokenizer, is_training=False)
    # Window 0 scores "9" highest, but window 0 is not its max-context window; window 1 also
    # scores token 5 highly, whose max-context window is 0. Only window 1's "9" is allowed.
    start, end = one_hot_logits(features, {0: (13, 13, 10.0, 10.0), 1: (9, 9, 1.0, 1.0)})
    start[1, 5] = end[1, 5] = 8.0
    predictions = squad.decode_predictions(examples, features, start, end, n_best_size=3)
    assert dict(predictions) == {"q": "9"}
    best = predictions.nbest["q"][0]
    assert (best["text"], best["start_logit"], best["end_logit"]) == ("9", 1.0, 1.0)
    assert predictions.null_odds == {}


def test_decode_respects_max_answer_length(tmp_path, tokenizer):
    examples, features = _windows(tmp_path, tokenizer, is_training=False)
    # Window 1 holds tokens 4..13 at positions 4..13; tokens 7..10 are its max-context tokens.
    start, end = one_hot_logits(features, {1: (7, 10, 5.0, 5.0)})
    end[1, 7] = 4.0
    assert squad.decode_predictions(examples, features, start, end)["q"] == "7 8 9 10"
    assert squad.decode_predictions(examples, features, start, end, max_answer_length=3)["q"] == "7"
    # A start outside its max-context window is never used: token 6 belongs to window 0.
    start[1, 6] = 50.0
    assert squad.decode_predictions(examples, features, start, end)["q"] == "7 8 9 10"


def test_decode_maps_back_to_exact_unicode_substring(tmp_path, tokenizer):
    path = write_squad(tmp_path, [{"context": UNICODE_CONTEXT, "qas": [{"id": "q", "question": "?", "answers": []}]}])
    examples = squad.read_squad_examples(path, is_training=False)
    (feature,) = squad.convert_examples_to_features(examples, tokenizer, max_seq_length=64, is_training=False)
    tokens = feature.tokens

    def decode(first: str, last: str) -> str:
        s, e = tokens.index(first), tokens.index(last)
        start, end = one_hot_logits([feature], {0: (s, e, 5.0, 5.0)})
        return squad.decode_predictions(examples, [feature], start, end)["q"]

    assert decode("cr", "##eme") == "crème"  # accent restored from the original text
    assert decode("cafe", "##eme") == "café\tcrème".replace("\t", " ")  # words re-joined by one space
    assert decode("東", "京") == "東京"  # part of the whitespace word 東京タワー
    assert decode("uber", "cool") == "Über-cool"
    assert decode("cool", "cool") == "cool"
    assert decode("1895", "1895") == "1895"


def test_training_labels_decode_back_to_the_answers(tmp_path, tokenizer):
    answers = ["crème", "東京", "Über-cool", "1895", "1943", "The end"]
    path = write_squad(
        tmp_path, [{"context": UNICODE_CONTEXT, "qas": [qa(f"q{i}", "?", UNICODE_CONTEXT, a) for i, a in enumerate(answers)]}]
    )
    examples = squad.read_squad_examples(path, is_training=True)
    features = squad.convert_examples_to_features(
        examples, tokenizer, max_seq_length=16, doc_stride=3, max_query_length=4, is_training=True
    )
    spans = {row: (f.start_position, f.end_position, 5.0, 5.0) for row, f in enumerate(features) if f.start_position}
    start, end = one_hot_logits(features, spans)
    predictions = squad.decode_predictions(examples, features, start, end)
    assert predictions == {f"q{i}": a for i, a in enumerate(answers)}


def test_decode_version_2_null_score_threshold(tmp_path, tokenizer):
    context = "Paris is in France."
    path = write_squad(tmp_path, [{"context": context, "qas": [{"id": "q", "question": "?", "answers": [], "is_impossible": True}]}])
    examples = squad.read_squad_examples(path, is_training=False)
    (feature,) = squad.convert_examples_to_features(examples, tokenizer, max_seq_length=16, is_training=False)
    france = feature.tokens.index("france")
    start, end = one_hot_logits([feature], {0: (france, france, 1.0, 2.0)})
    start[0, 0], end[0, 0] = 2.5, 1.5  # null score 4.0, best span 3.0: score_diff 1.0
    for threshold, expected in ((0.0, ""), (0.99, ""), (1.0, "France"), (1.5, "France")):
        predictions = squad.decode_predictions(
            examples, [feature], start, end, version_2_with_negative=True, null_score_diff_threshold=threshold
        )
        assert predictions["q"] == expected
        assert predictions.null_odds == {"q": 1.0}
    nbest = predictions.nbest["q"]
    assert [e["text"] for e in nbest[:2]] == ["", "France"]
    assert nbest[0]["probability"] / nbest[1]["probability"] == pytest.approx(np.e)  # softmax of 4.0 and 3.0
    assert sum(e["probability"] for e in nbest) == pytest.approx(1.0)
    # Without 2.0 the null answer is never predicted.
    assert squad.decode_predictions(examples, [feature], start, end)["q"] == "France"


def test_decode_checks_logit_shapes(tmp_path, tokenizer):
    examples, features = _windows(tmp_path, tokenizer, is_training=False)
    with pytest.raises(ValueError, match="num_features=6"):
        squad.decode_predictions(examples, features, np.zeros((5, 15)), np.zeros((5, 15)))
