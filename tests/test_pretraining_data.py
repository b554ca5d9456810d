"""Pretraining data: Google's masking and sentence-pair rules, static TFRecords and dynamic masking."""

from __future__ import annotations

import os
import pathlib
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo.data import (
    MaskedLMMasker,
    create_masked_lm_predictions,
    create_pretraining_tfrecords,
    pretraining_dataset,
    validate_tfrecords,
)
from bertzoo.text.vocabulary import Vocabulary
from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer

SEQ_LENGTH = 128
NUM_SEQUENCES = 2000
NUM_DOCUMENTS = 400
SENTENCES_PER_DOCUMENT = 30


@pytest.fixture(scope="session")
def vocab(minilm_dir) -> Vocabulary:
    return Vocabulary.from_file(minilm_dir / "vocab.txt")


@pytest.fixture(scope="session")
def tokenizer(vocab) -> WordPieceTokenizer:
    return WordPieceTokenizer(vocab, lowercase=True)


@pytest.fixture(scope="session")
def marker_tokenizer() -> WordPieceTokenizer:
    """A vocabulary where each sentence's first token says its document and sentence: d17 s3 ..."""
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "x", "y", "z"]
    tokens += [f"d{i}" for i in range(NUM_DOCUMENTS)] + [f"s{i}" for i in range(SENTENCES_PER_DOCUMENT)]
    return WordPieceTokenizer(tokens, lowercase=True)


@pytest.fixture(scope="session")
def marker_corpus(tmp_path_factory) -> str:
    """400 documents of 30 short sentences; sentence j of document i is 'd{i} s{j} x y ...'."""
    rng = random.Random(7)
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    with open(path, "w") as f:
        for d in range(NUM_DOCUMENTS):
            for s in range(SENTENCES_PER_DOCUMENT):
                filler = " ".join(rng.choice("xyz") for _ in range(rng.randint(2, 5)))
                f.write(f"d{d} s{s} {filler}\n")
            f.write("\n")
    return str(path)


@pytest.fixture(scope="session")
def marker_examples(marker_corpus, marker_tokenizer, tmp_path_factory) -> tuple[dict, list[dict]]:
    """The marker corpus written unmasked with 50-document buffers, and its parsed examples."""
    out = tmp_path_factory.mktemp("nsp") / "nsp"
    summary = create_pretraining_tfrecords(
        marker_corpus, marker_tokenizer, str(out), max_seq_length=32, short_seq_prob=0.0,
        dupe_factor=3, mask=False, num_shards=3, documents_per_buffer=50, seed=1, progress=False)
    return summary, read_examples(summary["shards"])


def read_examples(paths) -> list[dict]:
    examples = []
    for path in paths:
        for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
            feature = tf.train.Example.FromString(record).features.feature
            examples.append({name: np.array(f.int64_list.value or f.float_list.value)
                             for name, f in feature.items()})
    return examples


def random_pairs(vocab: Vocabulary, num: int, seed: int, pieces: bool = False) -> list[list[int]]:
    """``[CLS] A [SEP] B [SEP]`` of exactly SEQ_LENGTH ids from ordinary vocabulary tokens.

    With ``pieces``, each word is a whole-word token followed by 0-3 ``##`` pieces.
    """
    rng = np.random.default_rng(seed)
    tokens = vocab.tokens
    ordinary = np.array([i for i, t in enumerate(tokens) if t.isalpha() and t.islower() and len(t) > 1])
    continuation = np.array([i for i, t in enumerate(tokens) if t.startswith("##") and t[2:].isalpha()])

    def segment(length):
        ids = []
        while len(ids) < length:
            ids.append(int(rng.choice(ordinary)))
            if pieces:
                ids.extend(int(i) for i in rng.choice(continuation, rng.integers(0, 4)))
        return ids[:length]

    sequences = []
    for _ in range(num):
        a_length = int(rng.integers(10, SEQ_LENGTH - 13))
        a, b = segment(a_length), segment(SEQ_LENGTH - 3 - a_length)
        sequences.append([vocab.cls_id, *a, vocab.sep_id, *b, vocab.sep_id])
    return sequences


