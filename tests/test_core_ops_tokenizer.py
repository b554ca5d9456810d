"""CoreOpsTokenizer / CorePreprocessor against the tensorflow-text pipeline, and the core-op audit."""

import base64
import json
import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import graph_pb2

from bertzoo.export.core_ops_tokenizer import CoreOpsTokenizer
from bertzoo.export.core_preprocessor import CorePreprocessor
from bertzoo.export.op_audit import assert_core_ops_only, audit_core_ops
from bertzoo.text import Vocabulary
from bertzoo.families.bert import BertPreprocessor, WordPieceTokenizer
from bertzoo.text import basic_normalizer as wt

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

ASCII_WORDS = (
    "the a of and to in is was he for it with as his on be at by I this had not are but from or "
    "have an they which one you were her all she there would their we him been has when who will "
    "unaffable running Hello World don't U.S.A. 3.14 $5 e-mail x+y C++ #tag @user http://a.b/c?d=1"
).split()
ACCENTED = ["café", "CAFÉ", "naïve", "Ångström", "señor", "Ærøskøbing", "Dvořák", "İstanbul", "ß", "ǅemal",
            "ΟΔΟΣ", "Σ", "ΣΑΣ.", "όσος", "Ἀθῆναι", "Привет", "мир", "\u2c2f", "\ua7c0", "\U00010570"]
COMBINING = ["e\u0301", "A\u030a", "\u0301x", "n\u0303o", "a\u0308\u0301", "\u0345", "o\u0328\u0304",
             "\u1b44\u302e", "\U0001d165\U0001d16d"]
OTHER_SCRIPTS = ["مرحبا", "שלום", "नमस्ते", "こんにちは", "カタカナ", "한국어", "ไทย", "ქართ"]
EMOJI = ["😀", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "❤\ufe0f", "\u2603", "€", "©", "°"]
CONTROLS = ["\x00", "\x07", "\x1c", "\x1f", "\x7f", "\x85", "\u200b", "\u200c", "\u200d", "\u200e",
            "\ufeff", "\u00ad", "\u2060", "\ufffd", "\U000e0041", "\x0b", "\x0c"]
SPACES = [" ", "  ", "\t", "\n", "\r", "\u00a0", "\u2003", "\u2009", "\u202f", "\u3000", "\u2028", "\u2029",
          "\u1680"]
FULL_WIDTH = ["ＡＢＣ１", "ｈｅｌｌｏ", "！", "ﬁne", "ﬂ", "Ⅻ", "①", "㎏"]
PUNCTUATION = list(".,!?;:'\"()[]{}<>-_/\\|~`^*&%$#@=+") + [
    "¿", "¡", "—", "…", "«", "»", "、", "。", "\u037e", "\u1fef", "\u0387"
]
INVALID_UTF8 = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe4\xb8", b"\x80\x80", b"\xf4\x90\x80\x80"]


def random_cjk(rng: random.Random) -> str:
    lo, hi = rng.choice(wt.CJK_RANGES + ((0x3040, 0x30FF), (0xAC00, 0xD7A3)))
    return "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 4)))


def random_code_points(rng: random.Random) -> str:
    cps = [rng.randrange(0x110000 if rng.random() < 0.5 else 0x3000) for _ in range(rng.randint(1, 5))]
    return "".join(chr(cp) for cp in cps if not 0xD800 <= cp <= 0xDFFF)


def long_word(rng: random.Random) -> str:
    unit = rng.choice(["a", "é", "ab", "Ab", "un", "e\u0301", "x\u200b", "中", "😀", "hello", "q"])
    length = rng.choice([199, 200, 201, 250, rng.randint(150, 400)])
    return (unit * length)[:length]


