"""SQuAD 1.1 / 2.0 question answering data, with google-research/bert ``run_squad.py``'s exact rules.

The published SQuAD numbers of BERT depend on these details, so each step follows Google's code:

* ``read_squad_examples``: the context is split on whitespace (space, tab, CR, LF, U+202F) into
  ``doc_tokens``; ``char_to_word_offset`` maps each character to its word, so the answer's
  ``answer_start`` character gives ``start_position``/``end_position`` in words. An answer whose
  text is not found in those words is an error (Google skips it with a warning; here a
  ``ValueError`` names the file, the question id and both strings, or ``skip_mismatched=True``
  skips it with a warning).
* ``convert_examples_to_features``: every word is WordPiece-tokenized on its own
  (``tok_to_orig_index``/``orig_to_tok_index``); the answer span is tightened by
  ``_improve_answer_span``; the document is cut into windows of ``max_seq_length`` tokens moved by
  ``doc_stride``; each feature is ``[CLS] query [SEP] doc-span [SEP]`` with the query truncated to
  ``max_query_length``; ``token_is_max_context`` (``_check_is_max_context``) says which window
  sees a token with the most context; for training, an answer not inside a window (or an
  impossible question) is labelled ``start = end = 0``, the ``[CLS]`` position.
* ``decode_predictions`` (Google's ``write_predictions``): the ``n_best_size`` best start and end
  logits of each window give candidate spans that lie in the document, start at a max-context
  token, have ``end >= start`` and at most ``max_answer_length`` tokens; the best are mapped back
  to the original text by ``get_final_text``; for SQuAD 2.0 the null score is the smallest
  ``[CLS]`` start+end logit over the windows, and the answer is "" when
  ``null score - best non-null score > null_score_diff_threshold``.

Tokenization runs through bertzoo's ``WordPieceTokenizer`` (a TF layer), in large batches of unique
strings, and the results are turned into Python lists; the rest is plain Python, as in Google's code.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import logging
import math
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf

if TYPE_CHECKING:
    from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer

logger = logging.getLogger(__name__)

_FIRST_UNIQUE_ID = 1000000000  # Google's first feature unique_id
_TOKENIZE_CHUNK = 4096  # strings per tokenizer call


# -- examples ---------------------------------------------------------------------------------


@dataclasses.dataclass
class SquadExample:
    """One SQuAD question with its whitespace-split context.

    Args:
        qas_id: the question id.
        question_text: the question.
        doc_tokens: the context split on whitespace (Google's ``doc_tokens``).
        orig_answer_text: the (first) answer's text for training; "" for an impossible question;
            None at evaluation.
        start_position: index in ``doc_tokens`` of the answer's first word (training), -1 when
            impossible, None at evaluation.
        end_position: index in ``doc_tokens`` of the answer's last word, likewise.
        is_impossible: SQuAD 2.0's "no answer" flag.
        answers: every gold answer text in the file (for evaluation; empty when impossible).
    """

    qas_id: str
    question_text: str
    doc_tokens: list[str]
    orig_answer_text: str | None = None
    start_position: int | None = None
    end_position: int | None = None
    is_impossible: bool = False
    answers: list[str] = dataclasses.field(default_factory=list)


def _is_whitespace(c: str) -> bool:
    """Google's ``run_squad.is_whitespace``: what separates ``doc_tokens``."""
    return c in (" ", "\t", "\r", "\n") or ord(c) == 0x202F


def _split_context(context: str) -> tuple[list[str], list[int]]:
    """Context -> (``doc_tokens``, ``char_to_word_offset``), as Google's reader."""
    doc_tokens: list[str] = []
    char_to_word_offset: list[int] = []
    prev_is_whitespace = True
    for c in context:
        if _is_whitespace(c):
            prev_is_whitespace = True
        else:
            if prev_is_whitespace:
                doc_tokens.append(c)
            else:
                doc_tokens[-1] += c
            prev_is_whitespace = False
        char_to_word_offset.append(len(doc_tokens) - 1)
    return doc_tokens, char_to_word_offset


def _field(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``obj[key]`` checked to be a ``kind``, or a ValueError naming ``where`` and the field."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object holding {key!r}, got {type(obj).__name__}.")
    if key not in obj:
        raise ValueError(f"{where}: missing field {key!r}.")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ValueError(f"{where}: field {key!r} should be {names}, got {type(value).__name__} {value!r:.80}.")
    return value


def read_squad_examples(
    path: str | os.PathLike,
    is_training: bool,
    version: str | None = None,
    *,
    skip_mismatched: bool = False,
) -> list[SquadExample]:
    """Reads a SQuAD JSON file into ``SquadExample``s (Google's ``read_squad_examples``).

    Args:
        path: a SQuAD 1.1 or 2.0 JSON file (``{"data": [{"paragraphs": [...]}, ...]}``).
        is_training: read answer positions; each answerable question must then have exactly one
            answer, whose text must be found at its ``answer_start``.
        version: "1.1" or "2.0"; None detects 2.0 when any question has an ``is_impossible``
            field. Only 2.0 reads ``is_impossible``.
        skip_mismatched: skip (with a logged warning, as Google does) a training answer whose
            text does not match the context at its offset, instead of raising.

    Returns:
        The examples in file order.

    Raises:
        ValueError: for a file that is not JSON or lacks a field (naming the file, the field and
            the question id), or for a mismatched answer (naming both strings).
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"SQuAD file {path} is not valid JSON: {e}") from e
    articles = _field(data, "data", list, f"SQuAD file {path}")
    if version is None:
        version_2 = any(
            isinstance(qa, dict) and "is_impossible" in qa
            for article in articles
            if isinstance(article, dict)
            for paragraph in article.get("paragraphs", []) or []
            if isinstance(paragraph, dict)
            for qa in paragraph.get("qas", []) or []
        )
    elif str(version).lstrip("v") in ("1.1", "1", "1.0"):
        version_2 = False
    elif str(version).lstrip("v") in ("2.0", "2"):
        version_2 = True
    else:
        raise ValueError(f"version must be '1.1', '2.0' or None, got {version!r}.")

    examples = []
    for article_index, article in enumerate(articles):
        where = f"SQuAD file {path}, data[{article_index}]"
        for paragraph_index, paragraph in enumerate(_field(article, "paragraphs", list, where)):
            p_where = f"{where}.paragraphs[{paragraph_index}]"
            context = _field(paragraph, "context", str, p_where)
            doc_tokens, char_to_word_offset = _split_context(context)
            for qa_index, qa in enumerate(_field(paragraph, "qas", list, p_where)):
                qas_id = str(_field(qa, "id", (str, int), f"{p_where}.qas[{qa_index}]"))
                q_where = f"SQuAD file {path}, question id {qas_id!r}"
                question_text = _field(qa, "question", str, q_where)
                answers_json = _field(qa, "answers", list, q_where) if (is_training or "answers" in qa) else []
                answers = [_field(a, "text", str, f"{q_where}, answers[{i}]") for i, a in enumerate(answers_json)]
                is_impossible = bool(_field(qa, "is_impossible", bool, q_where)) if version_2 and "is_impossible" in qa else False
                if version_2 and is_training and "is_impossible" not in qa:
                    raise ValueError(f"{q_where}: missing field 'is_impossible' in a SQuAD 2.0 training file.")
                example = SquadExample(
                    qas_id=qas_id,
                    question_text=question_text,
                    doc_tokens=doc_tokens,
                    is_impossible=is_impossible,
                    answers=answers,
                )
                if is_training:
                    if is_impossible:
                        example.start_position = example.end_position = -1
                        example.orig_answer_text = ""
                    else:
                        if len(answers_json) != 1:
                            raise ValueError(
                                f"{q_where}: for training, each answerable question should have exactly "
                                f"1 answer, got {len(answers_json)}."
                            )
                        if not _locate_answer(example, answers_json[0], context, char_to_word_offset, q_where, skip_mismatched):
                            continue
                examples.append(example)
    return examples


def squad_example_from_text(question: str, context: str, qas_id: str = "0") -> SquadExample:
    """An unlabelled ``SquadExample`` from a raw question and context (prediction input), with the
    context split on whitespace exactly as ``read_squad_examples`` splits a file's contexts."""
    for name, value in (("question", question), ("context", context)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"question {qas_id!r}: the {name} must be a non-empty string, got {value!r:.60}")
    doc_tokens, _ = _split_context(context)
    return SquadExample(qas_id=str(qas_id), question_text=question, doc_tokens=doc_tokens)


def _locate_answer(
    example: SquadExample,
    answer: dict,
    context: str,
    char_to_word_offset: list[int],
    where: str,
    skip_mismatched: bool,
) -> bool:
    """Sets the example's answer word span; False when mismatched and skipped."""
    text = answer["text"]
    offset = _field(answer, "answer_start", int, f"{where}, answers[0]")
    if not text or offset < 0 or offset + len(text) > len(context):
        raise ValueError(
            f"{where}: answer {text!r} at answer_start={offset} does not fit in the context "
            f"({len(context)} characters)."
        )
    start_position = char_to_word_offset[offset]
    end_position = char_to_word_offset[offset + len(text) - 1]
    actual_text = " ".join(example.doc_tokens[max(start_position, 0) : end_position + 1])
    cleaned_answer_text = " ".join(text.split())  # Google's whitespace_tokenize
    if actual_text.find(cleaned_answer_text) == -1:
        message = (
            f"{where}: answer text {cleaned_answer_text!r} does not match the context at "
            f"answer_start={offset}, which reads {actual_text!r}."
        )
        if skip_mismatched:
            logger.warning("Skipping: %s", message)
            return False
        raise ValueError(message)
    example.orig_answer_text = text
    example.start_position = start_position
    example.end_position = end_position
    return True


# -- features ---------------------------------------------------------------------------------


@dataclasses.dataclass
class SquadFeature:
    """One window of one example, packed as ``[CLS] query [SEP] doc-span [SEP]`` and padded.

    Args:
        unique_id: Google's feature id (1000000000, 1000000001, ...).
        example_index: index of the example in the list given to ``convert_examples_to_features``.
        doc_span_index: which window of the example this is.
        tokens: the WordPiece tokens, without padding.
        token_to_orig_map: feature position -> index in the example's ``doc_tokens``.
        token_is_max_context: feature position -> whether this window is the token's
            max-context window.
        input_word_ids: token ids, padded with the vocabulary's ``[PAD]`` id to ``max_seq_length``.
        input_mask: 1 for real tokens, 0 for padding.
        input_type_ids: 0 for ``[CLS] query [SEP]``, 1 for ``doc-span [SEP]``.
        start_position: training label, the answer's first token (0 = ``[CLS]``: not here).
        end_position: training label, the answer's last token.
        is_impossible: the example's SQuAD 2.0 flag.
    """

    unique_id: int
    example_index: int
    doc_span_index: int
    tokens: list[str]
    token_to_orig_map: dict[int, int]
    token_is_max_context: dict[int, bool]
    input_word_ids: list[int]
    input_mask: list[int]
    input_type_ids: list[int]
    start_position: int | None = None
    end_position: int | None = None
    is_impossible: bool = False


_DocSpan = collections.namedtuple("_DocSpan", ["start", "length"])


def _tokenize_unique(tokenizer: WordPieceTokenizer, strings: Iterable[str]) -> dict[str, list[int]]:
    """WordPiece ids of every distinct string, in batched tokenizer calls."""
    unique = list(dict.fromkeys(strings))
    ids: dict[str, list[int]] = {}
    for begin in range(0, len(unique), _TOKENIZE_CHUNK):
        chunk = unique[begin : begin + _TOKENIZE_CHUNK]
        for text, pieces in zip(chunk, tokenizer(tf.constant(chunk, tf.string)).to_list()):
            ids[text] = pieces
    return ids


def _improve_answer_span(
    doc_ids: Sequence[int], input_start: int, input_end: int, answer_ids: Sequence[int]
) -> tuple[int, int]:
    """Google's ``_improve_answer_span``: the smallest sub-span whose tokens are the answer's.

    The answer "1895" in the context word "(1895-1943)." is first the whole word's tokens
    ``( 1895 - 1943 ) .``; this returns the span of ``1895`` alone. Google compares the
    space-joined token strings; comparing the id lists is the same (tokens hold no spaces).
    """
    answer_ids = list(answer_ids)
    for new_start in range(input_start, input_end + 1):
        for new_end in range(input_end, new_start - 1, -1):
            if list(doc_ids[new_start : new_end + 1]) == answer_ids:
                return new_start, new_end
    return input_start, input_end


def _check_is_max_context(doc_spans: Sequence[_DocSpan], cur_span_index: int, position: int) -> bool:
    """Google's ``_check_is_max_context``: is ``cur_span_index`` the best window for ``position``.

    A token's score in a window is ``min(left context, right context) + 0.01 * window length``;
    the first window with the highest score wins.
    """
    best_score = None
    best_span_index = None
    for span_index, doc_span in enumerate(doc_spans):
        end = doc_span.start + doc_span.length - 1
        if position < doc_span.start or position > end:
            continue
        num_left_context = position - doc_span.start
        num_right_context = end - position
        score = min(num_left_context, num_right_context) + 0.01 * doc_span.length
        if best_score is None or score > best_score:
            best_score = score
            best_span_index = span_index
    return cur_span_index == best_span_index


def _doc_spans(num_doc_tokens: int, max_tokens_for_doc: int, doc_stride: int) -> list[_DocSpan]:
    """Windows of at most ``max_tokens_for_doc`` tokens, starting ``doc_stride`` apart."""
    doc_spans = []
    start_offset = 0
    while start_offset < num_doc_tokens:
        length = min(num_doc_tokens - start_offset, max_tokens_for_doc)
        doc_spans.append(_DocSpan(start=start_offset, length=length))
        if start_offset + length == num_doc_tokens:
            break
        start_offset += min(length, doc_stride)
    return doc_spans


def convert_examples_to_features(
    examples: Sequence[SquadExample],
    tokenizer: WordPieceTokenizer,
    *,
    max_seq_length: int = 384,
    doc_stride: int = 128,
    max_query_length: int = 64,
    is_training: bool,
) -> list[SquadFeature]:
    """Examples -> windowed, packed ``SquadFeature``s (Google's ``convert_examples_to_features``).

    Args:
        examples: from ``read_squad_examples``.
        tokenizer: the checkpoint's ``WordPieceTokenizer`` (its casing decides the tokens).
        max_seq_length: tokens per feature, ``[CLS]``/``[SEP]`` included.
        doc_stride: how far each window starts after the previous one, in tokens.
        max_query_length: questions are truncated to this many tokens.
        is_training: compute ``start_position``/``end_position`` labels.

    Returns:
        The features, example by example and window by window.

    Example:
    >>> features = convert_examples_to_features(  # doctest: +SKIP
    ...     examples, tokenizer, max_seq_length=384, doc_stride=128, is_training=True)
    """
    if doc_stride < 1:
        raise ValueError(f"doc_stride must be >= 1, got {doc_stride}.")
    vocab = tokenizer.vocabulary
    id_to_token = vocab.tokens
    cls_id, sep_id, pad_id = vocab.cls_id, vocab.sep_id, vocab.pad_id

    strings = []
    for example in examples:
        strings.append(example.question_text)
        strings.extend(example.doc_tokens)
        if is_training and not example.is_impossible:
            strings.append(example.orig_answer_text)
    ids = _tokenize_unique(tokenizer, strings)

    features = []
    unique_id = _FIRST_UNIQUE_ID
    for example_index, example in enumerate(examples):
        query_ids = ids[example.question_text][:max_query_length]

        tok_to_orig_index: list[int] = []
        orig_to_tok_index: list[int] = []
        all_doc_ids: list[int] = []
        for i, word in enumerate(example.doc_tokens):
            orig_to_tok_index.append(len(all_doc_ids))
            for piece in ids[word]:
                tok_to_orig_index.append(i)
                all_doc_ids.append(piece)

        tok_start_position = tok_end_position = None
        if is_training and not example.is_impossible:
            if example.start_position is None or example.orig_answer_text is None:
                raise ValueError(
                    f"Question id {example.qas_id!r} has no answer position; read it with is_training=True."
                )
            tok_start_position = orig_to_tok_index[example.start_position]
            if example.end_position < len(example.doc_tokens) - 1:
                tok_end_position = orig_to_tok_index[example.end_position + 1] - 1
            else:
                tok_end_position = len(all_doc_ids) - 1
            tok_start_position, tok_end_position = _improve_answer_span(
                all_doc_ids, tok_start_position, tok_end_position, ids[example.orig_answer_text]
            )

        max_tokens_for_doc = max_seq_length - len(query_ids) - 3
        if max_tokens_for_doc < 1:
            raise ValueError(
                f"max_seq_length={max_seq_length} leaves no room for the document after a query of "
                f"{len(query_ids)} tokens (question id {example.qas_id!r}); lower max_query_length."
            )
        doc_spans = _doc_spans(len(all_doc_ids), max_tokens_for_doc, doc_stride)

        for doc_span_index, doc_span in enumerate(doc_spans):
            input_word_ids = [cls_id, *query_ids, sep_id]
            input_type_ids = [0] * len(input_word_ids)
            token_to_orig_map: dict[int, int] = {}
            token_is_max_context: dict[int, bool] = {}
            for i in range(doc_span.length):
                split_token_index = doc_span.start + i
                position = len(input_word_ids)
                token_to_orig_map[position] = tok_to_orig_index[split_token_index]
                token_is_max_context[position] = _check_is_max_context(doc_spans, doc_span_index, split_token_index)
                input_word_ids.append(all_doc_ids[split_token_index])
                input_type_ids.append(1)
            input_word_ids.append(sep_id)
            input_type_ids.append(1)
            tokens = [id_to_token[i] for i in input_word_ids]
            input_mask = [1] * len(input_word_ids)
            padding = max_seq_length - len(input_word_ids)
            input_word_ids += [pad_id] * padding
            input_mask += [0] * padding
            input_type_ids += [0] * padding

            start_position = end_position = None
            if is_training:
                start_position = end_position = 0
                if not example.is_impossible:
                    doc_start = doc_span.start
                    doc_end = doc_span.start + doc_span.length - 1
                    if doc_start <= tok_start_position and tok_end_position <= doc_end:
                        doc_offset = len(query_ids) + 2
                        start_position = tok_start_position - doc_start + doc_offset
                        end_position = tok_end_position - doc_start + doc_offset

            features.append(
                SquadFeature(
                    unique_id=unique_id,
                    example_index=example_index,
                    doc_span_index=doc_span_index,
                    tokens=tokens,
                    token_to_orig_map=token_to_orig_map,
                    token_is_max_context=token_is_max_context,
                    input_word_ids=input_word_ids,
                    input_mask=input_mask,
                    input_type_ids=input_type_ids,
                    start_position=start_position,
                    end_position=end_position,
                    is_impossible=example.is_impossible,
                )
            )
            unique_id += 1
    return features


def features_to_dataset(
    features: Sequence[SquadFeature],
    batch_size: int,
    is_training: bool,
    *,
    shuffle_seed: int | None = None,
) -> tf.data.Dataset:
    """Features -> a batched ``tf.data.Dataset`` with static shapes.

    Training yields ``(inputs, labels)`` shuffled, with ``drop_remainder=True`` (a static batch
    size); evaluation yields ``inputs`` alone in feature order, so the i-th row of the model's
    outputs belongs to ``features[i]`` (the last batch may be smaller).

    Args:
        features: from ``convert_examples_to_features``.
        batch_size: examples per batch.
        is_training: shuffle, drop the remainder and add the labels.
        shuffle_seed: seed of the training shuffle.

    Returns:
        ``inputs``: ``input_word_ids``, ``input_mask``, ``input_type_ids``, int32
        ``[batch, max_seq_length]``; ``labels``: ``start_positions``, ``end_positions``, int32
        ``[batch]``.
    """
    if not features:
        raise ValueError("features is empty.")
    inputs = {
        name: np.asarray([getattr(f, name) for f in features], dtype=np.int32)
        for name in ("input_word_ids", "input_mask", "input_type_ids")
    }
    if not is_training:
        return tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size)
    if any(f.start_position is None for f in features):
        raise ValueError("Training features need start/end positions; convert them with is_training=True.")
    labels = {
        "start_positions": np.asarray([f.start_position for f in features], dtype=np.int32),
        "end_positions": np.asarray([f.end_position for f in features], dtype=np.int32),
    }
    dataset = tf.data.Dataset.from_tensor_slices((inputs, labels))
    dataset = dataset.shuffle(len(features), seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=True)


