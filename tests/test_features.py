"""Feature extraction: layer strategies against numpy combinations of the encoder's outputs, ScalarMix,
sentence and word pooling against numpy, Google's max-context windows, and the windowed extraction of
long texts checked against direct encoder calls on hand-packed windows."""

from __future__ import annotations

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo.data.squad import _check_is_max_context, _doc_spans
from bertzoo.features import (
    LAYER_STRATEGIES,
    ScalarMix,
    combine_layers,
    document_windows,
    l2_normalize,
    parse_layer_strategy,
    pool_sentence,
    pool_words,
    sentence_embeddings,
    word_embeddings,
)
from bertzoo.text import Vocabulary
from bertzoo.families.bert import BertPreprocessor, WordPieceTokenizer
from layer_checks import run_layer_checks

TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "a", "dog", "ran", "in",
          "park", "un", "##aff", "##able", "place", "##s", ".", ",", "!", "big", "red"]
VOCAB = {token: index for index, token in enumerate(TOKENS)}
HIDDEN, LAYERS = 8, 4
COMMON = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "in", "park", "big", "red", "places", "unaffable"]


def tiny_bert(encoder, seq_length):
    tokenizer = WordPieceTokenizer(Vocabulary(TOKENS), lowercase=True)
    return bertzoo.PretrainedBert(config=bertzoo.BertConfig(**encoder.bert_config.to_dict() | {"do_lower_case": True}),
                                  encoder=encoder, tokenizer=tokenizer,
                                  preprocessor=BertPreprocessor(tokenizer, seq_length=seq_length))


@pytest.fixture(scope="module")
def encoder():
    keras.utils.set_random_seed(7)
    # A large initializer range, so a token's vector depends clearly on its context.
    return bertzoo.BertEncoder(vocab_size=len(TOKENS), hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                               num_attention_heads=2, intermediate_size=16, max_position_embeddings=64,
                               hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, initializer_range=0.5)


@pytest.fixture(scope="module")
def bert(encoder):
    return tiny_bert(encoder, seq_length=32)


def direct(bert, text):
    """The encoder's outputs for one packed text, as numpy, and its input ids."""
    inputs = bert.preprocessor(tf.constant([text]))
    outputs = bert.encoder(inputs)
    states = [np.asarray(outputs["embedding_output"])[0]] + [np.asarray(x)[0] for x in outputs["encoder_outputs"]]
    return states, np.asarray(inputs["input_word_ids"])[0], np.asarray(inputs["input_mask"])[0]


def numpy_strategy(states, name):
    """The strategies written out on the hidden states [embeddings, layer 1, ..., layer L]."""
    enc = states[1:]
    return {
        "embeddings": states[0],
        "last": enc[-1],
        "second_to_last": enc[-2],
        "sum_last_four": enc[-1] + enc[-2] + enc[-3] + enc[-4],
        "concat_last_four": np.concatenate([enc[-1], enc[-2], enc[-3], enc[-4]], axis=-1),
        "sum_all": np.sum(enc, axis=0),
        "layer=2": enc[1],
        "layer_-1": enc[-1],
        0: states[0],
        -5: states[0],
        "layer=4": enc[3],
    }[name]


# -- layer strategies ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", LAYER_STRATEGIES + ("layer=2", "layer_-1", 0, -5, "layer=4"))
def test_strategy_equals_numpy_combination_of_encoder_outputs(encoder, name):
    rng = np.random.default_rng(0)
    ids = rng.integers(5, len(TOKENS), (3, 9)).astype("int32")
    mask = np.ones_like(ids)
    mask[2, 6:] = 0
    outputs = encoder({"input_word_ids": ids, "input_mask": mask, "input_type_ids": np.zeros_like(ids)})
    states = [np.asarray(outputs["embedding_output"])] + [np.asarray(x) for x in outputs["encoder_outputs"]]
    expected = numpy_strategy(states, name)
    actual = np.asarray(combine_layers(outputs, name))
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)
    assert actual.shape[-1] == parse_layer_strategy(name, LAYERS).output_dim(HIDDEN)
    if name == "concat_last_four":
        assert actual.shape[-1] == 4 * HIDDEN
    if name == "last":
        np.testing.assert_array_equal(actual, np.asarray(outputs["sequence_output"]))