def google_words(ids, vocab: Vocabulary) -> list[list[int]]:
    """Google's whole-word candidate groups: a ``##`` token joins the previous candidate."""
    special = {vocab.cls_id, vocab.sep_id, vocab.pad_id}
    tokens = vocab.tokens
    words = []
    for i, token_id in enumerate(ids):
        if token_id in special:
            continue
        if words and tokens[token_id].startswith("##"):
            words[-1].append(i)
        else:
            words.append([i])
    return words


def mask_statically(sequences, vocab, *, max_predictions_per_seq, whole_word_masking=False, seed=0):
    """The Python path on every sequence, as padded arrays like the dynamic path's outputs."""
    rng = random.Random(seed)
    n = len(sequences)
    out_ids = np.zeros([n, SEQ_LENGTH], np.int64)
    positions = np.zeros([n, max_predictions_per_seq], np.int64)
    labels = np.zeros([n, max_predictions_per_seq], np.int64)
    weights = np.zeros([n, max_predictions_per_seq], np.float32)
    for row, ids in enumerate(sequences):
        masked, chosen, original = create_masked_lm_predictions(
            ids, vocab, rng, max_predictions_per_seq=max_predictions_per_seq,
            whole_word_masking=whole_word_masking)
        out_ids[row, :len(masked)] = masked
        positions[row, :len(chosen)] = chosen
        labels[row, :len(chosen)] = original
        weights[row, :len(chosen)] = 1.0
    return out_ids, positions, labels, weights


def mask_dynamically(sequences, vocab, *, max_predictions_per_seq, whole_word_masking=False, seed=0):
    """The tf.data path: pad to SEQ_LENGTH, batch, map MaskedLMMasker with a per-batch seed."""
    ids = np.full([len(sequences), SEQ_LENGTH], vocab.pad_id, np.int32)
    for row, sequence in enumerate(sequences):
        ids[row, :len(sequence)] = sequence
    masker = MaskedLMMasker(vocab, max_predictions_per_seq=max_predictions_per_seq,
                            whole_word_masking=whole_word_masking)
    inputs = {"input_word_ids": ids, "input_mask": (ids != vocab.pad_id).astype(np.int32)}
    dataset = tf.data.Dataset.zip((
        tf.data.Dataset.from_tensor_slices(inputs).batch(100, drop_remainder=True),
        tf.data.Dataset.random(seed=seed).batch(2),
    )).map(lambda x, s: masker(x, seed=s))
    spec = dataset.element_spec
    assert spec["input_word_ids"].shape == (100, SEQ_LENGTH)
    for name in ("masked_lm_positions", "masked_lm_ids", "masked_lm_weights"):
        assert spec[name].shape == (100, max_predictions_per_seq), name
    batches = list(dataset.as_numpy_iterator())
    return tuple(np.concatenate([b[name] for b in batches]) for name in (
        "input_word_ids", "masked_lm_positions", "masked_lm_ids", "masked_lm_weights"))


