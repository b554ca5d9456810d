"""GPT-1's host-side tokenizer against the rules of openai/finetune-transformer-lm's text_utils.py
(tests/reference/openai_gpt1_text_utils.py) on small vocabularies written here, and spaCy-style
splits checked by hand against spaCy 2's English rules."""

import json
import random

import pytest
import tensorflow as tf

from bertzoo.errors import ConfigError
from bertzoo.families.gpt.gpt1_tokenizer import GPT1Tokenizer, SpacyStyleSplitter, text_standardize
from reference.openai_gpt1_text_utils import ReferenceGPT1Encoder, standardize


def small_vocabulary(seed: int = 0, merges: int = 80):
    """Characters, their ``</w>`` forms and random merges over a small alphabet (incl. newline and space)."""
    rng = random.Random(seed)
    alphabet = list("abcdeilnorst.,'\n ")
    tokens = alphabet + [c + "</w>" for c in alphabet]
    encoder = {t: i for i, t in enumerate(tokens)}
    pairs = []
    while len(pairs) < merges:
        left, right = rng.choice(tokens), rng.choice(tokens)
        if left.endswith("</w>") or (left, right) in pairs or len(left + right) > 12:
            continue
        pairs.append((left, right))
        if rng.random() < 0.9:  # some merge results are missing from the encoder: id 0, as the original
            encoder.setdefault(left + right, len(encoder))
        tokens.append(left + right)
    return encoder, pairs


def test_text_standardize_equals_the_rules():
    rng = random.Random(1)
    atoms = ["a", "word", " ", "  ", "\n", " \n\n ", "\t", "—", "–", "―", "…", "´", "--", "!!", "?", "\"", "(", ")",
             "[", "}", "|", "_", "/", "\\", "*", "+", ";", ",", "~", ".", "'", "x\u00a0y"]
    for _ in range(2000):
        text = "".join(rng.choice(atoms) for _ in range(rng.randrange(0, 12)))
        assert text_standardize(text) == standardize(text), repr(text)
    assert text_standardize("Wait—what?!  (yes)\n\n  ok…") == "Wait - what ? ! ( yes ) \n ok..."


def test_bpe_ids_equal_the_reference_on_a_small_vocabulary():
    encoder, merges = small_vocabulary()
    tokenizer = GPT1Tokenizer(encoder, merges)
    reference = ReferenceGPT1Encoder(encoder, merges)
    rng = random.Random(2)
    words = ["".join(rng.choice("abcdeilnorst.,'") for _ in range(rng.randrange(1, 14))) for _ in range(3000)]
    words += ["a", "aaaa", "\n ", "\n", "ssss", "Ab"]
    for word in words:
        assert [encoder.get(p, 0) for p in tokenizer.bpe(word.lower())] == reference.encode_tokens([word]), repr(word)


def test_bpe_keeps_the_originals_newline_special_case():
    encoder = {"\n</w>": 5, "\n": 1, " </w>": 2}
    tokenizer = GPT1Tokenizer(encoder, [])
    assert tokenizer.bpe("\n ") == ["\n</w>"]
    # A text with a line break: spaCy-style splitting makes "\n " a token, which encodes as "\n</w>".
    assert tokenizer.pre_tokenize("a\nb") == ["a", "\n ", "b"]
    assert tokenizer.encode("a\nb")[1] == 5


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("Hello, world! I'm here.", ["hello", ",", "world", "!", "i", "'m", "here", "."]),
        ("Don't do that, Mr. Smith's dog can't.",
         ["do", "n't", "do", "that", ",", "mr.", "smith", "'s", "dog", "ca", "n't", "."]),
        ("It costs $5.00 (approx.) e.g. in the U.S. 10km away",
         ["it", "costs", "$", "5.00", "(", "approx", ".", ")", "e.g.", "in", "the", "u.s.", "10", "km", "away"]),
        ("\"Quoted\" 'single' text...", ["\"", "quoted", "\"", "'", "single", "'", "text", "..."]),
        ("well-known state-of-the-art", ["well", "-", "known", "state", "-", "of", "-", "the", "-", "art"]),
        ("He said:hello. She's 5'11", ["he", "said", ":", "hello", ".", "she", "'s", "5'11"]),
        ("They'll WON'T we've", ["they", "'ll", "wo", "n't", "we", "'ve"]),
        ("first line\n\nsecond", ["first", "line", "\n ", "second"]),
        ("Café ＡＢＣ ﬁne", ["café", "abc", "fine"]),  # ftfy with NFKC: full-width forms and ligatures
        ("The Ã©lan", ["the", "élan"]),  # ftfy repairs mojibake
    ],
)
def test_spacy_style_pre_tokenization_hand_checked(text, tokens):
    tokenizer = GPT1Tokenizer({"a</w>": 0}, [])
    assert tokenizer.pre_tokenize(text) == tokens


def test_special_tokens_sizes_and_batches(tmp_path):
    encoder, merges = small_vocabulary(seed=3)
    path_encoder, path_merges = tmp_path / "encoder_bpe_40000.json", tmp_path / "vocab_40000.bpe"
    path_encoder.write_text(json.dumps(encoder), encoding="utf-8")
    path_merges.write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges if " " not in a + b and "\n" not in a + b),
                           encoding="utf-8")
    tokenizer = GPT1Tokenizer.from_files(path_encoder, path_merges)
    n = len(encoder)
    assert (tokenizer.start_id, tokenizer.delimiter_id, tokenizer.classify_id) == (n, n + 1, n + 2)
    assert tokenizer.vocabulary_size == n + 3
    texts = ["a cat is not a dog.", "", "rain, rain!"]
    ids = tokenizer(texts)
    assert isinstance(ids, tf.RaggedTensor) and ids.dtype == tf.int32
    assert ids.to_list() == [tokenizer.encode(t) for t in texts]
    reference = ReferenceGPT1Encoder(encoder, tokenizer.merges)
    assert tokenizer.encode(texts[0]) == reference.encode_tokens(["a", "cat", "is", "not", "a", "dog", "."])
    assert tokenizer.decode([tokenizer.start_id, *tokenizer.encode("a cat"), tokenizer.classify_id]) == "_start_ a cat _classify_"


def test_bad_files_and_inputs_are_named(tmp_path):
    (tmp_path / "e.json").write_text("{\"a</w>\": 0}")
    (tmp_path / "m.bpe").write_text("#version\na b\nc d e\n")
    with pytest.raises(ConfigError, match=r"m.bpe, line 3: expected two tokens"):
        GPT1Tokenizer.from_files(tmp_path / "e.json", tmp_path / "m.bpe")
    with pytest.raises(ConfigError, match="no such file"):
        GPT1Tokenizer.from_files(tmp_path / "missing.json", tmp_path / "m.bpe")
    tokenizer = GPT1Tokenizer({"a</w>": 0}, [])
    with pytest.raises(TypeError, match="expected a list of texts"):
        tokenizer("one string")
    with pytest.raises(KeyError, match="not in the GPT-1 vocabulary"):
        tokenizer.decode([99])
    assert SpacyStyleSplitter().split("") == []