def varied_strings(seed: int, count: int) -> list[bytes]:
    """Seeded mix of ASCII sentences, accents, CJK, emoji, controls, spaces, long words, bad bytes."""
    rng = random.Random(seed)
    makers = [
        lambda: rng.choice(ASCII_WORDS),
        lambda: rng.choice(ASCII_WORDS).upper(),
        lambda: rng.choice(ACCENTED),
        lambda: rng.choice(COMBINING),
        lambda: rng.choice(OTHER_SCRIPTS),
        lambda: random_cjk(rng),
        lambda: rng.choice(EMOJI),
        lambda: rng.choice(CONTROLS),
        lambda: rng.choice(FULL_WIDTH),
        lambda: rng.choice(PUNCTUATION),
        lambda: random_code_points(rng),
    ]
    texts = [b"", b" ", "\t\n\u3000".encode(), "\x00\u200b".encode(), b"\xff\xfe"]
    while len(texts) < count:
        kind = rng.random()
        if kind < 0.04:
            texts.append(b"")
        elif kind < 0.10:
            texts.append(long_word(rng).encode())
        else:
            parts = []
            for _ in range(rng.randint(1, 14)):
                part = rng.choice(makers)().encode()
                if rng.random() < 0.04:
                    part += rng.choice(INVALID_UTF8)
                parts.append(part)
                if rng.random() < 0.7:
                    parts.append(rng.choice(SPACES).encode())
            texts.append(b"".join(parts))
    return texts


def cased_vocab_tokens() -> list[str]:
    """A small handmade cased vocabulary: whole words, multi-character pieces, single characters
    with and without ``##`` (but no q/z, so some words fail), and odd entries (a repeated token,
    a blank line, a bare ``##``)."""
    words = ["Hello", "hello", "World", "the", "The", "un", "##aff", "##able", "run", "##ning", "##n",
             "Café", "na", "##ï", "##ve", "ΟΔ", "##ΟΣ", "Привет", "мир", "İstanbul", "don", "##'",
             "aaaa", "##aaa", "##ab", "U", "S", "A", "中", "##文", "😀", "ＡＢＣ", "e\u0301", "##\u0301",
             "foo", "foo", "", "##", "##llo", "He", "##é", "é"]
    chars = sorted(set("abcdefghijklmnoprstuvwxyABCDEFGHIJKLMNOPRSTUVWXY0123456789éèöüçñàΣσςαβγ"))
    return SPECIALS + words + chars + ["##" + c for c in chars]


@pytest.fixture(scope="module")
def tokenizers(minilm_dir):
    """(WordPieceTokenizer, CoreOpsTokenizer) per configuration."""
    real = Vocabulary.from_file(minilm_dir / "vocab.txt")
    small = Vocabulary(cased_vocab_tokens())
    configs = {
        "uncased": (real, dict(lowercase=True)),
        "cased": (small, dict(lowercase=False)),
        "cased_strip_accents": (small, dict(lowercase=False, strip_accents=True, max_input_chars_per_word=20)),
    }
    out = {}
    for name, (vocab, kwargs) in configs.items():
        reference = WordPieceTokenizer(vocab, **kwargs)
        out[name] = (reference, CoreOpsTokenizer.from_wordpiece_tokenizer(reference))
    return out


def nested(ragged: tf.RaggedTensor):
    """Flat values and every level's row lengths: cheap to compare, exact about the nesting."""
    lengths, level = [], ragged
    while isinstance(level, tf.RaggedTensor):
        lengths.append(level.row_lengths().numpy().tolist())
        level = level.values
    return level.numpy().tolist(), lengths


def assert_same_ids(reference, core, texts):
    batch = tf.constant(texts)
    got, want = (
        [nested(t.basic_tokenize(batch)), nested(t.tokenize_words(batch)), nested(t.tokenize(batch))]
        for t in (core, reference)
    )
    if got != want:  # name the first text that differs
        for text in texts:
            assert core.tokenize_words([text]).to_list() == reference.tokenize_words([text]).to_list(), repr(text)
        assert got == want


@pytest.mark.parametrize("config", ["uncased", "cased", "cased_strip_accents"])
def test_same_ids_as_tensorflow_text_on_varied_strings(tokenizers, config):
    reference, core = tokenizers[config]
    texts = varied_strings(seed=len(config), count=3000)
    assert sum(not t for t in texts) > 50 and sum(len(t) > 200 for t in texts) > 100
    assert_same_ids(reference, core, texts)
    # The strings exercise every branch: whole words, split words, [UNK] for failed and long words.
    flat, _ = nested(core.tokenize(tf.constant(texts)))
    assert flat.count(core.unk_id) > 100 and len(set(flat)) > 100


