"""The Transformer family: architecture rules of the paper, decoding, the encoder contract, formats."""

import itertools
import math
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo.errors import ConfigError
from bertzoo.families.transformer.pretrained_transformer import bundle_from_model
from bertzoo.families.transformer.seq2seq_decoding import beam_search, greedy_decode
from bertzoo.families.transformer.sentencepiece_tokenizer import SentencePieceTokenizer, train_sentencepiece
from bertzoo.families.transformer.sinusoidal_positions import sinusoidal_positions
from bertzoo.families.transformer.transformer_config import TransformerConfig
from bertzoo.families.transformer.transformer_decoder_layer import TransformerDecoderLayer
from bertzoo.families.transformer.transformer_encoder import TransformerEncoder
from bertzoo.families.transformer.transformer_seq2seq import TransformerSeq2Seq

PAD, BOS, EOS = 0, 2, 3


def tiny_model(vocab_size=14, seed=0, **overrides):
    keras.utils.set_random_seed(seed)
    config = TransformerConfig.preset("tiny", vocab_size=vocab_size, max_length=16, dropout_rate=0.0, **overrides)
    model = TransformerSeq2Seq.from_transformer_config(config)
    model.build()
    return model


def random_batch(rng, batch=3, source_length=7, target_length=6, vocab=14):
    source = rng.integers(4, vocab, (batch, source_length)).astype("int32")
    mask = np.ones_like(source)
    mask[0, 4:] = 0
    source[0, 4:] = PAD
    target = rng.integers(4, vocab, (batch, target_length)).astype("int32")
    target[:, 0] = BOS
    return source, mask, target


def test_positions_follow_the_papers_formula():
    table = sinusoidal_positions(50, 16)
    for pos in (0, 1, 7, 49):
        for i in range(8):
            angle = pos / 10000 ** (2 * i / 16)
            assert table[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-6)


def test_presets_are_the_papers_table_3_and_bad_fields_are_named():
    base, big = TransformerConfig.preset("base"), TransformerConfig.preset("big")
    assert (base.num_layers, base.hidden_size, base.filter_size, base.num_attention_heads, base.dropout_rate) == \
        (6, 512, 2048, 8, 0.1)
    assert (big.num_layers, big.hidden_size, big.filter_size, big.num_attention_heads, big.dropout_rate) == \
        (6, 1024, 4096, 16, 0.3)
    assert base.label_smoothing == 0.1
    with pytest.raises(ConfigError, match="num_attention_heads"):
        TransformerConfig(hidden_size=30, num_attention_heads=4)
    with pytest.raises(ConfigError, match="eos_id"):
        TransformerConfig(vocab_size=3)
    with pytest.raises(ConfigError, match="unknown TransformerConfig fields"):
        TransformerConfig.from_dict({"hidden": 3})


def test_embeddings_are_shared_scaled_and_tied_to_the_output_projection():
    model = tiny_model()
    vocab_sized = [w for w in model.weights if w.shape[0] == 14 or w.shape[-1] == 14]
    assert [w.path for w in vocab_sized] == ["embedding/embeddings"]  # one matrix, no output bias
    rng = np.random.default_rng(0)
    source, mask, target = random_batch(rng)
    memory = model.encode(source, mask)
    hidden = model.embedding(target)
    embeddings = model.embedding.embeddings.numpy()
    expected = embeddings[target] * math.sqrt(32) + sinusoidal_positions(6, 32)[None]
    np.testing.assert_allclose(hidden.numpy(), expected, atol=1e-5)
    for layer in model.decoder_layers:
        hidden = layer(hidden, memory, mask)
    logits = model({"source_word_ids": source, "source_mask": mask, "target_word_ids": target}).numpy()
    np.testing.assert_allclose(logits, hidden.numpy() @ embeddings.T, atol=1e-4)


def test_decoder_is_causal_and_ignores_padded_source():
    model = tiny_model()
    rng = np.random.default_rng(1)
    source, mask, target = random_batch(rng)
    inputs = {"source_word_ids": source, "source_mask": mask, "target_word_ids": target}
    logits = model(inputs).numpy()
    changed_future = target.copy()
    changed_future[:, 4:] = 5
    other = model(dict(inputs, target_word_ids=changed_future)).numpy()
    np.testing.assert_allclose(other[:, :4], logits[:, :4], atol=1e-5)
    assert np.abs(other[:, 4:] - logits[:, 4:]).max() > 1e-3
    changed_padding = source.copy()
    changed_padding[0, 4:] = 9
    other = model(dict(inputs, source_word_ids=changed_padding)).numpy()
    np.testing.assert_allclose(other, logits, atol=1e-5)


