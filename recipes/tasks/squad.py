"""Extractive question answering on SQuAD 1.1 / 2.0 files, with Google's windowing and decoding."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import keras
import numpy as np

from bertzoo.data.squad import (
    SquadExample,
    convert_examples_to_features,
    decode_predictions,
    read_squad_examples,
    squad_example_from_text,
)
from bertzoo.families.bert.pretrained_bert import PretrainedBert
from bertzoo.metrics.squad_metrics import squad_v1_evaluate, squad_v2_evaluate
from bertzoo.models.bert_span_labeler import BertSpanLabeler, span_loss_terms, span_metric_terms
from bertzoo.recipes.tasks import Encoded


@dataclasses.dataclass
class SquadData:
    """The examples of a SQuAD file and its parsed JSON (the official evaluation reads the answers there)."""

    examples: list[SquadExample]
    dataset: dict | None = None


class SquadTask:
    """SQuAD: ``[CLS] question [SEP] context window [SEP]`` -> start/end logits -> answer text.

    Args:
        version_2: SQuAD 2.0 (questions may have no answer); None: detected from the training file.
        doc_stride, max_query_length: windowing, as Google's ``run_squad.py`` (defaults 128, 64).
        n_best_size, max_answer_length: decoding (defaults 20, 30).
        null_score_diff_threshold: SQuAD 2.0: answer "" when null score - best span score exceeds it;
            ``"auto"``: the official evaluation's ``best_f1_thresh`` on the evaluation file (with the
            null odds as ``na_probs``), chosen at evaluation and kept in the settings (0 until then).
    """

    name = "squad"
    label_names = None
    default_seq_length = 384

    def __init__(self, *, version_2: bool | None = None, doc_stride: int = 128, max_query_length: int = 64,
                 n_best_size: int = 20, max_answer_length: int = 30, null_score_diff_threshold: float | str = 0.0):
        if isinstance(null_score_diff_threshold, str) and null_score_diff_threshold != "auto":
            raise ValueError(f"null_score_diff_threshold must be a number or 'auto', got {null_score_diff_threshold!r}")
        self.version_2 = version_2
        self.doc_stride = doc_stride
        self.max_query_length = max_query_length
        self.n_best_size = n_best_size
        self.max_answer_length = max_answer_length
        self.null_score_diff_threshold = null_score_diff_threshold

    def settings(self) -> dict[str, Any]:
        return {"version_2": self.version_2, "doc_stride": self.doc_stride, "max_query_length": self.max_query_length,
                "n_best_size": self.n_best_size, "max_answer_length": self.max_answer_length,
                "null_score_diff_threshold": self.null_score_diff_threshold}

    # -- data ------------------------------------------------------------------------------------

    def read(self, path: str, *, training: bool) -> SquadData:
        version = None if self.version_2 is None else ("2.0" if self.version_2 else "1.1")
        examples = read_squad_examples(path, is_training=training, version=version)
        if not examples:
            raise ValueError(f"SQuAD file {path} holds no questions")
        with open(path, encoding="utf-8") as f:
            dataset = json.load(f)
        if self.version_2 is None:
            self.version_2 = any("is_impossible" in qa for article in dataset["data"]
                                 for paragraph in article["paragraphs"] for qa in paragraph["qas"])
        return SquadData(examples, dataset)

    def parse_records(self, records: list[Any], source: str) -> SquadData:
        """Prediction input: JSON objects ``{"question": ..., "context": ...}`` (and an optional ``id``)."""
        examples = []
        for number, record in enumerate(records, start=1):
            if not isinstance(record, dict) or "question" not in record or "context" not in record:
                raise ValueError(f"{source}, line {number}: expected a JSON object with 'question' and 'context'")
            try:
                examples.append(squad_example_from_text(record["question"], record["context"],
                                                        str(record.get("id", number))))
            except ValueError as error:
                raise ValueError(f"{source}, line {number}: {error}") from None
        return SquadData(examples)

    def encode(self, data: SquadData, bert: PretrainedBert, *, training: bool) -> Encoded:
        seq_length = int(bert.preprocessor.seq_length)
        features = convert_examples_to_features(
            data.examples, bert.tokenizer, max_seq_length=seq_length, doc_stride=self.doc_stride,
            max_query_length=self.max_query_length, is_training=training)
        inputs = {name: np.asarray([getattr(f, name) for f in features], np.int32)
                  for name in ("input_word_ids", "input_mask", "input_type_ids")}
        labels = None
        if training:
            labels = {"start_positions": np.asarray([f.start_position for f in features], np.int32),
                      "end_positions": np.asarray([f.end_position for f in features], np.int32)}
        return Encoded(inputs, labels, context=(features, bert.tokenizer))

    # -- model -----------------------------------------------------------------------------------

    def build_model(self, encoder: keras.Model) -> BertSpanLabeler:
        return BertSpanLabeler(encoder)

    def loss_fn(self):
        return span_loss_terms

    def metrics_fn(self):
        return span_metric_terms

    # -- results ---------------------------------------------------------------------------------

    def _decode(self, data: SquadData, encoded: Encoded, outputs: dict, threshold: float | None = None):
        features, tokenizer = encoded.context
        if threshold is None:
            threshold = 0.0 if self.null_score_diff_threshold == "auto" else self.null_score_diff_threshold
        return decode_predictions(
            data.examples, features, outputs["start_logits"], outputs["end_logits"], n_best_size=self.n_best_size,
            max_answer_length=self.max_answer_length, do_lower_case=tokenizer.lowercase,
            version_2_with_negative=bool(self.version_2), null_score_diff_threshold=threshold,
            tokenizer=tokenizer)

    def evaluate(self, data: SquadData, encoded: Encoded, outputs: dict) -> dict[str, float]:
        if data.dataset is None:
            raise ValueError("evaluation needs a SQuAD file with answers")
        if self.version_2 and self.null_score_diff_threshold == "auto":
            # The best threshold is searched on the raw span answers, as with Google's null_odds.json.
            raw = self._decode(data, encoded, outputs, threshold=float("inf"))
            chosen = squad_v2_evaluate(data.dataset, raw, na_probs=raw.null_odds)["best_f1_thresh"]
            self.null_score_diff_threshold = chosen
            results = squad_v2_evaluate(data.dataset, self._decode(data, encoded, outputs, threshold=chosen))
            return dict(results, null_score_diff_threshold=chosen)
        predictions = self._decode(data, encoded, outputs)
        if self.version_2:
            # na_prob_thresh inf: the answers stay as decoded; the null odds only feed best_exact/best_f1.
            return squad_v2_evaluate(data.dataset, predictions, na_probs=predictions.null_odds,
                                     na_prob_thresh=float("inf"))
        return squad_v1_evaluate(data.dataset, predictions)

    def predictions(self, data: SquadData, encoded: Encoded, outputs: dict) -> list[dict]:
        predictions = self._decode(data, encoded, outputs)
        lines = []
        for example in data.examples:
            nbest = predictions.nbest[example.qas_id]
            answer = predictions[example.qas_id]
            line = {"id": example.qas_id, "question": example.question_text, "answer": answer,
                    "probability": next((entry["probability"] for entry in nbest if entry["text"] == answer), None),
                    "nbest": [entry["text"] for entry in nbest[:5]]}
            if example.qas_id in predictions.null_odds:
                line["null_odds"] = predictions.null_odds[example.qas_id]
            if example.answers:
                line["gold"] = example.answers
            lines.append(line)
        return lines
