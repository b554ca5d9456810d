"""The raw-string task models for spans and tags (SpanQuestionAnswerer, TokenTagger): questions and
contexts in, answers with character offsets out; sentences in, entities with offsets out; both
learn a toy task, agree with the numeric pipeline ``bertzoo predict`` runs, and round trip through
``.keras`` and the fine-tuned directory."""

from __future__ import annotations

import pathlib

import keras
import numpy as np
import pytest

import bertzoo
from bertzoo.data.squad import convert_examples_to_features, decode_predictions, squad_example_from_text
from bertzoo.data.tagging_data import decode_tags, encode_tagged_sentences
from bertzoo.models.finetuned import load_finetuned
from finetune_data import FILLER, NAMES, PLACES, write_tiny_pretrained

SEQ = 32


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> pathlib.Path:
    return write_tiny_pretrained(tmp_path_factory.mktemp("tiny") / "bert", seq_length=SEQ)


def toy_squad(n: int, seed: int):
    """'... code is NAME . ...': the answer to 'what is code ?' is the name (as write_squad)."""
    rng = np.random.default_rng(seed)
    questions, contexts, answers = [], [], []
    for _ in range(n):
        name = str(rng.choice(NAMES))
        before, after = " ".join(rng.choice(FILLER, int(rng.integers(1, 6)))), " ".join(rng.choice(FILLER, 3))
        context = f"{before} code is {name} . {after}"
        questions.append("what is code ?")
        contexts.append(context)
        answers.append([{"text": name, "answer_start": context.index(f" is {name}") + 4}])
    return questions, contexts, answers


def toy_conll(n: int, seed: int):
    """Names are B-PER, places B-LOC, every other word O (as write_conll)."""
    rng = np.random.default_rng(seed)
    sentences, tags = [], []
    for _ in range(n):
        pairs = [(str(word), "O") for word in rng.choice(FILLER, 4)]
        pairs.insert(int(rng.integers(0, 4)), (str(rng.choice(NAMES)), "B-PER"))
        pairs.insert(int(rng.integers(0, 5)), (str(rng.choice(PLACES)), "B-LOC"))
        sentences.append([word for word, _ in pairs])
        tags.append([tag for _, tag in pairs])
    return sentences, tags


def test_span_question_answerer_learns_and_answers_with_offsets(pretrained, tmp_path):
    qa = bertzoo.SpanQuestionAnswerer.from_pretrained(pretrained, seq_length=SEQ, doc_stride=8, max_query_length=8)
    questions, contexts, answers = toy_squad(96, seed=1)
    qa.compile(learning_rate=5e-3)
    history = qa.fit((questions, contexts), answers, batch_size=16, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert not qa.version_2

    # Raw strings in, answers out: the offsets index the context as given (case, spacing kept).
    test_questions = ["what is code ?", "What is code?", "what is code ?"]
    test_contexts = ["the day code is Boris . we saw it", "a   place code is carla .  then",
                     # longer than one window: several windows, one answer
                     "the day was very really good and then we saw some food and a place and it was a very good day "
                     "and we saw the place then code is anna . it was"]
    predicted = qa.predict((test_questions, test_contexts))
    assert len(predicted) == 3
    for answer, context in zip(predicted, test_contexts):
        assert set(answer) >= {"text", "score", "start_char", "end_char", "nbest"}
        assert answer["text"] and context[answer["start_char"]:answer["end_char"]] == answer["text"]
        assert 0.0 < answer["score"] <= 1.0 and answer["score"] == answer["nbest"][0]["score"]
    assert [a["text"] for a in predicted[:2]] == ["Boris", "carla"]

    # The same answers as the numeric pipeline of `bertzoo predict` (windows -> BertSpanLabeler -> Google's decoding).
    tokenizer = qa.preprocessor.tokenizer
    examples = [squad_example_from_text(q, c, str(i)) for i, (q, c) in enumerate(zip(test_questions, test_contexts))]
    features = convert_examples_to_features(examples, tokenizer, max_seq_length=SEQ, doc_stride=8,
                                            max_query_length=8, is_training=False)
    assert len(features) > 3  # the long context took several windows
    outputs = qa.network.predict({name: np.asarray([getattr(f, name) for f in features], np.int32)
                                  for name in ("input_word_ids", "input_mask", "input_type_ids")}, verbose=0)
    reference = decode_predictions(examples, features, outputs["start_logits"], outputs["end_logits"],
                                   do_lower_case=True, tokenizer=tokenizer)
    assert [a["text"] for a in predicted] == [reference[str(i)] for i in range(3)]

    # .keras round trip: equal predictions.
    path = tmp_path / "qa.keras"
    qa.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, bertzoo.SpanQuestionAnswerer) and loaded.doc_stride == 8
    assert loaded.predict((test_questions, test_contexts)) == predicted

    # The fine-tuned directory `bertzoo predict/export` read holds the same network and settings.
    finetuned = load_finetuned(qa.save_finetuned(tmp_path / "finetuned"))
    assert finetuned.task == "squad" and finetuned.settings["doc_stride"] == 8
    again = finetuned.model.predict({name: np.asarray([getattr(f, name) for f in features], np.int32)
                                     for name in ("input_word_ids", "input_mask", "input_type_ids")}, verbose=0)
    np.testing.assert_allclose(again["start_logits"], outputs["start_logits"], atol=1e-5)


