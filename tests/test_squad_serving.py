"""SquadServing: in-graph SQuAD answers equal to `bertzoo predict`'s, from core TensorFlow ops only.

A tiny random model gives arbitrary but deterministic spans, compared with ``predict_records`` on
the same model; a pointing model (logits that pick chosen tokens) pins Google's ``get_final_text``
corner cases to known answers.
"""

import re
import statistics

import keras
import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo.export.op_audit import assert_core_ops_only
from bertzoo.export.squad_serving import SquadServing
from bertzoo.models.finetuned import FinetunedModel
from bertzoo.models import BertSpanLabeler
from bertzoo.recipes.predict import predict_records
from finetune_data import write_tiny_pretrained

SEQ_LENGTH = 32
SETTINGS = {"doc_stride": 6, "max_query_length": 8, "n_best_size": 20, "max_answer_length": 10}
STRINGS = [tf.TensorSpec([None], tf.string)] * 2
DOC_WHITESPACE = re.compile(r"[ \t\r\n\u202f]+")

RECORDS = [
    {"question": "what is code ?", "context": "we saw some code is boris . then anna saw paris"},
    {"question": "Who saw Paris?", "context": "Anna (Boris) saw Paris, Oslo; then LIMA. It was a really good day."},
    {"question": "what is red", "context": " ".join(["the red day was blue and green, then we saw boris"] * 6)},
    {"question": "where is anna ?",
     "context": "anna  is in\toslo\n\nand boris \u202f in lima . Ánna naïve 红色 codes"},
    {"question": "is it red ?", "context": "Red red RED rEd " * 10},  # few distinct answers: dedup
    {"question": "what was good ?", "context": "food was good " * 800},  # 10,400 characters
]


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    keras.utils.set_random_seed(7)  # the random encoder, so the answers do not depend on the tests run before
    return bertzoo.load_pretrained(write_tiny_pretrained(tmp_path_factory.mktemp("tiny") / "pretrained"),
                                   seq_length=SEQ_LENGTH)


@pytest.fixture(scope="module")
def model(bert):
    keras.utils.set_random_seed(7)
    return BertSpanLabeler(bert.encoder)


@pytest.fixture(scope="module")
def serving(bert, model):
    """A SQuAD 1.1 SquadServing and its traced ``answer``."""
    module = SquadServing.from_finetuned(FinetunedModel("squad", model, bert, None, SETTINGS))
    return module, tf.function(module.answer, input_signature=STRINGS)


def _call(answer, records) -> list[dict]:
    outputs = answer(tf.constant([r["question"] for r in records], tf.string),
                     tf.constant([r["context"] for r in records], tf.string))
    outputs = {name: value.numpy().tolist() for name, value in outputs.items()}
    return [{"answer": a.decode(), "score": s, "start_char": b, "end_char": e}
            for a, s, b, e in zip(outputs["answer"], outputs["score"], outputs["start_char"], outputs["end_char"])]


def _assert_matches_predict(records, lines, answers):
    for record, line, got in zip(records, lines, answers, strict=True):
        assert got["answer"] == line["answer"], record
        assert abs(got["score"] - line["probability"]) <= 1e-5, record
        if got["answer"]:
            span = record["context"][got["start_char"]:got["end_char"]]
            assert DOC_WHITESPACE.sub(" ", span) == got["answer"], record
        else:
            assert (got["start_char"], got["end_char"]) == (-1, -1)


def test_from_finetuned_takes_the_task_settings(serving, bert, model):
    module, _ = serving
    assert (module.seq_length, module.doc_stride, module.max_query_length, module.n_best_size,
            module.max_answer_length, module.version_2) == (SEQ_LENGTH, 6, 8, 20, 10, False)
    with pytest.raises(ValueError, match="'squad'"):
        SquadServing.from_finetuned(FinetunedModel("ner", model, bert, ["O"], {}))


def test_answers_and_scores_match_predict(serving, bert, model):
    _, answer = serving
    lines = predict_records(FinetunedModel("squad", model, bert, None, SETTINGS), RECORDS)
    answers = _call(answer, RECORDS)
    _assert_matches_predict(RECORDS, lines, answers)
    assert all(got["answer"] for got in answers)
    assert RECORDS[1]["context"][answers[1]["start_char"]:answers[1]["end_char"]] == answers[1]["answer"]


