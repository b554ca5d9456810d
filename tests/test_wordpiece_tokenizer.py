"""WordPieceTokenizer against the pure-Python statement of Google's rules (tests/reference)."""

import sys
import unicodedata

import keras
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bertzoo.text import Vocabulary
from bertzoo.families.bert import WordPieceTokenizer
from bertzoo.families.bert import wordpiece_tokenizer as wt
from tests.reference import google_tokenization as ref

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# Interesting characters and fragments: the places where Google, ICU, NFKC case folding and
# Hugging Face disagree.
FRAGMENTS = [
    "Hello", "world", "The", "running", "unaffable", "naïve", "Café", "CAFÉ", "señor", "Ångström",
    "e\u0301", "A\u030a", "\u0301x", "ＡＢＣ１", "ﬁne", "ﬂ", "😀", "👍🏽", "Привет", "мир", "ΟΔΟΣ",
    "Σ", "ΣΣ", "όσος", "Ἀθῆναι", "مرحبا", "שלום", "नमस्ते", "你好", "中文字", "\uf900\ufa0a",
    "\U00020000\U0002a6d6", "\u3400", "İstanbul", "İ", "ß", "ǅ", "\u037e", "\u1fef", "\u0387",
    "\x00", "\x07", "\u200b", "\u200e", "\ufeff", "\ufffd", "\x85", "\x1c", "\u00ad", "\u2060",
    "\u00a0", "\u2003", "\u3000", "\u2028", "\u2029", "\t", "\n", "\r", "\x0b", "\x0c", " ",
    ".", ",", "!", "?", "'", '"', "(", ")", "[", "]", "$", "+", "<", "=", ">", "^", "`", "|", "~",
    "€", "©", "°", "¿", "¡", "—", "…", "«", "»", "、", "。", "##", "[CLS]", "[UNK]", "don't",
    "U.S.A.", "3.14", "$5", "a" * 200, "b" * 201, "é" * 200, "e\u0301" * 150, "Σ" * 150 + "α" * 51,
]
ALPHABET = "".join(sorted(set("".join(FRAGMENTS)))) + "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789"

_word = st.text(alphabet=ALPHABET, min_size=1, max_size=10)
_piece = st.one_of(st.sampled_from(FRAGMENTS), _word, st.sampled_from([" ", "  ", "\n", "\u3000"]))
TEXT = st.lists(_piece, max_size=14).map("".join)
LONG_WORD = st.tuples(st.sampled_from(["a", "é", "中", "ab", "Ab"]), st.integers(195, 205)).map(
    lambda t: (t[0] * t[1])[: t[1]]
)
BATCH = st.lists(st.one_of(TEXT, LONG_WORD), min_size=1, max_size=25)


def cased_vocab_tokens() -> list[str]:
    """A small cased vocabulary: whole words, every alphabet character alone and as ``##``."""
    words = ["Hello", "hello", "world", "The", "the", "run", "##ning", "##n", "un", "##aff",
             "##able", "Café", "na", "##ï", "##ve", "ΟΔ", "##ΟΣ", "мир", "Привет", "όσος",
             "İstanbul", "ı", "don", "##'", "aaaa", "##aaa", "foo", "foo"]  # a repeated token
    chars = sorted(set(ALPHABET) - set("qQ\u00a0 \t\n\r\x0b\x0c\u3000\u2003\u2028\u2029"))
    return SPECIALS + words + chars + ["##" + c for c in chars]


@pytest.fixture(scope="module")
def uncased_vocab_path(minilm_dir):
    return minilm_dir / "vocab.txt"


CONFIGS = {
    # name: (vocab, lowercase, strip_accents)
    "uncased": ("real", True, None),
    "uncased_keep_accents": ("real", True, False),
    "cased": ("small", False, None),
    "cased_strip_accents": ("small", False, True),
}


