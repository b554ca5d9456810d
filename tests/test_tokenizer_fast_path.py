"""The proof behind WordPieceTokenizer's fast path: on every code point of its domain, in context,
tensorflow-text's ops give the ids of Google's rules (tests/reference) and of the exact path; and
strings outside the domain are routed to the exact path, in their order."""

import pytest
import tensorflow as tf

from bertzoo.families.bert import WordPieceTokenizer
from bertzoo.families.bert.wordpiece_tokenizer import fast_path_code_points
from bertzoo.text import Vocabulary
from tests.reference import google_tokenization as ref
from tests.test_wordpiece_tokenizer import CONFIGS  # name: (vocabulary, lowercase, strip_accents)

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LIMIT = 200  # max_input_chars_per_word, the default


def cased_vocab_tokens() -> list[str]:
    """Every candidate character alone and as ``##``, a few words, and entries FastWordpiece would
    mishandle: a repeated token (Google gives its last id), entries no Google word can match
    (with a space, with punctuation inside, a bare ``##``, a blank line, ``##`` + punctuation)."""
    chars = [chr(cp) for cp in sorted(set(fast_path_code_points(False, False)) - {9, 10, 13, 32})]
    words = ["Hello", "World", "hello", "Café", "naïve", "don", "a b", "a.b", "##", "", "##.", "x\u00a0y",
             "Hello"]
    return SPECIALS + words + chars + ["##" + c for c in chars if c.isalnum()]


@pytest.fixture(scope="module")
def pairs(minilm_dir):
    """(tokenizer, reference) per configuration."""
    real = Vocabulary.from_file(minilm_dir / "vocab.txt").tokens
    small = cased_vocab_tokens()
    out = {}
    for name, (which, lowercase, strip) in CONFIGS.items():
        tokens = real if which == "real" else small
        ids = {t: i for i, t in enumerate(tokens)}  # a repeated token keeps its last id
        out[name] = (
            WordPieceTokenizer(tokens, lowercase=lowercase, strip_accents=strip),
            ref.FullTokenizer(ids, do_lower_case=lowercase, strip_accents=strip),
        )
    return out


def contexts(char: str) -> list[str]:
    """``char`` alone, inside a word, doubled, next to punctuation and spaces, in a sentence, in
    runs of up to the fast path's run limit, and at the 200/201-character word boundary."""
    return [
        char, f"A{char}b", f"x{char}{char}y", f"{char}.", f"({char})", f" {char} ", f"a {char}\tb",
        f"Hello, {char}World!", f"{char}!{char}?", char * 3, char * 66, "b" * 65 + char,
        "a" * (LIMIT - 1) + char, "a" * LIMIT + char,
        f"{char} " + "a" * LIMIT, f"{char} " + "a" * (LIMIT + 1),
    ]


def in_fast_domain(tokenizer: WordPieceTokenizer, texts: list[str]) -> list[bool]:
    return tf.strings.regex_full_match(tf.constant(texts, tf.string), tokenizer._fast_domain).numpy().tolist()


def ragged_rows(ragged: tf.RaggedTensor) -> list[list[int]]:
    """Rows of a 2-D ragged tensor as lists, quickly (``to_list`` is slow on big batches)."""
    values, splits = ragged.flat_values.numpy().tolist(), ragged.row_splits.numpy().tolist()
    return [values[a:b] for a, b in zip(splits[:-1], splits[1:])]


@pytest.mark.parametrize("config", list(CONFIGS))
def test_fast_path_equals_reference_on_every_domain_code_point(pairs, config):
    tokenizer, reference = pairs[config]
    strip = tokenizer.lowercase if tokenizer.strip_accents is None else tokenizer.strip_accents
    domain = fast_path_code_points(tokenizer.lowercase, strip)
    texts = [text for cp in domain for text in contexts(chr(cp))]
    fast_texts = [text for text, fast in zip(texts, in_fast_domain(tokenizer, texts)) if fast]
    # Every context of an ASCII character takes the fast path; of the others all but the
    # 200/201-character words (their runs are over the limit) and the 66-character runs.
    ascii_texts = [text for cp in domain if cp < 0x80 for text in contexts(chr(cp))]
    assert set(ascii_texts) <= set(fast_texts)
    assert len(fast_texts) >= len(texts) - 6 * sum(cp >= 0x80 for cp in domain)

    batch = tf.constant(fast_texts)
    fast = ragged_rows(tokenizer._fast_tokenize(batch))
    exact = ragged_rows(tokenizer._exact_tokenize(batch))
    want = [reference.ids(text) for text in fast_texts]
    for text, got_fast, got_exact, wanted in zip(fast_texts, fast, exact, want):
        assert got_fast == wanted, (config, repr(text))
        assert got_exact == wanted, (config, repr(text))
    assert ragged_rows(tokenizer.tokenize(tf.constant(texts))) == [reference.ids(text) for text in texts]


