"""GPT-2's byte-level BPE vocabulary files: reading, writing, and rebuilding them from tiktoken ranks.

OpenAI ships GPT-2's vocabulary as two files: ``encoder.json`` (token -> id, tokens spelled in the
printable alphabet of ``bytes_to_unicode``) and ``vocab.bpe`` (the merges, one ``left right`` pair a
line, in rank order after a ``#version`` line). tiktoken ships the same vocabulary as one file of
``base64(token bytes) rank`` lines (e.g. ``whisper/assets/gpt2.tiktoken`` in the openai-whisper
package). ``bpe_from_tiktoken_ranks`` rebuilds the two OpenAI files from the ranks exactly: a token's
rank is its id, and the two parts it was merged from are recovered by replaying the merges of lower
rank on its bytes, which is how bertzoo gets GPT-2's real vocabulary offline.
"""

from __future__ import annotations

import base64
import functools
import json
import os

from bertzoo.errors import ConfigError

__all__ = [
    "bpe_from_tiktoken_ranks",
    "byte_decoder",
    "bytes_to_unicode",
    "read_bpe_merges",
    "read_encoder_json",
    "read_tiktoken_ranks",
    "write_bpe_files",
]

END_OF_TEXT = "<|endoftext|>"


@functools.lru_cache(maxsize=None)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> character map: printable Latin-1 bytes stand for themselves, the other 68
    bytes (controls, space, NBSP, soft hyphen) for U+0100 onwards in byte order, so every token is
    a string of visible characters and ``vocab.bpe`` can separate a merge's parts with a space."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    shifted = (b for b in range(256) if b not in table)
    for n, b in enumerate(shifted):
        table[b] = chr(256 + n)
    return dict(sorted(table.items()))


@functools.lru_cache(maxsize=None)
def byte_decoder() -> dict[str, int]:
    """The inverse of ``bytes_to_unicode``: character -> byte."""
    return {c: b for b, c in bytes_to_unicode().items()}


def token_bytes(token: str) -> bytes:
    """The bytes a byte-level token spells, e.g. ``"Ġthe"`` -> ``b" the"``; ValueError naming the
    character for a token outside the byte alphabet."""
    decoder = byte_decoder()
    try:
        return bytes(decoder[c] for c in token)
    except KeyError as e:
        raise ValueError(f"token {token!r} has character {e.args[0]!r}, which is not in GPT-2's byte alphabet") from None


def token_text(data: bytes) -> str:
    """The byte-level spelling of ``data``, e.g. ``b" the"`` -> ``"Ġthe"``."""
    encoder = bytes_to_unicode()
    return "".join(encoder[b] for b in data)


# -- reading and writing OpenAI's files -------------------------------------------------------------

def read_encoder_json(path: str | os.PathLike) -> dict[str, int]:
    """``encoder.json``: token -> id. ConfigError naming the file when it is not such a mapping."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            encoder = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (GPT-2's encoder.json, token -> id)") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON ({e}); expected encoder.json, a token -> id mapping") from None
    if not isinstance(encoder, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in encoder.values()):
        raise ConfigError(f"{path}: expected a JSON object mapping each token to an integer id")
    return encoder


def read_bpe_merges(path: str | os.PathLike) -> list[tuple[str, str]]:
    """``vocab.bpe``: the merges in rank order. As OpenAI's readers do, the first line (``#version``)
    is skipped; blank lines are ignored; each other line must be two tokens separated by a space."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (the BPE merges, vocab.bpe)") from None
    merges = []
    for number, line in enumerate(lines, start=1):
        if (number == 1 and line.startswith("#")) or not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ConfigError(f"{path}, line {number}: expected two tokens separated by a space, got {line!r}")
        merges.append((parts[0], parts[1]))
    return merges