# -- decoding ---------------------------------------------------------------------------------


class SquadPredictions(dict):
    """``{question id: answer text}``, plus what Google's ``write_predictions`` writes beside it.

    Attributes:
        nbest: ``{question id: [{"text", "probability", "start_logit", "end_logit"}, ...]}``,
            best first (Google's ``nbest_predictions.json``).
        null_odds: ``{question id: null score - best non-null score}`` for SQuAD 2.0 (Google's
            ``null_odds.json``); empty for 1.1.
    """

    def __init__(self, predictions: dict[str, str], nbest: dict[str, list[dict]], null_odds: dict[str, float]):
        super().__init__(predictions)
        self.nbest = nbest
        self.null_odds = null_odds


_PrelimPrediction = collections.namedtuple(
    "_PrelimPrediction", ["feature_index", "start_index", "end_index", "start_logit", "end_logit"]
)


@functools.lru_cache(maxsize=4)
def _basic_tokenizer(lowercase: bool) -> WordPieceTokenizer:
    """A tokenizer used only for its BasicTokenizer step (Google's ``get_final_text``)."""
    from bertzoo.families.bert.wordpiece_tokenizer import WordPieceTokenizer

    return WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], lowercase=lowercase)


class _BasicTokens:
    """``orig_text`` -> BasicTokenizer words joined by spaces, batched and cached."""

    def __init__(self, tokenizer: WordPieceTokenizer):
        self._tokenizer = tokenizer
        self._cache: dict[str, str] = {}

    def prefetch(self, texts: Iterable[str]) -> None:
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        for begin in range(0, len(todo), _TOKENIZE_CHUNK):
            chunk = todo[begin : begin + _TOKENIZE_CHUNK]
            words = self._tokenizer.basic_tokenize(tf.constant(chunk, tf.string)).to_list()
            for text, row in zip(chunk, words):
                self._cache[text] = " ".join(w.decode("utf-8") for w in row)

    def __getitem__(self, text: str) -> str:
        if text not in self._cache:
            self.prefetch([text])
        return self._cache[text]


