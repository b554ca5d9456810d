"""NerServing: raw strings -> entities in one core-ops graph, equal to `bertzoo predict` for NER.

A tiny random tagger (its head scaled so tags vary from word to word) is compared with
`predict_records` on the same fine-tuned model: same words, tags, entity types, texts and offsets,
scores within 1e-5; the in-graph word split is compared with `split_words`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo.export.core_word_splitter import CoreWordSplitter, _class_runs
from bertzoo.export.ner_serving import NerServing
from bertzoo.export.op_audit import assert_core_ops_only
from bertzoo.data.tagging_data import entities_with_offsets
from bertzoo.models.finetuned import FinetunedModel
from bertzoo.metrics.entity_metrics import extract_entities
from bertzoo.models import BertTagger
from bertzoo.recipes.predict import predict_records
from bertzoo.text.word_splitter import split_words
from finetune_data import write_tiny_pretrained

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
TEXTS = [
    "anna saw paris and oslo, then boris met carla in lima.",
    "",
    " \t\n ",
    "Dmitri   Quito!!  (Anna)  \u201cOslo\u201d \u2014 paris's code?",
    "\u00c1nna v\u00e9ry r\u00e9ally s\u00e1w L\u00edma \u6771\u4eac\u3067 \ud55c\uad6d \U0001f600\U0001f389 caf\u00e9",
    "a\x07b \x00anna\u200b boris\ufffd \u00a0carla\u2028dmitri\x85oslo \u0301x",
    "anna good" + "s" * 20 + " oslo",  # a word longer than a row (good ##s ##s ...) is cut to fill one
]


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    keras.utils.set_random_seed(0)  # the random encoder, so the tags do not depend on the tests run before
    bert = bertzoo.load_pretrained(write_tiny_pretrained(tmp_path_factory.mktemp("tiny") / "pretrained"),
                                   seq_length=16)
    model = BertTagger(bert.encoder, num_classes=len(LABELS))
    model(bert.preprocessor(["anna"]))
    rng = np.random.default_rng(0)
    kernel, bias = model.tagging_head.weights
    kernel.assign(rng.normal(scale=3.0, size=kernel.shape).astype("float32"))
    bias.assign(np.asarray([0.0, 0.5, 0.5, 0.5, 0.5], "float32"))  # towards entities
    return FinetunedModel("ner", model, bert, LABELS, {"dropout_rate": 0.1})


@pytest.fixture(scope="module")
def ner(finetuned):
    return NerServing.from_finetuned(finetuned)


def _assert_same_as_predict(outputs: dict, lines: list[dict], texts: list[str]) -> None:
    """Serving outputs == predict lines: words, tags, entities exactly; scores within 1e-5."""
    outputs = {name: value.numpy() for name, value in outputs.items()}
    assert outputs["num_words"].tolist() == [len(line["words"]) for line in lines]
    assert outputs["num_entities"].tolist() == [len(line["entities"]) for line in lines]
    for index, (text, line) in enumerate(zip(texts, lines)):
        num_words, num_entities = len(line["words"]), len(line["entities"])
        assert [w.decode() for w in outputs["words"][index, :num_words]] == line["words"]
        assert [t.decode() for t in outputs["tags"][index, :num_words]] == line["tags"]
        got = [(kind.decode(), entity_text.decode(), int(start), int(end)) for kind, entity_text, start, end in zip(
            outputs["entity_type"][index], outputs["entity_text"][index], outputs["start_char"][index],
            outputs["end_char"][index])]
        assert got[:num_entities] == [(e["type"], e["text"], e["start"], e["end"]) for e in line["entities"]]
        assert all(text[start:end] == entity_text for _, entity_text, start, end in got[:num_entities])
        assert set(got[num_entities:]) <= {("", "", -1, -1)}
        np.testing.assert_allclose(outputs["score"][index, :num_entities], [e["score"] for e in line["entities"]],
                                   atol=1e-5)
        assert not outputs["score"][index, num_entities:].any()


def test_a_batch_equals_predict(finetuned, ner):
    outputs = ner.entities(tf.constant(TEXTS))
    lines = predict_records(finetuned, [TEXTS[0], {"text": TEXTS[1]}] + TEXTS[2:])
    _assert_same_as_predict(outputs, lines, TEXTS)
    # Random weights, but the comparison covers multi-word entities and an I- that opens one.
    entities = [(line["tags"], e) for line in lines for e in line["entities"]]
    assert any(e["word_end"] - e["word_start"] > 1 for _, e in entities)
    assert any(tags[e["word_start"]].startswith("I-") for tags, e in entities)


def test_a_long_text_takes_many_rows(finetuned, ner):
    rng = np.random.default_rng(1)
    vocabulary = ["anna", "boris", "paris", "oslo", "the", "day", "saw", "some", "food", "goods", "zebra",
                  ",", ".", "!", "\u6771", "caf\u00e9", "x" * 30]
    long_text = ""
    while len(long_text) < 10_000:
        long_text += str(rng.choice(vocabulary)) + str(rng.choice([" ", "  ", "\n", ""]))
    long_text = long_text[:10_000]
    texts = ["oslo", long_text, "", "anna saw boris, " * 30]  # rows of two texts made side by side
    lines = predict_records(finetuned, texts)
    assert len(lines[1]["words"]) > 1000  # about a hundred rows of 14 pieces
    _assert_same_as_predict(ner.entities(tf.constant(texts)), lines, texts)


def test_invalid_utf8_reads_as_replacement_characters(finetuned, ner):
    raw = b"anna \xff\xfeparis \xe6\x9d oslo"
    decoded = raw.decode("utf-8", errors="replace")
    _assert_same_as_predict(ner.entities(tf.constant([raw])), predict_records(finetuned, [decoded]), [decoded])


def test_texts_without_words_give_empty_padded_outputs(ner):
    outputs = ner.entities(tf.constant(["", "   ", "\x07\u200b"]))
    assert outputs["num_entities"].numpy().tolist() == [0, 0, 0]
    assert outputs["num_words"].numpy().tolist() == [0, 0, 0]
    assert outputs["entity_text"].shape == (3, 0) and outputs["score"].shape == (3, 0)
    empty = ner.entities(tf.constant([], tf.string))
    assert empty["entity_type"].shape == (0, 0) and empty["num_entities"].shape == (0,)


def test_entity_rules_equal_extract_entities(ner):
    """The in-graph reading of tags, on every kind of ill-formed sequence, with an odd tag set."""
    names = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "X", ".", "PER", "I"]
    odd = NerServing(ner.model, ner.tokenizer, 16, names)
    rng = np.random.default_rng(2)
    sequences = [rng.integers(0, len(names), size=rng.integers(0, 12)).tolist() for _ in range(500)]
    tags = tf.ragged.constant(sequences, tf.int32, row_splits_dtype=tf.int64)
    text, word_start, word_end, kind = odd._read_entities(tags)
    got = [[] for _ in sequences]
    for row, start, end, type_index in zip(text.numpy(), word_start.numpy(), word_end.numpy(), kind.numpy()):
        got[row].append((odd._type_names[type_index], int(start), int(end)))
    assert got == [[tuple(e) for e in extract_entities([names[i] for i in ids])] for ids in sequences]


def test_predict_scores_an_entity_by_the_mean_probability_of_its_words():
    text = "Ada Lovelace met Babbage."
    tags = ["B-PER", "I-PER", "O", "B-PER", "O"]
    entities = entities_with_offsets(split_words(text), tags, text, [0.9, 0.6, 0.99, 0.7, 0.8])
    assert [(e["text"], e["score"]) for e in entities] == [("Ada Lovelace", pytest.approx(0.75)), ("Babbage", 0.7)]
    assert "score" not in entities_with_offsets(split_words(text), tags, text)[0]


def test_word_split_equals_split_words():
    rng = np.random.default_rng(3)
    pool = list("abcXYZ09 \t\n\r.,;'\"-_()[]{}$\u20ac\u00a9") + [
        "\u00a0", "\u2028", "\u3000", "\x1c", "\x85", "\x00", "\x07", "\u200b", "\u00ad", "\ufffd", "\u6771",
        "\u4eac", "\uf900", "\U00020000", "\u3042", "\ud55c", "\u00e9", "e\u0301", "\u0301", "\u1fef", "\u03a3",
        "\U0001f600", "\u05d0", "\u0627", "\u0e01", "\u2019", "\u00bf", "\uff01", "\ue000", "\U000e0001"]
    texts = ["".join(rng.choice(pool, size=rng.integers(0, 25))) for _ in range(3000)]
    # Each code point on either side of a change of class, and a sample of the others, between two
    # letters, so its class shows in the words.
    edges = {cp + step for cp in _class_runs()[0] for step in (-1, 0, 1)}
    edges |= set(rng.integers(0, 0x110000, 5000).tolist())
    code_points = sorted(cp for cp in edges if 0 <= cp < 0x110000 and not 0xD800 <= cp < 0xE000)
    texts += ["".join(f"a{chr(cp)}b " for cp in code_points[start : start + 500])
              for start in range(0, len(code_points), 500)]
    split = CoreWordSplitter().split(tf.constant(texts))
    words, starts, ends = split.words.to_list(), split.starts.to_list(), split.ends.to_list()
    for index, text in enumerate(texts):
        expected = split_words(text)
        assert [w.decode() for w in words[index]] == [w.text for w in expected], repr(text[:80])
        assert (starts[index], ends[index]) == ([w.start for w in expected], [w.end for w in expected])


def test_savedmodel_round_trip_has_only_core_ops(ner, tmp_path):
    module = tf.Module()
    module.ner = ner
    module.serve = tf.function(lambda text: ner.entities(text), input_signature=[tf.TensorSpec([None], tf.string)])
    path = str(tmp_path / "ner")
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    assert_core_ops_only(path)
    texts = tf.constant(TEXTS)
    expected = ner.entities(texts)
    served = tf.saved_model.load(path).signatures["serving_default"](text=texts)
    assert set(served) == set(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(served[name].numpy(), value.numpy(), err_msg=name)


def test_from_finetuned_checks_the_task(finetuned):
    with pytest.raises(ValueError, match="task 'ner'"):
        NerServing.from_finetuned(FinetunedModel("classify", finetuned.model, finetuned.bert, ["a", "b"]))