def test_domains_per_configuration():
    ascii_points = {9, 10, 13} | set(range(0x20, 0x7F))
    assert set(fast_path_code_points(False, True)) == ascii_points  # no fast op strips accents alone
    for lowercase, strip in [(True, True), (True, False), (False, False)]:
        domain = set(fast_path_code_points(lowercase, strip))
        assert ascii_points < domain
        assert not {0x0B, 0x0C, 0x1C, 0x7F, 0x85, 0xAD, 0x200B, 0x2060} & domain  # controls Google drops
        assert {0xE9, 0xC9, 0xF8, 0x142, 0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D} <= domain
    uncased = set(fast_path_code_points(True, True))
    # NFKC case folding differs from Python's lower + accent stripping on these.
    assert not {0xDF, 0xB5, 0xAA, 0xB2, 0x2026, 0x0133, 0x01C4, 0xA0} & uncased


def test_strings_outside_the_domain_take_the_exact_path_in_order(pairs):
    tokenizer, reference = pairs["uncased"]
    texts = [
        "Hello, world!", "Straße", "naïve café", "x\x0by", "ΟΔΟΣ", "", "don't stop", "你好 world",
        "a\u00a0b", "fine\u2026", "\u00e9" * 67, "Hello " + "\u00e9" * 66, "a\u200bb", "The end.",
    ]
    fast = in_fast_domain(tokenizer, texts)
    assert fast == [True, False, True, False, False, True, True, False, False, False, False, True, False,
                    True]
    assert ragged_rows(tokenizer.tokenize(tf.constant(texts))) == [reference.ids(t) for t in texts]
    # Invalid UTF-8 is outside the domain; the exact path drops the bytes as Google does.
    invalid = [b"ab\xffc", b"ok", b"\xc3"]
    assert in_fast_domain(tokenizer, invalid) == [False, True, False]
    assert ragged_rows(tokenizer.tokenize(tf.constant(invalid))) == [reference.ids(t) for t in invalid]


@pytest.mark.parametrize("in_domain", [[], [True], [False], [True, False, True], [False, False, True, True]])
def test_all_fast_all_exact_and_mixed_batches(pairs, in_domain):
    tokenizer, reference = pairs["cased"]
    texts = ["Hello World" if fast else "Hello ΟΔΟΣ World" for fast in in_domain]
    assert in_fast_domain(tokenizer, texts) == in_domain
    got = tokenizer.tokenize(tf.constant(texts, dtype=tf.string))
    assert got.dtype == tf.int32 and ragged_rows(got) == [reference.ids(t) for t in texts]
    # Traced, the branch is a functional If (lazy_cond) and gives the same rows.
    traced = tf.function(tokenizer.tokenize, input_signature=[tf.TensorSpec([None], tf.string)])
    assert ragged_rows(traced(tf.constant(texts, dtype=tf.string))) == ragged_rows(got)
    ifs = [op for op in traced.get_concrete_function().graph.get_operations() if op.type in ("If", "StatelessIf")]
    assert [op.get_attr("_lower_using_switch_merge") for op in ifs] == [False]


def test_vocabulary_entries_no_word_can_match(pairs):
    tokenizer, reference = pairs["cased"]
    texts = ["a b", "a.b", "##", "##.", "x\u00a0y", "Hello hello", "[UNK]"]
    assert all(in_fast_domain(tokenizer, texts))
    assert ragged_rows(tokenizer.tokenize(tf.constant(texts))) == [reference.ids(t) for t in texts]
    hello_ids = tokenizer.tokenize("Hello").numpy().tolist()
    assert hello_ids == [len(SPECIALS) + 12]  # the repeated "Hello" gets its last id


def test_scalar_static_rows_and_small_limits(pairs):
    tokenizer, reference = pairs["uncased"]
    scalar = tokenizer.tokenize("Hello, world!")
    assert isinstance(scalar, tf.Tensor) and scalar.numpy().tolist() == reference.ids("Hello, world!")
    traced = tf.function(lambda s: tokenizer.tokenize(s).row_splits)
    assert traced.get_concrete_function(tf.TensorSpec([4], tf.string)).output_shapes.as_list() == [5]
    tokens = SPECIALS + ["ab", "##c", "é", "–"]
    for limit in (1, 2, 3, 4):
        short = WordPieceTokenizer(tokens, lowercase=False, max_input_chars_per_word=limit)
        ids = {t: i for i, t in enumerate(tokens)}
        reference = ref.FullTokenizer(ids, do_lower_case=False, max_input_chars_per_word=limit)
        texts = ["ab abc", "é –", "ab é", "éé ab", "abc – é"]
        assert ragged_rows(short.tokenize(tf.constant(texts))) == [reference.ids(t) for t in texts], limit