def _strip_spaces(text: str) -> tuple[str, dict[int, int]]:
    """Text without spaces, and the map from its positions to ``text``'s."""
    ns_chars = []
    ns_to_s_map = {}
    for i, c in enumerate(text):
        if c == " ":
            continue
        ns_to_s_map[len(ns_chars)] = i
        ns_chars.append(c)
    return "".join(ns_chars), ns_to_s_map


def get_final_text(pred_text: str, orig_text: str, tok_text: str) -> str:
    """Google's ``get_final_text``: the part of ``orig_text`` that the prediction covers.

    ``pred_text`` is the de-tokenized WordPiece span (lowercased, accents stripped, punctuation
    split off), ``orig_text`` the original words it came from (joined by single spaces), and
    ``tok_text`` = BasicTokenizer(``orig_text``) joined by spaces. ``pred_text`` is found in
    ``tok_text``, and, when the two texts have equally many non-space characters, its position
    is carried character by character onto ``orig_text``. Otherwise (e.g. accent stripping
    changed the length) the whole ``orig_text`` is returned, as Google does.

    Args:
        pred_text: the predicted span's normalized text.
        orig_text: the original words of the span.
        tok_text: BasicTokenizer words of ``orig_text``, joined by spaces.
    """
    start_position = tok_text.find(pred_text)
    if start_position == -1:
        return orig_text
    end_position = start_position + len(pred_text) - 1
    orig_ns_text, orig_ns_to_s_map = _strip_spaces(orig_text)
    tok_ns_text, tok_ns_to_s_map = _strip_spaces(tok_text)
    if len(orig_ns_text) != len(tok_ns_text):
        return orig_text
    tok_s_to_ns_map = {tok_index: i for i, tok_index in tok_ns_to_s_map.items()}
    orig_start_position = None
    if start_position in tok_s_to_ns_map:
        orig_start_position = orig_ns_to_s_map.get(tok_s_to_ns_map[start_position])
    if orig_start_position is None:
        return orig_text
    orig_end_position = None
    if end_position in tok_s_to_ns_map:
        orig_end_position = orig_ns_to_s_map.get(tok_s_to_ns_map[end_position])
    if orig_end_position is None:
        return orig_text
    return orig_text[orig_start_position : orig_end_position + 1]


