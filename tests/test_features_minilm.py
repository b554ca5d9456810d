"""Sentence embeddings on real weights: all-MiniLM-L6-v2 through ``bertzoo.features`` reproduces
its sentence-transformers pipeline (Transformer -> mean Pooling -> Normalize, read off the
checkpoint's ``modules.json``), and its nearest neighbours pair up paraphrases.

`make parity` (torch + transformers) computes that pipeline with ``transformers.BertModel`` and
rewrites tests/data/minilm_sentence_embeddings.npz; the default run compares bertzoo against it
without torch. (sentence-transformers itself is not installed; its mean pooling and normalisation
are a few lines, written out below as in its ``Pooling`` and ``Normalize`` modules.)
"""

import json
import pathlib

import numpy as np
import pytest

import bertzoo
from bertzoo.features import sentence_embeddings

REFERENCE = pathlib.Path(__file__).parent / "data" / "minilm_sentence_embeddings.npz"
SEQ_LENGTH = 64
MIN_COSINE = 0.9999
PARAPHRASES = [
    ("A man is playing a guitar.", "Someone is strumming a guitar on stage."),
    ("The cat is sleeping on the sofa.", "A kitten naps on the couch."),
    ("How do I bake bread at home?", "What is a simple recipe for homemade bread?"),
    ("Stock markets fell sharply after the announcement.", "Share prices dropped steeply following the news."),
    ("It is raining heavily in the city today.", "There is a big rainstorm downtown this afternoon."),
]
SENTENCES = [text for pair in PARAPHRASES for text in pair] + [
    "Naïve café owners in Zürich serve crème brûlée — ÉNORME!",
    "",
]


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return bertzoo.load_pretrained(minilm_dir, seq_length=SEQ_LENGTH)


def cosine_rows(a, b):
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_mean_pooling_and_normalization_reproduce_sentence_transformers(minilm):
    reference = np.load(REFERENCE)
    assert reference["texts"].tolist() == SENTENCES
    vectors = sentence_embeddings(minilm, SENTENCES, pooling="mean", normalize=True, progress=False)
    assert vectors.shape == (len(SENTENCES), 384) and vectors.dtype == np.float32
    cosines = cosine_rows(vectors, reference["vectors"])
    assert cosines.min() >= MIN_COSINE, cosines
    np.testing.assert_allclose(vectors, reference["vectors"], atol=1e-4)


def test_nearest_neighbours_are_the_paraphrases(minilm):
    vectors = sentence_embeddings(minilm, SENTENCES, progress=False)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    for index, (first, second) in enumerate(PARAPHRASES):
        a, b = SENTENCES.index(first), SENTENCES.index(second)
        assert similarity[a].argmax() == b and similarity[b].argmax() == a, (first, second)
        assert similarity[a, b] > 0.5
    assert similarity[0, 6] < 0.2  # guitar vs stock markets


@pytest.mark.parity
def test_regenerate_reference_with_transformers(minilm, minilm_dir):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    # The checkpoint's own sentence-transformers pipeline is what the reference follows.
    modules = json.loads((minilm_dir / "modules.json").read_text())
    assert [module["type"].rsplit(".", 1)[-1] for module in modules] == ["Transformer", "Pooling", "Normalize"]
    pooling = json.loads((minilm_dir / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not any(
        pooling[mode] for mode in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                   "pooling_mode_mean_sqrt_len_tokens"))
    max_seq_length = json.loads((minilm_dir / "sentence_bert_config.json").read_text())["max_seq_length"]

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(minilm_dir))
    model = transformers.BertModel.from_pretrained(str(minilm_dir)).eval()
    batch = tokenizer(SENTENCES, padding=True, truncation=True, max_length=max_seq_length, return_tensors="pt")
    assert batch["input_ids"].shape[1] <= SEQ_LENGTH  # no sentence is truncated by either side
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    # sentence_transformers.models.Pooling (mean) and Normalize:
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(1) / torch.clamp(mask.sum(1), min=1e-9)
    expected = torch.nn.functional.normalize(mean, p=2, dim=1).numpy()

    vectors = sentence_embeddings(minilm, SENTENCES, progress=False)
    cosines = cosine_rows(vectors, expected)
    print(f"\nall-MiniLM-L6-v2 sentence embeddings vs transformers: min cosine {cosines.min():.8f}, "
          f"max |diff| {np.abs(vectors - expected).max():.2e}")
    assert cosines.min() >= MIN_COSINE
    REFERENCE.parent.mkdir(exist_ok=True)
    np.savez_compressed(REFERENCE, texts=np.array(SENTENCES), vectors=expected.astype(np.float32))


def test_bfloat16_weights_give_mixed_bfloat16_outputs_exactly(minilm_dir):
    """``dtype="bfloat16"``: the kernels and tables are cast to bfloat16 once, at load (LayerNorm's
    parameters stay float32), so a call casts no weight, and the outputs are mixed_bfloat16's bit for
    bit; the sentence vectors stay within bfloat16 rounding of the reference and keep its neighbours."""
    mixed = bertzoo.load_pretrained(minilm_dir, seq_length=SEQ_LENGTH, dtype="mixed_bfloat16")
    pure = bertzoo.load_pretrained(minilm_dir, seq_length=SEQ_LENGTH, dtype="bfloat16")
    layer = pure.encoder.transformer_layers[0]
    assert layer.intermediate_dense.kernel.dtype == "bfloat16"
    assert pure.encoder.embeddings.word_embeddings.dtype == "bfloat16"
    assert layer.output_layer_norm.gamma.dtype == "float32"
    assert mixed.encoder.transformer_layers[0].intermediate_dense.kernel.dtype == "float32"

    inputs = mixed.preprocessor(SENTENCES)
    expected, actual = mixed.encoder(inputs), pure.encoder(inputs)
    for name in ("sequence_output", "pooled_output"):
        assert actual[name].dtype == "bfloat16"
        np.testing.assert_array_equal(actual[name].numpy().astype(np.float32),
                                      expected[name].numpy().astype(np.float32))

    reference = np.load(REFERENCE)["vectors"]
    vectors = sentence_embeddings(pure, SENTENCES, progress=False)
    assert vectors.dtype == np.float32
    assert cosine_rows(vectors, reference).min() >= 0.999
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    for first, second in PARAPHRASES:
        assert similarity[SENTENCES.index(first)].argmax() == SENTENCES.index(second)
