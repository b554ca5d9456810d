"""Classification examples -> packed inputs and batched datasets with static training shapes."""

import numpy as np
import pytest

from bertzoo.data import batched_dataset, read_text_classification, text_classification_dataset
from bertzoo.text import Vocabulary
from bertzoo.families.bert import BertPreprocessor, WordPieceTokenizer

TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film", "plot", "the"]


@pytest.fixture
def preprocessor():
    return BertPreprocessor(WordPieceTokenizer(Vocabulary(TOKENS), lowercase=True), seq_length=8)


def test_pairs_are_packed_with_segment_ids(tmp_path, preprocessor):
    path = tmp_path / "pairs.tsv"
    path.write_text("sentence1\tsentence2\tlabel\nGood film\tthe plot\tyes\nbad\tgood\tno\nthe film\tbad plot\tyes\n")
    data = read_text_classification(path, text_column="sentence1", text_pair_column="sentence2", label_column="label")
    dataset = text_classification_dataset(data, preprocessor, batch_size=2, training=False)
    batches = list(dataset)
    assert [len(labels["labels"]) for _, labels in batches] == [2, 1]  # in order, the last one smaller
    inputs, labels = batches[0]
    np.testing.assert_array_equal(inputs["input_word_ids"][0], [2, 5, 7, 3, 9, 8, 3, 0])
    np.testing.assert_array_equal(inputs["input_type_ids"][0], [0, 0, 0, 0, 1, 1, 1, 0])
    np.testing.assert_array_equal(inputs["input_mask"][1], [1, 1, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(labels["labels"], [1, 0])  # labels sorted: no=0, yes=1


def test_training_batches_are_static_shuffled_and_repeated(tmp_path, preprocessor):
    path = tmp_path / "single.tsv"
    path.write_text("sentence\tlabel\n" + "".join(f"{'good ' * (i % 3 + 1)}\t{i % 2}\n" for i in range(5)))
    data = read_text_classification(path, text_column="sentence", label_column="label")
    dataset = text_classification_dataset(data, preprocessor, batch_size=4, training=True, seed=3)
    assert dataset.element_spec[0]["input_word_ids"].shape.as_list() == [4, 8]
    rows = [tuple(ids) for inputs, _ in dataset.take(5) for ids in inputs["input_word_ids"].numpy()]
    assert len(rows) == 20 and len(set(rows)) == 3  # five examples (three distinct texts) seen repeatedly


def test_batched_dataset_errors():
    with pytest.raises(ValueError, match="same number of rows"):
        batched_dataset({"a": np.zeros((3, 2))}, {"labels": np.zeros(2)}, batch_size=2, training=True)
    with pytest.raises(ValueError, match="needs labels"):
        batched_dataset({"a": np.zeros((3, 2))}, batch_size=2, training=True)
    with pytest.raises(ValueError, match="empty"):
        batched_dataset({"a": np.zeros((0, 2))}, batch_size=2, training=False)
