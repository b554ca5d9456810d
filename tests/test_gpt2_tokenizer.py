"""GPT-2's in-graph byte-level BPE against OpenAI's encoder.py rules (tests/reference/openai_gpt2_encoder.py)
and tiktoken, on GPT-2's real vocabulary (rebuilt from openai-whisper's gpt2.tiktoken) and on small
vocabularies written here."""

import importlib.util
import json
import random
import unicodedata

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo.errors import ConfigError
from bertzoo.families.gpt.bpe_vocabulary import (
    bpe_from_tiktoken_ranks,
    bytes_to_unicode,
    read_bpe_merges,
    read_tiktoken_ranks,
    write_bpe_files,
)
from bertzoo.families.gpt.gpt2_tokenizer import GPT2Tokenizer
from package_files import package_file, read_member
from reference.openai_gpt2_encoder import PRE_SPLIT, ReferenceGPT2Encoder, byte_alphabet

END = "<|endoftext|>"
# tiktoken's GPT-2 pattern: the same expression as OpenAI's, with the contractions grouped.
TIKTOKEN_GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


@pytest.fixture(scope="module")
def ranks_path(tmp_path_factory):
    data = read_member(package_file("openai-whisper==20250625", sdist=True), "whisper/assets/gpt2.tiktoken")
    path = tmp_path_factory.mktemp("gpt2") / "gpt2.tiktoken"
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def vocabulary(ranks_path):
    return bpe_from_tiktoken_ranks(read_tiktoken_ranks(ranks_path))


@pytest.fixture(scope="module")
def tokenizer(vocabulary):
    return GPT2Tokenizer(*vocabulary)


@pytest.fixture(scope="module")
def reference(vocabulary):
    return ReferenceGPT2Encoder(*vocabulary)


# Pieces the generator strings are made of: every rule of the pre-split and its corners.
ATOMS = [
    " ", "  ", "   ", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", "\t", "\t\t", " \t ", " \n ", "\u00a0", "\u3000",
    "\u2028", "\x0b", "\x0c", "\x85", "\x1c",
    "'s", "'S", "'t", "'T", "'re", "'RE", "'ve", "'m", "'M", "'ll", "'LL", "'d", "'", "''", "’s", "'r", "'l", "'v",
    "hello", "World", "don", "I", "ABC", "café", "naïve", "Ærø", "straße", "ǅ", "ΣΊΣΥΦΟΣ", "東京", "日本語", "한국어",
    "Привет", "مرحبا", "שלום", "हिन्दी", "ไทย",
    "😀", "👍🏽", "👨\u200d👩\u200d👧", "🎉", "🇫🇷",
    "0", "123", "3.14", "٣٤", "½", "Ⅻ", "²", "1,000", "2024-01-01",
    "!", "?!", "...", "—", "-", "(", ")", "\"", "$", "#", "@", "%", "&&", "*",
    END, "<|", "|>", "<|endoftext", "\x00", "\ufeff", "\u200b", "\u0301", "e\u0301",
    "x", "a", "z", "s", "t", "re", "ll",
]


def _assigned(cp: int) -> bool:
    """Assigned in Python's Unicode (14.0): the Unicode versions of the regex package, tiktoken and
    RE2 agree on these, not on characters assigned since."""
    return unicodedata.category(chr(cp)) not in ("Cn", "Cs")


def varied_strings(count: int, seed: int) -> list[str]:
    """Seeded strings: atoms and random assigned characters, empty strings, leading and trailing spaces."""
    rng = random.Random(seed)
    ranges = [(0x20, 0x250), (0x250, 0x3000), (0x3000, 0xA000), (0xAC00, 0xD7A4), (0x1F300, 0x1FAFF), (0x20000, 0x2A6DF)]
    texts = ["", " ", "\n", "  leading", "trailing  ", "  both \n", "a\n\nb"]
    while len(texts) < count:
        parts = []
        for _ in range(rng.choice([1, 2, 3, 5, 8, 13, 21, 34])):
            if rng.random() < 0.8:
                parts.append(rng.choice(ATOMS))
            else:
                cp = rng.randrange(*rng.choice(ranges))
                parts.append(chr(cp) if _assigned(cp) else "?")
        texts.append("".join(parts))
    return texts


# -- the vocabulary ----------------------------------------------------------------------------------