def test_cached_decode_steps_equal_the_full_forward_pass():
    model = tiny_model()
    source, mask, target = random_batch(np.random.default_rng(2))
    full = model({"source_word_ids": source, "source_mask": mask, "target_word_ids": target}).numpy()
    memory_kv = model.memory_keys_values(model.encode(source, mask))
    cache = model.initial_cache(3, 9)
    for index in range(target.shape[1]):
        logits, cache = model.decode_step(tf.constant(target[:, index]), tf.constant(index), memory_kv, mask, cache)
        np.testing.assert_allclose(logits.numpy(), full[:, index], atol=1e-4)


@pytest.mark.parametrize("seed", [0, 1])
def test_beam_search_with_beam_1_is_greedy(seed):
    # Large random weights, so that untrained decodes differ by source and some end (a trained
    # model is checked in test_transformer_training).
    model = tiny_model(seed=seed, vocab_size=8, initializer_range=1.0)
    rng = np.random.default_rng(seed)
    source, mask, _ = random_batch(rng, batch=6, vocab=8)
    settings = dict(max_decode_length=8, bos_id=BOS, eos_id=EOS)
    greedy = tf.function(lambda s, m: greedy_decode(model, s, m, **settings))(source, mask).numpy()
    for alpha in (0.0, 0.6):
        beam, _ = tf.function(lambda s, m: beam_search(model, s, m, beam_size=1, alpha=alpha, **settings))(
            source, mask)
        np.testing.assert_array_equal(beam.numpy(), greedy)
    assert (greedy == EOS).any(), "the check is weak unless some decodes end"


def _sequence_log_prob(model, source, mask, tokens):
    target_in = np.array([[BOS] + list(tokens[:-1])], "int32")
    logits = model({"source_word_ids": source, "source_mask": mask, "target_word_ids": target_in}).numpy()[0]
    log_probs = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    return sum(log_probs[i, token] for i, token in enumerate(tokens))


def test_beam_search_wide_enough_finds_the_exhaustive_best_under_the_gnmt_penalty():
    vocab, length, alpha = 6, 3, 0.6
    model = tiny_model(seed=3, vocab_size=vocab)
    source = np.array([[4, 5, 4, EOS]], "int32")
    mask = np.ones_like(source)
    # Every hypothesis that ends in </s> within 3 tokens, scored independently of the cache and loop.
    others = [token for token in range(vocab) if token != EOS]
    best = max(
        ((prefix + (EOS,)) for n in range(length) for prefix in itertools.product(others, repeat=n)),
        key=lambda tokens: _sequence_log_prob(model, source, mask, tokens) / ((5 + len(tokens)) / 6) ** alpha)
    best_score = _sequence_log_prob(model, source, mask, best) / ((5 + len(best)) / 6) ** alpha
    beam = len(others) ** (length - 1) * vocab  # every candidate at every step fits in the beam
    ids, score = beam_search(model, source, mask, max_decode_length=length, bos_id=BOS, eos_id=EOS,
                             beam_size=beam, alpha=alpha)
    found = [int(token) for token in ids.numpy()[0]]
    assert found[: len(best)] == list(best) and all(t == PAD for t in found[len(best):])
    assert float(score[0]) == pytest.approx(best_score, abs=1e-4)


def test_beam_search_scores_are_sorted_and_sequences_padded_after_eos():
    model = tiny_model(seed=4, vocab_size=8)
    source, mask, _ = random_batch(np.random.default_rng(4), batch=2, vocab=8)
    ids, scores = beam_search(model, source, mask, max_decode_length=6, bos_id=BOS, eos_id=EOS, beam_size=4,
                              return_all=True)
    scores = scores.numpy()
    assert ids.shape == (2, 4, 6)
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    for row in ids.numpy().reshape(-1, 6):
        ends = np.flatnonzero(row == EOS)
        if len(ends):
            assert (row[ends[0] + 1:] == PAD).all()


