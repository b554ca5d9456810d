"""An independent re-statement of openai/finetune-transformer-lm's ``text_utils.py`` rules, for tests only:
``text_standardize`` and the ``</w>`` byte-pair merge with its ids. spaCy's tokenization is not restated
here (the tests give tokens directly, and check bertzoo's spaCy-style splitter on hand-checked cases).
"""

from __future__ import annotations

import re

PADDED = "-~!\";?+,)(\\/*[]}{|_"


def standardize(text: str) -> str:
    text = text.replace("\u2014", "-").replace("\u2013", "-").replace("\u2015", "-")
    text = text.replace("\u2026", "...").replace("\u00b4", "'")
    # Each maximal run of one padded character gets a space on both sides.
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c in PADDED:
            j = i
            while j < len(text) and text[j] == c:
                j += 1
            out.append(" " + text[i:j] + " ")
            i = j
        else:
            out.append(c)
            i += 1
    text = "".join(out)
    text = re.sub(r"\s*\n\s*", " \n ", text)
    text = re.sub(r"[^\S\n]+", " ", text)
    return text.strip()


class ReferenceGPT1Encoder:
    def __init__(self, encoder: dict[str, int], merges: list[tuple[str, str]]):
        self.encoder = encoder
        self.rank = dict(zip(merges, range(len(merges))))

    def merge(self, token: str) -> str:
        word = [*token[:-1], token[-1] + "</w>"]
        while len(word) > 1:
            candidates = {(a, b) for a, b in zip(word, word[1:]) if (a, b) in self.rank}
            if not candidates:
                break
            first, second = min(candidates, key=self.rank.__getitem__)
            out, k = [], 0
            while k < len(word):
                if word[k] == first and k + 1 < len(word) and word[k + 1] == second:
                    out.append(first + second)
                    k += 2
                else:
                    out.append(word[k])
                    k += 1
            word = out
        joined = " ".join(word)
        return "\n</w>" if joined == "\n  </w>" else joined

    def encode_tokens(self, tokens: list[str]) -> list[int]:
        return [self.encoder.get(piece, 0) for t in tokens for piece in self.merge(t.lower()).split(" ")]
