"""The WordPiece vocabulary of a BERT checkpoint: tokens, ids and special tokens."""

from __future__ import annotations

import os
from collections.abc import Iterable

REQUIRED_SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[PAD]", "[UNK]")
MASK_TOKEN = "[MASK]"


class Vocabulary:
    """An ordered list of WordPiece tokens; a token's id is its position.

    Loaded the way Google's ``load_vocab`` reads ``vocab.txt``: one token per line,
    ``line.strip()``, id = line number. When a token occurs twice, ``token_to_id`` returns the
    later id (as Google's dict does). Special-token ids are looked up from the vocabulary's own
    ``[CLS]``, ``[SEP]``, ``[PAD]``, ``[UNK]`` and ``[MASK]``, never assumed.

    Args:
        tokens: the tokens, in id order.
        source: where they came from (a file path), named in error messages.

    Raises:
        ValueError: if ``tokens`` is empty or lacks any of ``[CLS]``, ``[SEP]``, ``[PAD]``,
            ``[UNK]``. A missing ``[MASK]`` is allowed; ``mask_id`` then raises.

    Example:
    >>> vocab = Vocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello"])
    >>> vocab.token_to_id("hello"), vocab.cls_id
    (4, 2)
    """

    def __init__(self, tokens: Iterable[str], source: str = "<list>"):
        self._tokens = [str(t) for t in tokens]
        self._source = str(source)
        if not self._tokens:
            raise ValueError(f"Vocabulary {self._source} is empty: it has no tokens.")
        self._ids = {token: i for i, token in enumerate(self._tokens)}
        missing = [t for t in REQUIRED_SPECIAL_TOKENS if t not in self._ids]
        if missing:
            raise ValueError(
                f"Vocabulary {self._source} lacks the special token(s) {', '.join(missing)}; "
                f"a BERT vocabulary needs all of {', '.join(REQUIRED_SPECIAL_TOKENS)}."
            )

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Vocabulary:
        """Reads a ``vocab.txt``: one token per line, stripped, id = line number.

        Args:
            path: the vocabulary file.
        """
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                tokens = [line.strip() for line in f]
        except UnicodeDecodeError as e:
            raise ValueError(f"Vocabulary file {path} is not valid UTF-8: {e}") from e
        if not tokens:
            raise ValueError(f"Vocabulary file {path} is empty: it has no tokens.")
        return cls(tokens, source=path)

    @property
    def tokens(self) -> list[str]:
        """The tokens in id order (a copy)."""
        return list(self._tokens)

    @property
    def source(self) -> str:
        """Where the tokens came from (a path, or ``"<list>"``)."""
        return self._source

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._ids

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)}, source={self._source!r})"

    def token_to_id(self, token: str) -> int:
        """The id of ``token``; KeyError naming the vocabulary when it is absent."""
        try:
            return self._ids[token]
        except KeyError:
            raise KeyError(f"Token {token!r} is not in the vocabulary {self._source}.") from None

    def id_to_token(self, token_id: int) -> str:
        """The token with id ``token_id``; IndexError when out of range."""
        token_id = int(token_id)
        if not 0 <= token_id < len(self._tokens):
            raise IndexError(
                f"Token id {token_id} is out of range for the vocabulary {self._source} "
                f"of {len(self._tokens)} tokens."
            )
        return self._tokens[token_id]

    @property
    def cls_id(self) -> int:
        return self._ids["[CLS]"]

    @property
    def sep_id(self) -> int:
        return self._ids["[SEP]"]

    @property
    def pad_id(self) -> int:
        return self._ids["[PAD]"]

    @property
    def unk_id(self) -> int:
        return self._ids["[UNK]"]

    @property
    def mask_id(self) -> int:
        if MASK_TOKEN not in self._ids:
            raise ValueError(
                f"Vocabulary {self._source} has no {MASK_TOKEN} token, so it cannot be used "
                "for masked-LM pretraining."
            )
        return self._ids[MASK_TOKEN]

    def infer_lowercase(self) -> bool:
        """Whether the vocabulary looks uncased (its checkpoint expects lowercased input).

        True when no ordinary token changes under ``str.lower()``; bracketed specials such as
        ``[CLS]`` or ``[unused3]`` are ignored. This decides casing when a checkpoint carries no
        casing metadata (Google's release), instead of guessing from a file name.
        """
        for token in self._tokens:
            if len(token) > 2 and token.startswith("[") and token.endswith("]"):
                continue
            if token.lower() != token:
                return False
        return True
