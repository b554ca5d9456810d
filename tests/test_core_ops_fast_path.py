"""The proof that CoreOpsTokenizer's fast path equals Google's tokenizer wherever it is taken.

``CoreOpsTokenizer`` sends a string whose characters all lie in the fast path's domain (printable
ASCII, tab, newline, return and a few English typography characters) through a cheap split and
the rest through the exact normaliser. These tests compare against the pure-Python reference
(``tests/reference/google_tokenization.py``): every domain code point in context for every
configuration, mixed batches in input order, and the op audit of an exported model.
"""

import random
import sys

import pytest
import tensorflow as tf

from bertzoo.export import core_ops_tokenizer
from bertzoo.export.core_ops_tokenizer import CoreOpsTokenizer
from bertzoo.export.core_preprocessor import CorePreprocessor
from bertzoo.export.op_audit import audit_core_ops
from bertzoo.text import Vocabulary
from tests.reference import google_tokenization as ref
from tests.test_core_ops_tokenizer import cased_vocab_tokens, varied_strings

DOMAIN = [chr(cp) for cp in core_ops_tokenizer._fast_path_classes().domain]

CONFIGS = {
    # name: (vocabulary, lowercase, strip_accents)
    "uncased": ("real", True, None),
    "uncased_keep_accents": ("real", True, False),
    "cased": ("small", False, None),
    "cased_strip_accents": ("small", False, True),
}


def fast_path_vocab_tokens() -> list[str]:
    """The small cased vocabulary plus every domain character, alone and as ``##``, and a
    repeated one, so words of domain characters split into pieces rather than ``[UNK]``."""
    tokens = cased_vocab_tokens()
    extra = [c for c in DOMAIN if not c.isspace() and c not in tokens]
    return tokens + extra + ["##" + c for c in extra] + ["Hello"]  # "Hello" again: its last id counts


@pytest.fixture(scope="module")
def pairs(minilm_dir):
    """(CoreOpsTokenizer, reference FullTokenizer) per configuration."""
    vocabularies = {"real": Vocabulary.from_file(minilm_dir / "vocab.txt"),
                    "small": Vocabulary(fast_path_vocab_tokens())}
    out = {}
    for name, (which, lowercase, strip) in CONFIGS.items():
        vocab = vocabularies[which]
        ids = {token: i for i, token in enumerate(vocab.tokens)}  # a repeated token: its last id
        out[name] = (CoreOpsTokenizer(vocab, lowercase=lowercase, strip_accents=strip),
                     ref.FullTokenizer(ids, do_lower_case=lowercase, strip_accents=strip))
    return out


def in_domain(tokenizer: CoreOpsTokenizer, texts: list[bytes]) -> list[bool]:
    """Which texts the tokenizer routes to the fast path."""
    return tf.strings.regex_full_match(tf.constant(texts), tokenizer._fast_domain_pattern).numpy().tolist()


def assert_same_as_reference(tokenizer: CoreOpsTokenizer, reference: ref.FullTokenizer, texts: list[bytes]):
    """Words, per-word piece ids and flat ids equal the reference's, text by text in input order.

    Compared as flat arrays plus row lengths (``to_list`` on big ragged tensors is slow); on a
    mismatch the first differing text is named.
    """
    batch = tf.constant(texts)
    words, pieces, flat = tokenizer.basic_tokenize(batch), tokenizer.tokenize_words(batch), tokenizer.tokenize(batch)
    want_words = [reference.basic.tokenize(t) for t in texts]
    want_pieces = [[[reference.vocab[p] for p in reference.wordpiece.tokenize_word(w)] for w in ws]
                   for ws in want_words]
    got = (words.flat_values.numpy().tolist(), words.row_lengths().numpy().tolist(),
           pieces.flat_values.numpy().tolist(), pieces.row_lengths().numpy().tolist(),
           pieces.values.row_lengths().numpy().tolist(),
           flat.flat_values.numpy().tolist(), flat.row_lengths().numpy().tolist())
    want = ([w.encode() for ws in want_words for w in ws], [len(ws) for ws in want_words],
            [i for ws in want_pieces for w in ws for i in w], [len(ws) for ws in want_pieces],
            [len(w) for ws in want_pieces for w in ws],
            [i for ws in want_pieces for w in ws for i in w], [sum(len(w) for w in ws) for ws in want_pieces])
    if got != want:
        for text, got_words, got_pieces, ws, wp in zip(texts, words.to_list(), pieces.to_list(), want_words, want_pieces):
            assert (got_words, got_pieces) == ([w.encode() for w in ws], wp), repr(text)
    assert got == want


def contexts(char: str) -> list[str]:
    """``char`` alone, inside a word, doubled, next to punctuation and spaces, in capitals, and
    ending words of 199 to 202 characters (around max_input_chars_per_word = 200)."""
    return [
        char, f"a{char}b", f"{char}{char}", f"Hello{char}World", f"x{char}.", f".{char} y",
        f" {char}\t", f"({char})", f"A{char}Z {char}q", f"don't{char}U.S.A.{char}",
        "a" * 199 + char, "a" * 200 + char, char + "b" * 200, "c" * 198 + char + char,
    ]


def test_the_domain_is_ascii_and_english_typography():
    assert set(DOMAIN) >= {chr(cp) for cp in range(0x20, 0x7F)} | set("\t\n\r")
    assert set(DOMAIN) >= set("\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a0")
    assert not set(DOMAIN) & set("\x00\x0b\x0c\x7f\u00ad\u00e9\u00c9\u03a3\u4e2d\ufffd")