def test_layer_names_resolve_like_python_indexes():
    assert parse_layer_strategy("layer=-1", 6).layers == (6,)
    assert parse_layer_strategy("layer_-7", 6).layers == (0,)
    assert parse_layer_strategy(-2, 6) == parse_layer_strategy("layer=5", 6)
    assert parse_layer_strategy("second_to_last", 6).layers == (5,)
    assert parse_layer_strategy("sum_all", 6).layers == (1, 2, 3, 4, 5, 6)


@pytest.mark.parametrize("strategy, message", [
    ("layer=7", r"layer index 7 is out of range for a 6-layer encoder: valid indexes are -7..6"),
    ("layer_-8", r"layer index -8 is out of range .* -7..6"),
    (12, r"layer index 12 is out of range"),
    ("lastt", r"unknown layer strategy 'lastt'; choose one of embeddings, last, second_to_last, sum_last_four, "
              r"concat_last_four, sum_all, or layer=i with i in -7..6"),
    ("layer=x", r"unknown layer strategy 'layer=x'"),
    (True, r"must be a name or a layer index"),
])
def test_bad_layer_strategies_are_named_with_the_valid_choices(strategy, message):
    with pytest.raises(ValueError, match=message):
        parse_layer_strategy(strategy, 6)


def test_last_four_needs_four_layers():
    with pytest.raises(ValueError, match="'concat_last_four' needs at least 4 transformer layers; this encoder has 2"):
        parse_layer_strategy("concat_last_four", 2)


# -- ScalarMix -----------------------------------------------------------------------------------


def random_layers(seed=0, n=3, shape=(2, 5, 4)):
    rng = np.random.default_rng(seed)
    return [rng.normal(loc=k, scale=k + 1, size=shape).astype("float32") for k in range(n)]


def test_scalar_mix_with_equal_weights_and_unit_gamma_is_the_mean():
    layers = random_layers()
    np.testing.assert_allclose(ScalarMix(3)(layers), np.mean(layers, axis=0), rtol=1e-6, atol=1e-6)


def test_scalar_mix_weights_are_a_softmax_times_gamma():
    layers = random_layers()
    mixed = ScalarMix(3, initial_weights=[0.5, -1.0, 2.0], initial_gamma=1.7)(layers)
    weights = np.exp([0.5, -1.0, 2.0]) / np.exp([0.5, -1.0, 2.0]).sum()
    np.testing.assert_allclose(mixed, 1.7 * np.tensordot(weights, layers, axes=1), rtol=1e-5, atol=1e-5)


def test_scalar_mix_layer_norm_uses_unmasked_positions_only():
    layers = random_layers(seed=1)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], "int32")
    for layer in layers:
        layer[0, 3:] = 1e4  # padding garbage must not move the statistics
    mixed = np.asarray(ScalarMix(3, layer_norm=True)(layers, mask))
    real = mask.astype(bool)
    expected = 0.0
    for layer in layers:
        values = layer[real]  # [unmasked positions, features]
        expected = expected + (layer - values.mean()) / np.sqrt(values.var() + 1e-12) / 3
    np.testing.assert_allclose(mixed[real], expected[real], rtol=1e-4, atol=1e-4)
    normalized = (layers[0][real] - layers[0][real].mean()) / layers[0][real].std()
    assert abs(normalized.mean()) < 1e-6 and abs(normalized.std() - 1) < 1e-6
    with pytest.raises(ValueError, match="needs input_mask"):
        ScalarMix(3, layer_norm=True)(layers)