def check_masking_rules(sequences, vocab, out_ids, positions, labels, weights,
                        max_predictions_per_seq, masked_lm_prob=0.15) -> dict:
    """Every per-sequence rule, and the pooled figures the statistical checks use."""
    special = {vocab.cls_id, vocab.sep_id, vocab.pad_id}
    counts = {"candidates": 0, "selected": 0, "mask": 0, "random": 0, "kept": 0}
    selected_at, ordinary_at = np.zeros(SEQ_LENGTH), np.zeros(SEQ_LENGTH)
    for row, ids in enumerate(sequences):
        n = int(weights[row].sum())
        assert set(weights[row]) <= {0.0, 1.0} and weights[row, :n].all() and not weights[row, n:].any()
        expected = min(max_predictions_per_seq, max(1, round(len(ids) * masked_lm_prob)))
        assert n == expected, (row, n, expected)
        chosen = positions[row, :n]
        assert list(chosen) == sorted(set(chosen)), "positions sorted and distinct"
        assert (chosen < len(ids)).all(), "positions within the real tokens"
        assert not any(ids[p] in special for p in chosen), "a special token was masked"
        assert list(labels[row, :n]) == [ids[p] for p in chosen], "labels are the original ids"
        assert not positions[row, n:].any() and not labels[row, n:].any(), "padding is zero"
        unchosen = np.setdiff1d(np.arange(SEQ_LENGTH), chosen)
        original = np.array(ids + [vocab.pad_id] * (SEQ_LENGTH - len(ids)))
        assert (out_ids[row, unchosen] == original[unchosen]).all(), "only chosen tokens change"
        for p in chosen:
            new = out_ids[row, p]
            counts["mask" if new == vocab.mask_id else "kept" if new == ids[p] else "random"] += 1
        counts["candidates"] += sum(t not in special for t in ids)
        counts["selected"] += n
        selected_at[chosen] += 1
        ordinary_at[: len(ids)] += [t not in special for t in ids]
    return {
        "selected_fraction": counts["selected"] / counts["candidates"],
        "mask": counts["mask"] / counts["selected"],
        "random": counts["random"] / counts["selected"],
        "kept": counts["kept"] / counts["selected"],
        "selected_at": selected_at,
        "ordinary_at": ordinary_at,
    }


def check_statistics(figures):
    # 19 of 125 ordinary tokens (round(128 * 0.15)): 15.2%, as Google counts [CLS]/[SEP].
    assert abs(figures["selected_fraction"] - 0.15) < 0.005, figures["selected_fraction"]
    # A random id equals the original (or [MASK]) with probability ~1/30522: below 0.01%.
    assert abs(figures["mask"] - 0.8) < 0.01, figures["mask"]
    assert abs(figures["random"] - 0.1) < 0.01, figures["random"]
    assert abs(figures["kept"] - 0.1) < 0.01, figures["kept"]
    # Every ordinary position is equally likely (19 of 125): 4 bins of about 60,000 chances each.
    for low, high in ((1, 30), (30, 60), (60, 90), (90, 127)):
        rate = figures["selected_at"][low:high].sum() / figures["ordinary_at"][low:high].sum()
        assert abs(rate - 19 / 125) < 0.01, (low, high, rate)


# -- masking rules ----------------------------------------------------------------------------------


def test_static_masking_statistics(vocab):
    sequences = random_pairs(vocab, NUM_SEQUENCES, seed=1)
    arrays = mask_statically(sequences, vocab, max_predictions_per_seq=32, seed=2)
    check_statistics(check_masking_rules(sequences, vocab, *arrays, 32))


def test_dynamic_masking_statistics(vocab):
    sequences = random_pairs(vocab, NUM_SEQUENCES, seed=1)
    arrays = mask_dynamically(sequences, vocab, max_predictions_per_seq=32, seed=2)
    check_statistics(check_masking_rules(sequences, vocab, *arrays, 32))


@pytest.mark.parametrize("path", ["static", "dynamic"])
def test_num_to_predict_rounds_and_caps_like_google(vocab, path):
    """Short sequences (max(1, round(...)), half-even) and the max_predictions_per_seq cap."""
    rng = random.Random(3)
    sequences = []
    for length in [5, 6, 10, 13, 23, 30, 50, 70, 110, 128] * 20:
        ids = [vocab.cls_id] + [rng.randint(1996, 29000) for _ in range(length - 2)] + [vocab.sep_id]
        ids[rng.randint(2, length - 2)] = vocab.sep_id
        sequences.append(ids)
    mask = mask_statically if path == "static" else mask_dynamically
    arrays = mask(sequences, vocab, max_predictions_per_seq=12, seed=4)
    check_masking_rules(sequences, vocab, *arrays, 12)