def test_vocabulary_rebuilt_from_tiktoken_ranks_is_gpt2s(vocabulary, ranks_path):
    encoder, merges = vocabulary
    assert len(encoder) == 50257 and len(merges) == 50000
    assert encoder[END] == 50256 and encoder["!"] == 0 and encoder["Ġ"] == 220 and encoder["Ċ"] == 198
    # The first merges of OpenAI's vocab.bpe, and well-known ids.
    assert merges[:6] == [("Ġ", "t"), ("Ġ", "a"), ("h", "e"), ("i", "n"), ("r", "e"), ("o", "n")]
    assert encoder["Ġthe"] == 262 and encoder["Hello"] == 15496 and encoder["Ġworld"] == 995
    # Each merge makes the token whose id is 256 + its rank, from two tokens of lower id.
    for rank, (left, right) in enumerate(merges):
        assert encoder[left + right] == 256 + rank
        assert encoder[left] < 256 + rank and encoder[right] < 256 + rank
    # Byte ids follow bytes_to_unicode, which equals the reference's independent statement of it.
    assert bytes_to_unicode() == byte_alphabet()


def test_bpe_files_round_trip_through_from_files(vocabulary, tmp_path, reference):
    encoder, merges = vocabulary
    write_bpe_files(encoder, merges, tmp_path)
    assert tmp_path.joinpath("vocab.bpe").read_text(encoding="utf-8").splitlines()[:2] == ["#version: 0.2", "Ġ t"]
    assert json.loads(tmp_path.joinpath("encoder.json").read_text(encoding="utf-8")) == encoder
    assert read_bpe_merges(tmp_path / "vocab.bpe") == merges
    small = GPT2Tokenizer.from_files(tmp_path / "encoder.json", tmp_path / "vocab.bpe")
    text = "Hello world, it's 2024!\n\n  Ünïcödé 東京 😀"
    assert small.encode(text) == reference.encode(text)


def test_from_tiktoken_equals_from_vocabulary(ranks_path, tokenizer):
    other = GPT2Tokenizer.from_tiktoken(ranks_path)
    assert other.get_vocabulary() == tokenizer.get_vocabulary() and other.get_merges() == tokenizer.get_merges()
    assert other.vocabulary_size == 50257 and other.end_of_text_id == 50256


# -- ids equal to the original ----------------------------------------------------------------------

def test_known_gpt2_ids(tokenizer):
    assert tokenizer.encode("Hello world") == [15496, 995]
    # OpenAI's \s+(?!\S): a newline run is one token per newline before a word.
    assert tokenizer.encode("a\n\nb") == [64, 198, 198, 65]
    assert tokenizer.encode("  a") == [220, 257]
    assert tokenizer.encode("") == []
    assert tokenizer.encode(END) == [27, 91, 437, 1659, 5239, 91, 29]


def test_ids_equal_the_reference_on_thousands_of_varied_strings(tokenizer, reference):
    texts = varied_strings(3000, seed=21)
    ids = tokenizer(tf.constant(texts)).to_list()
    expected = [reference.encode(t) for t in texts]
    mismatches = [(t, a, b) for t, a, b in zip(texts, ids, expected) if a != b]
    assert not mismatches, f"{len(mismatches)} strings differ, first: {mismatches[0]}"
    # And the pieces themselves equal the regular expression's.
    pieces = tokenizer.pre_tokenize(tf.constant(texts[:500])).to_list()
    assert pieces == [[p.encode("utf-8") for p in PRE_SPLIT.findall(t)] for t in texts[:500]]


@pytest.mark.skipif(importlib.util.find_spec("tiktoken") is None, reason="needs tiktoken (the parity extra)")
def test_ids_equal_tiktoken(tokenizer, ranks_path):
    import tiktoken

    encoding = tiktoken.Encoding(
        "gpt2", pat_str=TIKTOKEN_GPT2_PATTERN, mergeable_ranks=read_tiktoken_ranks(ranks_path),
        special_tokens={END: 50256},
    )
    texts = varied_strings(3000, seed=7)
    ids = tokenizer(tf.constant(texts)).to_list()
    expected = [encoding.encode(t, disallowed_special=()) for t in texts]
    mismatches = [(t, a, b) for t, a, b in zip(texts, ids, expected) if a != b]
    assert not mismatches, f"{len(mismatches)} strings differ, first: {mismatches[0]}"
    special = ["a<|endoftext|>b", END + END, " x <|endoftext|>\n\n", "<|endoftext"]
    assert tokenizer(tf.constant(special), allowed_special="all").to_list() == [
        encoding.encode(t, allowed_special="all") for t in special
    ]


def test_every_code_point_splits_as_the_regular_expression(tokenizer):
    """Each assigned code point, in a random context of others, is cut where the regex cuts."""
    rng = random.Random(3)
    code_points = [cp for cp in range(0x110000) if _assigned(cp)]
    rng.shuffle(code_points)
    glue = [" ", "", "", "", "'", "\n", "a", "1", "  "]
    texts = []
    for i in range(0, len(code_points), 48):
        texts.append("".join(chr(cp) + rng.choice(glue) for cp in code_points[i:i + 48]))
    pieces = tokenizer.pre_tokenize(tf.constant(texts))
    expected = [p.encode("utf-8") for t in texts for p in PRE_SPLIT.findall(t)]
    actual = pieces.flat_values.numpy().tolist()
    assert len(actual) == len(expected)
    differing = [(a, b) for a, b in zip(actual, expected) if a != b]
    assert not differing, f"{len(differing)} pieces differ, first: {differing[:3]}"


