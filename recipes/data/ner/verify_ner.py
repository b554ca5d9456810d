"""Checks the NER example data and prints its counts.

Run from anywhere with ``python3 recipes/data/ner/verify_ner.py`` (defaults to the
``train.txt`` and ``dev.txt`` next to this script) or pass the files to check. It exits
with status 1 when any check fails.

Checks: UTF-8, ``\\n`` line endings, the file starts with ``-DOCSTART- O`` and a blank
line and ends with one newline, no two blank lines in a row, every token line is exactly
``WORD TAG`` (two fields, one space, no other whitespace), every tag is ``O`` or
``B-``/``I-`` + PER/LOC/ORG/MISC, IOB2 (an ``I-X`` only after ``B-X`` or ``I-X``),
6 to 40 tokens a sentence, no sentence repeated inside a file or between files.
"""

from __future__ import annotations

import collections
import pathlib
import sys

TYPES = ("PER", "LOC", "ORG", "MISC")
TAGS = {"O"} | {f"{p}-{t}" for p in "BI" for t in TYPES}
DOCSTART = "-DOCSTART- O"


def read(path: pathlib.Path, errors: list[str]) -> list[list[tuple[str, str]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        errors.append(f"{path}: not UTF-8 ({error})")
        return []
    if "\r" in text:
        errors.append(f"{path}: contains \\r (line endings must be \\n)")
    if not text.startswith(DOCSTART + "\n\n"):
        errors.append(f"{path}: must start with {DOCSTART!r} and a blank line")
    if not text.endswith("\n") or text.endswith("\n\n"):
        errors.append(f"{path}: must end with exactly one newline")
    lines = text.split("\n")[:-1]
    sentences: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    previous_blank = False
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        if line == "":
            if previous_blank:
                errors.append(f"{where}: two blank lines in a row")
            previous_blank = True
            if current:
                sentences.append(current)
                current = []
            continue
        previous_blank = False
        if number == 1:
            continue  # the -DOCSTART- line, checked above
        if line == DOCSTART:
            errors.append(f"{where}: -DOCSTART- only allowed on line 1")
            continue
        fields = line.split(" ")
        if len(fields) != 2 or any(not f or f != f.strip() for f in fields) or line != line.strip():
            errors.append(f"{where}: expected 'WORD TAG' with one space, got {line!r}")
            continue
        word, tag = fields
        if tag not in TAGS:
            errors.append(f"{where}: unknown tag {tag!r}")
        if tag.startswith("I-"):
            before = current[-1][1] if current else "O"
            if before[2:] != tag[2:] or before == "O":
                errors.append(f"{where}: {tag} after {before} (not IOB2)")
        current.append((word, tag))
    if current:
        sentences.append(current)
    for index, sentence in enumerate(sentences, start=1):
        if not 6 <= len(sentence) <= 40:
            errors.append(f"{path}: sentence {index} has {len(sentence)} tokens (want 6-40)")
    return sentences


def entities(sentence: list[tuple[str, str]]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for word, tag in sentence:
        if tag.startswith("B-"):
            found.append((tag[2:], word))
        elif tag.startswith("I-") and found:
            found[-1] = (found[-1][0], found[-1][1] + " " + word)
    return found


def main(argv: list[str]) -> int:
    here = pathlib.Path(__file__).resolve().parent
    paths = [pathlib.Path(a) for a in argv] or [here / "train.txt", here / "dev.txt"]
    errors: list[str] = []
    seen: dict[str, str] = {}
    per_file: dict[pathlib.Path, list[tuple[str, str]]] = {}
    for path in paths:
        sentences = read(path, errors)
        counts: collections.Counter[str] = collections.Counter()
        per_sentence: collections.Counter[int] = collections.Counter()
        found_all: list[tuple[str, str]] = []
        for index, sentence in enumerate(sentences, start=1):
            key = " ".join(w for w, _ in sentence)
            if key in seen:
                errors.append(f"{path}: sentence {index} repeats a sentence of {seen[key]}")
            seen[key] = f"{path.name} sentence {index}"
            found = entities(sentence)
            found_all += found
            per_sentence[min(len(found), 5)] += 1
            counts.update(t for t, _ in found)
        per_file[path] = found_all
        total = sum(counts.values())
        tokens = sum(len(s) for s in sentences)
        print(f"{path.name}: {len(sentences)} sentences, {tokens} tokens, {total} entities")
        for kind in TYPES:
            share = 100 * counts[kind] / total if total else 0.0
            print(f"  {kind:<4} {counts[kind]:>4}  ({share:4.1f} %)")
        spread = ", ".join(f"{k if k < 5 else '5+'}: {per_sentence[k]}" for k in sorted(per_sentence))
        print(f"  sentences by number of entities: {spread}")
    if len(paths) == 2:
        first, second = paths
        known = set(per_file[first])
        mentions = per_file[second]
        distinct = set(mentions)
        print(
            f"{second.name} entities not in {first.name}: "
            f"{sum(m not in known for m in mentions)}/{len(mentions)} mentions, "
            f"{len(distinct - known)}/{len(distinct)} distinct"
        )
    for error in errors:
        print("ERROR", error)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
