"""bilm-tf's ``weights.hdf5``: read into an ``ElmoEncoder``, and written back from one.

The file is what bilm-tf's ``dump_weights`` writes and allennlp reads: one dataset per TF1 variable,
named after its scope without the ``lm/`` prefix (``char_embed``, ``CNN/W_cnn_0``,
``CNN_high_0/W_carry``, ``CNN_proj/W_proj``, ``RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0``, ``B``,
``W_P_0``; ``RNN_0`` forward, ``RNN_1`` backward). ``char_embed`` holds the 261 training characters;
the encoder's 262-row table gets the zero row 0 in front of it (bilm-tf's
``_pretrained_initializer`` does the same), and writing drops that row again. Other datasets in the
file (softmax weights of a training dump) are reported, not loaded.
"""

from __future__ import annotations

import logging
import os
import pathlib

import h5py
import numpy as np

from bertzoo.errors import ConfigError

logger = logging.getLogger(__name__)

CHAR_EMBED = "char_embed"


def read_hdf5_datasets(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every dataset of an hdf5 file, by its full name (``group/.../name``)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ELMo weight file not found: {path}")
    datasets: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as file:
            file.visititems(lambda name, item: datasets.__setitem__(name, item[...])
                            if isinstance(item, h5py.Dataset) else None)
    except OSError as error:
        raise ConfigError(f"{path}: not a readable hdf5 file ({error})") from None
    return datasets


def assign_elmo_weights(encoder, path: str | os.PathLike) -> list[str]:
    """Loads ``weights.hdf5`` into ``encoder`` (an ``ElmoEncoder``); returns the file's unused datasets.

    Raises:
        ConfigError: a dataset the encoder needs is missing (named, with the file), or has the wrong
            shape (both shapes named).
    """
    datasets = read_hdf5_datasets(path)
    variables = encoder.checkpoint_variables()
    missing = sorted(set(variables) - set(datasets))
    if missing:
        raise ConfigError(f"{path}: missing dataset(s) {missing[:6]}{' ...' if len(missing) > 6 else ''} that this "
                          f"ELMo ({len(variables)} weights from options.json) needs; the file has "
                          f"{sorted(datasets)[:8]}{' ...' if len(datasets) > 8 else ''}")
    for name, variable in variables.items():
        value = datasets[name]
        if name == CHAR_EMBED:
            value = np.concatenate([np.zeros((1, value.shape[-1]), value.dtype), value]) if value.ndim == 2 else value
        if tuple(value.shape) != tuple(variable.shape):
            expected = tuple(variable.shape)
            if name == CHAR_EMBED:
                expected = (expected[0] - 1, expected[1])
                value = value[1:]
            raise ConfigError(f"{path}: dataset '{name}' has shape {tuple(value.shape)}, but options.json implies "
                              f"{expected}")
        variable.assign(value.astype(np.float32))
    unused = sorted(set(datasets) - set(variables))
    if unused:
        logger.info("%s: %d datasets not used by the encoder: %s", path, len(unused), ", ".join(unused[:10]))
    return unused


def write_elmo_weights(encoder, path: str | os.PathLike, extra: dict[str, np.ndarray] | None = None) -> None:
    """Writes ``encoder``'s weights as bilm-tf's ``weights.hdf5`` (``extra``: more datasets, e.g. a softmax)."""
    with h5py.File(path, "w") as file:
        for name, variable in {**encoder.checkpoint_variables()}.items():
            value = np.asarray(variable.numpy(), np.float32)
            if name == CHAR_EMBED:
                value = value[1:]
            file.create_dataset(name, data=value)
        for name, value in (extra or {}).items():
            file.create_dataset(name, data=np.asarray(value, np.float32))
