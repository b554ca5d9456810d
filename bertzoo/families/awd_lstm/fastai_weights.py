"""fastai's AWD-LSTM weights: the state-dict names of ``fastai.text.models.AWD_LSTM`` (language model
``SequentialRNN(AWD_LSTM, LinearDecoder)`` or classifier ``SequentialRNN(SentenceEncoder, ...)``)
mapped to bertzoo's, and the readers of fastai's files.

fastai saves ``.pth`` files with ``torch.save``: they are pickles, so reading them needs PyTorch
(``pip install bertzoo[torch]``) and is done with ``torch.load(weights_only=True)``, which refuses
anything but tensors and plain containers. The vocabulary (``itos``, a ``.pkl`` list of strings) is
read by an unpickler that accepts nothing but lists and strings. Everything else in bertzoo reads
and writes safetensors.
"""

from __future__ import annotations

import io
import pathlib
import pickle
import re
from collections.abc import Mapping

import numpy as np

from bertzoo.errors import ConfigError

# fastai prefixes: "0." language model / classifier body, "module." SentenceEncoder, none for AWD_LSTM alone.
_PREFIX = re.compile(r"^(?:0\.)?(?:module\.)?")
_LSTM = re.compile(r"^rnns\.(\d+)\.(?:module\.)?(weight_ih|weight_hh|bias_ih|bias_hh)_l0(_raw)?$")


def canonical_awd_lstm_weights(state: Mapping[str, np.ndarray], source: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """fastai state-dict entries -> ``{"embedding": ..., "lstm_0/weight_ih": ..., "decoder_bias": ...}``.

    Returns the canonical weights and the names left unused (the classifier's head, optimizer state).
    ``weight_hh_l0_raw`` (the weight-dropped LSTM's parameter) wins over the module's copy.
    """
    weights: dict[str, np.ndarray] = {}
    unused: list[str] = []
    for name, value in state.items():
        value = np.asarray(value, dtype=np.float32)
        if name in ("1.decoder.bias", "decoder.bias"):
            weights["decoder_bias"] = value
            continue
        if name in ("1.decoder.weight", "decoder.weight"):
            continue  # tied to the embeddings
        short = _PREFIX.sub("", name, count=1) if not name.startswith("1.") else name
        if short in ("encoder.weight", "encoder_dp.emb.weight"):
            weights["embedding"] = value
            continue
        match = _LSTM.match(short)
        if match:
            layer, kind, raw = match.groups()
            key = f"lstm_{layer}/{kind}"
            if raw or key not in weights:
                weights[key] = value
            continue
        unused.append(name)
    if "embedding" not in weights:
        raise ConfigError(f"{source}: no embedding matrix (expected '0.encoder.weight' or 'encoder.weight'); "
                          f"found {sorted(state)[:8]}")
    return weights, unused


def read_fastai_pth(path: str | pathlib.Path) -> dict[str, np.ndarray]:
    """A fastai ``.pth`` state dict (``learn.save`` or a bare ``model.state_dict()``) as NumPy arrays."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(f"reading {path} needs PyTorch: fastai's .pth files are torch pickles. "
                          "Install bertzoo's torch extra (pip install 'bertzoo[torch]'), or convert the "
                          "model once where torch is installed (bertzoo convert).") from error
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], Mapping):
        state = state["model"]
    if not isinstance(state, Mapping):
        raise ConfigError(f"{path}: not a state dict (found {type(state).__name__})")
    return {name: tensor.detach().cpu().numpy() for name, tensor in state.items() if hasattr(tensor, "detach")}


class _ListOfStringsUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: an itos file holds only strings")


def read_itos_pickle(path: str | pathlib.Path) -> list[str]:
    """fastai's pickled vocabulary (``itos_wt103.pkl``, ``lstm_fwd.pkl``): a list of strings, nothing else."""
    data = pathlib.Path(path).read_bytes()
    try:
        itos = _ListOfStringsUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as error:
        raise ConfigError(f"{path}: not a fastai vocabulary (a pickled list of strings): {error}") from error
    if not isinstance(itos, list) or not all(isinstance(token, str) for token in itos):
        raise ConfigError(f"{path}: expected a list of strings, found {type(itos).__name__}")
    return itos
