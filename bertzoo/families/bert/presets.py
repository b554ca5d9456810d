"""Google's BERT releases as catalogue entries (data only; ``bertzoo.hub`` reads them).

Every checkpoint google-research/bert publishes, with the URLs of its README and multilingual.md:
the 2018 Base/Large cased/uncased, the 2019 whole-word-masking Large pair, Multilingual Cased
(recommended) and Uncased (Google: "not recommended"), Chinese, and the 24 smaller 2020 models
(Turc et al., "Well-Read Students Learn Better"), whose L-12/H-768 is a different checkpoint from
the 2018 BERT-Base (same file name in another folder: its catalogue name is
``uncased_L-12_H-768_A-12_2020``). Names are Google's file names; aliases are the familiar ones.

Casing is pinned from Google's own list of which checkpoint expects ``do_lower_case``
(``tokenization.validate_case_matches_checkpoint``): Chinese and Multilingual Uncased lowercase and
strip accents; Multilingual Cased keeps case and accents (multilingual.md: "make sure to pass
--do_lower_case=false"). CJK characters are split in every model (Google's ``BasicTokenizer``).

``size`` is the approximate checkpoint size in bytes (parameters x 4), for the listing and the
free-space check; the transfer itself checks the exact length the server sends. Google publishes no
checksums for these archives, so ``sha256`` is None and the first download records one
(``bertzoo cache verify`` re-checks it).
"""

from __future__ import annotations

GOOGLE_STORAGE = "https://storage.googleapis.com/bert_models/"
PAPER = "https://arxiv.org/abs/1810.04805"
SMALL_MODELS_PAPER = "https://arxiv.org/abs/1908.08962"
LICENSE = "Apache-2.0"

_UNCASED = {"do_lower_case": True}
_CASED = {"do_lower_case": False}
_ENGLISH_TOKENIZER_UNCASED = {"lowercase": True, "strip_accents": True, "tokenize_chinese_chars": True}
_ENGLISH_TOKENIZER_CASED = {"lowercase": False, "strip_accents": False, "tokenize_chinese_chars": True}


def _google(date: str, stem: str, *, layers: int, hidden: int, heads: int, cased: bool, size_mb: float,
            description: str, aliases: list[str], languages: list[str], paper: str = PAPER,
            archive_root: str | None = None, **card) -> dict:
    """One entry of Google's storage (a plain dict; the helper only avoids repeating the shared fields)."""
    return {
        "family": "bert",
        "format": "google",
        "archive": f"{GOOGLE_STORAGE}{date}/{stem}.zip",
        "archive_root": archive_root,
        "sha256": None,
        "size": int(size_mb * 1_000_000),
        "aliases": aliases,
        "description": description,
        "languages": languages,
        "license": LICENSE,
        "paper": paper,
        "layers": layers, "hidden": hidden, "heads": heads,
        "cased": cased,
        "tokenizer": dict(_ENGLISH_TOKENIZER_CASED if cased else _ENGLISH_TOKENIZER_UNCASED),
        "load_options": dict(_CASED if cased else _UNCASED),
        "released": date.replace("_", "-"),
        **card,
    }