def test_every_sampled_code_point_in_context(tokenizers):
    cps = set(range(0, 0x3000)) | set(range(0, sys.maxunicode + 1, 97))
    cps |= {ord(c) for c in wt._unicode_tables().lowercase}  # every character Python lowercases
    chars = [chr(cp) for cp in sorted(cps) if not 0xD800 <= cp <= 0xDFFF]
    texts = [f"A{c}b {c}Σ Σ{c} A{c}Σ x{c}{c}".encode() for c in chars]
    assert_same_ids(*tokenizers["uncased"], texts)


def test_edge_cases(tokenizers):
    _, core = tokenizers["uncased"]
    unk = core.unk_id
    assert core.tokenize("a" * 201).numpy().tolist() == [unk]
    at_limit = core.tokenize("a" * 200).numpy().tolist()
    assert len(at_limit) > 1 and unk not in at_limit
    assert core.tokenize("é" * 201).numpy().tolist() == [unk]  # counted in characters
    assert core.tokenize("hello\u2603").numpy().tolist() == [unk]  # a remainder unmatched: whole word
    assert core.tokenize_words(["unaffable hello", ""]).to_list() == [[[14477, 20961, 3468], [7592]], []]
    assert core.tokenize(tf.constant(["", b"\xff", "\x00\u200b \u3000"])).to_list() == [[], [], []]
    _, small = tokenizers["cased"]
    ids = {t: i for i, t in enumerate(small.vocabulary.tokens)}
    assert small.tokenize("foo").numpy().tolist() == [ids["foo"]]  # the repeated token's last id
    longest_first = ("Hello", "##x", "He", "##l", "##l", "##u")
    assert small.tokenize("Hellox Hellu").numpy().tolist() == [ids[t] for t in longest_first]
    assert small.tokenize("qq Hq").numpy().tolist() == [small.unk_id, small.unk_id]


def test_shapes_tf_function_and_dataset(tokenizers):
    reference, core = tokenizers["uncased"]
    texts = ["Hello, world!", "", "ΟΔΟΣ café 你好", "a" * 201]
    want = reference.tokenize(texts).to_list()
    scalar = core.tokenize("hello world")
    assert isinstance(scalar, tf.Tensor) and scalar.dtype == tf.int32 and scalar.shape.rank == 1
    assert core(tf.constant(texts)).to_list() == want
    traced = tf.function(lambda s: core.tokenize(s).to_tensor(-1))
    assert [[i for i in row if i != -1] for row in traced(tf.constant(texts)).numpy().tolist()] == want
    concrete = tf.function(core.tokenize_words).get_concrete_function(tf.TensorSpec([3], tf.string))
    assert concrete.structured_outputs.shape.as_list()[0] == 3  # a static batch size is kept
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(2).map(core.tokenize)
    assert [row for batch in ds for row in batch.to_list()] == want
    with pytest.raises(TypeError, match="tf.string"):
        core.tokenize(tf.constant([1, 2]))
    with pytest.raises(ValueError, match="rank-1"):
        core.tokenize(tf.constant([["a"]]))
    with pytest.raises(ValueError, match="max_input_chars_per_word"):
        CoreOpsTokenizer(SPECIALS, lowercase=False, max_input_chars_per_word=0)


# -- packing -------------------------------------------------------------------------------------

KEYS = ("input_word_ids", "input_mask", "input_type_ids")