@pytest.fixture(scope="module")
def pairs(uncased_vocab_path):
    """(tokenizer, reference) per configuration, built once."""
    real = Vocabulary.from_file(uncased_vocab_path)
    small = Vocabulary(cased_vocab_tokens())
    out = {}
    for name, (which, lowercase, strip) in CONFIGS.items():
        vocab = real if which == "real" else small
        ids = {t: i for i, t in enumerate(vocab.tokens)}
        out[name] = (
            WordPieceTokenizer(vocab, lowercase=lowercase, strip_accents=strip),
            ref.FullTokenizer(ids, do_lower_case=lowercase, strip_accents=strip),
        )
    return out


def assert_same_as_reference(tokenizer, reference, texts):
    """Compares words, per-word piece ids and flat ids with the reference, string by string.

    Compared as flat arrays plus row lengths (``to_list`` on big ragged tensors is slow); on a
    mismatch the first differing text is reported.
    """
    batch = tf.constant([t.encode("utf-8") if isinstance(t, str) else t for t in texts])
    words = tokenizer.basic_tokenize(batch)
    pieces = tokenizer.tokenize_words(batch)
    flat = tokenizer.tokenize(batch)
    want_words = [reference.basic.tokenize(t) for t in texts]
    want_pieces = [[[reference.vocab[p] for p in reference.wordpiece.tokenize_word(w)] for w in ws] for ws in want_words]
    got = (
        words.flat_values.numpy().tolist(),
        words.row_lengths().numpy().tolist(),
        pieces.flat_values.numpy().tolist(),
        pieces.row_lengths().numpy().tolist(),
        pieces.values.row_lengths().numpy().tolist(),
        flat.flat_values.numpy().tolist(),
        flat.row_lengths().numpy().tolist(),
    )
    want = (
        [w.encode("utf-8") for ws in want_words for w in ws],
        [len(ws) for ws in want_words],
        [i for ws in want_pieces for w in ws for i in w],
        [len(ws) for ws in want_pieces],
        [len(w) for ws in want_pieces for w in ws],
        [i for ws in want_pieces for w in ws for i in w],
        [sum(len(w) for w in ws) for ws in want_pieces],
    )
    if got != want:
        got_words, got_pieces = words.to_list(), pieces.to_list()
        for text, gw, gp, ww, wp in zip(texts, got_words, got_pieces, want_words, want_pieces):
            assert [w.decode("utf-8") for w in gw] == ww, repr(text)
            assert gp == wp, repr(text)
        assert got == want