def test_span_question_answerer_squad2_and_bad_answers(pretrained):
    qa = bertzoo.SpanQuestionAnswerer.from_pretrained(pretrained, seq_length=SEQ, doc_stride=8, max_query_length=8)
    questions, contexts, answers = toy_squad(8, seed=2)
    answers[0], answers[1] = [], {"text": "", "answer_start": -1}  # SQuAD 2.0: no answer
    qa.fit((questions, contexts), answers, batch_size=8, epochs=1, verbose=0)
    assert qa.version_2
    predicted = qa.predict((questions[:2], contexts[:2]))
    for answer, context in zip(predicted, contexts):
        assert "null_odds" in answer
        if answer["text"]:
            assert context[answer["start_char"]:answer["end_char"]] == answer["text"]
        else:
            assert answer["start_char"] is None
    with pytest.raises(ValueError, match=r"y\[0\].*does not match the context"):
        qa.fit((questions[:1], contexts[:1]), [{"text": "oslo", "answer_start": 0}], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="questions, contexts"):
        qa.predict(["only questions"])


def test_token_tagger_learns_and_answers_with_entities(pretrained, tmp_path):
    tags = ["O", "B-PER", "B-LOC"]
    tagger = bertzoo.TokenTagger.from_pretrained(pretrained, tags=tags, seq_length=SEQ)
    sentences, labels = toy_conll(96, seed=1)
    tagger.compile(learning_rate=5e-3)
    history = tagger.fit(sentences, labels, batch_size=16, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert history.history["token_accuracy"][-1] > 0.9

    # Raw strings in (split into words), entities with offsets into the text out (case and spacing kept).
    texts = ["Anna saw   Paris then boris", "we saw lima and Carla"]
    predicted = tagger.predict(texts)
    assert [p["words"] for p in predicted] == [["Anna", "saw", "Paris", "then", "boris"],
                                               ["we", "saw", "lima", "and", "Carla"]]
    assert [[(e["type"], e["text"]) for e in p["entities"]] for p in predicted] == [
        [("PER", "Anna"), ("LOC", "Paris"), ("PER", "boris")], [("LOC", "lima"), ("PER", "Carla")]]
    for p, text in zip(predicted, texts):
        for entity in p["entities"]:
            assert text[entity["start_char"]:entity["end_char"]] == entity["text"]
            assert 0.0 < entity["score"] <= 1.0
    # The same tags as the numeric pipeline of `bertzoo predict` (encode -> BertTagger -> decode_tags).
    features = encode_tagged_sentences([p["words"] for p in predicted], tagger.preprocessor.tokenizer,
                                       seq_length=SEQ)
    logits = tagger.network.predict(features.inputs(), verbose=0)["logits"]
    assert [p["tags"] for p in predicted] == decode_tags(features, logits, tags)
    # Pre-split words (CoNLL style) are read as joined by spaces.
    words = tagger.predict([["quito", "is", "far"]])[0]
    assert words["text"] == "quito is far" and words["entities"][0]["end_char"] == 5

    path = tmp_path / "tagger.keras"
    tagger.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, bertzoo.TokenTagger) and loaded.tags == tags
    assert loaded.predict(texts) == predicted

    finetuned = load_finetuned(tagger.save_finetuned(tmp_path / "finetuned"))
    assert finetuned.task == "ner" and finetuned.label_names == tags
    np.testing.assert_allclose(finetuned.model.predict(features.inputs(), verbose=0)["logits"], logits, atol=1e-5)

    with pytest.raises(ValueError, match="label set|not in"):
        tagger.fit([["anna", "saw"]], [["B-PER", "B-MISC"]], epochs=1, verbose=0)
    with pytest.raises(ValueError):
        tagger.fit([["anna", "saw"]], [["B-PER"]], epochs=1, verbose=0)


@pytest.mark.slow  # a TF Serving export (with its op audit) per task: a minute or more on a loaded machine
def test_exported_span_and_tagging_models_answer_as_predict(pretrained, tmp_path):
    import tensorflow as tf

    qa = bertzoo.SpanQuestionAnswerer.from_pretrained(pretrained, seq_length=SEQ, doc_stride=8, max_query_length=8)
    questions, contexts, answers = toy_squad(32, seed=3)
    qa.fit((questions, contexts), answers, batch_size=16, epochs=1, verbose=0)
    probe = (["what is code ?", "what is code ?"], ["the day code is Boris . we saw it", "a place code is anna ."])
    served = tf.saved_model.load(str(bertzoo.export.saved_model(qa, tmp_path / "qa"))).signatures["serving_default"](
        question=tf.constant(probe[0]), context=tf.constant(probe[1]))
    expected = qa.predict(probe)
    assert [v.decode() for v in served["answer"].numpy()] == [a["text"] for a in expected]
    assert served["start_char"].numpy().tolist() == [a["start_char"] for a in expected]
    assert served["end_char"].numpy().tolist() == [a["end_char"] for a in expected]
    np.testing.assert_allclose(served["score"].numpy(), [a["score"] for a in expected], atol=1e-4)

    tagger = bertzoo.TokenTagger.from_pretrained(pretrained, tags=["O", "B-PER", "B-LOC"], seq_length=SEQ)
    tagger.fit(*toy_conll(32, seed=3), batch_size=16, epochs=1, verbose=0)
    texts = ["Anna saw   Paris then boris", "we saw lima and Carla"]
    served = tf.saved_model.load(str(bertzoo.export.saved_model(tagger, tmp_path / "ner"))).signatures[
        "serving_default"](text=tf.constant(texts))
    for row, answer in enumerate(tagger.predict(texts)):
        count = int(served["num_entities"][row])
        assert [v.decode() for v in served["entity_text"][row, :count].numpy()] == [e["text"] for e in answer["entities"]]
        assert served["start_char"][row, :count].numpy().tolist() == [e["start_char"] for e in answer["entities"]]
        assert [v.decode() for v in served["tags"][row, :len(answer["tags"])].numpy()] == answer["tags"]
