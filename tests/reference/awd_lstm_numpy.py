"""An independent NumPy forward pass of fastai's AWD-LSTM (inference: no dropout), from its
PyTorch state-dict names: ``encoder.weight``, ``rnns.{l}.weight_hh_l0_raw``,
``rnns.{l}.module.{weight_ih,bias_ih,bias_hh}_l0``, ``1.decoder.{weight,bias}``; torch.nn.LSTM's
gate order (input, forget, cell, output) and equations."""

import numpy as np


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm(x, w_ih, w_hh, b_ih, b_hh):
    batch, steps, _ = x.shape
    hidden = w_hh.shape[1]
    h = np.zeros((batch, hidden))
    c = np.zeros((batch, hidden))
    outputs = []
    for t in range(steps):
        gates = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = np.split(gates, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, axis=1)


def awd_lstm_forward(state, ids, prefix="0."):
    """Every layer's output for ``ids [batch, steps]``."""
    x = state[prefix + "encoder.weight"][ids]
    layers = []
    index = 0
    while f"{prefix}rnns.{index}.weight_hh_l0_raw" in state:
        module = f"{prefix}rnns.{index}.module."
        x = lstm(x, state[module + "weight_ih_l0"], state[f"{prefix}rnns.{index}.weight_hh_l0_raw"],
                 state[module + "bias_ih_l0"], state[module + "bias_hh_l0"])
        layers.append(x)
        index += 1
    return layers


def language_model_logits(state, ids):
    top = awd_lstm_forward(state, ids)[-1]
    return top @ state["1.decoder.weight"].T + state["1.decoder.bias"]


def concat_pool(sequence, lengths):
    rows = []
    for row, length in zip(sequence, lengths):
        real = row[:length]
        rows.append(np.concatenate([real[-1], real.max(axis=0), real.mean(axis=0)]))
    return np.stack(rows)