def test_keras_hub_differs_on_newline_runs_and_bertzoo_does_not(tokenizer, vocabulary, reference):
    import keras_hub

    encoder, merges = vocabulary
    hub = keras_hub.tokenizers.GPT2Tokenizer(vocabulary=encoder, merges=[f"{a} {b}" for a, b in merges])
    assert np.asarray(hub("a\n\nb")).tolist() == [64, 628, 65]
    assert reference.encode("a\n\nb") == [64, 198, 198, 65] == tokenizer.encode("a\n\nb")


def test_small_vocabulary_merge_loop_equals_the_reference():
    """Random merges over a 5-byte alphabet: runs ("aaaa"), ties and long chains exercise the loop."""
    rng = random.Random(5)
    alphabet = bytes_to_unicode()
    symbols = [alphabet[b] for b in b"ab c\n"]
    encoder = {c: i for i, c in enumerate(alphabet.values())}
    merges = []
    tokens = list(symbols)
    while len(merges) < 60:
        left, right = rng.choice(tokens), rng.choice(tokens)
        if (left, right) in merges or len(left + right) > 8:
            continue
        merges.append((left, right))
        if left + right not in encoder:
            encoder[left + right] = len(encoder)
            tokens.append(left + right)
    tokenizer = GPT2Tokenizer(encoder, merges)
    reference = ReferenceGPT2Encoder(encoder, merges)
    texts = ["".join(rng.choice("ab c\n") for _ in range(rng.randrange(0, 40))) for _ in range(1500)]
    texts += ["aaaa", "aaa", "a" * 31, "ab" * 20, " " * 9 + "b"]
    ids = tokenizer(tf.constant(texts)).to_list()
    assert ids == [reference.encode(t) for t in texts]


# -- special tokens ---------------------------------------------------------------------------------

def test_end_of_text_is_text_by_default_and_an_id_when_allowed(tokenizer, reference):
    texts = ["a<|endoftext|>b", "<|endoftext|><|endoftext|>", " x <|endoftext|>\n\n  y", "<|endoftext", "it's<|endoftext|>'s"]
    assert tokenizer(tf.constant(texts)).to_list() == [reference.encode(t) for t in texts]

    def expected(text):  # the text between special tokens is encoded as if it ended there
        ids = []
        for i, segment in enumerate(text.split(END)):
            ids += ([50256] if i else []) + reference.encode(segment)
        return ids

    for allowed in ("all", {END}, [END]):
        assert tokenizer(tf.constant(texts), allowed_special=allowed).to_list() == [expected(t) for t in texts]
    allowing = GPT2Tokenizer(tokenizer.get_vocabulary(), tokenizer.get_merges(), allowed_special="all")
    assert allowing.encode(texts[0]) == [64, 50256, 65]
    assert allowing.encode(texts[0], allowed_special=()) == reference.encode(texts[0])


def test_unknown_special_token_is_a_clear_error(tokenizer):
    with pytest.raises(ValueError, match=r"Unknown special token '<\|im_start\|>'.*'<\|endoftext\|>'"):
        tokenizer.encode("hi", allowed_special={"<|im_start|>"})
    with pytest.raises(ValueError, match="Unknown special token"):
        GPT2Tokenizer(tokenizer.get_vocabulary(), tokenizer.get_merges(), allowed_special=["<|im_start|>"])
    with pytest.raises(ConfigError, match="special token '<|fim|>' is not in the encoder"):
        GPT2Tokenizer(tokenizer.get_vocabulary(), tokenizer.get_merges(), special_tokens=["<|fim|>"])
    with pytest.raises(KeyError, match="not in the GPT-2 vocabulary"):
        tokenizer.token_to_id("<|im_start|>")
    assert tokenizer.token_to_id(END) == 50256 and tokenizer.id_to_token(262) == "Ġthe"


# -- decoding ---------------------------------------------------------------------------------------

def test_detokenize_round_trips_and_decodes_like_openai(tokenizer, reference):
    texts = varied_strings(500, seed=11)
    ids = tokenizer(tf.constant(texts))
    assert [t.decode("utf-8") for t in tokenizer.detokenize(ids).numpy()] == texts
    # Dense input, and random id sequences that cut characters apart: U+FFFD as errors="replace".
    assert tokenizer.detokenize(tf.constant([[15496, 995]])).numpy().tolist() == [b"Hello world"]
    rng = np.random.default_rng(0)
    sequences = [rng.integers(0, 50257, rng.integers(0, 12)).tolist() for _ in range(300)]
    sequences += [[447], [447, 247], [172, 105], [8582, 236]]
    decoded = tokenizer.detokenize(tf.ragged.constant(sequences, dtype=tf.int32)).numpy()
    assert [d.decode("utf-8") for d in decoded] == [reference.decode(s) for s in sequences]
    assert tokenizer.decode([15496, 995, 50256]) == "Hello world<|endoftext|>"
    with pytest.raises(tf.errors.InvalidArgumentError, match="token id past the vocabulary"):
        tokenizer.detokenize([[50257]])


