"""Catalogue entries: fastai's AWD-LSTM language models pretrained on WikiText-103 (ULMFiT's start)."""

PRESETS: dict[str, dict] = {
    "awd-lstm-wt103-fwd": {
        "family": "awd_lstm",
        "format": "fastai",
        "archive": "https://s3.amazonaws.com/fast-ai-modelzoo/wt103-fwd.tgz",
        "archive_root": "wt103-fwd",
        "sha256": None,
        "size": None,
        "aliases": ["ulmfit-wt103", "wt103-fwd"],
        "description": "AWD-LSTM language model on WikiText-103, left to right (fastai's ULMFiT start point; "
                       "reading its .pth needs the torch extra)",
        "languages": ["en"], "license": "Apache-2.0 (fastai)", "paper": "https://arxiv.org/abs/1801.06146",
        "layers": 3, "hidden": 1152, "embedding": 400, "cased": False,
    },
    "awd-lstm-wt103-bwd": {
        "family": "awd_lstm",
        "format": "fastai",
        "archive": "https://s3.amazonaws.com/fast-ai-modelzoo/wt103-bwd.tgz",
        "archive_root": "wt103-bwd",
        "sha256": None,
        "size": None,
        "aliases": ["wt103-bwd"],
        "description": "AWD-LSTM language model on WikiText-103, right to left (ULMFiT's backward model)",
        "languages": ["en"], "license": "Apache-2.0 (fastai)", "paper": "https://arxiv.org/abs/1801.06146",
        "layers": 3, "hidden": 1152, "embedding": 400, "cased": False,
    },
}
