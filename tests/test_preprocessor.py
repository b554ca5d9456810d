"""BertPreprocessor: Google's packing and truncation, static shapes, tf.data, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bertzoo.families.bert import BertPreprocessor, WordPieceTokenizer
from tests.reference import google_tokenization as ref

# One word per token: "w7" is token w7, so a text of n words is exactly n pieces.
TOKENS = ["[UNK]", "[SEP]", "w0", "[CLS]", "[MASK]", "[PAD]"] + [f"w{i}" for i in range(1, 60)]
IDS = {t: i for i, t in enumerate(TOKENS)}
SPECIAL = dict(cls_id=IDS["[CLS]"], sep_id=IDS["[SEP]"], pad_id=IDS["[PAD]"])


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer(TOKENS, lowercase=False)


def text_of(ids):
    return " ".join(TOKENS[i] for i in ids)


CLS, SEP, PAD = IDS["[CLS]"], IDS["[SEP]"], IDS["[PAD]"]


def w(*numbers):
    return [IDS[f"w{n}"] for n in numbers]


WORD_IDS = st.lists(st.sampled_from([IDS[f"w{i}"] for i in range(60)]), max_size=30)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seq_length=st.integers(3, 40),
    batch=st.lists(st.tuples(WORD_IDS, WORD_IDS), min_size=1, max_size=8),
)
def test_pair_packing_equals_google_truncate_seq_pair(tokenizer, seq_length, batch):
    pre = BertPreprocessor(tokenizer, seq_length=seq_length)
    got = pre((tf.constant([text_of(a) for a, _ in batch]), tf.constant([text_of(b) for _, b in batch])))
    for row, (a, b) in enumerate(batch):
        ids, mask, types = ref.pack(a, b, seq_length, **SPECIAL)
        assert got["input_word_ids"][row].numpy().tolist() == ids
        assert got["input_mask"][row].numpy().tolist() == mask
        assert got["input_type_ids"][row].numpy().tolist() == types


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq_length=st.integers(3, 40), batch=st.lists(WORD_IDS, min_size=1, max_size=8))
def test_single_packing_equals_google(tokenizer, seq_length, batch):
    pre = BertPreprocessor(tokenizer, seq_length=seq_length)
    got = pre(tf.constant([text_of(a) for a in batch]))
    for row, a in enumerate(batch):
        ids, mask, types = ref.pack(a, None, seq_length, **SPECIAL)
        assert [got[k][row].numpy().tolist() for k in ("input_word_ids", "input_mask", "input_type_ids")] == [ids, mask, types]


def test_truncation_ties_pop_from_the_second_segment(tokenizer):
    pre = BertPreprocessor(tokenizer, seq_length=8)  # room for 5 tokens
    out = pre((tf.constant(["w1 w2 w3 w4"]), tf.constant(["w5 w6 w7 w8"])))
    assert out["input_word_ids"].numpy().tolist() == [[CLS, *w(1, 2, 3), SEP, *w(5, 6), SEP]]  # a keeps 3, b 2
    assert out["input_type_ids"].numpy().tolist() == [[0, 0, 0, 0, 0, 1, 1, 1]]


def test_single_sentence_long_and_empty(tokenizer):
    pre = BertPreprocessor(tokenizer, seq_length=5)
    out = pre(tf.constant(["w1 w2 w3 w4 w5", "", "w9"]))
    assert out["input_word_ids"].numpy().tolist() == [
        [CLS, *w(1, 2, 3), SEP], [CLS, SEP, PAD, PAD, PAD], [CLS, *w(9), SEP, PAD, PAD]
    ]
    assert out["input_mask"].numpy().tolist() == [[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]]
    assert not out["input_type_ids"].numpy().any()
    pairs = pre((tf.constant(["", "w1"]), tf.constant(["", ""])))
    assert pairs["input_word_ids"].numpy().tolist() == [[CLS, SEP, SEP, PAD, PAD], [CLS, *w(1), SEP, SEP, PAD]]
    assert pairs["input_type_ids"].numpy().tolist() == [[0, 0, 1, 0, 0], [0, 0, 0, 1, 0]]


def test_outputs_are_int32_with_static_seq_length(tokenizer):
    pre = BertPreprocessor(tokenizer, seq_length=16)
    traced = tf.function(pre).get_concrete_function(tf.TensorSpec([None], tf.string))
    for spec in traced.structured_outputs.values():
        assert spec.shape.as_list() == [None, 16] and spec.dtype == tf.int32
    pair_traced = tf.function(pre).get_concrete_function(
        (tf.TensorSpec([4], tf.string), tf.TensorSpec([4], tf.string))
    )
    for spec in pair_traced.structured_outputs.values():
        assert spec.shape.as_list() == [4, 16]
    scalar = pre(tf.constant("w1 w2"))
    assert scalar["input_word_ids"].shape == (16,)


def test_lists_and_special_ids(tokenizer):
    pre = BertPreprocessor(tokenizer, seq_length=6)
    # A list of two Python strings is a batch, a list of two tensors is a pair.
    assert pre(["w1", "w2"])["input_word_ids"].shape == (2, 6)
    pair = pre([tf.constant(["w1"]), tf.constant(["w2"])])
    assert pair["input_word_ids"].numpy().tolist() == [[CLS, *w(1), SEP, *w(2), SEP, PAD]]
    assert pre.tokenizer is tokenizer and pre.seq_length == 6


def test_bad_arguments(tokenizer):
    for bad in (2, 0, -1, 2.5, "128"):
        with pytest.raises(ValueError, match="seq_length"):
            BertPreprocessor(tokenizer, seq_length=bad)
    with pytest.raises(TypeError, match="WordPieceTokenizer"):
        BertPreprocessor("vocab.txt", seq_length=8)
    with pytest.raises(TypeError, match="tf.string"):
        BertPreprocessor(tokenizer, seq_length=8)(tf.constant([1, 2]))


def test_tf_data_map_and_tf_function(tokenizer):
    pre = BertPreprocessor(tokenizer, seq_length=7)
    a = ["w1 w2 w3", "", "w4 w5 w6 w7 w8 w9", "w0"]
    b = ["w10", "w11 w12", "", "w13 w14 w15 w16"]
    eager_single = pre(tf.constant(a))
    eager_pair = pre((tf.constant(a), tf.constant(b)))
    single = next(iter(tf.data.Dataset.from_tensor_slices(a).batch(4).map(pre)))
    pair = next(iter(tf.data.Dataset.from_tensor_slices((a, b)).batch(4).map(lambda x, y: pre((x, y)))))
    traced = tf.function(pre)((tf.constant(a), tf.constant(b)))
    for key in eager_single:
        np.testing.assert_array_equal(single[key], eager_single[key])
        np.testing.assert_array_equal(pair[key], eager_pair[key])
        np.testing.assert_array_equal(traced[key], eager_pair[key])
    assert single["input_word_ids"].shape == (4, 7)


def test_keras_model_round_trip(tokenizer, tmp_path, minilm_dir):
    real = WordPieceTokenizer(minilm_dir / "vocab.txt", lowercase=True)
    for tok in (tokenizer, real):
        inputs = keras.Input(shape=(), dtype="string")
        model = keras.Model(inputs, BertPreprocessor(tok, seq_length=12)(inputs))
        texts = tf.constant(["w1 w2 Hello, World!", "", "ΟΔΟΣ café 你好 " * 5])
        before = model(texts)
        model.save(tmp_path / "m.keras")
        loaded = keras.saving.load_model(tmp_path / "m.keras")
        after = loaded(texts)
        assert set(after) == {"input_word_ids", "input_mask", "input_type_ids"}
        for key in before:
            np.testing.assert_array_equal(after[key], before[key])
    assert before["input_word_ids"].numpy()[0].tolist()[:6] == [101, 1059, 2487, 1059, 2475, 7592]


def test_config_round_trip(tokenizer):
    pre = BertPreprocessor(tokenizer, seq_length=9, name="pre")
    config = pre.get_config()
    rebuilt = BertPreprocessor.from_config(config)
    assert rebuilt.seq_length == 9 and isinstance(rebuilt.tokenizer, WordPieceTokenizer)
    assert rebuilt.tokenizer.vocabulary.tokens == TOKENS
    out, want = rebuilt(["w1 w2"]), pre(["w1 w2"])
    for key in out:
        np.testing.assert_array_equal(out[key], want[key])
