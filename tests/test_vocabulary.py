"""Vocabulary: loading as Google's load_vocab, special ids, errors, casing inference."""

import pytest

from bertzoo.text import Vocabulary
from tests.reference import google_tokenization as ref

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def test_real_uncased_vocab_matches_google_load_vocab(minilm_dir):
    path = minilm_dir / "vocab.txt"
    vocab = Vocabulary.from_file(path)
    expected = ref.load_vocab(path)
    assert len(vocab) == 30522
    assert {t: vocab.token_to_id(t) for t in vocab.tokens} == expected
    # The ids of this file (bert-base-uncased), looked up, not assumed.
    assert (vocab.pad_id, vocab.unk_id, vocab.cls_id, vocab.sep_id, vocab.mask_id) == (0, 100, 101, 102, 103)
    assert vocab.id_to_token(7592) == "hello"
    assert vocab.source == str(path)


def test_special_ids_are_looked_up_not_assumed():
    vocab = Vocabulary(["hello", "[SEP]", "[MASK]", "[CLS]", "[UNK]", "x", "[PAD]"])
    assert (vocab.cls_id, vocab.sep_id, vocab.pad_id, vocab.unk_id, vocab.mask_id) == (3, 1, 6, 4, 2)


def test_lines_are_stripped_and_numbered_like_load_vocab(tmp_path):
    path = tmp_path / "vocab.txt"
    # CRLF, surrounding spaces, a blank line, a repeated token, no final newline.
    path.write_bytes("[PAD]\r\n [UNK] \n[CLS]\n\n[SEP]\nfoo\t\nfoo\nbar".encode("utf-8"))
    vocab = Vocabulary.from_file(path)
    assert vocab.tokens == ["[PAD]", "[UNK]", "[CLS]", "", "[SEP]", "foo", "foo", "bar"]
    expected = ref.load_vocab(path)
    assert {t: vocab.token_to_id(t) for t in vocab.tokens} == expected
    assert vocab.token_to_id("foo") == 6  # the later line wins, as in Google's dict


def test_missing_cls_names_the_file_and_token(tmp_path):
    path = tmp_path / "my_vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[SEP]\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError) as e:
        Vocabulary.from_file(path)
    assert str(path) in str(e.value)
    missing = str(e.value).split("lacks")[1].split(";")[0]
    assert "[CLS]" in missing and "[SEP]" not in missing  # names only the missing token


def test_missing_several_specials_lists_them_all():
    with pytest.raises(ValueError, match=r"\[CLS\], \[PAD\]"):
        Vocabulary(["[UNK]", "[SEP]", "a"], source="somewhere.txt")


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        Vocabulary.from_file(path)
    with pytest.raises(ValueError, match="empty"):
        Vocabulary([])


def test_missing_mask_is_allowed_until_asked_for():
    vocab = Vocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"])
    assert vocab.cls_id == 2
    with pytest.raises(ValueError, match=r"\[MASK\]"):
        vocab.mask_id


def test_lookup_errors_name_the_problem():
    vocab = Vocabulary(SPECIALS + ["a"], source="v.txt")
    with pytest.raises(KeyError, match="v.txt"):
        vocab.token_to_id("zebra")
    with pytest.raises(IndexError, match="out of range"):
        vocab.id_to_token(len(vocab))
    with pytest.raises(IndexError):
        vocab.id_to_token(-1)


def test_invalid_utf8_file_is_a_clear_error(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"[PAD]\n\xff\xfe\n")
    with pytest.raises(ValueError, match="UTF-8"):
        Vocabulary.from_file(path)


def test_infer_lowercase_true_on_real_uncased_vocab(minilm_dir):
    assert Vocabulary.from_file(minilm_dir / "vocab.txt").infer_lowercase() is True


def test_infer_lowercase_false_on_cased_vocab(minilm_dir):
    uncased = Vocabulary.from_file(minilm_dir / "vocab.txt").tokens
    assert Vocabulary(uncased + ["Hello"]).infer_lowercase() is False
    assert Vocabulary(SPECIALS + ["the", "##É"]).infer_lowercase() is False
    assert Vocabulary(SPECIALS + ["the", "ΟΔΟΣ"]).infer_lowercase() is False


def test_infer_lowercase_ignores_bracketed_specials():
    assert Vocabulary(SPECIALS + ["[unused3]", "[Foo]", "the", "##s", "é", "["]).infer_lowercase() is True
