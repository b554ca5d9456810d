"""SQuAD question answering from raw strings, in core TensorFlow ops only, for TensorFlow Serving.

``SquadServing.answer`` runs ``bertzoo predict``'s SQuAD steps (``bertzoo.data.squad``, Google's
``run_squad.py``) inside the graph: whitespace doc tokens with their character offsets, each
tokenized alone; the question truncated to ``max_query_length``; ``doc_stride`` windows with
``_check_is_max_context``; all windows of all questions through the model in one call; Google's
n-best decoding (top ``n_best_size`` start and end indexes per window, valid spans, max-context
starts, sort by start + end logit, ``get_final_text``, dedup by final text, softmax over the n-best
totals, SQuAD 2.0 null score). The decoding computes in float64 with Python's order of operations
and sorts stably, as Python does, so the answer and its score match ``predict``.

``get_final_text`` is Google's, step by step: the WordPiece span's text (pieces joined, ``##``
removed) is searched (first occurrence) in the BasicTokenizer words of the span's whitespace
words, and carried character by character onto the original words when both have as many
non-space characters, else the whole words are the answer. The answer's characters are then
located in the context as code-point offsets ``start_char``/``end_char``.

Where serving differs from ``predict``:

* ``answer`` is Google's text, the original words joined by single spaces; so
  ``context[start_char:end_char] == answer`` holds exactly unless the answer spans a run of
  several whitespace characters (or a tab, newline, U+202F) between two words, which the answer
  writes as one space.
* A blank question or a context without tokens, which ``predict`` refuses, and the rare window
  set where no span is valid (``predict``'s placeholder answer "empty"), give answer "",
  ``start_char = end_char = -1`` and score 0.
* A question longer than ``seq_length - 4`` tokens (``predict`` raises: no room for the
  document) is truncated to that length.
* Invalid UTF-8 bytes are replaced by U+FFFD before anything else, so offsets count them as one
  character each.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from bertzoo.export.core_ops_tokenizer import CoreOpsTokenizer
from bertzoo.models.finetuned import FinetunedModel

__all__ = ["SquadServing"]

# Google's run_squad ``is_whitespace``: what separates the context's words.
_DOC_WHITESPACE = (0x20, 0x09, 0x0D, 0x0A, 0x202F)
_DOC_WHITESPACE_RUN = r"[ \t\r\n\x{202F}]+"
# Python's str.split() / str.strip() whitespace.
_PYTHON_WHITESPACE = (
    r"[\t\n\x0B\x0C\r\x1C-\x1F \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]")
_SPACE = 0x20
_NONE = tf.int64.max  # "no index" in segment minima


def _ceil_div(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return -tf.math.floordiv(-a, b)


def _segment_first(mask: tf.Tensor, segment_ids: tf.Tensor, num_segments) -> tf.Tensor:
    """Per segment, the first index where ``mask`` holds, or ``_NONE``."""
    index = tf.range(tf.size(mask, out_type=tf.int64), dtype=tf.int64)
    return tf.math.unsorted_segment_min(tf.where(mask, index, _NONE), segment_ids, num_segments)


class SquadServing(tf.Module):
    """A fine-tuned ``BertSpanLabeler`` answering (question, context) strings in one graph.

    Reproduces ``bertzoo predict``'s answers and probabilities (see the module docstring for the
    few corner cases where it cannot) from core TensorFlow ops alone, so a SavedModel calling
    ``answer`` loads in a stock TensorFlow Serving.

    Args:
        model: a ``BertSpanLabeler``: input dict -> ``start_logits``/``end_logits``
            ``[windows, seq_length]``.
        tokenizer: the checkpoint's tokenizer in core ops.
        seq_length: tokens per window, ``[CLS]``/``[SEP]`` included; at least 4.
        doc_stride: how far each window starts after the previous one, in tokens.
        max_query_length: questions are truncated to this many tokens.
        n_best_size: candidates per window for start and for end, and n-best entries kept.
        max_answer_length: longest answer, in WordPiece tokens.
        version_2: SQuAD 2.0: answer "" when the null score wins.
        null_score_diff_threshold: SQuAD 2.0: answer "" when null score - best span score
            exceeds it.
        name: the module's name.

    Example:
    >>> serving = SquadServing.from_finetuned(load_finetuned("squad_model"))  # doctest: +SKIP
    >>> answer = tf.function(serving.answer, input_signature=[tf.TensorSpec([None], tf.string)] * 2)  # doctest: +SKIP
    >>> answer(["who wrote it?"], ["It was written by Anna Karenina."])["answer"]  # doctest: +SKIP
    <tf.Tensor: shape=(1,), dtype=string, numpy=array([b'Anna Karenina.'], dtype=object)>
    """

    def __init__(
        self,
        model: keras.Model,
        tokenizer: CoreOpsTokenizer,
        seq_length: int,
        *,
        doc_stride: int = 128,
        max_query_length: int = 64,
        n_best_size: int = 20,
        max_answer_length: int = 30,
        version_2: bool = False,
        null_score_diff_threshold: float = 0.0,
        name: str | None = None,
    ):
        super().__init__(name=name)
        if not isinstance(tokenizer, CoreOpsTokenizer):
            raise TypeError(f"tokenizer must be a CoreOpsTokenizer, got {type(tokenizer).__name__}.")
        for label, value, least in (("seq_length", seq_length, 4), ("doc_stride", doc_stride, 1),
                                    ("max_query_length", max_query_length, 0), ("n_best_size", n_best_size, 1),
                                    ("max_answer_length", max_answer_length, 1)):
            if int(value) < least:
                raise ValueError(f"{label} must be >= {least}, got {value}.")
        self.model = model
        self.tokenizer = tokenizer
        self.seq_length = int(seq_length)
        self.doc_stride = int(doc_stride)
        # Predict refuses a question that leaves no room for the document; serving truncates it.
        self.max_query_length = min(int(max_query_length), self.seq_length - 4)
        self.n_best_size = int(n_best_size)
        self.max_answer_length = int(max_answer_length)
        self.version_2 = bool(version_2)
        self.null_score_diff_threshold = float(null_score_diff_threshold)
        with tf.init_scope():
            self._vocab_tokens = tf.constant(tokenizer.vocabulary.tokens, tf.string)

    @classmethod
    def from_finetuned(cls, finetuned: FinetunedModel, name: str | None = None) -> SquadServing:
        """The serving twin of a fine-tuned SQuAD model (``bertzoo.models.finetuned.FinetunedModel``),
        with its tokenizer, sequence length and the task's window and decoding settings."""
        if finetuned.task != "squad":
            raise ValueError(f"SquadServing needs a fine-tuned 'squad' model, got task {finetuned.task!r}.")
        keys = ("doc_stride", "max_query_length", "n_best_size", "max_answer_length", "version_2",
                "null_score_diff_threshold")
        settings = {key: finetuned.settings[key] for key in keys if finetuned.settings.get(key) is not None}
        tokenizer = CoreOpsTokenizer.from_wordpiece_tokenizer(finetuned.bert.tokenizer)
        return cls(finetuned.model, tokenizer, finetuned.seq_length, name=name, **settings)

    # -- the answer ------------------------------------------------------------------------------

    def answer(self, question: tf.Tensor, context: tf.Tensor) -> dict[str, tf.Tensor]:
        """Answers each question from its context.

        Traceable in a ``tf.function`` with ``input_signature=[tf.TensorSpec([None], tf.string)] * 2``
        (run it there: eagerly it works, but slowly).

        Args:
            question: tf.string ``[batch]``.
            context: tf.string ``[batch]``.

        Returns:
            ``answer`` tf.string ``[batch]`` ("" for no answer), ``score`` float32 ``[batch]``
            (the answer's n-best probability, as ``predict``'s ``probability``), ``start_char``
            and ``end_char`` int32 ``[batch]``: code-point offsets of the answer in the context
            (-1 for no answer).
        """
        question = tf.strings.unicode_transcode(question, "UTF-8", "UTF-8", errors="replace")
        context = tf.strings.unicode_transcode(context, "UTF-8", "UTF-8", errors="replace")
        batch = tf.shape(context, out_type=tf.int64)[0]
        doc = self._split_context(context)
        words = self._tokenize_words(doc["words"], doc["word_example"], batch)
        windows = self._windows(question, words, batch)
        outputs = self.model(self._pack(windows, words), training=False)
        start_logits = tf.cast(outputs["start_logits"], tf.float32)
        end_logits = tf.cast(outputs["end_logits"], tf.float32)
        candidates = self._candidates(windows, words, start_logits, end_logits, batch)
        entries = self._nbest_entries(candidates, windows, words, doc, context, batch)
        return self._choose(entries, candidates, batch)

    # -- context and tokens ----------------------------------------------------------------------

    def _split_context(self, context: tf.Tensor) -> dict[str, tf.Tensor]:
        """The context's whitespace words (Google's ``doc_tokens``) with their character offsets.

        Returns (flat over the batch): ``words`` [words]; ``word_example``, ``word_char_start``,
        ``word_char_end`` (exclusive), ``word_ns_start`` (index of the word's first character in
        ``ns_position``) and ``word_ns_length``; ``ns_position`` [non-whitespace chars]: each
        non-whitespace character's offset in its context.
        """
        chars = tf.strings.unicode_decode(context, "UTF-8")
        code = chars.flat_values
        row = chars.value_rowids()
        position = tf.range(tf.size(code, out_type=tf.int64), dtype=tf.int64) - tf.gather(chars.row_starts(), row)
        is_space = tf.reduce_any(code[:, tf.newaxis] == tf.constant(_DOC_WHITESPACE, tf.int32), axis=1)
        previous_is_space = tf.concat([[True], is_space[:-1]], 0) | tf.equal(position, 0)
        is_start = tf.logical_not(is_space) & previous_is_space
        keep = tf.logical_not(is_space)
        ns_word = tf.boolean_mask(tf.cumsum(tf.cast(is_start, tf.int64)), keep) - 1
        num_words = tf.reduce_sum(tf.cast(is_start, tf.int64))
        word_chars = tf.RaggedTensor.from_value_rowids(tf.boolean_mask(code, keep), ns_word, nrows=num_words)
        ns_position = tf.boolean_mask(position, keep)
        word_ns_start = word_chars.row_starts()
        word_ns_length = word_chars.row_lengths()
        return {
            "words": tf.strings.unicode_encode(word_chars, "UTF-8"),
            "word_example": tf.boolean_mask(row, is_start),
            "word_char_start": tf.gather(ns_position, word_ns_start),
            "word_char_end": tf.gather(ns_position, word_ns_start + word_ns_length - 1) + 1,
            "word_ns_start": word_ns_start,
            "word_ns_length": word_ns_length,
            "ns_position": ns_position,
        }

    def _tokenize_words(self, words: tf.Tensor, word_example: tf.Tensor, batch: tf.Tensor) -> dict[str, tf.Tensor]:
        """Each word tokenized alone (as ``convert_examples_to_features``), and its BasicTokenizer
        words laid out in one stream joined by spaces (``get_final_text``'s ``tok_text``).

        Returns: ``doc`` int32 ``[batch, (pieces)]`` (Google's ``all_doc_ids``); ``piece_word``
        [pieces] (``tok_to_orig_index``, flat over the batch); per word, ``first_tok``/
        ``end_tok``: where its basic tokens start and end in ``stream`` (int32 code points);
        ``space_before`` [stream + 1]: spaces in the stream before each position.
        """
        pieces = self.tokenizer.tokenize_words(words).merge_dims(1, 2)
        piece_word = pieces.value_rowids()
        doc = tf.RaggedTensor.from_value_rowids(pieces.flat_values, tf.gather(word_example, piece_word), nrows=batch)

        basic = self.tokenizer.basic_tokenize(words)
        basic_chars = tf.strings.unicode_decode(basic.flat_values, "UTF-8")
        space = tf.fill([basic_chars.nrows(), 1], tf.constant(_SPACE, tf.int32))
        stream = tf.concat([basic_chars, space], axis=1)
        flat_stream = stream.flat_values
        spaces = tf.cumsum(tf.cast(tf.equal(flat_stream, _SPACE), tf.int64))
        return {
            "doc": doc,
            "piece_word": piece_word,
            # A word's tokens end one space before the next word's tokens start.
            "first_tok": tf.gather(stream.row_splits, basic.row_splits[:-1]),
            "end_tok": tf.gather(stream.row_splits, basic.row_splits[1:]) - 1,
            "stream": flat_stream,
            "space_before": tf.concat([[0], spaces], 0),
        }

    # -- windows ---------------------------------------------------------------------------------

    def _windows(self, question: tf.Tensor, words: dict, batch: tf.Tensor) -> dict[str, tf.Tensor]:
        """Google's doc spans of every example, flat over the batch, and each doc token's
        max-context window (``_check_is_max_context``)."""
        query = self.tokenizer.tokenize(question)[:, : self.max_query_length]
        query_length = query.row_lengths()
        num_doc = words["doc"].row_lengths()
        max_doc = self.seq_length - query_length - 3  # max_tokens_for_doc
        stride = tf.minimum(tf.constant(self.doc_stride, tf.int64), max_doc)
        blank = tf.strings.regex_full_match(question, _PYTHON_WHITESPACE + "*")
        count = tf.where((num_doc > 0) & tf.logical_not(blank),
                         1 + tf.maximum(_ceil_div(num_doc - max_doc, stride), 0), 0)
        index = tf.ragged.range(count)
        example = index.value_rowids()
        k = index.flat_values
        start = k * tf.gather(stride, example)
        length = tf.minimum(tf.gather(max_doc, example), tf.gather(num_doc, example) - start)

        # Each doc token's best window: among the windows holding it, the first with the
        # highest min(left, right context) + 0.01 * length, in float64 as Python computes it.
        doc_example = words["doc"].value_rowids()
        p = tf.range(tf.size(doc_example, out_type=tf.int64), dtype=tf.int64) - tf.gather(
            words["doc"].row_starts(), doc_example)
        p_stride = tf.gather(stride, doc_example)
        p_max_doc = tf.gather(max_doc, doc_example)
        lowest = tf.maximum(_ceil_div(p - p_max_doc + 1, p_stride), 0)
        highest = tf.minimum(tf.math.floordiv(p, p_stride), tf.gather(count, doc_example) - 1)
        holding = tf.ragged.range(lowest, tf.maximum(highest + 1, lowest))
        holder_token = holding.value_rowids()
        j = holding.flat_values
        j_start = j * tf.gather(p_stride, holder_token)
        j_length = tf.minimum(tf.gather(p_max_doc, holder_token),
                              tf.gather(num_doc, tf.gather(doc_example, holder_token)) - j_start)
        j_p = tf.gather(p, holder_token)
        score = tf.cast(tf.minimum(j_p - j_start, j_start + j_length - 1 - j_p), tf.float64) + 0.01 * tf.cast(
            j_length, tf.float64)
        num_tokens = tf.size(p, out_type=tf.int64)
        best = tf.math.unsorted_segment_max(score, holder_token, num_tokens)
        is_best = tf.equal(score, tf.gather(best, holder_token))
        best_window = tf.math.unsorted_segment_min(tf.where(is_best, j, _NONE), holder_token, num_tokens)
        return {
            "query": query,
            "query_length": query_length,
            "count": count,
            "example": example,
            "k": k,
            "start": start,
            "length": length,
            "doc_offset": tf.gather(query_length, example) + 2,
            "best_window": best_window,
        }

    def _pack(self, windows: dict, words: dict) -> dict[str, tf.Tensor]:
        """``[CLS] query [SEP] doc span [SEP]`` of every window, padded as ``predict`` pads."""
        example = windows["example"]
        doc_begin = tf.gather(words["doc"].row_starts(), example) + windows["start"]
        doc_ids = tf.gather(words["doc"].flat_values, tf.ragged.range(doc_begin, doc_begin + windows["length"]))
        column = tf.zeros([tf.size(example), 1], tf.int32)
        word_ids = tf.concat([
            tf.RaggedTensor.from_tensor(column + self.tokenizer.cls_id),
            tf.gather(windows["query"], example),
            tf.RaggedTensor.from_tensor(column + self.tokenizer.sep_id),
            doc_ids,
            tf.RaggedTensor.from_tensor(column + self.tokenizer.sep_id),
        ], axis=1)
        total = word_ids.row_lengths()
        return {
            "input_word_ids": word_ids.to_tensor(self.tokenizer.pad_id, shape=[None, self.seq_length]),
            "input_mask": tf.sequence_mask(total, self.seq_length, dtype=tf.int32),
            "input_type_ids": tf.sequence_mask(total, self.seq_length, dtype=tf.int32)
            - tf.sequence_mask(windows["doc_offset"], self.seq_length, dtype=tf.int32),
        }

    # -- decoding --------------------------------------------------------------------------------

    def _candidates(self, windows: dict, words: dict, start_logits, end_logits, batch) -> dict[str, tf.Tensor]:
        """Google's preliminary predictions, sorted per example by start + end logit (stable, in
        the order Python appends them), the SQuAD 2.0 null one included."""
        n = min(self.n_best_size, self.seq_length)
        start_values, start_index = tf.math.top_k(start_logits, n)
        end_values, end_index = tf.math.top_k(end_logits, n)
        s = tf.cast(start_index, tf.int64)[:, :, tf.newaxis] + tf.zeros([1, 1, n], tf.int64)
        e = tf.cast(end_index, tf.int64)[:, tf.newaxis, :] + tf.zeros([1, n, 1], tf.int64)
        offset = windows["doc_offset"][:, tf.newaxis, tf.newaxis]
        end_of_doc = offset + windows["length"][:, tf.newaxis, tf.newaxis]
        s_in_doc = (s >= offset) & (s < end_of_doc)
        e_in_doc = (e >= offset) & (e < end_of_doc)
        example = windows["example"]
        token = tf.gather(words["doc"].row_starts(), example)[:, tf.newaxis, tf.newaxis] + windows["start"][
            :, tf.newaxis, tf.newaxis] + s - offset
        is_max_context = tf.equal(tf.gather(windows["best_window"], tf.where(s_in_doc, token, 0)),
                                  windows["k"][:, tf.newaxis, tf.newaxis])
        valid = s_in_doc & e_in_doc & is_max_context & (e >= s) & (e - s + 1 <= self.max_answer_length)
        window = tf.zeros_like(s) + tf.range(tf.size(example, out_type=tf.int64))[:, tf.newaxis, tf.newaxis]
        start_logit = tf.zeros([1, 1, n], tf.float64) + tf.cast(start_values, tf.float64)[:, :, tf.newaxis]
        end_logit = tf.zeros([1, n, 1], tf.float64) + tf.cast(end_values, tf.float64)[:, tf.newaxis, :]
        parts = {
            "window": tf.boolean_mask(window, valid),
            "start_index": tf.boolean_mask(s, valid),
            "end_index": tf.boolean_mask(e, valid),
            "start_logit": tf.boolean_mask(start_logit, valid),
            "end_logit": tf.boolean_mask(end_logit, valid),
        }
        parts["is_null"] = tf.zeros_like(parts["window"], tf.bool)

        if self.version_2:
            # The null score is the smallest [CLS] start + end logit, the first window on a tie.
            null_score = tf.cast(start_logits[:, 0], tf.float64) + tf.cast(end_logits[:, 0], tf.float64)
            score_null = tf.math.unsorted_segment_min(null_score, example, batch)
            null_window = _segment_first(tf.equal(null_score, tf.gather(score_null, example)), example, batch)
            null_window = tf.boolean_mask(null_window, windows["count"] > 0)
            nulls = {
                "window": null_window,
                "start_index": tf.zeros_like(null_window),
                "end_index": tf.zeros_like(null_window),
                "start_logit": tf.cast(tf.gather(start_logits[:, 0], null_window), tf.float64),
                "end_logit": tf.cast(tf.gather(end_logits[:, 0], null_window), tf.float64),
                "is_null": tf.ones_like(null_window, tf.bool),
            }
            parts = {key: tf.concat([value, nulls[key]], 0) for key, value in parts.items()}
        parts["example"] = tf.gather(example, parts["window"])
        parts["score"] = parts["start_logit"] + parts["end_logit"]

        # Descending score, then example; both sorts stable, so ties keep Python's order.
        order = tf.argsort(parts["score"], direction="DESCENDING", stable=True)
        order = tf.gather(order, tf.argsort(tf.gather(parts["example"], order), stable=True))
        parts = {key: tf.gather(value, order) for key, value in parts.items()}
        position = tf.range(tf.size(order, out_type=tf.int64), dtype=tf.int64)
        first = tf.math.unsorted_segment_min(position, parts["example"], batch)
        parts["rank"] = position - tf.gather(first, parts["example"])
        parts["example_count"] = tf.math.unsorted_segment_sum(tf.ones_like(position), parts["example"], batch)
        if self.version_2:
            parts["score_null"] = score_null
        return parts

    def _nbest_entries(self, candidates: dict, windows: dict, words: dict, doc: dict, context, batch) -> dict:
        """The n-best list of each example, best first: candidates by rank, final texts
        deduplicated, the first ``n_best_size`` kept.

        Final texts are computed for the best ``2 * n_best_size`` candidates of each example, and
        for twice as many again while an example has fewer distinct texts than ``n_best_size``
        and candidates left, so the list is Google's whatever the duplicates.
        """

        def final_texts(limit):
            chosen = tf.where(candidates["rank"] < limit)[:, 0]
            text, start_char, end_char = self._final_texts(
                {key: tf.gather(candidates[key], chosen) for key in
                 ("example", "window", "start_index", "end_index", "is_null")}, windows, words, doc, context)
            example = tf.gather(candidates["example"], chosen)
            key = tf.strings.join([tf.strings.as_string(example), text], separator=":")
            _, unique_index = tf.unique(key, out_idx=tf.int64)
            position = tf.range(tf.size(chosen, out_type=tf.int64), dtype=tf.int64)
            first = tf.math.unsorted_segment_min(position, unique_index, tf.size(chosen, out_type=tf.int64))
            keep = tf.equal(tf.gather(first, unique_index), position)
            return chosen, text, start_char, end_char, keep

        def enough(limit, chosen, text, start_char, end_char, keep):
            example = tf.gather(candidates["example"], chosen)
            kept = tf.math.unsorted_segment_sum(tf.cast(keep, tf.int64), example, batch)
            return tf.reduce_all((kept >= self.n_best_size) | (candidates["example_count"] <= limit))

        def more(limit, *_):
            limit = tf.maximum(2 * limit, 2 * self.n_best_size)
            return (limit, *final_texts(limit))

        # Limit 0 with nothing computed is enough only when no example has a candidate.
        empty = tf.zeros([0], tf.int64)
        state = (tf.constant(0, tf.int64), empty, tf.zeros([0], tf.string), empty, empty, tf.zeros([0], tf.bool))
        state = tf.while_loop(
            lambda *state: tf.logical_not(enough(*state)), more, state,
            shape_invariants=(tf.TensorShape([]), *[tf.TensorShape([None])] * 5),
        )
        _, chosen, text, start_char, end_char, keep = state
        example = tf.boolean_mask(tf.gather(candidates["example"], chosen), keep)
        position = tf.range(tf.size(example, out_type=tf.int64), dtype=tf.int64)
        kept_rank = position - tf.gather(tf.math.unsorted_segment_min(position, example, batch), example)
        in_nbest = kept_rank < self.n_best_size
        chosen = tf.boolean_mask(tf.boolean_mask(chosen, keep), in_nbest)
        entries = {key: tf.gather(candidates[key], chosen) for key in
                   ("example", "start_logit", "end_logit", "score", "is_null")}
        for key, value in (("text", text), ("start_char", start_char), ("end_char", end_char)):
            entries[key] = tf.boolean_mask(tf.boolean_mask(value, keep), in_nbest)
        return entries

    def _final_texts(self, spans: dict, windows: dict, words: dict, doc: dict, context):
        """Google's ``get_final_text`` of candidate spans, as context offsets and answer texts.

        Returns: (text, start_char, end_char) per span; "", -1, -1 for a null span.
        """
        is_null = spans["is_null"]
        window = spans["window"]
        token_begin = tf.gather(words["doc"].row_starts(), spans["example"]) + tf.gather(
            windows["start"], window) - tf.gather(windows["doc_offset"], window)
        safe = tf.logical_not(is_null)
        first_piece = tf.where(safe, token_begin + spans["start_index"], 0)
        last_piece = tf.where(safe, token_begin + spans["end_index"], -1)
        first_word = tf.gather(words["piece_word"], tf.maximum(first_piece, 0))
        last_word = tf.gather(words["piece_word"], tf.maximum(last_piece, 0))

        # pred_text: the span's pieces joined by spaces, "##" removed, whitespace collapsed.
        pieces = tf.gather(words["doc"].flat_values, tf.ragged.range(first_piece, last_piece + 1))
        pred_text = tf.strings.reduce_join(tf.gather(self._vocab_tokens, pieces), axis=1, separator=" ")
        pred_text = tf.strings.regex_replace(tf.strings.regex_replace(pred_text, " ##", ""), "##", "")
        pred_text = tf.strings.regex_replace(pred_text, _PYTHON_WHITESPACE + "+", " ")
        pred_text = tf.strings.regex_replace(pred_text, "^ | $", "")
        pred = tf.strings.unicode_decode(pred_text, "UTF-8")
        pred_length = pred.row_lengths()

        # tok_text is stream[tok_begin:tok_end]; find pred_text's first occurrence in it.
        stream = words["stream"]
        tok_begin = tf.gather(words["first_tok"], first_word)
        tok_end = tf.gather(words["end_tok"], last_word)
        last_at = tf.where(pred_length > 0, tok_end - pred_length, tok_begin - 1)
        at = tf.ragged.range(tok_begin, tf.maximum(last_at + 1, tok_begin))
        at_span = at.value_rowids()
        at = at.flat_values
        pred_first = tf.gather(pred.flat_values, tf.gather(pred.row_starts(), at_span))
        plausible = tf.equal(tf.gather(stream, at), pred_first)
        at = tf.boolean_mask(at, plausible)
        at_span = tf.boolean_mask(at_span, plausible)
        offset = tf.ragged.range(tf.gather(pred_length, at_span))
        pair = offset.value_rowids()
        stream_chars = tf.gather(stream, tf.gather(at, pair) + offset.flat_values)
        pred_start = tf.gather(pred.row_starts(), tf.gather(at_span, pair))
        pred_chars = tf.gather(pred.flat_values, pred_start + offset.flat_values)
        mismatches = tf.math.unsorted_segment_sum(
            tf.cast(tf.not_equal(stream_chars, pred_chars), tf.int32), pair, tf.size(at, out_type=tf.int64))
        matches = tf.equal(mismatches, 0)
        num_spans = tf.size(is_null, out_type=tf.int64)
        found_at = tf.math.unsorted_segment_min(tf.where(matches, at, _NONE), at_span, num_spans)
        found = found_at < _NONE

        # Carried over character by character when both sides have as many non-space characters.
        space_before = words["space_before"]
        ns_begin = tf.gather(doc["word_ns_start"], first_word)
        ns_end = tf.gather(doc["word_ns_start"], last_word) + tf.gather(doc["word_ns_length"], last_word)
        orig_ns_length = ns_end - ns_begin
        tok_ns_length = (tok_end - tok_begin) - (tf.gather(space_before, tok_end) - tf.gather(space_before, tok_begin))
        aligned = found & tf.equal(orig_ns_length, tok_ns_length) & safe
        found_at = tf.where(aligned, found_at, tok_begin)
        found_last = tf.where(aligned, found_at + pred_length - 1, tok_begin)

        def ns_index(stream_position):
            return (stream_position - tf.gather(space_before, stream_position)) - (
                tok_begin - tf.gather(space_before, tok_begin))

        ns_position = doc["ns_position"]
        start_char = tf.where(aligned, tf.gather(ns_position, ns_begin + ns_index(found_at)),
                              tf.gather(doc["word_char_start"], first_word))
        end_char = tf.where(aligned, tf.gather(ns_position, ns_begin + ns_index(found_last)) + 1,
                            tf.gather(doc["word_char_end"], last_word))
        start_char = tf.where(safe, start_char, -1)
        end_char = tf.where(safe, end_char, -1)
        text = tf.strings.substr(tf.gather(context, spans["example"]), tf.maximum(start_char, 0),
                                 tf.maximum(end_char - start_char, 0), unit="UTF8_CHAR")
        text = tf.strings.regex_replace(text, _DOC_WHITESPACE_RUN, " ")
        return text, start_char, end_char

    def _choose(self, entries: dict, candidates: dict, batch) -> dict[str, tf.Tensor]:
        """Softmax over each n-best list and Google's choice of answer (SQuAD 2.0: the null answer
        when null score - best non-null score exceeds the threshold)."""
        example = entries["example"]
        if self.version_2:
            # The null answer joins an n-best list that lacks it.
            in_list = tf.math.unsorted_segment_max(tf.cast(entries["is_null"], tf.int32), example, batch) > 0
            missing = tf.where((candidates["example_count"] > 0) & tf.logical_not(in_list))[:, 0]
            nulls = tf.boolean_mask(tf.range(tf.size(candidates["example"], out_type=tf.int64), dtype=tf.int64),
                                    candidates["is_null"])
            null_of_example = tf.math.unsorted_segment_max(nulls, tf.boolean_mask(candidates["example"],
                                                                                  candidates["is_null"]), batch)
            added = tf.gather(null_of_example, missing)
            extra = {key: tf.gather(candidates[key], added) for key in
                     ("example", "start_logit", "end_logit", "score", "is_null")}
            extra.update(text=tf.fill(tf.shape(added), ""), start_char=-tf.ones_like(added),
                         end_char=-tf.ones_like(added))
            entries = {key: tf.concat([value, extra[key]], 0) for key, value in entries.items()}
            example = entries["example"]

        score = entries["score"]
        exp = tf.exp(score - tf.gather(tf.math.unsorted_segment_max(score, example, batch), example))
        entries["probability"] = exp / tf.gather(tf.math.unsorted_segment_sum(exp, example, batch), example)
        # A last row answers "" with score 0: picked where an example has no entry.
        default = {"text": "", "start_char": -1, "end_char": -1, "probability": 0.0, "start_logit": 0.0,
                   "end_logit": 0.0}
        rows = {key: tf.concat([entries[key], [value]], 0) for key, value in default.items()}
        no_row = tf.size(example, out_type=tf.int64)

        def first(mask):
            return tf.minimum(_segment_first(mask, example, batch), no_row)

        # Each example's entries are best first (an added null answer last).
        if self.version_2:
            best = first(tf.logical_not(entries["is_null"]))
            score_diff = (candidates["score_null"] - tf.gather(rows["start_logit"], best)) - tf.gather(
                rows["end_logit"], best)
            use_best = (best < no_row) & tf.logical_not(score_diff > self.null_score_diff_threshold)
            pick = tf.where(use_best, best, first(entries["is_null"]))
        else:
            pick = first(tf.ones_like(entries["is_null"]))
        return {
            "answer": tf.gather(rows["text"], pick),
            "score": tf.cast(tf.gather(rows["probability"], pick), tf.float32),
            "start_char": tf.cast(tf.gather(rows["start_char"], pick), tf.int32),
            "end_char": tf.cast(tf.gather(rows["end_char"], pick), tf.int32),
        }