@pytest.mark.parametrize("config", list(CONFIGS))
def test_fast_path_equals_reference_on_every_domain_code_point(pairs, config):
    tokenizer, reference = pairs[config]
    texts = [text.encode() for char in DOMAIN for text in contexts(char)]
    assert all(in_domain(tokenizer, texts))  # every one takes the fast path
    assert_same_as_reference(tokenizer, reference, texts)
    # The fast path's own words, without the routing around it.
    fast_words = tf.strings.split(tokenizer._fast_spaced_text(tf.constant(texts))).to_list()
    assert fast_words == [[w.encode() for w in reference.basic.tokenize(t)] for t in texts]
    # The texts exercise whole words, pieces, and [UNK] for words over 200 characters.
    flat = tokenizer.tokenize(tf.constant(texts)).flat_values.numpy().tolist()
    assert flat.count(tokenizer.unk_id) >= len(DOMAIN) and len(set(flat)) > 50


@pytest.mark.parametrize("config", list(CONFIGS))
def test_mixed_batches_give_reference_ids_in_input_order(pairs, config):
    tokenizer, reference = pairs[config]
    rng = random.Random(19)
    english = ["The café’s owner said: “Hello, world!” — twice…", "It costs £5 (¥700) ±2%.",
               "Don't stop\u00a0now", "ΣΑΣ is Greek", "naïve Ærøskøbing", "", " ", "\t\n"]
    texts = varied_strings(seed=19, count=600) + [t.encode() for t in english]
    texts += [b"abc\xff", b"\xe2\x80", b"x\xe2\x80\x99y", b"\xc3", b"ok \xed\xa0\x80"]  # invalid UTF-8
    texts += ["".join(rng.choice(DOMAIN) for _ in range(rng.randint(0, 30))).encode() for _ in range(400)]
    rng.shuffle(texts)
    routed = in_domain(tokenizer, texts)
    assert 300 < sum(routed) < len(texts) - 300  # both paths are taken
    assert not any(r for r, t in zip(routed, texts) if any(c not in DOMAIN for c in t.decode("utf-8", "replace")))
    assert_same_as_reference(tokenizer, reference, texts)
    # Static batch sizes and scalars take the same routes.
    concrete = tf.function(tokenizer.tokenize_words).get_concrete_function(tf.TensorSpec([len(texts)], tf.string))
    assert concrete.structured_outputs.shape.as_list()[0] == len(texts)
    for text in texts[:20]:
        assert tokenizer.tokenize(tf.constant(text)).numpy().tolist() == reference.ids(text), repr(text)


def test_preprocessor_packs_mixed_batches_as_the_reference(pairs):
    tokenizer, reference = pairs["uncased"]
    texts = varied_strings(seed=5, count=200) + [b"Hello, world!", b"An \xe2\x80\x9cEnglish\xe2\x80\x9d one."] * 50
    random.Random(5).shuffle(texts)
    a, b = texts[:150], texts[150:]
    special = dict(cls_id=tokenizer.cls_id, sep_id=tokenizer.sep_id, pad_id=tokenizer.pad_id)
    for seq_length in (5, 16, 128):
        preprocessor = CorePreprocessor(tokenizer, seq_length=seq_length)
        for inputs, segments in ((tf.constant(a), [(x, None) for x in a]),
                                 ((tf.constant(a), tf.constant(b)), list(zip(a, b)))):
            got = preprocessor(inputs)
            want = [ref.pack(reference.ids(x), None if y is None else reference.ids(y), seq_length, **special)
                    for x, y in segments]
            for key, column in zip(("input_word_ids", "input_mask", "input_type_ids"), range(3)):
                assert got[key].numpy().tolist() == [w[column] for w in want], (key, seq_length)


def test_exported_preprocessor_passes_the_op_audit(pairs, tmp_path):
    tokenizer, reference = pairs["uncased"]

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.preprocessor = CorePreprocessor(tokenizer, seq_length=32)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def serve(self, strings):
            return self.preprocessor(strings)

    model = Serving()
    tf.saved_model.save(model, str(tmp_path), signatures={"serving_default": model.serve})
    assert audit_core_ops(tmp_path) == []
    texts = [b"Hello, world!", "café’s “menu”".encode(), b""]
    got = tf.saved_model.load(str(tmp_path)).signatures["serving_default"](strings=tf.constant(texts))
    special = dict(cls_id=tokenizer.cls_id, sep_id=tokenizer.sep_id, pad_id=tokenizer.pad_id)
    assert got["input_word_ids"].numpy().tolist() == [ref.pack(reference.ids(t), None, 32, **special)[0] for t in texts]


def test_the_domain_is_checked_when_built(monkeypatch):
    core_ops_tokenizer._fast_path_classes.cache_clear()
    monkeypatch.setattr(core_ops_tokenizer, "_FAST_EXTRA_CHARS", "\u2019\u00e9")
    try:
        with pytest.raises(ValueError, match="U\\+00E9 cannot take the fast path"):
            core_ops_tokenizer._fast_path_classes()
    finally:
        core_ops_tokenizer._fast_path_classes.cache_clear()


@pytest.mark.slow
@pytest.mark.parametrize("config", ["uncased", "cased"])
def test_every_code_point_is_routed_to_a_path_that_equals_the_reference(pairs, config):
    """Each code point in context, through the routing: out-of-domain ones must not take the
    fast path's shortcuts."""
    tokenizer, reference = pairs[config]
    chars = [chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF]
    texts = [f"A{c}b {c}. x{c}{c} \u2019{c}".encode() for c in chars]
    for start in range(0, len(texts), 50000):
        assert_same_as_reference(tokenizer, reference, texts[start:start + 50000])