@pytest.mark.parametrize("config", list(CONFIGS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=BATCH)
def test_matches_reference_on_varied_text(pairs, config, texts):
    assert_same_as_reference(*pairs[config], texts)


# Spacing combining marks that are not Mn but have a non-zero combining class: NFD reorders two
# of them that meet in decreasing class; the pipeline strips accents character by character and
# keeps their order (documented in WordPieceTokenizer). Only strings holding two are skipped.
NON_MN_NONSTARTERS = {
    chr(cp) for cp in range(sys.maxunicode + 1)
    if unicodedata.combining(chr(cp)) and unicodedata.category(chr(cp)) != "Mn"
}


@pytest.mark.parametrize("config", ["uncased", "cased"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=30))
def test_matches_reference_on_random_unicode(pairs, config, texts):
    texts = [t for t in texts if sum(c in NON_MN_NONSTARTERS for c in t) < 2]
    assert_same_as_reference(*pairs[config], texts)


def code_point_sample(full: bool) -> list[int]:
    if full:
        cps = set(range(sys.maxunicode + 1))
    else:
        cps = set(range(0, 0x3000)) | set(range(0, sys.maxunicode + 1, 101))
        cps |= set(range(0xF900, 0xFB00)) | set(range(0xFF00, 0xFFF0)) | set(range(0x1D15E, 0x1D173))
        cps |= {ord(c) for c in wt._unicode_tables().lowercase}  # every char Python lowercases
    return sorted(cp for cp in cps if not 0xD800 <= cp <= 0xDFFF)


def each_code_point_in_context(pairs, full):
    # Each character inside a word, alone, and around capital sigma (Python's final-sigma rule
    # depends on the Cased / Case_Ignorable properties of the neighbours).
    texts = [f"A{c}b {c}Σ Σ{c} A{c}Σ AΣ{c}b x{c}{c}" for c in map(chr, code_point_sample(full))]
    for config in ("uncased", "cased_strip_accents"):
        for start in range(0, len(texts), 50000):
            assert_same_as_reference(*pairs[config], texts[start : start + 50000])


def test_matches_reference_on_sampled_code_points(pairs):
    each_code_point_in_context(pairs, full=False)


@pytest.mark.slow
def test_matches_reference_on_every_code_point(pairs):
    each_code_point_in_context(pairs, full=True)


def test_google_rules_not_nfkc_case_folding(pairs):
    """Where tensorflow-text's BertTokenizer, KerasHub or Hugging Face would answer differently."""
    uncased, _ = pairs["uncased"]
    words = lambda s: [w.decode() for w in uncased.basic_tokenize(s).numpy()]  # noqa: E731
    assert words("ＡＢＣ１") == ["ａｂｃ１"]  # full-width forms are not folded to ASCII
    assert words("ﬁne") == ["ﬁne"]  # nor ligatures
    assert words("a\u00a0b\u2003c\u3000d\u2028e") == ["a", "b", "c", "d", "e"]
    assert words("€5 ©x $5 a+b") == ["€5", "©x", "$", "5", "a", "+", "b"]  # S* is not punctuation
    assert words("a\u200bb\u00adc\x00d\ufffde") == ["abcde"]  # Cf/Cc dropped, not split
    assert words("x\u0378y\ue000z") == ["x\u0378y\ue000z"]  # Cn and Co are kept (HF drops them)
    assert words("İ ΟΔΟΣ. 你好") == ["i", "οδος", ".", "你", "好"]
    keep, _ = pairs["uncased_keep_accents"]
    assert [w.decode() for w in keep.basic_tokenize("İ ΟΔΟΣ Café").numpy()] == ["i\u0307", "οδος", "café"]
    cased, _ = pairs["cased"]
    assert [w.decode() for w in cased.basic_tokenize("Café ΟΔΟΣ").numpy()] == ["Café", "ΟΔΟΣ"]


def test_documented_edge_cases(pairs):
    tokenizer, _ = pairs["uncased"]
    unk = tokenizer.unk_id
    got = tokenizer(tf.constant(["", " \t\n\u3000 ", "\x00\u200b", b"a\xffb\xc3", b"\xed\xa0\x80x"]))
    assert got.to_list() == [[], [], [], tokenizer.tokenize("ab").numpy().tolist(), tokenizer.tokenize("x").numpy().tolist()]
    assert tokenizer.tokenize("a" * 201).numpy().tolist() == [unk]
    at_limit = tokenizer.tokenize("a" * 200).numpy().tolist()
    assert len(at_limit) > 1 and unk not in at_limit
    assert tokenizer.tokenize("é" * 201).numpy().tolist() == [unk]  # counted in characters
    assert tokenizer.tokenize("hello qzxqzxqzx").numpy().tolist() == tokenizer.tokenize("hello").numpy().tolist() + tokenizer.tokenize("qzxqzxqzx").numpy().tolist()
    assert tokenizer.tokenize("\u2603").numpy().tolist() == [unk]  # snowman is not in the vocab


def test_shapes_and_input_checks(pairs):
    tokenizer, _ = pairs["uncased"]
    scalar = tokenizer.tokenize("hello world")
    assert isinstance(scalar, tf.Tensor) and scalar.shape.rank == 1
    assert tokenizer(["hello world"]).to_list() == [scalar.numpy().tolist()]
    words = tokenizer.tokenize_words(["unaffable hello", ""])
    assert words.shape.rank == 3 and words.dtype == tf.int32
    vocab = tokenizer.vocabulary
    assert words.to_list() == [
        [[vocab.token_to_id(p) for p in ("una", "##ffa", "##ble")], [vocab.token_to_id("hello")]],
        [],
    ]
    assert tokenizer.basic_tokenize("Hi!").numpy().tolist() == [b"hi", b"!"]
    with pytest.raises(TypeError, match="tf.string"):
        tokenizer(tf.constant([1, 2]))
    with pytest.raises(TypeError, match="tf.string"):
        tokenizer.tokenize(3.5)
    with pytest.raises(ValueError, match="rank-1"):
        tokenizer(tf.constant([["a"]]))


def test_ids_to_tokens_and_special_ids(pairs):
    tokenizer, _ = pairs["uncased"]
    ids = tokenizer(["unaffable!", "hello"])
    assert tokenizer.ids_to_tokens(ids).to_list() == [[b"una", b"##ffa", b"##ble", b"!"], [b"hello"]]
    assert tokenizer.ids_to_tokens([101, 102]).numpy().tolist() == [b"[CLS]", b"[SEP]"]
    assert (tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id, tokenizer.unk_id, tokenizer.mask_id) == (101, 102, 0, 100, 103)
    assert tokenizer.vocabulary_size == 30522


def test_vocabulary_argument_forms(uncased_vocab_path):
    from_path = WordPieceTokenizer(str(uncased_vocab_path), lowercase=True)
    from_list = WordPieceTokenizer(Vocabulary.from_file(uncased_vocab_path).tokens, lowercase=True)
    assert from_path(["Hello there"]).to_list() == from_list(["Hello there"]).to_list()
    with pytest.raises(TypeError, match="vocabulary"):
        WordPieceTokenizer(42, lowercase=True)
    with pytest.raises(ValueError, match="lacks"):
        WordPieceTokenizer(["[PAD]", "a"], lowercase=True)


def test_repeated_token_gets_its_last_id_as_google():
    tokens = SPECIALS + ["foo", "bar", "foo", "", "##x"]
    tokenizer = WordPieceTokenizer(tokens, lowercase=False)
    assert tokenizer("foo barx bar").numpy().tolist() == [7, 6, 9, 6]


def test_tf_function_and_dataset_map_match_eager(pairs):
    tokenizer, _ = pairs["uncased"]
    texts = ["Hello, world!", "", "ΟΔΟΣ café 你好", "a" * 201]
    eager = tokenizer(tf.constant(texts)).to_list()
    traced = tf.function(lambda s: tokenizer(s).to_tensor(-1))
    assert [[i for i in row if i != -1] for row in traced(tf.constant(texts)).numpy().tolist()] == eager
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(2).map(tokenizer.tokenize_words)
    assert [w for batch in ds for w in batch.merge_dims(1, 2).to_list()] == eager
    scalar_ds = tf.data.Dataset.from_tensor_slices(texts).map(tokenizer.tokenize)
    assert [t.numpy().tolist() for t in scalar_ds] == eager


def test_config_round_trip(pairs):
    tokenizer, _ = pairs["cased_strip_accents"]
    config = tokenizer.get_config()
    assert {"vocabulary", "lowercase", "strip_accents", "tokenize_chinese_chars", "max_input_chars_per_word"} <= set(config)
    assert config["vocabulary"] == tokenizer.vocabulary.tokens
    rebuilt = WordPieceTokenizer.from_config(config)
    assert (rebuilt.lowercase, rebuilt.strip_accents) == (False, True)
    texts = ["Café ΟΔΟΣ naïve", "Hello world 中文"]
    assert rebuilt(texts).to_list() == tokenizer(texts).to_list()
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(tokenizer))
    assert isinstance(revived, WordPieceTokenizer)
    assert revived(texts).to_list() == tokenizer(texts).to_list()


def test_chinese_chars_option_and_max_chars():
    tokens = SPECIALS + ["中", "##文", "中文", "ab", "##c"]
    split = WordPieceTokenizer(tokens, lowercase=False)
    joined = WordPieceTokenizer(tokens, lowercase=False, tokenize_chinese_chars=False)
    assert split.basic_tokenize("中文").numpy().tolist() == ["中".encode(), "文".encode()]
    assert joined("中文").numpy().tolist() == [7]
    short = WordPieceTokenizer(tokens, lowercase=False, max_input_chars_per_word=2)
    assert short(["ab abc"]).to_list() == [[8, 1]]
