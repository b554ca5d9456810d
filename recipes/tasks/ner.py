"""Named-entity recognition (token tagging) on CoNLL-2003 style files, scored as conlleval."""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np

from bertzoo.data.tagging_data import decode_tags, encode_tagged_sentences, entities_with_offsets, tag_probabilities
from bertzoo.data.task_readers import read_conll
from bertzoo.families.bert.pretrained_bert import PretrainedBert
from bertzoo.metrics.entity_metrics import entity_scores
from bertzoo.models.bert_tagger import BertTagger, tagging_loss_terms, tagging_metric_terms
from bertzoo.recipes.tasks import Encoded
from bertzoo.text.word_splitter import Word, split_words


@dataclasses.dataclass
class NerData:
    """Sentences as words (with character offsets into ``texts``) and, when labelled, their tags."""

    words: list[list[Word]]
    texts: list[str]
    tags: list[list[str]] | None = None


def _from_words(words: list[str]) -> tuple[list[Word], str]:
    """Pre-split words -> (words with offsets, the text they make joined by spaces)."""
    offsets, start = [], 0
    for word in words:
        offsets.append(Word(word, start, start + len(word)))
        start += len(word) + 1
    return offsets, " ".join(words)


class NerTask:
    """Tagging with a label per word: the first WordPiece of each word carries it, the other pieces
    are ignored in the loss; predictions go back to words, then to entities with character offsets.

    Args:
        label_names: the tags (index = id); None: collected from the training file ("O" first).
        word_column, label_column: columns of the CoNLL files.
        dropout_rate: dropout on the sequence output.
    """

    name = "ner"
    default_seq_length = 128

    def __init__(self, label_names: list[str] | None = None, *, word_column: int = 0, label_column: int = -1,
                 dropout_rate: float = 0.1):
        self.label_names = label_names
        self.word_column = word_column
        self.label_column = label_column
        self.dropout_rate = dropout_rate

    def settings(self) -> dict[str, Any]:
        return {"word_column": self.word_column, "label_column": self.label_column, "dropout_rate": self.dropout_rate}

    # -- data ------------------------------------------------------------------------------------

    def read(self, path: str, *, training: bool) -> NerData:
        sentences = read_conll(path, word_column=self.word_column, label_column=self.label_column)
        if not sentences:
            raise ValueError(f"{path}: no sentences")
        if training and self.label_names is None:
            tags = {tag for sentence in sentences for tag in sentence.labels}
            self.label_names = ["O"] * ("O" in tags) + sorted(tags - {"O"})
        known = set(self.label_names or ())
        for index, sentence in enumerate(sentences):
            unknown = [tag for tag in sentence.labels if tag not in known]
            if unknown:
                raise ValueError(f"{path}, sentence {index + 1} ({' '.join(sentence.words[:8])} ...): tag "
                                 f"{unknown[0]!r} is not in the label set {self.label_names}")
        words, texts = zip(*(_from_words(sentence.words) for sentence in sentences))
        return NerData(list(words), list(texts), [sentence.labels for sentence in sentences])

    def parse_records(self, records: list[Any], source: str) -> NerData:
        """Prediction input: plain text lines or ``{"text": ...}`` (split into words here, keeping
        character offsets), or ``{"words": [...]}`` already split."""
        words, texts = [], []
        for number, record in enumerate(records, start=1):
            if isinstance(record, dict) and isinstance(record.get("words"), list):
                offsets, text = _from_words([str(word) for word in record["words"]])
            else:
                text = record.get("text") if isinstance(record, dict) else record
                if not isinstance(text, str):
                    raise ValueError(f"{source}, line {number}: expected a text line, or a JSON object with "
                                     "'text' (a string) or 'words' (a list)")
                offsets = split_words(text)
            words.append(offsets)
            texts.append(text)
        return NerData(words, texts)

    def encode(self, data: NerData, bert: PretrainedBert, *, training: bool) -> Encoded:
        features = encode_tagged_sentences(
            [[word.text for word in sentence] for sentence in data.words], bert.tokenizer,
            seq_length=int(bert.preprocessor.seq_length), label_names=self.label_names,
            sentences_labels=data.tags)
        inputs = {name: getattr(features, name) for name in ("input_word_ids", "input_mask", "input_type_ids")}
        labels = None
        if data.tags is not None:
            labels = {"label_ids": features.label_ids, "label_weights": features.label_weights}
        return Encoded(inputs, labels, context=features)

    # -- model -----------------------------------------------------------------------------------

    def build_model(self, encoder: keras.Model) -> BertTagger:
        return BertTagger(encoder, num_classes=len(self.label_names), dropout_rate=self.dropout_rate)

    def loss_fn(self):
        return tagging_loss_terms

    def metrics_fn(self):
        return tagging_metric_terms

    # -- results ---------------------------------------------------------------------------------

    def evaluate(self, data: NerData, encoded: Encoded, outputs: dict) -> dict[str, float]:
        if data.tags is None:
            raise ValueError("evaluation needs a tagged file")
        predicted = decode_tags(encoded.context, outputs["logits"], self.label_names)
        scores = entity_scores(data.tags, predicted)
        results = {"precision": scores["precision"], "recall": scores["recall"], "f1": scores["f1"]}
        for entity_type, figures in scores["per_type"].items():
            results[f"{entity_type}_f1"] = figures["f1"]
        return results

    def predictions(self, data: NerData, encoded: Encoded, outputs: dict) -> list[dict]:
        logits = np.asarray(outputs["logits"])
        predicted = decode_tags(encoded.context, logits, self.label_names)
        probabilities = tag_probabilities(encoded.context, logits)
        lines = []
        for index, (words, text, tags, word_probabilities) in enumerate(
                zip(data.words, data.texts, predicted, probabilities)):
            line = {"text": text, "words": [word.text for word in words], "tags": tags,
                    "entities": entities_with_offsets(words, tags, text, word_probabilities)}
            if data.tags is not None:
                line["gold"] = data.tags[index]
            lines.append(line)
        return lines