def assert_same_packing(bert_pre, core_pre, inputs):
    want = bert_pre(inputs)
    segments = [tf.convert_to_tensor(s) for s in (inputs if isinstance(inputs, tuple) else [inputs])]
    # A static seq_length and one given as a tensor (TF Hub's bert_pack_inputs, a dynamic width)
    # must both give BertPreprocessor's outputs.
    by_tensor = core_pre.pack_token_ids([core_pre.tokenizer.tokenize(tf.reshape(s, [-1])) for s in segments],
                                        tf.constant(core_pre.seq_length))
    if segments[0].shape.rank == 0:
        by_tensor = {k: v[0] for k, v in by_tensor.items()}
    for got in (core_pre(inputs), by_tensor):
        for key in KEYS:
            assert got[key].dtype == tf.int32
            np.testing.assert_array_equal(got[key].numpy(), want[key].numpy(), err_msg=key)


def test_packing_same_as_bert_preprocessor_real_text(tokenizers):
    reference, core = tokenizers["uncased"]
    texts = varied_strings(seed=7, count=300)
    a, b = tf.constant(texts[:150]), tf.constant(texts[150:])
    for seq_length in (3, 4, 5, 8, 16, 128):
        bert_pre = BertPreprocessor(reference, seq_length=seq_length)
        core_pre = CorePreprocessor(core, seq_length=seq_length)
        assert_same_packing(bert_pre, core_pre, a)
        assert_same_packing(bert_pre, core_pre, (a, b))
    assert_same_packing(bert_pre, core_pre, tf.constant("Hello there, General Kenobi"))
    assert_same_packing(bert_pre, core_pre, (tf.constant("a question?"), tf.constant("an answer.")))


def test_pair_truncation_same_as_bert_preprocessor_for_every_length_mix():
    """Every (len_a, len_b) in 0..12 at every seq_length 3..20, ties included."""
    tokens = SPECIALS + [f"w{i}" for i in range(30)]
    reference = WordPieceTokenizer(tokens, lowercase=False)
    core = CoreOpsTokenizer.from_wordpiece_tokenizer(reference)
    lengths = [(i, j) for i in range(13) for j in range(13)]
    a = tf.constant([" ".join(f"w{k}" for k in range(i)) for i, _ in lengths])
    b = tf.constant([" ".join(f"w{k + 13}" for k in range(j)) for _, j in lengths])
    for seq_length in range(3, 21):
        bert_pre = BertPreprocessor(reference, seq_length=seq_length)
        core_pre = CorePreprocessor(core, seq_length=seq_length)
        assert_same_packing(bert_pre, core_pre, (a, b))
        assert_same_packing(bert_pre, core_pre, a)


def test_preprocessor_shapes_and_arguments(tokenizers):
    reference, core = tokenizers["cased"]
    pre = CorePreprocessor.from_bert_preprocessor(BertPreprocessor(reference, seq_length=16))
    assert pre.seq_length == 16 and isinstance(pre.tokenizer, CoreOpsTokenizer)
    four = tf.TensorSpec([4], tf.string)
    concrete = tf.function(pre).get_concrete_function((four, four))
    for key in KEYS:
        assert concrete.structured_outputs[key].shape.as_list() == [4, 16]
    assert pre("Hello")["input_word_ids"].shape == (16,)
    assert pre(["Hello", "World"])["input_word_ids"].shape == (2, 16)  # a list of two strings is a batch
    for bad in (2, 0, 2.5, "128", True):
        with pytest.raises(ValueError, match="seq_length"):
            CorePreprocessor(core, seq_length=bad)
    with pytest.raises(TypeError, match="CoreOpsTokenizer"):
        CorePreprocessor("vocab.txt")
    with pytest.raises(ValueError, match="same batch size"):
        pre((tf.constant(["a", "b"]), tf.constant(["c"])))


# -- audit and serving without tensorflow-text ----------------------------------------------------


class Serving(tf.Module):
    def __init__(self, preprocessor):
        super().__init__()
        self.preprocessor = preprocessor

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.string)])
    def serve(self, strings_a, strings_b):
        return self.preprocessor((strings_a, strings_b))