def write_bpe_files(encoder: dict[str, int], merges: list[tuple[str, str]], directory: str | os.PathLike) -> None:
    """Writes ``encoder.json`` and ``vocab.bpe`` into ``directory`` in OpenAI's layout."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "encoder.json"), "w", encoding="utf-8") as f:
        json.dump(encoder, f, ensure_ascii=False)
    with open(os.path.join(directory, "vocab.bpe"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        f.writelines(f"{left} {right}\n" for left, right in merges)


# -- tiktoken ranks ---------------------------------------------------------------------------------

def read_tiktoken_ranks(path: str | os.PathLike) -> dict[bytes, int]:
    """A ``.tiktoken`` file: ``base64(token bytes) rank`` per line -> {token bytes: rank}."""
    path = os.fspath(path)
    ranks: dict[bytes, int] = {}
    try:
        with open(path, "rb") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (tiktoken ranks, 'base64-token rank' per line)") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError("expected two fields")
            ranks[base64.b64decode(parts[0], validate=True)] = int(parts[1])
        except ValueError as e:
            raise ConfigError(f"{path}, line {number}: expected 'base64-token rank', got {line[:80]!r} ({e})") from None
    return ranks


def _replay_merges(data: bytes, ranks: dict[bytes, int], below: int) -> list[bytes]:
    """tiktoken's BPE on ``data`` with the merges of rank < ``below``: repeatedly join the adjacent
    pair whose concatenation has the lowest rank."""
    parts = [data[i:i + 1] for i in range(len(data))]
    while len(parts) > 1:
        best, best_rank = -1, below
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < best_rank:
                best, best_rank = i, rank
        if best < 0:
            break
        parts[best:best + 2] = [parts[best] + parts[best + 1]]
    return parts


def bpe_from_tiktoken_ranks(
    ranks: dict[bytes, int], special_tokens: dict[str, int] | None = None
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """OpenAI's ``encoder.json`` and ``vocab.bpe`` contents rebuilt from tiktoken ranks, exactly.

    Every single byte must have a rank below 256 (its id); each longer token's rank is its id and
    its merge's rank is ``rank - 256``, and the merge's two parts are what replaying the merges of
    lower rank leaves of its bytes. ConfigError when the ranks are not such a vocabulary (a byte
    missing, a gap in the ranks, a token that lower merges do not split into exactly two parts).

    Args:
        ranks: {token bytes: rank}, e.g. from ``read_tiktoken_ranks("gpt2.tiktoken")``.
        special_tokens: extra entries for ``encoder.json``; None means ``{"<|endoftext|>": len(ranks)}``
            (GPT-2's 50256).

    Returns:
        (encoder, merges): token (byte-level spelling) -> id, and the merges in rank order.
    """
    by_rank = sorted(ranks.items(), key=lambda item: item[1])
    if sorted(r for _, r in by_rank) != list(range(len(by_rank))):
        raise ConfigError("tiktoken ranks: expected the ranks 0..n-1 without gaps or repeats")
    singles = [token for token, _ in by_rank[:256]]
    if sorted(singles) != [bytes([b]) for b in range(256)]:
        raise ConfigError("tiktoken ranks: expected the 256 single bytes to hold ranks 0..255")
    encoder = {token_text(token): rank for token, rank in by_rank}
    merges = []
    for token, rank in by_rank[256:]:
        parts = _replay_merges(token, ranks, below=rank)
        if len(parts) != 2:
            raise ConfigError(
                f"tiktoken ranks: token {token!r} (rank {rank}) is not one merge of two lower-ranked "
                f"tokens (the lower merges leave {len(parts)} parts)"
            )
        merges.append((token_text(parts[0]), token_text(parts[1])))
    if special_tokens is None:
        special_tokens = {END_OF_TEXT: len(ranks)}
    for name, special_id in special_tokens.items():
        if name in encoder:
            raise ConfigError(f"special token {name!r} is already an ordinary token of the ranks")
        encoder[name] = int(special_id)
    return encoder, merges