@pytest.mark.parametrize("path", ["static", "dynamic"])
def test_whole_word_masking_never_splits_a_word(vocab, path):
    sequences = random_pairs(vocab, 400, seed=5, pieces=True)
    mask = mask_statically if path == "static" else mask_dynamically
    _, positions, _, weights = mask(
        sequences, vocab, max_predictions_per_seq=20, whole_word_masking=True, seed=6)
    multi_piece_words_chosen = 0
    for row, ids in enumerate(sequences):
        n = int(weights[row].sum())
        chosen = set(positions[row, :n].tolist())
        assert n <= min(20, round(len(ids) * 0.15))
        for word in google_words(ids, vocab):
            picked = [i in chosen for i in word]
            assert all(picked) or not any(picked), (row, word, picked)
            multi_piece_words_chosen += len(word) > 1 and all(picked)
        assert chosen == set().union(*[set(w) for w in google_words(ids, vocab) if w[0] in chosen])
    assert multi_piece_words_chosen > 500, multi_piece_words_chosen


def test_whole_word_masking_in_written_examples(tokenizer, tmp_path):
    """End to end through the tokenizer: rare words split into many ## pieces stay whole."""
    words = ["antidisestablishmentarianism", "photosynthesizing", "unbelievably", "xylophonists",
             "tokenization", "zygomorphic", "the", "cat", "quixotically"]
    rng = random.Random(8)
    corpus = tmp_path / "words.txt"
    corpus.write_text("\n\n".join(
        "\n".join(" ".join(rng.choice(words) for _ in range(8)) for _ in range(4)) for _ in range(40)))
    summary = create_pretraining_tfrecords(
        str(corpus), tokenizer, str(tmp_path / "wwm"), max_seq_length=64, max_predictions_per_seq=10,
        whole_word_masking=True, progress=False)
    vocab = tokenizer.vocabulary
    assert summary["examples"] > 40
    pieces_seen = 0
    for example in read_examples(summary["shards"]):
        n = int(example["masked_lm_weights"].sum())
        length = int(example["input_mask"].sum())
        original = example["input_ids"][:length].copy()
        chosen = example["masked_lm_positions"][:n]
        original[chosen] = example["masked_lm_ids"][:n]
        for word in google_words(original.tolist(), vocab):
            picked = [i in set(chosen.tolist()) for i in word]
            assert all(picked) or not any(picked)
            pieces_seen += len(word) > 1
    assert pieces_seen > 100


def test_masker_config_round_trip_and_unbatched_input(vocab):
    masker = MaskedLMMasker(vocab, max_predictions_per_seq=4, masked_lm_prob=0.5,
                            whole_word_masking=True, seed=3)
    clone = MaskedLMMasker.from_config(masker.get_config())
    assert clone.get_config() == masker.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(masker))
    assert isinstance(restored, MaskedLMMasker) and restored.vocabulary.tokens == vocab.tokens
    ids = tf.constant([101, 7592, 2088, 102, 0, 0], tf.int32)
    out = masker({"input_word_ids": ids, "input_type_ids": tf.zeros_like(ids)}, seed=tf.constant([1, 2]))
    assert out["masked_lm_positions"].shape == (4,) and out["input_type_ids"].shape == (6,)
    assert set(out["masked_lm_positions"].numpy()[out["masked_lm_weights"].numpy() > 0]) <= {1, 2}


# -- sentence pairs -----------------------------------------------------------------------------------


def markers(example, marker_tokenizer):
    """(segment, document, sentence) for each sentence marker 'd{i}' 's{j}' in the example."""
    tokens = marker_tokenizer.vocabulary.tokens
    ids, segments = example["input_ids"], example["segment_ids"]
    found = []
    for i in range(len(ids) - 1):
        first, second = tokens[ids[i]], tokens[ids[i + 1]]
        if first.startswith("d") and second.startswith("s") and first[1:].isdigit():
            found.append((int(segments[i]), int(first[1:]), int(second[1:])))
    return found


def starts(needle: list[int], haystack: list[int]) -> list[int]:
    return [i for i in range(len(haystack) - len(needle) + 1) if haystack[i:i + len(needle)] == needle]