def test_scalar_mix_is_trainable():
    layers = [tf.constant(x) for x in random_layers()]
    mix = ScalarMix(3, initial_weights=[0.0, 1.0, 0.0], initial_gamma=2.0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(mix(layers))
    grad_weights, grad_gamma = tape.gradient(loss, [mix.scalar_weights, mix.gamma])
    weights = np.exp([0.0, 1.0, 0.0]) / np.exp([0.0, 1.0, 0.0]).sum()
    sums = np.array([x.numpy().sum() for x in layers])
    # d/dgamma of gamma * sum_k w_k S_k is sum_k w_k S_k; d/ds_j is gamma * w_j (S_j - sum_k w_k S_k).
    np.testing.assert_allclose(grad_gamma, weights @ sums, rtol=1e-4)
    np.testing.assert_allclose(grad_weights, 2.0 * weights * (sums - weights @ sums), rtol=1e-4, atol=1e-3)
    assert [w.name for w in mix.trainable_weights] == ["scalar_weights", "gamma"]
    with pytest.raises(ValueError, match="built for 3 layers but got 2"):
        mix(layers[:2])


def test_scalar_mix_shared_checks(tmp_path):
    def make_inputs(n):
        rng = np.random.default_rng(n)
        mask = np.ones((2, n), "int32")
        mask[1, -2:] = 0
        return ([rng.normal(size=(2, n, 4)).astype("float32") for _ in range(3)], mask)

    def as_model(layer):
        layers = [keras.Input((None, 4)) for _ in range(3)]
        mask = keras.Input((None,), dtype="int32")
        return keras.Model([layers, mask], layer(layers, mask))

    run_layer_checks(lambda: ScalarMix(3, layer_norm=True, initial_weights=[0.1, 0.2, 0.3], initial_gamma=0.5),
                     make_inputs, tmp_path, as_model=as_model)


# -- pooling -------------------------------------------------------------------------------------


def test_sentence_pooling_matches_numpy():
    rng = np.random.default_rng(3)
    sequence = rng.normal(size=(3, 6, 4)).astype("float32")
    mask = np.array([[1] * 6, [1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0]], "int32")
    real = mask[..., None].astype(bool)
    np.testing.assert_allclose(pool_sentence(sequence, mask, "cls"), sequence[:, 0])
    mean = np.stack([sequence[i][mask[i] == 1].mean(0) for i in range(3)])
    np.testing.assert_allclose(pool_sentence(sequence, mask, "mean"), mean, rtol=1e-6)
    np.testing.assert_allclose(pool_sentence(sequence, mask, "max"), np.where(real, sequence, -np.inf).max(1))
    np.testing.assert_allclose(l2_normalize(mean), mean / np.linalg.norm(mean, axis=-1, keepdims=True), rtol=1e-6)
    with pytest.raises(ValueError, match="unknown sentence pooling 'sum'; choose one of cls, mean, max"):
        pool_sentence(sequence, mask, "sum")


def test_word_pooling_matches_numpy_and_runs_in_graph():
    rng = np.random.default_rng(4)
    sequence = rng.normal(size=(2, 7, 3)).astype("float32")
    # [CLS] w0 w1 w1 w1 [SEP] pad   |   [CLS] w0 w0 w2 [SEP] pad pad   (row 2 has no word 1)
    word_ids = np.array([[-1, 0, 1, 1, 1, -1, -1], [-1, 0, 0, 2, -1, -1, -1]], "int32")
    for pooling, reduce in [("first", lambda v: v[0]), ("mean", lambda v: v.mean(0)), ("max", lambda v: v.max(0))]:
        expected = np.zeros((2, 3, 3), "float32")
        for row in range(2):
            for word in range(3):
                if (word_ids[row] == word).any():
                    expected[row, word] = reduce(sequence[row][word_ids[row] == word])
        np.testing.assert_allclose(pool_words(sequence, word_ids, 3, pooling), expected, rtol=1e-6)
        graph = tf.function(lambda s, w: pool_words(s, w, pooling=pooling), jit_compile=True)(sequence, word_ids)
        np.testing.assert_allclose(graph, expected, rtol=1e-6)
        np.testing.assert_allclose(pool_words(sequence[0], word_ids[0], pooling=pooling), expected[0, :2], rtol=1e-6)
    # A word with no position gets zeros; no positions at all, no words.
    assert not np.asarray(pool_words(sequence, word_ids, 3, "max"))[1, 1].any()
    assert pool_words(np.zeros((0, 3), "float32"), np.zeros((0,), "int32"), pooling="first").shape == (0, 3)


# -- windows -------------------------------------------------------------------------------------


def test_windows_follow_googles_doc_spans_and_max_context():
    for num_pieces in (0, 1, 5, 30, 31, 97):
        for window_length, stride in [(30, 15), (30, 1), (30, 30), (7, 3), (8, 5)]:
            windows = document_windows(num_pieces, window_length, stride)
            spans = _doc_spans(num_pieces, window_length, stride)
            assert windows.starts.tolist() == [s.start for s in spans]
            assert windows.lengths.tolist() == [s.length for s in spans]
            for position in range(num_pieces):
                best = [k for k in range(len(spans)) if _check_is_max_context(spans, k, position)]
                assert best == [windows.best[position]], (num_pieces, window_length, stride, position)
    with pytest.raises(ValueError, match="stride must be between 1 and the window length 30, got 31"):
        document_windows(40, 30, 31)


# -- extraction ----------------------------------------------------------------------------------


def pieces_by_word(bert, ids, mask, words):
    """Positions of each word's pieces in a packed row: pieces come in order, words tokenized alone."""
    positions, cursor = [], 1
    for word in words:
        count = len(bert.tokenizer.tokenize(tf.constant(word)).numpy())
        positions.append(list(range(cursor, cursor + count)))
        cursor += count
    assert cursor == mask.sum() - 1 and ids[cursor] == VOCAB["[SEP]"]
    return positions


def test_each_strategy_and_word_pooling_equal_direct_computation(bert):
    text = "The big cat sat on a mat, unaffable places!"
    states, ids, mask = direct(bert, text)
    for strategy in LAYER_STRATEGIES + ("layer=2",):
        for pooling in (["first", "mean", "max"] if strategy == "sum_last_four" else ["first"]):
            result = word_embeddings(bert, [text], strategy, pooling, progress=False)[0]
            positions = pieces_by_word(bert, ids, mask, result.words)
            combined = numpy_strategy(states, strategy)
            reduce = {"first": lambda v: v[0], "mean": lambda v: v.mean(0), "max": lambda v: v.max(0)}[pooling]
            expected = np.stack([reduce(combined[p]) for p in positions])
            assert result.vectors.dtype == np.float32
            np.testing.assert_allclose(result.vectors, expected, rtol=1e-5, atol=1e-5, err_msg=f"{strategy} {pooling}")
    assert result.words == ["The", "big", "cat", "sat", "on", "a", "mat", ",", "unaffable", "places", "!"]
    assert [len(p) for p in positions] == [1, 1, 1, 1, 1, 1, 1, 1, 3, 2, 1]
    assert result.spans[8] == (26, 35) and text[26:35] == "unaffable"


def test_sentence_embeddings_pool_the_strategy_over_real_tokens(bert):
    texts = ["the cat sat", "a big red dog ran in the park .", ""]
    vectors = sentence_embeddings(bert, texts, progress=False)
    raw = sentence_embeddings(bert, texts, pooling="max", normalize=False, strategy="concat_last_four",
                              progress=False)
    cls = sentence_embeddings(bert, texts, pooling="cls", normalize=False, strategy="embeddings", progress=False)
    for row, text in enumerate(texts):
        states, _, mask = direct(bert, text)
        real = mask.astype(bool)
        mean = states[-1][real].mean(0)
        np.testing.assert_allclose(vectors[row], mean / np.linalg.norm(mean), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(raw[row], numpy_strategy(states, "concat_last_four")[real].max(0), atol=1e-5)
        np.testing.assert_allclose(cls[row], states[0][0], atol=1e-6)
    assert vectors.shape == (3, HIDDEN) and raw.shape == (3, 4 * HIDDEN)
    assert sentence_embeddings(bert, [], progress=False).shape == (0, HIDDEN)


@pytest.mark.parametrize("length_buckets", [None, False])
def test_xla_compiled_extraction_gives_the_graph_vectors(bert, length_buckets):
    from bertzoo.features import extraction

    texts = ["the cat sat", "a big red dog ran in the park .", "", long_text(40, seed=5)]
    graph = sentence_embeddings(bert, texts, strategy="sum_last_four", length_buckets=length_buckets, progress=False)
    xla = sentence_embeddings(bert, texts, strategy="sum_last_four", length_buckets=length_buckets, progress=False,
                              jit_compile=True)
    np.testing.assert_allclose(xla, graph, rtol=1e-5, atol=1e-5)
    words_graph = word_embeddings(bert, texts, "concat_last_four", "mean", stride=8, length_buckets=length_buckets,
                                  progress=False)
    words_xla = word_embeddings(bert, texts, "concat_last_four", "mean", stride=8, length_buckets=length_buckets,
                                progress=False, jit_compile=True)
    for a, b in zip(words_graph, words_xla, strict=True):
        assert a.words == b.words
        np.testing.assert_allclose(b.vectors, a.vectors, rtol=1e-5, atol=1e-5)
    # Separate traced functions, the XLA one compiled.
    compiled = {key[-1]: function for key, function in extraction._TRACED[bert.encoder].items() if key[0] == "sentence"}
    assert compiled[True]._jit_compile is True and not compiled[False]._jit_compile


def long_text(count, seed=0):
    return " ".join(np.random.default_rng(seed).choice(COMMON, count))


def test_windowed_extraction_of_a_text_that_fits_is_the_single_window_result(bert):
    text = long_text(22, seed=1)
    states, ids, mask = direct(bert, text)
    assert len(bert.tokenizer.tokenize(tf.constant(text))) <= 30  # one window at seq_length 32
    results = [word_embeddings(bert, [text], "sum_all", "mean", stride=stride, progress=False)[0]
               for stride in (1, 7, None)]
    positions = pieces_by_word(bert, ids, mask, results[0].words)
    expected = np.stack([numpy_strategy(states, "sum_all")[p].mean(0) for p in positions])
    for result in results:
        np.testing.assert_allclose(result.vectors, expected, rtol=1e-5, atol=1e-5)


def window_vector(bert, pieces, start, position):
    """The last layer's vector of ``pieces[position]`` in the window starting at ``start``."""
    row = [VOCAB["[CLS]"]] + list(pieces[start : start + 30]) + [VOCAB["[SEP]"]]
    row = np.asarray([row], "int32")
    outputs = bert.encoder({"input_word_ids": row, "input_mask": np.ones_like(row),
                            "input_type_ids": np.zeros_like(row)})
    return np.asarray(outputs["sequence_output"])[0, position - start + 1]


def test_every_word_of_a_long_text_gets_the_vector_of_its_most_central_window(bert):
    text = long_text(300, seed=2)
    words = text.split()
    word_pieces = bert.tokenizer.tokenize_words(tf.constant(text)).to_list()
    pieces = [p for w in word_pieces for p in w]
    first_piece = np.cumsum([0] + [len(w) for w in word_pieces])[:-1]
    assert len(word_pieces) == 300 and len(pieces) > 300

    centred = word_embeddings(bert, [text], stride=1, progress=False)[0]
    assert centred.words == words and centred.vectors.shape == (300, HIDDEN)
    for word in (150, 151, 200):
        p = int(first_piece[word])
        # Stride 1: the window with 15 pieces left of p and 14 right (the first of the two ties).
        np.testing.assert_allclose(centred.vectors[word], window_vector(bert, pieces, p - 15, p), rtol=1e-5, atol=1e-5)
        assert np.abs(centred.vectors[word] - window_vector(bert, pieces, p - 2, p)).max() > 1e-2  # context matters

    strided = word_embeddings(bert, [text], stride=10, batch_size=4, progress=False)[0]
    assert np.isfinite(strided.vectors).all() and (np.abs(strided.vectors).sum(1) > 0).all()
    spans = _doc_spans(len(pieces), 30, 10)
    for word in (0, 5, 77, 150, 299):
        p = int(first_piece[word])
        (best,) = [k for k in range(len(spans)) if _check_is_max_context(spans, k, p)]
        np.testing.assert_allclose(strided.vectors[word], window_vector(bert, pieces, spans[best].start, p),
                                   rtol=1e-5, atol=1e-5)


def test_results_do_not_depend_on_how_texts_share_batches(bert):
    items = [long_text(70, seed=3), "the cat", "", long_text(40, seed=4), ["big", "unaffable", "dog"]]
    one = word_embeddings(bert, items, "concat_last_four", "max", batch_size=1, stride=8, progress=False)
    many = word_embeddings(bert, iter(items), "concat_last_four", "max", batch_size=5, stride=8, progress=False)
    for a, b in zip(one, many, strict=True):
        assert a.words == b.words
        np.testing.assert_allclose(a.vectors, b.vectors, rtol=1e-5, atol=1e-5)
    assert one[2].vectors.shape == (0, 4 * HIDDEN) and one[4].spans is None


def test_words_that_become_unk_keep_a_vector_and_are_flagged(bert, caplog):
    with caplog.at_level(logging.WARNING, logger="bertzoo.features.extraction"):
        results = word_embeddings(bert, ["zebra quokka", "xylophone ocelot", "the zebra sat", ["", "cat"]],
                                  progress=False)
    unknown_text, other_unknown_text, mixed, given = results
    # Two unknown words in the same places are indistinguishable: both rows are [CLS] [UNK] [UNK] [SEP].
    np.testing.assert_array_equal(unknown_text.vectors, other_unknown_text.vectors)
    assert unknown_text.unknown.tolist() == [True, True] and mixed.unknown.tolist() == [False, True, False]
    assert "text 0: every word is [UNK]" in caplog.text and "2 texts in all had only [UNK] words" in caplog.text
    assert "text 2" not in caplog.text
    # A given word with no WordPiece at all gets zeros, and does not shift its neighbour.
    assert not given.vectors[0].any() and not given.unknown[0]
    np.testing.assert_allclose(given.vectors[1], word_embeddings(bert, [["cat"]], progress=False)[0].vectors[0])

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bertzoo.features.extraction"):
        sentence_embeddings(bert, ["the cat", "zebra quokka", "..."], progress=False)
    assert "text 1: every word is [UNK]" in caplog.text and "text 2" not in caplog.text


def test_bad_arguments_are_named(bert):
    with pytest.raises(ValueError, match="stride must be an int between 1 and seq_length - 2 = 30 pieces, got 31"):
        word_embeddings(bert, ["the cat"], stride=31)
    with pytest.raises(ValueError, match="unknown word pooling 'last'; choose one of first, mean, max"):
        word_embeddings(bert, ["the cat"], word_pooling="last")
    with pytest.raises(ValueError, match="got a single str"):
        word_embeddings(bert, "the cat")
    with pytest.raises(ValueError, match="item 1 must be a text .* or a list of words"):
        word_embeddings(bert, ["the cat", 3], progress=False)
    with pytest.raises(ValueError, match="layer index 5 is out of range for a 4-layer encoder"):
        sentence_embeddings(bert, ["the cat"], strategy="layer=5")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        sentence_embeddings(bert, ["the cat"], batch_size=0)


def test_traced_functions_are_reused_and_never_keep_a_model_alive(encoder):
    import gc
    import weakref

    from bertzoo.features import extraction

    bert = tiny_bert(bertzoo.BertEncoder.from_config(encoder.get_config()), seq_length=16)
    first = word_embeddings(bert, ["the cat"], progress=False)[0]
    traced = dict(extraction._TRACED[bert.encoder])
    np.testing.assert_array_equal(word_embeddings(bert, ["the cat"], progress=False)[0].vectors, first.vectors)
    assert extraction._TRACED[bert.encoder] == traced  # the second call traced nothing new
    # Traced per encoder (the windows) and per tokenizer (the words); both go with the bundle.
    references = [weakref.ref(bert.encoder), weakref.ref(bert.tokenizer)]
    entries = len(extraction._TRACED)
    del bert
    gc.collect()
    assert [reference() for reference in references] == [None, None]
    assert len(extraction._TRACED) == entries - 2
