"""An independent reimplementation of allenai/bilm-tf's character ids (``bilm/data.py``:
``UnicodeCharsVocabulary._convert_word_to_char_ids``, ``_make_bos_eos`` and ``Batcher``), written from
the original's rules for the ELMo tests; it shares no code with bertzoo."""

import numpy as np

BOS_CHAR, EOS_CHAR, BOW_CHAR, EOW_CHAR, PAD_CHAR = 256, 257, 258, 259, 260


def _boundary(char: int, max_word_length: int) -> np.ndarray:
    row = np.full(max_word_length, PAD_CHAR, np.int64)
    row[0], row[1], row[2] = BOW_CHAR, char, EOW_CHAR
    return row


def convert_word_to_char_ids(word: str, max_word_length: int = 50) -> np.ndarray:
    """bilm-tf's ids of one word, before the +1 shift; ``<S>``/``</S>`` are the vocabulary's specials."""
    if word == "<S>":
        return _boundary(BOS_CHAR, max_word_length)
    if word == "</S>":
        return _boundary(EOS_CHAR, max_word_length)
    code = np.full(max_word_length, PAD_CHAR, np.int64)
    encoded = word.encode("utf-8", "ignore")[: max_word_length - 2]
    code[0] = BOW_CHAR
    for k, byte in enumerate(encoded, start=1):
        code[k] = byte
    code[len(encoded) + 1] = EOW_CHAR
    return code


def batch_sentences(sentences: list[list[str]], max_word_length: int = 50) -> np.ndarray:
    """bilm-tf's ``Batcher.batch_sentences``: ``<S> words </S>`` per row, +1 so that 0 is padding."""
    max_length = max(len(sentence) for sentence in sentences) + 2
    ids = np.zeros((len(sentences), max_length, max_word_length), np.int64)
    for k, sentence in enumerate(sentences):
        rows = [_boundary(BOS_CHAR, max_word_length)]
        rows += [convert_word_to_char_ids(word, max_word_length) for word in sentence]
        rows += [_boundary(EOS_CHAR, max_word_length)]
        ids[k, : len(rows)] = np.vstack(rows) + 1
    return ids