def test_next_sentence_pairs(marker_examples, marker_tokenizer, marker_corpus):
    summary, examples = marker_examples
    vocab = marker_tokenizer.vocabulary
    documents = [[vocab.token_to_id(word) for word in block.split()]
                 for block in pathlib.Path(marker_corpus).read_text().strip().split("\n\n")]
    assert len(examples) == summary["examples"] > 8000
    labels = np.array([int(e["next_sentence_labels"][0]) for e in examples])
    assert labels.sum() == summary["random_next_examples"]
    # A chunk of one sentence always gets a random B (Google's rule); with short_seq_prob=0 and
    # short sentences that is only a document's last sentence alone, so A holds the last sentence.
    last = SENTENCES_PER_DOCUMENT - 1
    coin_flips = []
    for example, label in zip(examples, labels):
        found = markers(example, marker_tokenizer)
        a = [(d, s) for segment, d, s in found if segment == 0]
        b = [(d, s) for segment, d, s in found if segment == 1]
        if any(s == last for _, s in a):
            assert label == 1, found
        elif a:
            coin_flips.append(label)
        if label == 0 and (a or b):
            # The actual next text: A and B are contiguous text of one document and B starts
            # where A ends, but for the few tokens (< one sentence) truncation took off A's back
            # or B's front.
            assert len({d for d, _ in a + b}) == 1, found
            document = documents[(a + b)[0][0]]
            length = int(example["input_mask"].sum())
            ids, segments = example["input_ids"][:length].tolist(), example["segment_ids"][:length]
            tokens_a = ids[1:int((segments == 0).sum()) - 1]
            tokens_b = ids[int((segments == 0).sum()):-1]
            gaps = {b_start - (a_start + len(tokens_a))
                    for a_start in starts(tokens_a, document) for b_start in starts(tokens_b, document)}
            truncated = len(tokens_a) + len(tokens_b) == 32 - 3
            assert (gaps & set(range(7))) if truncated else 0 in gaps, (found, gaps)
        elif label == 1 and a and b:
            assert a[0][0] != b[0][0], found
    random_fraction = np.mean(coin_flips)
    assert len(coin_flips) > 6000 and abs(random_fraction - 0.5) < 0.02, (len(coin_flips), random_fraction)
    assert 0.5 < labels.mean() < 0.55, labels.mean()  # the forced ones add a little


