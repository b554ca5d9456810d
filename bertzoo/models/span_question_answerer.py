"""SpanQuestionAnswerer: the Keras task on raw questions and contexts for extractive QA (SQuAD 1.1 / 2.0).

Windowing, answer-span labels and decoding are Google's ``run_squad.py`` rules as
``bertzoo.data.squad`` implements them (``convert_examples_to_features``, ``decode_predictions``),
so ``predict`` answers as ``bertzoo predict`` does for a SQuAD model. The windows are made on the
host (a context longer than ``seq_length`` takes several rows); the train step sees int32 rows.
"""

from __future__ import annotations

import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from bertzoo.data.squad import (
    SquadExample,
    _best_indexes,
    _locate_answer,
    _split_context,
    convert_examples_to_features,
    decode_predictions,
)
from bertzoo.models.bert_span_labeler import BertSpanLabeler, span_loss_terms, span_metric_terms
from bertzoo.models.task import Task, as_string_array, load_bundle

_INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


def _word_offsets(context: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of each whitespace-separated word of ``context`` (SQuAD's doc_tokens)."""
    _, char_to_word = _split_context(context)
    offsets: list[list[int]] = []
    for position, (char, word) in enumerate(zip(context, char_to_word)):
        if word < 0 or char.isspace() or ord(char) == 0x202F:
            continue
        if word == len(offsets):
            offsets.append([position, position + 1])
        else:
            offsets[word][1] = position + 1
    return [tuple(pair) for pair in offsets]


@keras.saving.register_keras_serializable(package="bertzoo")
class SpanQuestionAnswerer(Task):
    """Extractive question answering on raw strings.

    ``x``: a pair ``(questions, contexts)`` of string sequences. ``y``: one answer per question, a
    dict ``{"text": ..., "answer_start": character offset}`` or a list of such (SQuAD style; the
    first one trains); an empty list, None or ``{"text": ""}`` marks a question without answer
    (SQuAD 2.0, which the model then predicts too). ``predict`` gives one dict per question:
    ``text``, ``score`` (the n-best probability), ``start_char`` / ``end_char`` (offsets into the
    context, end exclusive; None for no answer) and ``nbest``.

    Args:
        network: a ``BertSpanLabeler``.
        preprocessor: the checkpoint's preprocessor (its tokenizer and ``seq_length`` are used).
        doc_stride, max_query_length: windowing, as Google's ``run_squad.py``.
        n_best_size, max_answer_length: decoding.
        version_2: whether questions may have no answer (set by ``fit`` when a ``y`` has none).
        null_score_diff_threshold: SQuAD 2.0: answer "" when null score - best span score exceeds it.

    Example:
        >>> qa = SpanQuestionAnswerer.from_pretrained("path/or/name", seq_length=384)
        >>> qa.fit((["who?"], ["it was anna ."]), [{"text": "anna", "answer_start": 7}])  # doctest: +SKIP
        >>> qa.predict((["who?"], ["it was boris ."]))[0]["text"]                          # doctest: +SKIP
        'boris'
    """

    def __init__(self, network: BertSpanLabeler, preprocessor, doc_stride: int = 128, max_query_length: int = 64,
                 n_best_size: int = 20, max_answer_length: int = 30, version_2: bool = False,
                 null_score_diff_threshold: float = 0.0, **kwargs):
        super().__init__(network, preprocessor, **kwargs)
        self.doc_stride = int(doc_stride)
        self.max_query_length = int(max_query_length)
        self.n_best_size = int(n_best_size)
        self.max_answer_length = int(max_answer_length)
        self.version_2 = bool(version_2)
        self.null_score_diff_threshold = float(null_score_diff_threshold)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, *, seq_length: int = 384, doc_stride: int = 128,
                        max_query_length: int = 64, n_best_size: int = 20, max_answer_length: int = 30,
                        version_2: bool = False, null_score_diff_threshold: float = 0.0,
                        **load_options: Any) -> SpanQuestionAnswerer:
        """A question answerer on a pretrained encoder (``bertzoo.load_pretrained``: a directory or a name).

        Args:
            seq_length: tokens per window (``[CLS] question [SEP] context window [SEP]``).
            doc_stride: how far each window of a long context starts after the previous one, in tokens.
            max_query_length: questions are cut to this many tokens.
        """
        bert, _ = load_bundle(name_or_path, seq_length, task="SpanQuestionAnswerer", **load_options)
        network = BertSpanLabeler(bert.encoder)
        network.build()
        return cls(network, bert.preprocessor, doc_stride=doc_stride, max_query_length=max_query_length,
                   n_best_size=n_best_size, max_answer_length=max_answer_length, version_2=version_2,
                   null_score_diff_threshold=null_score_diff_threshold)

    def get_config(self):
        config = super().get_config()
        config.update(doc_stride=self.doc_stride, max_query_length=self.max_query_length,
                      n_best_size=self.n_best_size, max_answer_length=self.max_answer_length,
                      version_2=self.version_2, null_score_diff_threshold=self.null_score_diff_threshold)
        return config

    # -- data -----------------------------------------------------------------------------------------

    def _pairs(self, x) -> tuple[np.ndarray, np.ndarray]:
        if not (isinstance(x, (tuple, list)) and len(x) == 2 and not isinstance(x[0], str)):
            raise ValueError("x must be a pair (questions, contexts) of string sequences")
        questions = as_string_array(x[0], "x[0] (questions)")
        contexts = as_string_array(x[1], "x[1] (contexts)")
        if len(questions) != len(contexts):
            raise ValueError(f"{len(questions)} questions but {len(contexts)} contexts")
        return questions, contexts

    @staticmethod
    def _first_answer(answer, index: int) -> dict | None:
        """A y entry -> its first answer dict, or None for no answer."""
        if isinstance(answer, (list, tuple)):
            answer = answer[0] if answer else None
        if answer is None:
            return None
        if not isinstance(answer, dict) or "text" not in answer:
            raise ValueError(f"y[{index}]: expected {{'text': ..., 'answer_start': ...}} (or a list of such), "
                             f"got {answer!r:.80}")
        text, start = answer["text"], answer.get("answer_start")
        if isinstance(text, (list, tuple)):  # {"text": [...], "answer_start": [...]} (Hugging Face datasets)
            if not text:
                return None
            text, start = text[0], start[0] if isinstance(start, (list, tuple)) else start
        if text == "":
            return None
        if not isinstance(start, (int, np.integer)) or isinstance(start, bool):
            raise ValueError(f"y[{index}]: 'answer_start' must be the answer's character offset, got {start!r}")
        return {"text": str(text), "answer_start": int(start)}

    def _examples(self, x, y=None) -> list[SquadExample]:
        questions, contexts = self._pairs(x)
        if y is not None:
            y = list(y.to_numpy() if hasattr(y, "to_numpy") else y)
            if len(y) != len(questions):
                raise ValueError(f"x has {len(questions)} questions but y has {len(y)} answers")
        examples = []
        for index, (question, context) in enumerate(zip(questions, contexts)):
            for name, value in (("question", question), ("context", context)):
                if not value.strip():
                    raise ValueError(f"x: {name} {index} is empty")
            doc_tokens, char_to_word = _split_context(context)
            example = SquadExample(qas_id=str(index), question_text=question, doc_tokens=doc_tokens)
            if y is not None:
                answer = self._first_answer(y[index], index)
                if answer is None:
                    example.orig_answer_text, example.start_position, example.end_position = "", -1, -1
                    example.is_impossible = True
                else:
                    _locate_answer(example, answer, context, char_to_word, f"y[{index}]", False)
            examples.append(example)
        return examples

    def _features(self, examples, training: bool):
        return convert_examples_to_features(
            examples, self.preprocessor.tokenizer, max_seq_length=self.seq_length, doc_stride=self.doc_stride,
            max_query_length=self.max_query_length, is_training=training)

    def _dataset(self, x, y=None, sample_weight=None, *, batch_size: int, training: bool,
                 seed: int | None = None) -> tf.data.Dataset:
        """Raw (questions, contexts) and answers -> batches of windows, ``(inputs, [start, end])``."""
        if isinstance(x, tf.data.Dataset):
            return super()._dataset(x, y, batch_size=batch_size, training=training, seed=seed)
        if sample_weight is not None:
            raise ValueError("SpanQuestionAnswerer does not take sample_weight (a question has several windows)")
        examples = self._examples(x, y)
        if y is not None and any(example.is_impossible for example in examples):
            self.version_2 = True
        features = self._features(examples, training=y is not None)
        inputs = {name: np.asarray([getattr(f, name) for f in features], np.int32) for name in _INPUT_NAMES}
        elements: tuple = (inputs,)
        if y is not None:
            elements += (np.asarray([[f.start_position, f.end_position] for f in features], np.int32),)
        dataset = tf.data.Dataset.from_tensor_slices(elements if len(elements) > 1 else inputs)
        if training:
            dataset = dataset.shuffle(len(features), seed=seed, reshuffle_each_iteration=True)
        return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    def _preprocess(self, x):
        return x  # a tf.data given by the user already holds the windows' int inputs

    def _host_labels(self, y):
        return list(y)

    def _split(self, x, y, validation_split: float):
        questions, contexts = self._pairs(x)
        cut = len(questions) - int(np.ceil(len(questions) * validation_split))
        if not 0.0 < validation_split < 1.0 or cut <= 0 or cut >= len(questions):
            raise ValueError(f"validation_split {validation_split} of {len(questions)} questions leaves one side empty")
        y = list(y)
        return (questions[:cut], contexts[:cut]), y[:cut], ((questions[cut:], contexts[cut:]), y[cut:])

    # -- objective ------------------------------------------------------------------------------------

    def _select(self, outputs):
        return ops.stack([outputs["start_logits"], outputs["end_logits"]], axis=1)  # [batch, 2, seq_length]

    def default_loss(self):
        # Mean over start and end of the cross-entropy: Google's (CE(start) + CE(end)) / 2.
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def default_metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="position_accuracy")]

    def loss_terms(self, labels, outputs) -> dict:
        return span_loss_terms(*self._trainer_terms(labels, outputs))

    def metric_terms(self, labels, outputs) -> dict:
        return span_metric_terms(*self._trainer_terms(labels, outputs))

    @staticmethod
    def _trainer_terms(labels, outputs):
        return ({"start_positions": labels[:, 0], "end_positions": labels[:, 1]},
                {"start_logits": outputs[:, 0], "end_logits": outputs[:, 1]})

    def to_finetuned(self):
        from bertzoo.models.finetuned import FinetunedModel

        settings = {"version_2": self.version_2, "doc_stride": self.doc_stride,
                    "max_query_length": self.max_query_length, "n_best_size": self.n_best_size,
                    "max_answer_length": self.max_answer_length,
                    "null_score_diff_threshold": self.null_score_diff_threshold}
        return FinetunedModel(task="squad", model=self.network, bert=self.pretrained_bundle(), settings=settings)

    # -- answers --------------------------------------------------------------------------------------

    def predict(self, x, batch_size: int | None = None, **kwargs) -> list[dict]:
        """One answer per question: ``text``, ``score``, ``start_char``, ``end_char``, ``nbest``."""
        self._check_strategy()
        kwargs.setdefault("verbose", 0)
        examples = self._examples(x)
        features = self._features(examples, training=False)
        inputs = {name: np.asarray([getattr(f, name) for f in features], np.int32) for name in _INPUT_NAMES}
        dataset = tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size or 32)
        outputs = np.asarray(keras.Model.predict(self, dataset, **kwargs))
        return self._answers(self._pairs(x)[1], examples, features, outputs)

    def decode(self, x, outputs) -> list[dict]:
        examples = self._examples(x)
        return self._answers(self._pairs(x)[1], examples, self._features(examples, training=False), outputs)

    def _answers(self, contexts, examples, features, outputs) -> list[dict]:
        outputs = np.asarray(outputs, np.float64)
        tokenizer = self.preprocessor.tokenizer
        predictions = decode_predictions(
            examples, features, outputs[:, 0], outputs[:, 1], n_best_size=self.n_best_size,
            max_answer_length=self.max_answer_length, do_lower_case=tokenizer.lowercase,
            version_2_with_negative=self.version_2, null_score_diff_threshold=self.null_score_diff_threshold,
            tokenizer=tokenizer)
        rows: dict[int, list[int]] = {}
        for row, feature in enumerate(features):
            rows.setdefault(feature.example_index, []).append(row)
        answers = []
        for index, (example, context) in enumerate(zip(examples, contexts)):
            text = predictions[example.qas_id]
            nbest = predictions.nbest[example.qas_id]
            score = next((entry["probability"] for entry in nbest if entry["text"] == text), None)
            start_char = end_char = None
            if text:
                start_char, end_char = self._locate(text, context, features, rows.get(index, []), outputs)
            answer = {"text": text, "score": score, "start_char": start_char, "end_char": end_char,
                      "nbest": [{"text": entry["text"], "score": entry["probability"]} for entry in nbest]}
            if self.version_2:
                answer["null_odds"] = predictions.null_odds.get(example.qas_id)
            answers.append(answer)
        return answers

    def _locate(self, text: str, context: str, features, rows: list[int], outputs) -> tuple[int | None, int | None]:
        """Character offsets of the decoded answer: the best-scoring valid span (the one
        ``decode_predictions`` starts its n-best from) gives the context words; ``text`` is found there."""
        best, best_score = None, -np.inf
        for row in rows:
            feature = features[row]
            starts, ends = outputs[row, 0], outputs[row, 1]
            for start in _best_indexes(starts, self.n_best_size):
                for end in _best_indexes(ends, self.n_best_size):
                    if (start not in feature.token_to_orig_map or end not in feature.token_to_orig_map
                            or not feature.token_is_max_context.get(start, False)
                            or end < start or end - start + 1 > self.max_answer_length):
                        continue
                    if starts[start] + ends[end] > best_score:
                        best_score = starts[start] + ends[end]
                        best = (feature.token_to_orig_map[start], feature.token_to_orig_map[end])
        words = _word_offsets(context)
        region = (words[best[0]][0], words[best[1]][1]) if best else (0, len(context))
        found = context.find(text, region[0], region[1])
        if found < 0:  # the words may be separated by other whitespace than one space
            found = context.find(text)
        if found < 0:
            return None, None
        return found, found + len(text)
