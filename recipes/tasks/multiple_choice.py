"""Multiple choice (SWAG-style CSV files): a context and N endings, one right ending per example."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from bertzoo.data.multiple_choice_data import SWAG_ENDINGS, MultipleChoiceData, read_swag
from bertzoo.data.text_classification_data import encode_texts
from bertzoo.families.bert.pretrained_bert import PretrainedBert
from bertzoo.metrics import classification_metrics as metrics
from bertzoo.models.bert_multiple_choice import (
    BertMultipleChoice,
    multiple_choice_loss_terms,
    multiple_choice_metric_terms,
)
from bertzoo.recipes.tasks import Encoded


class MultipleChoiceTask:
    """``multiple_choice``: each example is scored as N sequences ``[CLS] context [SEP] ending_i [SEP]``
    (the BERT paper's SWAG setup), softmax over the N scores.

    Args:
        context_column: the context (SWAG: ``sent1``).
        ending_prefix_column: the start of the second sentence put before every ending (SWAG: ``sent2``);
            None or "" uses the endings alone.
        ending_columns: the N ending columns (SWAG: ``ending0`` .. ``ending3``).
        label_column: the index of the right ending (may be missing in prediction files).
        dropout_rate, pooling: as ``BertMultipleChoice``.
    """

    name = "multiple_choice"
    label_names = None
    default_seq_length = 128

    def __init__(self, *, context_column: str = "sent1", ending_prefix_column: str | None = "sent2",
                 ending_columns: list[str] | tuple[str, ...] = SWAG_ENDINGS, label_column: str = "label",
                 dropout_rate: float = 0.1, pooling: str = "pooler", **_ignored: Any):
        self.context_column = str(context_column)
        self.ending_prefix_column = ending_prefix_column or None
        self.ending_columns = [str(name) for name in ending_columns]
        self.label_column = str(label_column)
        self.dropout_rate = dropout_rate
        self.pooling = pooling

    @property
    def num_choices(self) -> int:
        return len(self.ending_columns)

    def settings(self) -> dict[str, Any]:
        return {"context_column": self.context_column, "ending_prefix_column": self.ending_prefix_column,
                "ending_columns": list(self.ending_columns), "label_column": self.label_column,
                "dropout_rate": self.dropout_rate, "pooling": self.pooling}

    # -- data ------------------------------------------------------------------------------------

    def read(self, path: str, *, training: bool) -> MultipleChoiceData:
        data = read_swag(path, context_column=self.context_column, ending_prefix_column=self.ending_prefix_column,
                         ending_columns=tuple(self.ending_columns), label_column=self.label_column)
        if training and data.labels is None:
            raise ValueError(f"{path}: training needs the label column {self.label_column!r}")
        return data

    def parse_records(self, records: list[Any], source: str) -> MultipleChoiceData:
        """Prediction input: JSON objects ``{"context": ..., "endings": [...]}`` with ``num_choices`` endings."""
        contexts, endings = [], []
        for number, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                raise ValueError(f'{source}, line {number}: expected a JSON object {{"context": ..., "endings": '
                                 f"[...]}}, got {type(record).__name__}")
            context, choices = record.get("context"), record.get("endings")
            if not isinstance(context, str):
                raise ValueError(f"{source}, line {number}: field 'context' should be a string, got {context!r:.60}")
            if (not isinstance(choices, list) or len(choices) != self.num_choices
                    or not all(isinstance(choice, str) for choice in choices)):
                raise ValueError(f"{source}, line {number}: field 'endings' should be a list of {self.num_choices} "
                                 f"strings (the model was fine-tuned with {self.num_choices}), got {choices!r:.80}")
            contexts.append(context)
            endings.append(choices)
        return MultipleChoiceData(contexts, np.asarray(endings, dtype=object).astype(str), None)

    def encode(self, examples: MultipleChoiceData, bert: PretrainedBert, *, training: bool) -> Encoded:
        n, choices = examples.endings.shape
        flat = encode_texts(bert.preprocessor, [context for context in examples.contexts for _ in range(choices)],
                            [str(ending) for ending in examples.endings.reshape(-1)])
        inputs = {name: value.reshape(n, choices, -1) for name, value in flat.items()}
        labels = None if examples.labels is None else {"labels": examples.labels}
        return Encoded(inputs, labels)

    # -- model -----------------------------------------------------------------------------------

    def build_model(self, encoder: keras.Model) -> BertMultipleChoice:
        return BertMultipleChoice(encoder, num_choices=self.num_choices, dropout_rate=self.dropout_rate,
                                  pooling=self.pooling)

    def loss_fn(self):
        return multiple_choice_loss_terms

    def metrics_fn(self):
        return multiple_choice_metric_terms

    # -- results ---------------------------------------------------------------------------------

    def evaluate(self, examples: MultipleChoiceData, encoded: Encoded, outputs: dict) -> dict[str, float]:
        if examples.labels is None:
            raise ValueError(f"evaluation needs a labelled file (the column {self.label_column!r} is missing)")
        return {"accuracy": metrics.accuracy(outputs["logits"].argmax(-1), examples.labels)}

    def predictions(self, examples: MultipleChoiceData, encoded: Encoded, outputs: dict) -> list[dict]:
        logits = outputs["logits"].astype(np.float64)
        lines = []
        for row, context in enumerate(examples.contexts):
            shifted = np.exp(logits[row] - logits[row].max())
            probabilities = shifted / shifted.sum()
            best = int(probabilities.argmax())
            line: dict[str, Any] = {"context": context, "endings": [str(e) for e in examples.endings[row]],
                                    "choice": best, "ending": str(examples.endings[row][best]),
                                    "probabilities": [float(p) for p in probabilities]}
            if examples.labels is not None:
                line["gold"] = int(examples.labels[row])
            lines.append(line)
        return lines