def test_streaming_buffers_bound_the_random_next_documents(marker_examples, marker_tokenizer):
    """documents_per_buffer=50 of 400: random B stays within its buffer, every document is used."""
    summary, examples = marker_examples
    assert summary["documents"] == NUM_DOCUMENTS and summary["buffers"] == NUM_DOCUMENTS // 50
    assert summary["sentences"] == NUM_DOCUMENTS * SENTENCES_PER_DOCUMENT
    documents_in_a = set()
    for example in examples:
        found = markers(example, marker_tokenizer)
        a = {d for segment, d, _ in found if segment == 0}
        b = {d for segment, d, _ in found if segment == 1}
        documents_in_a |= a
        assert len({d // 50 for d in a | b}) <= 1, found
    assert documents_in_a == set(range(NUM_DOCUMENTS))
    assert sorted(summary["examples_per_shard"]) == sorted(
        [len(read_examples([p])) for p in summary["shards"]])
    assert not [p for p in os.listdir(os.path.dirname(summary["shards"][0])) if "incomplete" in p]


# -- reading ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def static_records(marker_corpus, marker_tokenizer, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("static") / "train"
    return create_pretraining_tfrecords(
        marker_corpus, marker_tokenizer, str(out), max_seq_length=32, max_predictions_per_seq=6,
        num_shards=2, documents_per_buffer=100, progress=False)


def test_reading_static_records_round_trips(static_records):
    pattern = static_records["shards"][0].replace("00000-of", "*-of")
    dataset = pretraining_dataset(pattern, seq_length=32, max_predictions_per_seq=6,
                                  global_batch_size=16, is_training=False)
    got = {name: [] for name in ("input_word_ids", "input_mask", "input_type_ids", "masked_lm_positions",
                                 "masked_lm_ids", "masked_lm_weights", "next_sentence_labels")}
    for features, labels in dataset.as_numpy_iterator():
        for name, value in {**features, **labels}.items():
            assert value.dtype == (np.float32 if name == "masked_lm_weights" else np.int32), name
            got[name].append(value)
    got = {name: np.concatenate(values) for name, values in got.items()}
    written = read_examples(static_records["shards"])
    assert len(got["input_word_ids"]) == len(written) == static_records["examples"]
    names = {"input_word_ids": "input_ids", "input_type_ids": "segment_ids"}
    # eval reads the files in order, one after the other
    for name, values in got.items():
        expected = np.stack([e[names.get(name, name)] for e in written])
        np.testing.assert_array_equal(values, expected, err_msg=name)
    assert got["masked_lm_weights"].sum() > 0 and 0.3 < got["next_sentence_labels"].mean() < 0.7

    train = pretraining_dataset(pattern, seq_length=32, max_predictions_per_seq=6,
                                global_batch_size=16, seed=1)
    features, labels = train.element_spec
    assert features["input_word_ids"].shape == (16, 32)
    assert features["masked_lm_positions"].shape == labels["masked_lm_weights"].shape == (16, 6)
    assert labels["next_sentence_labels"].shape == (16, 1)


def test_input_context_shards_files_and_splits_the_batch(static_records):
    pattern = static_records["shards"][0].replace("00000-of", "*-of")
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=2)
    dataset = pretraining_dataset(pattern, seq_length=32, max_predictions_per_seq=6,
                                  global_batch_size=16, is_training=False, input_context=context)
    sizes = [len(f["input_word_ids"]) for f, _ in dataset.as_numpy_iterator()]
    assert max(sizes) == 8
    assert sum(sizes) == static_records["examples_per_shard"][1]


def test_dynamic_masking_changes_every_epoch(marker_examples, marker_tokenizer):
    summary, _ = marker_examples
    pattern = summary["shards"][0].replace("00000-of", "*-of")
    vocab = marker_tokenizer.vocabulary

    def dataset(is_training=False):
        return pretraining_dataset(
            pattern, seq_length=32, max_predictions_per_seq=5, global_batch_size=64,
            is_training=is_training, dynamic_masking=True, vocabulary=vocab, seed=11)

    def positions(ds, batches=10):
        return np.concatenate([f["masked_lm_positions"] for f, _ in ds.take(batches).as_numpy_iterator()])

    eval_dataset = dataset()
    first = positions(eval_dataset)
    # A new iterator (or a new dataset with the same seed) replays the same masks: runs under
    # different strategies and resumed runs see identical batches.
    np.testing.assert_array_equal(first, positions(eval_dataset))
    np.testing.assert_array_equal(first, positions(dataset()))
    assert (first != positions(pretraining_dataset(
        pattern, seq_length=32, max_predictions_per_seq=5, global_batch_size=64, is_training=False,
        dynamic_masking=True, vocabulary=vocab, seed=12))).any(axis=1).mean() > 0.9  # another seed
    # In training the stream repeats: the same example in the next epoch gets a new mask.
    num_examples = summary["examples_per_shard"][0]  # one shard: epochs do not interleave
    stream = pretraining_dataset(
        summary["shards"][0], seq_length=32, max_predictions_per_seq=5, global_batch_size=1, is_training=True,
        dynamic_masking=True, vocabulary=vocab, seed=11, shuffle_buffer_size=1)
    rows = [(f["input_mask"][0], f["masked_lm_positions"][0], l["masked_lm_ids"][0])
            for f, l in stream.take(2 * num_examples).as_numpy_iterator()]
    epoch_one, epoch_two = rows[:num_examples], rows[num_examples:]
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(epoch_one, epoch_two))  # same examples
    changed = np.mean([not np.array_equal(a[1], b[1]) for a, b in zip(epoch_one, epoch_two)])
    assert changed > 0.9, "a new epoch draws new masks"
    features, labels = next(iter(eval_dataset))
    assert (features["input_word_ids"].numpy() == vocab.mask_id).any()
    assert labels["masked_lm_weights"].numpy().sum(axis=1).min() >= 1
    features, labels = dataset(is_training=True).element_spec
    assert features["input_word_ids"].shape == (64, 32) and labels["masked_lm_ids"].shape == (64, 5)