@pytest.fixture(scope="module")
def saved_models(tokenizers, tmp_path_factory):
    reference, core = tokenizers["uncased"]
    root = tmp_path_factory.mktemp("serving")
    core_model = Serving(CorePreprocessor(core, seq_length=24))
    tf.saved_model.save(core_model, str(root / "core"), signatures={"serving_default": core_model.serve})
    text_model = Serving(BertPreprocessor(reference, seq_length=24))
    tf.saved_model.save(text_model, str(root / "tensorflow_text"), signatures={"serving_default": text_model.serve})
    return root / "core", root / "tensorflow_text", text_model


def test_core_saved_model_passes_the_audit(saved_models):
    core_dir, _, _ = saved_models
    assert audit_core_ops(core_dir) == []
    assert_core_ops_only(core_dir)
    assert_core_ops_only(str(core_dir / "saved_model.pb"))


def test_tensorflow_text_saved_model_fails_naming_its_ops(saved_models):
    _, text_dir, _ = saved_models
    # WordPieceTokenizer.tokenize: FastBertNormalizer and FastWordpiece, in its tf.cond branches.
    assert {"FastWordpieceTokenizeWithOffsets", "FastBertNormalize"} <= set(audit_core_ops(text_dir))
    with pytest.raises(ValueError, match=r"FastWordpieceTokenizeWithOffsets \(in \w*cond") as info:
        assert_core_ops_only(text_dir)
    assert "FastBertNormalize (in " in str(info.value)


def test_audit_reads_library_functions_and_graph_sources():
    graph = graph_pb2.GraphDef()
    graph.node.add(name="call", op="my_function")  # a call to a library function, not an op
    graph.node.add(name="odd", op="NotARegisteredOp")
    function = graph.library.function.add()
    function.signature.name = "my_function"
    function.node_def.add(name="inner", op="AnotherCustomOp")
    function.node_def.add(name="c", op="Const")
    assert audit_core_ops(graph) == ["AnotherCustomOp", "NotARegisteredOp"]
    with pytest.raises(ValueError, match=r"AnotherCustomOp \(in my_function\)\n.*NotARegisteredOp \(in <top-level"):
        assert_core_ops_only(graph)
    replace = tf.function(lambda x: tf.strings.regex_replace(x, "a", "b"))
    concrete = replace.get_concrete_function(tf.TensorSpec([None], tf.string))
    assert audit_core_ops(concrete) == []
    with pytest.raises(ValueError, match="No SavedModel"):
        audit_core_ops("/nonexistent/saved_model_dir")
    with pytest.raises(TypeError, match="SavedModel directory"):
        audit_core_ops(42)


_LOAD_WITHOUT_TENSORFLOW_TEXT = textwrap.dedent(
    """
    import base64, json, sys
    import tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    assert not [m for m in sys.modules if m.startswith("tensorflow_text")], "tensorflow_text was imported"
    data = json.load(open(sys.argv[2]))
    a, b = ([base64.b64decode(t) for t in data[k]] for k in ("a", "b"))
    out = model.signatures["serving_default"](strings_a=tf.constant(a), strings_b=tf.constant(b))
    try:  # the control: the tensorflow-text SavedModel does not load here
        tf.saved_model.load(sys.argv[3])
        error = None
    except Exception as e:
        error = str(e)
    json.dump({"outputs": {k: v.numpy().tolist() for k, v in out.items()}, "error": error}, sys.stdout)
    """
)


def test_core_saved_model_runs_without_tensorflow_text(saved_models, tmp_path):
    core_dir, text_dir, text_model = saved_models
    texts = varied_strings(seed=11, count=200)
    a, b = texts[:100], texts[100:]
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"a": [base64.b64encode(t).decode() for t in a],
                                  "b": [base64.b64encode(t).decode() for t in b]}))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_WITHOUT_TENSORFLOW_TEXT, str(core_dir), str(inputs), str(text_dir)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    reply = json.loads(result.stdout)
    assert "Op type not registered" in reply["error"]
    got = reply["outputs"]
    want = text_model.serve(tf.constant(a), tf.constant(b))
    assert set(got) == set(KEYS)
    for key in KEYS:
        assert got[key] == want[key].numpy().tolist(), key
    assert np.asarray(got["input_mask"]).sum() > 1000
