"""Catalogue entries for the official word-vector downloads (data only; the gate downloads them).

Sizes are the download sizes the official pages state, rounded as they round them (None where the
page gives none). GloVe's zips hold several files (``glove.6B.zip``: 50d, 100d, 200d, 300d), so each
entry picks one with ``load_options={"file": ...}``. Licenses: GloVe vectors PDDL-1.0; fastText's
English vectors CC BY-SA 3.0; word2vec's GoogleNews vectors Apache-2.0 (the word2vec project).
"""

from __future__ import annotations

_GLOVE_PAPER = "https://nlp.stanford.edu/pubs/glove.pdf"
_GLOVE_PAGE = "https://nlp.stanford.edu/projects/glove/"
_FASTTEXT_PAPER = "https://arxiv.org/abs/1712.09405"
_FASTTEXT_BASE = "https://dl.fbaipublicfiles.com/fasttext"


def _glove(name: str, archive: str, file: str, size: int, dim: int, vocab: int, tokens: str, cased: bool,
           corpus: str, aliases: list[str]) -> tuple[str, dict]:
    return name, {
        "family": "word_vectors", "format": "glove_text",
        "archive": f"https://nlp.stanford.edu/data/{archive}", "archive_root": None,
        "sha256": None, "size": size, "aliases": aliases,
        "description": f"GloVe {tokens} tokens ({corpus}), {vocab:,} words, {dim}d, "
                       f"{'cased' if cased else 'lower-cased'}",
        "languages": ["en"], "license": "PDDL-1.0", "paper": _GLOVE_PAPER, "homepage": _GLOVE_PAGE,
        "load_options": {"file": file}, "hidden": dim, "vocab_size": vocab, "cased": cased,
    }


PRESETS: dict[str, dict] = dict([
    *[_glove(f"glove-6b-{d}d", "glove.6B.zip", f"glove.6B.{d}d.txt", 822_000_000, d, 400_000, "6B",
             False, "Wikipedia 2014 + Gigaword 5", [f"glove.6B.{d}d"]) for d in (50, 100, 200, 300)],
    _glove("glove-42b-300d", "glove.42B.300d.zip", "glove.42B.300d.txt", 1_750_000_000, 300, 1_900_000, "42B",
           False, "Common Crawl", ["glove.42B.300d"]),
    _glove("glove-840b-300d", "glove.840B.300d.zip", "glove.840B.300d.txt", 2_030_000_000, 300, 2_200_000, "840B",
           True, "Common Crawl", ["glove.840B.300d"]),
    *[_glove(f"glove-twitter-27b-{d}d", "glove.twitter.27B.zip", f"glove.twitter.27B.{d}d.txt", 1_420_000_000, d,
             1_200_000, "27B", False, "2B tweets", [f"glove.twitter.27B.{d}d"]) for d in (25, 50, 100, 200)],
])

PRESETS["word2vec-google-news-300"] = {
    "family": "word_vectors", "format": "word2vec_binary",
    # The word2vec project page links a Google Drive file (no direct URL); this is the copy that
    # Deeplearning4j and gensim-data users download, byte-identical to it.
    "files": {"GoogleNews-vectors-negative300.bin.gz":
              "https://s3.amazonaws.com/dl4j-distribution/GoogleNews-vectors-negative300.bin.gz"},
    "sha256": None, "size": 1_647_046_227, "aliases": ["googlenews-vectors-negative300"],
    "description": "word2vec skip-gram vectors of Google News (about 100B words): 3,000,000 words and phrases, 300d, "
                   "cased", "languages": ["en"], "license": "Apache-2.0",
    "paper": "https://arxiv.org/abs/1310.4546", "homepage": "https://code.google.com/archive/p/word2vec/",
    "load_options": {}, "hidden": 300, "vocab_size": 3_000_000, "cased": True,
}

for _name, _file, _vocab, _what in (
        ("fasttext-wiki-news-300d-1m", "wiki-news-300d-1M.vec.zip", 1_000_000,
         "Wikipedia 2017 + UMBC + statmt.org news (16B tokens)"),
        ("fasttext-wiki-news-300d-1m-subword", "wiki-news-300d-1M-subword.vec.zip", 1_000_000,
         "Wikipedia 2017 + UMBC + statmt.org news (16B tokens), with subword information"),
        ("fasttext-crawl-300d-2m", "crawl-300d-2M.vec.zip", 2_000_000, "Common Crawl (600B tokens)")):
    PRESETS[_name] = {
        "family": "word_vectors", "format": "word2vec_text",
        "archive": f"{_FASTTEXT_BASE}/vectors-english/{_file}", "archive_root": None, "sha256": None, "size": None,
        "aliases": [_file.removesuffix(".zip")], "description": f"fastText .vec vectors of {_what}, 300d, cased",
        "languages": ["en"], "license": "CC-BY-SA-3.0", "paper": _FASTTEXT_PAPER,
        "homepage": "https://fasttext.cc/docs/en/english-vectors.html", "load_options": {}, "hidden": 300,
        "vocab_size": _vocab, "cased": True,
    }

PRESETS["fasttext-crawl-300d-2m-subword"] = {
    "family": "word_vectors", "format": "fasttext_bin",
    # the zip holds crawl-300d-2M-subword.bin and .vec: the .bin (with its n-gram buckets) is read
    "archive": f"{_FASTTEXT_BASE}/vectors-english/crawl-300d-2M-subword.zip", "archive_root": None, "sha256": None,
    "size": None, "aliases": ["crawl-300d-2m-subword"],
    "description": "fastText model of Common Crawl (600B tokens) with subword n-grams: vectors for any word, 300d",
    "languages": ["en"], "license": "CC-BY-SA-3.0", "paper": _FASTTEXT_PAPER,
    "homepage": "https://fasttext.cc/docs/en/english-vectors.html",
    "load_options": {"file": "crawl-300d-2M-subword.bin"}, "hidden": 300, "vocab_size": 2_000_000, "cased": True,
}
PRESETS["fasttext-cc-en-300"] = {
    "family": "word_vectors", "format": "fasttext_bin",
    "files": {"cc.en.300.bin.gz": f"{_FASTTEXT_BASE}/vectors-crawl/cc.en.300.bin.gz"}, "sha256": None, "size": None,
    "aliases": ["cc.en.300"], "description": "fastText Common Crawl + Wikipedia English model (CBOW, char 5-grams), "
                                             "300d, with subword n-grams",
    "languages": ["en"], "license": "CC-BY-SA-3.0", "paper": "https://arxiv.org/abs/1802.06893",
    "homepage": "https://fasttext.cc/docs/en/crawl-vectors.html", "load_options": {}, "hidden": 300,
    "vocab_size": 2_000_000, "cased": True,
}
PRESETS["fasttext-wiki-en"] = {
    "family": "word_vectors", "format": "fasttext_bin",
    "files": {"wiki.en.bin": f"{_FASTTEXT_BASE}/vectors-wiki/wiki.en.bin"}, "sha256": None, "size": None,
    "aliases": ["wiki.en"], "description": "fastText Wikipedia English model (skip-gram, char 3-6-grams), 300d",
    "languages": ["en"], "license": "CC-BY-SA-3.0", "paper": "https://arxiv.org/abs/1607.04606",
    "homepage": "https://fasttext.cc/docs/en/pretrained-vectors.html", "load_options": {}, "hidden": 300,
    "vocab_size": 2_519_370, "cased": True,
}