def _best_indexes(logits: np.ndarray, n_best_size: int) -> list[int]:
    """Indexes of the ``n_best_size`` largest logits; ties keep the lower index first (Google)."""
    return [int(i) for i in np.argsort(-logits, kind="stable")[:n_best_size]]


def _softmax(scores: list[float]) -> list[float]:
    if not scores:
        return []
    max_score = max(scores)
    exp_scores = [math.exp(s - max_score) for s in scores]
    total = sum(exp_scores)
    return [e / total for e in exp_scores]


def _span_texts(example: SquadExample, feature: SquadFeature, pred: _PrelimPrediction) -> tuple[str, str]:
    """(de-tokenized WordPiece text, original words) of a non-null candidate span."""
    tok_tokens = feature.tokens[pred.start_index : pred.end_index + 1]
    orig_doc_start = feature.token_to_orig_map[pred.start_index]
    orig_doc_end = feature.token_to_orig_map[pred.end_index]
    orig_tokens = example.doc_tokens[orig_doc_start : orig_doc_end + 1]
    tok_text = " ".join(tok_tokens).replace(" ##", "").replace("##", "")
    tok_text = " ".join(tok_text.strip().split())
    return tok_text, " ".join(orig_tokens)


def decode_predictions(
    examples: Sequence[SquadExample],
    features: Sequence[SquadFeature],
    start_logits: Any,
    end_logits: Any,
    *,
    n_best_size: int = 20,
    max_answer_length: int = 30,
    do_lower_case: bool = True,
    version_2_with_negative: bool = False,
    null_score_diff_threshold: float = 0.0,
    tokenizer: WordPieceTokenizer | None = None,
) -> SquadPredictions:
    """Start/end logits -> answer texts (Google's ``write_predictions``).

    Args:
        examples: the examples the features were made from (same list, same order).
        features: the features, in the order of the logits' rows.
        start_logits: ``[num_features, max_seq_length]`` start logits (a span head's output).
        end_logits: ``[num_features, max_seq_length]`` end logits.
        n_best_size: candidates per window for start and for end, and n-best entries kept.
        max_answer_length: longest answer, in WordPiece tokens.
        do_lower_case: the checkpoint's casing, for mapping the span back to the original text.
        version_2_with_negative: SQuAD 2.0: predict "" when the null score wins.
        null_score_diff_threshold: predict "" when ``null score - best non-null score`` is above it.
        tokenizer: a tokenizer whose BasicTokenizer settings to use in ``get_final_text``; None
            uses Google's BasicTokenizer with ``do_lower_case``.

    Returns:
        A ``SquadPredictions``: ``{question id: text}`` with ``.nbest`` and ``.null_odds``.
    """
    start_logits = np.asarray(start_logits, dtype=np.float64)
    end_logits = np.asarray(end_logits, dtype=np.float64)
    if start_logits.shape != end_logits.shape or start_logits.ndim != 2 or len(start_logits) != len(features):
        raise ValueError(
            f"start_logits {start_logits.shape} and end_logits {end_logits.shape} should both be "
            f"[num_features={len(features)}, max_seq_length]."
        )
    basic = _BasicTokens(tokenizer if tokenizer is not None else _basic_tokenizer(bool(do_lower_case)))
    feature_rows: dict[int, list[int]] = collections.defaultdict(list)
    for row, feature in enumerate(features):
        feature_rows[feature.example_index].append(row)

    # Pass 1: candidates of every example, and a batched BasicTokenizer call for their texts.
    all_prelim = []
    for example_index, example in enumerate(examples):
        rows = feature_rows[example_index]
        prelim = []
        score_null = math.inf
        min_null_feature_index = 0
        null_start_logit = null_end_logit = 0.0
        for feature_index, row in enumerate(rows):
            feature = features[row]
            starts, ends = start_logits[row], end_logits[row]
            if version_2_with_negative:
                feature_null_score = starts[0] + ends[0]
                if feature_null_score < score_null:
                    score_null = feature_null_score
                    min_null_feature_index = feature_index
                    null_start_logit, null_end_logit = float(starts[0]), float(ends[0])
            for start_index in _best_indexes(starts, n_best_size):
                for end_index in _best_indexes(ends, n_best_size):
                    if start_index >= len(feature.tokens) or end_index >= len(feature.tokens):
                        continue
                    if start_index not in feature.token_to_orig_map or end_index not in feature.token_to_orig_map:
                        continue
                    if not feature.token_is_max_context.get(start_index, False):
                        continue
                    if end_index < start_index or end_index - start_index + 1 > max_answer_length:
                        continue
                    prelim.append(
                        _PrelimPrediction(
                            feature_index, start_index, end_index, float(starts[start_index]), float(ends[end_index])
                        )
                    )
        if version_2_with_negative and rows:
            prelim.append(_PrelimPrediction(min_null_feature_index, 0, 0, null_start_logit, null_end_logit))
        prelim = sorted(prelim, key=lambda p: p.start_logit + p.end_logit, reverse=True)
        all_prelim.append((prelim, score_null, null_start_logit, null_end_logit))
    basic.prefetch(
        _span_texts(example, features[feature_rows[i][p.feature_index]], p)[1]
        for i, example in enumerate(examples)
        for p in all_prelim[i][0][: 2 * n_best_size]
        if p.start_index > 0
    )

    # Pass 2: n-best lists and answers.
    predictions: dict[str, str] = {}
    nbest_json: dict[str, list[dict]] = {}
    null_odds: dict[str, float] = {}
    for example_index, example in enumerate(examples):
        prelim, score_null, null_start_logit, null_end_logit = all_prelim[example_index]
        rows = feature_rows[example_index]
        seen: set[str] = set()
        nbest: list[tuple[str, float, float]] = []
        for pred in prelim:
            if len(nbest) >= n_best_size:
                break
            if pred.start_index > 0:  # a non-null prediction
                pred_text, orig_text = _span_texts(example, features[rows[pred.feature_index]], pred)
                final_text = get_final_text(pred_text, orig_text, basic[orig_text])
                if final_text in seen:
                    continue
            else:
                final_text = ""
            seen.add(final_text)
            nbest.append((final_text, pred.start_logit, pred.end_logit))
        if version_2_with_negative and "" not in seen:
            nbest.append(("", null_start_logit, null_end_logit))
        if not nbest:
            nbest.append(("empty", 0.0, 0.0))  # Google's placeholder, so a prediction always exists
        probabilities = _softmax([s + e for _, s, e in nbest])
        nbest_json[example.qas_id] = [
            {"text": text, "probability": p, "start_logit": s, "end_logit": e}
            for (text, s, e), p in zip(nbest, probabilities)
        ]
        if not version_2_with_negative:
            predictions[example.qas_id] = nbest[0][0]
            continue
        best_non_null = next((entry for entry in nbest if entry[0]), None)
        if best_non_null is None:  # Google would fail here; only the null answer was left
            null_odds[example.qas_id] = math.inf
            predictions[example.qas_id] = ""
            continue
        score_diff = float(score_null - best_non_null[1] - best_non_null[2])
        null_odds[example.qas_id] = score_diff
        predictions[example.qas_id] = "" if score_diff > null_score_diff_threshold else best_non_null[0]
    return SquadPredictions(predictions, nbest_json, null_odds)
