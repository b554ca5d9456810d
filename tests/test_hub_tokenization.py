"""Item 5: the Chinese and multilingual catalogue entries load with the tokenizer settings Google
documents, checked against the reference rules (tests/reference/google_tokenization.py) on Chinese,
Thai, Arabic, Devanagari and accented Latin text.

Each entry is served by a mirror at its real catalogue path, with a vocabulary chosen so that guessing
the casing from the vocabulary would get it wrong: only the entry's own setting gives the reference's
token ids."""

from __future__ import annotations

import pytest

import bertzoo
from bertzoo.text import Vocabulary
from hub_fixtures import clean_environment, write_google_release
from model_server import ModelServer, zip_directory
from reference.google_tokenization import BasicTokenizer, FullTokenizer, load_vocab

TEXTS = [
    "北京大学的中文分词测试，很好。",               # Chinese: every CJK character its own token
    "ภาษาไทยไม่มีช่องว่าง สวัสดี",                   # Thai: no spaces between words, not CJK
    "مرحبا بالعالم، هذا اختبار.",                    # Arabic
    "नमस्ते दुनिया, यह परीक्षण है।",                  # Devanagari: vowel signs are combining marks
    "Émile a lu «Ångström» à Zürich; naïve café.",  # accented Latin
    "Hello WORLD 東京 Straße",                       # mixed
]
# Google's list of which release expects do_lower_case (tokenization.validate_case_matches_checkpoint).
GOOGLE_DO_LOWER_CASE = {
    "chinese_L-12_H-768_A-12": True,
    "multilingual_L-12_H-768_A-12": True,
    "multi_cased_L-12_H-768_A-12": False,
}
PATHS = {
    "chinese_L-12_H-768_A-12": "2018_11_03/chinese_L-12_H-768_A-12.zip",
    "multilingual_L-12_H-768_A-12": "2018_11_03/multilingual_L-12_H-768_A-12.zip",
    "multi_cased_L-12_H-768_A-12": "2018_11_23/multi_cased_L-12_H-768_A-12.zip",
}


def misleading_vocabulary(do_lower_case: bool) -> list[str]:
    """Tokens the reference produces with the right setting, plus tokens that make the vocabulary look
    like the opposite casing (so inference from the vocabulary would choose wrongly)."""
    right = BasicTokenizer(do_lower_case=do_lower_case)
    tokens = {token for text in TEXTS for token in right.tokenize(text)}
    if do_lower_case:
        tokens |= {"Paris", "London", "NASA"}  # uppercase entries: a vocabulary that looks cased
    else:
        tokens = {token for token in tokens if token == token.lower()}  # looks uncased ...
        tokens |= {token.lower() for text in TEXTS for token in BasicTokenizer(True).tokenize(text)}
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(tokens)


@pytest.mark.parametrize("name", sorted(GOOGLE_DO_LOWER_CASE))
def test_entry_tokenizer_matches_googles_reference_rules(name, tmp_path, monkeypatch):
    clean_environment(monkeypatch, tmp_path / "home")
    do_lower_case = GOOGLE_DO_LOWER_CASE[name]
    tokens = misleading_vocabulary(do_lower_case)
    release = write_google_release(tmp_path / name, tokens=tokens)
    # Read as a plain directory, the vocabulary would suggest the wrong casing: the entry decides.
    assert Vocabulary.from_file(release / "vocab.txt").infer_lowercase() is not do_lower_case
    with ModelServer() as server:
        server.add(PATHS[name], zip_directory(release, name))
        monkeypatch.setenv("BERTZOO_MIRROR", server.url)
        bert = bertzoo.load_pretrained(name, seq_length=16)
    entry = bertzoo.hub.get_entry(name)
    assert bert.tokenizer.lowercase is do_lower_case
    settings = dict(bert.tokenizer_settings)
    if settings["strip_accents"] is None:  # None: accents follow the casing, as in Google's tokenizer
        settings["strip_accents"] = settings["lowercase"]
    assert settings == entry.card["tokenizer"]
    assert bert.tokenizer.tokenize_chinese_chars is True
    reference = FullTokenizer(load_vocab(release / "vocab.txt"), do_lower_case=do_lower_case)
    wrong = FullTokenizer(load_vocab(release / "vocab.txt"), do_lower_case=not do_lower_case)
    differs = False
    for text in TEXTS:
        ours = bert.tokenizer.tokenize([text]).to_list()[0]
        assert ours == reference.ids(text), text
        differs |= reference.ids(text) != wrong.ids(text)
    assert differs, "the texts must tell the two casings apart"


def test_chinese_characters_are_split_and_accents_kept_only_when_cased():
    chinese = bertzoo.hub.get_entry("bert-base-chinese").card["tokenizer"]
    cased = bertzoo.hub.get_entry("bert-base-multilingual-cased").card["tokenizer"]
    uncased = bertzoo.hub.get_entry("bert-base-multilingual-uncased").card["tokenizer"]
    assert chinese == uncased == {"lowercase": True, "strip_accents": True, "tokenize_chinese_chars": True}
    assert cased == {"lowercase": False, "strip_accents": False, "tokenize_chinese_chars": True}