PRESETS: dict[str, dict] = {
    # --- 2018: the original English models (README "Pre-trained models").
    "uncased_L-12_H-768_A-12": _google(
        "2018_10_18", "uncased_L-12_H-768_A-12", archive_root="uncased_L-12_H-768_A-12",
        layers=12, hidden=768, heads=12, cased=False, size_mb=440,
        description="BERT-Base, Uncased: 12-layer, 768-hidden, 12-heads, 110M parameters",
        aliases=["bert-base-uncased", "bert-base"], languages=["en"]),
    "uncased_L-24_H-1024_A-16": _google(
        "2018_10_18", "uncased_L-24_H-1024_A-16", archive_root="uncased_L-24_H-1024_A-16",
        layers=24, hidden=1024, heads=16, cased=False, size_mb=1345,
        description="BERT-Large, Uncased: 24-layer, 1024-hidden, 16-heads, 340M parameters",
        aliases=["bert-large-uncased", "bert-large"], languages=["en"]),
    "cased_L-12_H-768_A-12": _google(
        "2018_10_18", "cased_L-12_H-768_A-12", archive_root="cased_L-12_H-768_A-12",
        layers=12, hidden=768, heads=12, cased=True, size_mb=436,
        description="BERT-Base, Cased: 12-layer, 768-hidden, 12-heads, 110M parameters",
        aliases=["bert-base-cased"], languages=["en"]),
    "cased_L-24_H-1024_A-16": _google(
        "2018_10_18", "cased_L-24_H-1024_A-16", archive_root="cased_L-24_H-1024_A-16",
        layers=24, hidden=1024, heads=16, cased=True, size_mb=1339,
        description="BERT-Large, Cased: 24-layer, 1024-hidden, 16-heads, 340M parameters",
        aliases=["bert-large-cased"], languages=["en"]),
    # --- 2019: whole word masking (README "Whole Word Masking").
    "wwm_uncased_L-24_H-1024_A-16": _google(
        "2019_05_30", "wwm_uncased_L-24_H-1024_A-16", archive_root="wwm_uncased_L-24_H-1024_A-16",
        layers=24, hidden=1024, heads=16, cased=False, size_mb=1345,
        description="BERT-Large, Uncased (Whole Word Masking): 24-layer, 1024-hidden, 16-heads, 340M parameters",
        aliases=["bert-large-uncased-whole-word-masking", "bert-large-uncased-wwm"], languages=["en"]),
    "wwm_cased_L-24_H-1024_A-16": _google(
        "2019_05_30", "wwm_cased_L-24_H-1024_A-16", archive_root="wwm_cased_L-24_H-1024_A-16",
        layers=24, hidden=1024, heads=16, cased=True, size_mb=1339,
        description="BERT-Large, Cased (Whole Word Masking): 24-layer, 1024-hidden, 16-heads, 340M parameters",
        aliases=["bert-large-cased-whole-word-masking", "bert-large-cased-wwm"], languages=["en"]),
    # --- multilingual.md.
    "multi_cased_L-12_H-768_A-12": _google(
        "2018_11_23", "multi_cased_L-12_H-768_A-12", archive_root="multi_cased_L-12_H-768_A-12",
        layers=12, hidden=768, heads=12, cased=True, size_mb=714,
        description="BERT-Base, Multilingual Cased (New, recommended): 104 languages, 12-layer, 768-hidden, "
                    "12-heads, 110M parameters",
        aliases=["bert-base-multilingual-cased", "mbert", "multilingual-cased"], languages=["multilingual (104)"],
        recommended=True),
    "multilingual_L-12_H-768_A-12": _google(
        "2018_11_03", "multilingual_L-12_H-768_A-12", archive_root="multilingual_L-12_H-768_A-12",
        layers=12, hidden=768, heads=12, cased=False, size_mb=672,
        description="BERT-Base, Multilingual Uncased (Orig, not recommended): 102 languages, 12-layer, "
                    "768-hidden, 12-heads, 110M parameters; Google recommends Multilingual Cased instead",
        aliases=["bert-base-multilingual-uncased", "multilingual-uncased"], languages=["multilingual (102)"],
        recommended=False, note="not recommended by Google: use multi_cased_L-12_H-768_A-12"),
    "chinese_L-12_H-768_A-12": _google(
        "2018_11_03", "chinese_L-12_H-768_A-12", archive_root="chinese_L-12_H-768_A-12",
        layers=12, hidden=768, heads=12, cased=False, size_mb=412,
        description="BERT-Base, Chinese: Chinese Simplified and Traditional, 12-layer, 768-hidden, 12-heads, "
                    "110M parameters",
        aliases=["bert-base-chinese"], languages=["zh"]),
}

# --- 2020: the 24 smaller English models (README "BERT Miniatures"), all uncased, A = H / 64.
_MINIATURE_NAMES = {(2, 128): "tiny", (4, 256): "mini", (4, 512): "small", (8, 512): "medium", (12, 768): "base"}
_MINIATURE_MB = {
    2: (17.7, 38.8, 91.0, 156.9), 4: (19.3, 45.1, 116.2, 213.6), 6: (20.9, 51.4, 141.5, 270.3),
    8: (22.5, 57.7, 166.7, 327.0), 10: (24.1, 64.0, 191.9, 383.7), 12: (25.7, 70.3, 217.1, 440.4),
}
for _layers, _sizes in _MINIATURE_MB.items():
    for _hidden, _mb in zip((128, 256, 512, 768), _sizes):
        _stem = f"uncased_L-{_layers}_H-{_hidden}_A-{_hidden // 64}"
        _short = _MINIATURE_NAMES.get((_layers, _hidden))
        _aliases = [f"bert-uncased-l{_layers}-h{_hidden}"]
        if _short == "base":
            # The 2020 L-12/H-768 is retrained with the miniatures: not the 2018 BERT-Base.
            _aliases += ["bert-base-uncased-2020"]
        elif _short:
            _aliases += [f"bert-{_short}", f"bert-{_short}-uncased"]
        # Its file name is the 2018 BERT-Base's: the catalogue name says the year.
        PRESETS[_stem + "_2020" if _short == "base" else _stem] = _google(
            "2020_02_20", _stem, layers=_layers, hidden=_hidden, heads=_hidden // 64, cased=False, size_mb=_mb,
            description=(f"BERT{'-' + _short.capitalize() if _short else ''} (2020 miniature): {_layers}-layer, "
                         f"{_hidden}-hidden, {_hidden // 64}-heads, uncased"),
            aliases=_aliases, languages=["en"], paper=SMALL_MODELS_PAPER)