def test_version_2_null_answers_match_predict(serving, bert, model):
    module, _ = serving
    settings = dict(SETTINGS, version_2=True)
    odds = [line["null_odds"] for line in predict_records(FinetunedModel("squad", model, bert, None, settings),
                                                          RECORDS)]
    # A threshold between the null odds, so some questions get the null answer and some do not.
    settings["null_score_diff_threshold"] = statistics.median(odds)
    lines = predict_records(FinetunedModel("squad", model, bert, None, settings), RECORDS)
    assert {line["answer"] == "" for line in lines} == {True, False}
    version_2 = SquadServing(model, module.tokenizer, SEQ_LENGTH, version_2=True, **{
        key: value for key, value in settings.items() if key != "version_2"})
    _assert_matches_predict(RECORDS, lines, _call(tf.function(version_2.answer, input_signature=STRINGS), RECORDS))


def test_blank_inputs_get_no_answer(serving):
    _, answer = serving
    records = [{"question": "", "context": ""}, {"question": "what is code ?", "context": " \t\n "},
               {"question": " ", "context": "boris"}, RECORDS[0], {"question": "who", "context": "\u200b"}]
    answers = _call(answer, records)
    nothing = {"answer": "", "score": 0.0, "start_char": -1, "end_char": -1}
    assert [answers[i] for i in (0, 1, 2, 4)] == [nothing] * 4
    assert answers[3]["answer"]
    assert _call(answer, records[:1] * 2) == [nothing] * 2  # no window at all
    assert _call(answer, []) == []


class PointingModel(tf.Module):
    """Start and end logits that point at the question's first and second token in the document,
    at a later occurrence first."""

    def __call__(self, inputs, training=False):
        ids, in_doc = inputs["input_word_ids"], tf.equal(inputs["input_type_ids"], 1)
        position = 0.01 * tf.cast(tf.range(tf.shape(ids)[1]), tf.float32)

        def logits(token_id):
            return 5.0 * tf.cast(tf.equal(ids, token_id[:, tf.newaxis]) & in_doc, tf.float32) + position

        return {"start_logits": logits(ids[:, 1]), "end_logits": logits(ids[:, 2])}


def test_final_text_follows_google(serving, bert):
    module, _ = serving
    cases = [
        # Google's get_final_text finds "anna" first in "anna - anna": the answer is the first, cased.
        ("anna anna", "we saw Anna-anna then", "Anna", (7, 11)),
        # Punctuation attached to the word is cut off.
        ("anna anna", "boris saw (anna). then", "anna", (11, 15)),
        # A whitespace run inside the answer is one space in the answer, itself in the context span.
        ("saw anna", "we  saw\tanna\n\nthen", "saw anna", (4, 12)),
        # A character BasicTokenizer drops makes the lengths differ: the whole word is the answer.
        ("anna anna", "we saw \u200banna then", "\u200banna", (7, 12)),
    ]
    records = [{"question": question, "context": context} for question, context, _, _ in cases]
    pointing = PointingModel()
    lines = predict_records(FinetunedModel("squad", pointing, bert, None, SETTINGS), records)
    answer = SquadServing(pointing, module.tokenizer, SEQ_LENGTH, **SETTINGS).answer
    answers = _call(tf.function(answer, input_signature=STRINGS), records)
    _assert_matches_predict(records, lines, answers)
    assert [(got["answer"], (got["start_char"], got["end_char"])) for got in answers] == [
        (expected, span) for _, _, expected, span in cases]


def test_saved_model_round_trip_uses_core_ops_only(serving, tmp_path):
    module, answer = serving
    exported = tf.Module()
    exported.squad = module
    path = str(tmp_path / "squad")
    tf.saved_model.save(exported, path, signatures={"serving_default": answer.get_concrete_function()})
    assert_core_ops_only(path)
    serve = tf.saved_model.load(path).signatures["serving_default"]
    records = RECORDS[:2] + [{"question": "", "context": ""}]
    expected = _call(answer, records)
    outputs = serve(question=tf.constant([r["question"] for r in records]),
                    context=tf.constant([r["context"] for r in records]))
    assert [a.decode() for a in outputs["answer"].numpy()] == [e["answer"] for e in expected]
    np.testing.assert_allclose(outputs["score"].numpy(), [e["score"] for e in expected], atol=1e-6)
    assert outputs["start_char"].numpy().tolist() == [e["start_char"] for e in expected]
