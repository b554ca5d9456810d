"""Catalogue entries for GPT-1 and GPT-2 (data only; the download layer reads them).

OpenAI's GPT-2 files come from the openaipublic bucket its ``download_model.py`` uses (one entry
directory per size: checkpoint, ``hparams.json``, ``encoder.json``, ``vocab.bpe``); GPT-1's from the
finetune-transformer-lm repository's ``model/`` folder; Hugging Face copies from the
``openai-community`` organisation (safetensors + ``vocab.json`` / ``merges.txt``); the same repositories
load as ``hf://openai-community/gpt2`` etc. through the gate's Hugging Face handles (``hf_handle``).
"""

_GPT2_BASE = "https://openaipublic.blob.core.windows.net/gpt-2/models"
_GPT2_FILES = ("checkpoint", "encoder.json", "hparams.json", "model.ckpt.data-00000-of-00001", "model.ckpt.index",
               "model.ckpt.meta", "vocab.bpe")
_GPT1_BASE = "https://raw.githubusercontent.com/openai/finetune-transformer-lm/master/model"
_GPT1_FILES = ("params_shapes.json", *(f"params_{n}.npy" for n in range(10)), "encoder_bpe_40000.json",
               "vocab_40000.bpe")
_HF_BASE = "https://huggingface.co"
_HF_FILES = ("config.json", "model.safetensors", "vocab.json", "merges.txt")
_GPT2_PAPER = "https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf"
_GPT1_PAPER = "https://cdn.openai.com/research-covers/language-unsupervised/language_understanding_paper.pdf"


def _card(layers, hidden, heads, context, vocab, description, paper):
    return {"family": "gpt", "sha256": None, "languages": ["en"], "license": "MIT", "paper": paper,
            "load_options": {}, "layers": layers, "hidden": hidden, "heads": heads, "context": context,
            "vocab_size": vocab, "cased": True, "description": description}


PRESETS: dict[str, dict] = {}
for _size, (_layers, _hidden, _heads, _name, _bytes) in {
    "124M": (12, 768, 12, "gpt2", 548_000_000),
    "355M": (24, 1024, 16, "gpt2-medium", 1_520_000_000),
    "774M": (36, 1280, 20, "gpt2-large", 3_250_000_000),
    "1558M": (48, 1600, 25, "gpt2-xl", 6_430_000_000),
}.items():
    PRESETS[_name] = dict(
        _card(_layers, _hidden, _heads, 1024, 50257, f"GPT-2 {_size} (OpenAI's TF1 release)", _GPT2_PAPER),
        format="openai_gpt2_tf1", files={f: f"{_GPT2_BASE}/{_size}/{f}" for f in _GPT2_FILES}, size=_bytes,
        aliases=[f"gpt2-{_size.lower()}"] + (["gpt2-small"] if _size == "124M" else []))
    _hf = "openai-community/" + _name
    PRESETS[f"hf-{_name}"] = dict(
        _card(_layers, _hidden, _heads, 1024, 50257, f"GPT-2 {_size} (Hugging Face safetensors)", _GPT2_PAPER),
        format="hugging_face", files={f: f"{_HF_BASE}/{_hf}/resolve/main/{f}" for f in _HF_FILES}, size=None,
        aliases=[], hf_handle=f"hf://{_hf}")

PRESETS["gpt1"] = dict(
    _card(12, 768, 12, 512, 40478, "GPT-1, the OpenAI Transformer (117M), as released with finetune-transformer-lm",
          _GPT1_PAPER),
    format="openai_gpt1_npy", files={f: f"{_GPT1_BASE}/{f}" for f in _GPT1_FILES}, size=479_000_000,
    aliases=["openai-gpt", "gpt-1"], load_options={"num_attention_heads": 12})
PRESETS["hf-openai-gpt"] = dict(
    _card(12, 768, 12, 512, 40478, "GPT-1 (Hugging Face safetensors)", _GPT1_PAPER),
    format="hugging_face", files={f: f"{_HF_BASE}/openai-community/openai-gpt/resolve/main/{f}" for f in _HF_FILES}, size=None,
    aliases=[], hf_handle="hf://openai-community/openai-gpt")