def test_encoder_meets_the_contract_and_heads_take_it():
    keras.utils.set_random_seed(0)
    encoder = TransformerEncoder.from_transformer_config(
        TransformerConfig.preset("tiny", vocab_size=20, max_length=16), seq_length=8)
    ids = np.array([[5, 6, 7, EOS, 0, 0, 0, 0], [8, 9, EOS, 0, 0, 0, 0, 0]], "int32")
    inputs = {"input_word_ids": ids, "input_mask": (ids > 0).astype("int32"), "input_type_ids": 0 * ids}
    outputs = encoder(inputs)
    assert outputs["sequence_output"].shape == (2, 8, 32)
    assert outputs["pooled_output"].shape == (2, 32)
    assert len(outputs["encoder_outputs"]) == 2
    np.testing.assert_array_equal(outputs["encoder_outputs"][-1].numpy(), outputs["sequence_output"].numpy())
    assert outputs["embedding_output"].shape == (2, 8, 32)
    sequence = outputs["sequence_output"].numpy()
    np.testing.assert_allclose(outputs["pooled_output"].numpy()[1], sequence[1, :3].mean(0), atol=1e-5)
    classifier = bertzoo.BertClassifier(encoder, num_classes=3)
    assert classifier(inputs)["logits"].shape == (2, 3)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    random.seed(0)
    words = "the cat sat on a mat dog ran far away house big small red blue".split()
    texts = [" ".join(random.choice(words) for _ in range(6)) for _ in range(300)]
    path = train_sentencepiece(texts, tmp_path_factory.mktemp("spm") / "spm", vocab_size=60)
    return SentencePieceTokenizer.from_file(path)


def test_sentencepiece_op_reads_the_trained_model_as_sentencepiece_does(tokenizer):
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_proto=tokenizer.model_proto)
    texts = ["the cat sat", "a big red zebra", "", "dog  ran   far"]
    assert tokenizer.tokenize(texts).to_list() == [processor.encode(text) for text in texts]
    assert [processor.id_to_piece(i) for i in range(4)] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert [t.decode() for t in tokenizer.detokenize(tokenizer.tokenize(["the cat sat"])).numpy()] == ["the cat sat"]
    with pytest.raises(ValueError, match="not a SentencePiece model"):
        SentencePieceTokenizer(b"not a model")


def test_bundle_round_trips_and_features_work_on_the_encoder(tokenizer, tmp_path):
    config = TransformerConfig.preset("tiny", vocab_size=tokenizer.vocab_size, max_length=16)
    keras.utils.set_random_seed(0)
    model = TransformerSeq2Seq.from_transformer_config(config)
    model.build()
    bundle = bundle_from_model(config, model, tokenizer, seq_length=12)
    bertzoo.save_pretrained(bundle, tmp_path / "model")
    loaded = bertzoo.load_pretrained(tmp_path / "model", seq_length=12)
    assert loaded.family == "transformer" and loaded.config == config
    inputs = loaded.preprocessor(["the cat sat on a mat", "dog"])
    assert inputs["input_word_ids"].shape == (2, 12)
    assert int(inputs["input_word_ids"][1, int(inputs["input_mask"][1].numpy().sum()) - 1]) == EOS
    np.testing.assert_allclose(loaded.encoder(inputs)["sequence_output"].numpy(),
                               bundle.encoder(inputs)["sequence_output"].numpy(), atol=1e-6)
    vectors = bertzoo.features.sentence_embeddings(loaded, ["the cat sat", "red house"], batch_size=2)
    assert vectors.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    single = bertzoo.features.sentence_embeddings(loaded, ["red house"], batch_size=2)
    np.testing.assert_allclose(single[0], vectors[1], atol=1e-5)
    words = bertzoo.features.word_embeddings(loaded, ["the cat sat", "dog"], strategy="last", batch_size=2)
    assert words[0].words == ["the", "cat", "sat"] and words[0].vectors.shape == (3, 32)
    assert words[1].vectors.shape == (1, 32)


def test_layers_round_trip_through_keras_saving(tmp_path):
    model = tiny_model()
    source, mask, target = random_batch(np.random.default_rng(5))
    inputs = {"source_word_ids": source, "source_mask": mask, "target_word_ids": target}
    model.save(tmp_path / "seq2seq.keras")
    restored = keras.saving.load_model(tmp_path / "seq2seq.keras")
    np.testing.assert_allclose(restored(inputs).numpy(), model(inputs).numpy(), atol=1e-5)
    layer = TransformerDecoderLayer(hidden_size=8, num_attention_heads=2, filter_size=16)
    assert TransformerDecoderLayer.from_config(layer.get_config()).get_config() == layer.get_config()
    encoder = model.encoder
    assert TransformerEncoder.from_config(encoder.get_config()).count_params() == encoder.count_params()