# -- errors -------------------------------------------------------------------------------------------


def test_corpus_errors(tokenizer, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n  \n\n")
    with pytest.raises(ValueError, match=rf"No documents in {empty}.*blank lines between documents"):
        create_pretraining_tfrecords(str(empty), tokenizer, str(tmp_path / "a"), progress=False)
    single = tmp_path / "single.txt"
    single.write_text("\nJust one sentence here.\n\n")
    with pytest.raises(ValueError, match=rf"one document \(1 sentence\(s\)\) in {single}.*at least two documents"):
        create_pretraining_tfrecords(str(single), tokenizer, str(tmp_path / "b"), progress=False)
    missing = tmp_path / "missing.txt"
    with pytest.raises(FileNotFoundError, match=f"{missing}"):
        create_pretraining_tfrecords([str(single), str(missing)], tokenizer, str(tmp_path / "c"))
    with pytest.raises(FileNotFoundError, match="No input file matches"):
        create_pretraining_tfrecords(str(tmp_path / "nothing-*.txt"), tokenizer, str(tmp_path / "d"))
    assert sorted(os.listdir(tmp_path)) == ["empty.txt", "single.txt"], "no shard left behind"


def test_reading_errors(static_records, tmp_path):
    pattern = static_records["shards"][0].replace("00000-of", "*-of")
    with pytest.raises(ValueError, match=r"feature 'input_ids' has length 32 .* seq_length = 64"):
        pretraining_dataset(pattern, seq_length=64, max_predictions_per_seq=6, global_batch_size=4)
    with pytest.raises(ValueError, match=r"train-\*-of.*'masked_lm_positions' has length 6"):
        pretraining_dataset(pattern, seq_length=32, max_predictions_per_seq=20, global_batch_size=4)
    with pytest.raises(ValueError, match="write the files with mask=False"):
        pretraining_dataset(pattern, seq_length=32, max_predictions_per_seq=6, global_batch_size=4,
                            dynamic_masking=True, vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        pretraining_dataset(str(tmp_path / "nothing-here*"), seq_length=32, max_predictions_per_seq=6,
                            global_batch_size=4)

    garbage = tmp_path / "garbage.tfrecord"
    garbage.write_bytes(b"these bytes are not a TFRecord" * 10)
    with pytest.raises(ValueError, match=f"{garbage}: corrupt TFRecord"):
        validate_tfrecords(str(tmp_path / "*.tfrecord"))
    with pytest.raises(ValueError, match=f"{garbage}: corrupt TFRecord"):
        pretraining_dataset(str(garbage), seq_length=32, max_predictions_per_seq=6, global_batch_size=4)

    # Damage past the first record: found while iterating (unnamed), or named with validate=True.
    data = pathlib.Path(static_records["shards"][1]).read_bytes()
    truncated = tmp_path / "truncated.tfrecord"
    truncated.write_bytes(data[: len(data) // 2])
    dataset = pretraining_dataset(str(truncated), seq_length=32, max_predictions_per_seq=6,
                                  global_batch_size=4, is_training=False)
    with pytest.raises(tf.errors.DataLossError, match="truncated record"):
        for _ in dataset:
            pass
    with pytest.raises(ValueError, match=f"{truncated}: corrupt TFRecord"):
        pretraining_dataset(str(truncated), seq_length=32, max_predictions_per_seq=6,
                            global_batch_size=4, validate=True)
    assert validate_tfrecords(static_records["shards"][0]) == {
        static_records["shards"][0]: static_records["examples_per_shard"][0]}