def test_invalid_utf8_is_replaced_as_python_decodes_it(tokenizer, reference):
    raw = [b"ab\xffcd", b"\xe2\x80 x", b"\xf0\x9f\x98", b"caf\xc3", b"\xed\xa0\x80ok", b"\xc0\xaf"]
    ids = tokenizer(tf.constant(raw)).to_list()
    assert ids == [reference.encode(r.decode("utf-8", errors="replace")) for r in raw]


# -- as a Keras layer, and exported -----------------------------------------------------------------

def test_scalar_batch_and_bad_inputs(tokenizer):
    assert tokenizer("Hello world").numpy().tolist() == [15496, 995]
    assert tokenizer(tf.constant(["a", "b c"])).shape.as_list() == [2, None]
    with pytest.raises(TypeError, match="GPT2Tokenizer expected a tf.string tensor"):
        tokenizer(tf.constant([1, 2]))
    with pytest.raises(ValueError, match="scalar or a rank-1 batch"):
        tokenizer(tf.constant([["a"]]))


def test_bad_vocabularies_are_named(tmp_path, vocabulary):
    encoder, merges = vocabulary
    (tmp_path / "vocab.bpe").write_text("#version: 0.2\nĠ t\nh e x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"vocab.bpe, line 3: expected two tokens"):
        read_bpe_merges(tmp_path / "vocab.bpe")
    (tmp_path / "bad.tiktoken").write_text("IQ== 0\nnot-base64! 1\n")
    with pytest.raises(ConfigError, match=r"bad.tiktoken, line 2"):
        read_tiktoken_ranks(tmp_path / "bad.tiktoken")
    with pytest.raises(ConfigError, match="merge 1 must be two non-empty tokens"):
        GPT2Tokenizer(encoder, [("Ġ", "t"), ("x",)])
    with pytest.raises(ConfigError, match="outside GPT-2's byte alphabet"):
        GPT2Tokenizer({**encoder, "a b": 50300}, merges[:10])
    # A merge whose result the encoder lacks fails only when a text needs it, as OpenAI's KeyError.
    partial = {t: i for t, i in encoder.items() if t != "Ġt"}
    small = GPT2Tokenizer(partial, merges[:5])
    assert small.encode("he") == [partial["he"]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="encoder.json lacks"):
        small.encode(" t")


def test_keras_round_trip(tokenizer, tmp_path):
    texts = tf.constant(["Hello world", "a\n\nb", "it's <|endoftext|>"])
    inputs = keras.Input(shape=(), dtype="string")
    allowing = GPT2Tokenizer(tokenizer.get_vocabulary(), tokenizer.get_merges(), allowed_special="all", name="gpt2_tokenizer")
    model = keras.Model(inputs, allowing(inputs))
    model.save(tmp_path / "tokenizer.keras")
    loaded = keras.saving.load_model(tmp_path / "tokenizer.keras")
    assert loaded(texts).to_list() == allowing(texts).to_list()
    assert loaded(texts).to_list()[2][-1] == 50256


def test_saved_model_export_has_core_ops_only(tokenizer, tmp_path):
    from bertzoo.export.op_audit import assert_core_ops_only

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer = tokenizer

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def tokenize(self, strings):
            ids = self.tokenizer(strings, allowed_special="all")
            return {"token_ids": ids.to_tensor(-1), "lengths": ids.row_lengths()}

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
        def detokenize(self, ids):
            return {"text": self.tokenizer.detokenize(ids)}

    module = Serving()
    tf.saved_model.save(module, str(tmp_path / "export"),
                        signatures={"tokenize": module.tokenize, "detokenize": module.detokenize})
    assert_core_ops_only(tmp_path / "export")
    loaded = tf.saved_model.load(str(tmp_path / "export"))
    texts = ["Hello world", "a\n\nb<|endoftext|>", ""]
    out = loaded.signatures["tokenize"](tf.constant(texts))
    ids = [row[:n].tolist() for row, n in zip(out["token_ids"].numpy(), out["lengths"].numpy())]
    assert ids == tokenizer(tf.constant(texts), allowed_special="all").to_list()
    text = loaded.signatures["detokenize"](tf.constant([[15496, 995]], tf.int32))["text"]
    assert text.numpy().tolist() == [b"Hello world"]
