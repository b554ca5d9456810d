"""An independent re-statement of OpenAI's GPT-2 ``src/encoder.py`` (openai/gpt-2), for tests only.

The rules, as the original applies them: text is cut into pieces by one regular expression (the
``regex`` package, Unicode classes), each piece's UTF-8 bytes are spelled with GPT-2's byte
alphabet, and the spelled piece is byte-pair merged: repeatedly take the adjacent pair with the
lowest merge rank and join every non-overlapping occurrence of it, left to right, until no pair
has a rank. There is no special-token handling: ``"<|endoftext|>"`` in text is ordinary text.
Decoding joins the tokens, maps characters back to bytes and decodes UTF-8 with ``errors="replace"``.

Written from the rules, not from bertzoo's code, so the package is checked against something that
does not share its mistakes.
"""

from __future__ import annotations

import regex

PRE_SPLIT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def byte_alphabet() -> dict[int, str]:
    """Byte -> character: bytes that print as themselves in Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ')
    keep their code point; each remaining byte, in increasing order, takes the next of U+0100, U+0101..."""
    keep = set(range(0x21, 0x7F)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    table, next_free = {}, 0x100
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(next_free)
            next_free += 1
    return table


class ReferenceGPT2Encoder:
    def __init__(self, encoder: dict[str, int], merges: list[tuple[str, str]]):
        self.encoder = dict(encoder)
        self.decoder = {i: t for t, i in encoder.items()}
        self.rank = {tuple(pair): r for r, pair in enumerate(merges)}
        self.to_char = byte_alphabet()
        self.to_byte = {c: b for b, c in self.to_char.items()}
        self.memo: dict[str, list[str]] = {}

    def merge(self, spelled: str) -> list[str]:
        if spelled in self.memo:
            return self.memo[spelled]
        symbols = list(spelled)
        while len(symbols) > 1:
            ranked = [(self.rank[p], p) for p in zip(symbols, symbols[1:]) if p in self.rank]
            if not ranked:
                break
            _, (left, right) = min(ranked)
            joined, k = [], 0
            while k < len(symbols):
                if k + 1 < len(symbols) and symbols[k] == left and symbols[k + 1] == right:
                    joined.append(left + right)
                    k += 2
                else:
                    joined.append(symbols[k])
                    k += 1
            symbols = joined
        self.memo[spelled] = symbols
        return symbols

    def pieces(self, text: str) -> list[str]:
        return PRE_SPLIT.findall(text)

    def encode(self, text: str) -> list[int]:
        ids = []
        for piece in self.pieces(text):
            spelled = "".join(self.to_char[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[s] for s in self.merge(spelled))
        return ids

    def decode(self, ids) -> str:
        spelled = "".join(self.decoder[int(i)] for i in ids)
        return bytes(self.to_byte[c] for c in spelled).decode("utf-8", errors="replace")
