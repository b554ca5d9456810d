"""Checks the SQuAD v2.0 example data and prints its counts.

Run from anywhere with ``python3 recipes/data/squad/verify_squad.py`` (defaults to the
``train.json`` and ``dev.json`` next to this script) or pass the files to check. It exits
with status 1 when any check fails. Standard library only.

Checks: the SQuAD v2.0 layout (``version`` ``"v2.0"``; ``data`` -> ``title``,
``paragraphs`` -> ``context``, ``qas`` -> ``id``, ``question``, ``answers``,
``is_impossible``); ``context[answer_start:answer_start + len(text)] == text`` for every
answer and plausible answer; answers are 1 to 8 words and do not start or end inside a
word; answerable questions have 1 to 3 answers (exactly 1 in a file named ``train*``);
unanswerable ones have ``"answers": []`` and at least one plausible answer; question ids
are unique across all the files checked.
"""

from __future__ import annotations

import json
import pathlib
import sys


def check_span(context: str, answer: object, where: str, errors: list[str]) -> None:
    if not isinstance(answer, dict) or set(answer) != {"text", "answer_start"}:
        errors.append(f"{where}: an answer must be {{'text', 'answer_start'}}, got {answer!r}")
        return
    text, start = answer["text"], answer["answer_start"]
    if not isinstance(text, str) or not isinstance(start, int) or isinstance(start, bool):
        errors.append(f"{where}: bad answer types {answer!r}")
        return
    if context[start : start + len(text)] != text:
        errors.append(
            f"{where}: context[{start}:{start + len(text)}] is "
            f"{context[start:start + len(text)]!r}, not {text!r}"
        )
        return
    if not text or text != text.strip() or not 1 <= len(text.split()) <= 8:
        errors.append(f"{where}: answer {text!r} should be 1-8 words without outer spaces")
    end = start + len(text)
    if (start > 0 and context[start - 1].isalnum()) or (end < len(context) and context[end].isalnum()):
        errors.append(f"{where}: answer {text!r} starts or ends inside a word")


def check_file(path: pathlib.Path, ids: dict[str, str], errors: list[str]) -> None:
    try:
        dataset = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        errors.append(f"{path}: cannot read ({error})")
        return
    if set(dataset) != {"version", "data"} or dataset["version"] != "v2.0":
        errors.append(f"{path}: top level must be {{'version': 'v2.0', 'data': [...]}}")
    is_train = path.name.startswith("train")
    titles = paragraphs = questions = impossible = answers_total = 0
    words: list[int] = []
    for article in dataset.get("data", []):
        titles += 1
        if set(article) != {"title", "paragraphs"} or not isinstance(article["title"], str):
            errors.append(f"{path}: article {titles} must have exactly 'title' and 'paragraphs'")
            continue
        for p_index, paragraph in enumerate(article["paragraphs"]):
            paragraphs += 1
            where_p = f"{path.name} {article['title']} paragraph {p_index}"
            if set(paragraph) != {"context", "qas"} or not isinstance(paragraph["context"], str):
                errors.append(f"{where_p}: must have exactly 'context' and 'qas'")
                continue
            context = paragraph["context"]
            words.append(len(context.split()))
            for qa in paragraph["qas"]:
                questions += 1
                where = f"{where_p} question {qa.get('id')!r}"
                keys = {"id", "question", "answers", "is_impossible"}
                if qa.get("is_impossible") is True:
                    keys.add("plausible_answers")
                if set(qa) != keys:
                    errors.append(f"{where}: keys {sorted(qa)}, expected {sorted(keys)}")
                    continue
                qid = qa["id"]
                if not isinstance(qid, str) or not qid:
                    errors.append(f"{where}: id must be a non-empty string")
                elif qid in ids:
                    errors.append(f"{where}: id also used in {ids[qid]}")
                else:
                    ids[qid] = where_p
                if not isinstance(qa["question"], str) or not qa["question"].strip().endswith("?"):
                    errors.append(f"{where}: question should be a string ending with '?'")
                if not isinstance(qa["is_impossible"], bool):
                    errors.append(f"{where}: is_impossible must be true or false")
                if qa["is_impossible"]:
                    impossible += 1
                    if qa["answers"] != []:
                        errors.append(f"{where}: unanswerable question with answers")
                    if not qa["plausible_answers"]:
                        errors.append(f"{where}: unanswerable question without plausible_answers")
                    for answer in qa["plausible_answers"]:
                        check_span(context, answer, where + " (plausible)", errors)
                else:
                    wanted = (1, 1) if is_train else (1, 3)
                    if not wanted[0] <= len(qa["answers"]) <= wanted[1]:
                        errors.append(f"{where}: {len(qa['answers'])} answers, expected {wanted[0]}-{wanted[1]}")
                    answers_total += len(qa["answers"])
                    for answer in qa["answers"]:
                        check_span(context, answer, where, errors)
    share = 100 * impossible / questions if questions else 0.0
    answerable = questions - impossible
    print(
        f"{path.name}: {titles} titles, {paragraphs} paragraphs, {questions} questions "
        f"({answerable} answerable with {answers_total} answers, {impossible} unanswerable = {share:.1f} %)"
    )
    if words:
        print(
            f"  context words: min {min(words)}, max {max(words)}, mean {sum(words) / len(words):.0f}, "
            f"{sum(w >= 250 for w in words)} paragraph(s) of 250+ words"
        )


def main(argv: list[str]) -> int:
    here = pathlib.Path(__file__).resolve().parent
    paths = [pathlib.Path(a) for a in argv] or [here / "train.json", here / "dev.json"]
    errors: list[str] = []
    ids: dict[str, str] = {}
    for path in paths:
        check_file(path, ids, errors)
    print(f"ids: {len(ids)} unique")
    for error in errors:
        print("ERROR", error)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
