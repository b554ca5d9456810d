"""Sentence and sentence-pair classification (single-label, multi-label, regression) served on raw text.

``ClassificationServing`` puts the core-ops preprocessor in front of a ``BertClassifier`` and turns
its logits into what ``bertzoo predict`` reports, as dense tensors a REST client can read:
- single-label: ``probabilities`` (softmax, float32 ``[batch, classes]``), ``label_id`` (int32),
  ``label`` (the class name);
- multi-label: ``probabilities`` (a sigmoid per label) and ``labels``, ``[batch, labels]`` strings
  holding the name of every label whose probability is above 0.5 and ``""`` elsewhere;
- regression: ``score`` (float32 ``[batch]``).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from bertzoo.export.core_preprocessor import CorePreprocessor

__all__ = ["ClassificationServing"]

PROBLEM_TYPES = ("single_label", "multi_label", "regression")


class ClassificationServing(tf.Module):
    """A fine-tuned ``BertClassifier`` with its preprocessing, for SavedModel signatures.

    Args:
        model: the classifier; called on the packed inputs, it returns ``{"logits": ...}``.
        preprocessor: the core-ops preprocessor of the model's checkpoint.
        problem_type: ``single_label``, ``multi_label`` or ``regression``.
        label_names: class names, index = class id (None for regression).
        pair: whether the model classifies sentence pairs (``text`` and ``text_pair``).
        name: the module's name.

    Example:
    >>> serving = ClassificationServing.from_finetuned(load_finetuned("output/demo/model"))  # doctest: +SKIP
    >>> serving.classify(tf.constant(["great food"]))["label"]  # doctest: +SKIP
    """

    def __init__(self, model: keras.Model, preprocessor: CorePreprocessor, problem_type: str,
                 label_names: list[str] | None, pair: bool = False, name: str | None = None):
        super().__init__(name=name)
        if problem_type not in PROBLEM_TYPES:
            raise ValueError(f"problem_type must be one of {', '.join(PROBLEM_TYPES)}, got {problem_type!r}")
        if problem_type != "regression" and not label_names:
            raise ValueError(f"a {problem_type} classifier needs its label names")
        self.model = model
        self.preprocessor = preprocessor
        self.problem_type = problem_type
        self.pair = pair
        self._label_names = tf.constant(list(label_names or [""]), tf.string)

    @classmethod
    def from_finetuned(cls, finetuned) -> ClassificationServing:
        """From a ``FinetunedModel`` of a classification task (classify, pair, regression, multilabel)."""
        pair = finetuned.settings.get("text_pair_column") is not None
        return cls(finetuned.model, CorePreprocessor.from_bert_preprocessor(finetuned.bert.preprocessor),
                   finetuned.model.problem_type, finetuned.label_names, pair=pair)

    def classify(self, text: tf.Tensor, text_pair: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """Raw strings ``[batch]`` (and their second segments) -> the outputs in the module docstring."""
        if self.pair != (text_pair is not None):
            raise ValueError("this model classifies " + ("pairs: give text and text_pair" if self.pair
                                                         else "single texts: give text only"))
        inputs = self.preprocessor(text if text_pair is None else (text, text_pair))
        return self.from_inputs(inputs)

    def from_inputs(self, inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Packed int inputs -> the outputs in the module docstring."""
        inputs = {name: tf.cast(value, tf.int32) for name, value in inputs.items()}
        logits = tf.cast(self.model(inputs, training=False)["logits"], tf.float32)
        if self.problem_type == "regression":
            return {"score": logits[:, 0]}
        if self.problem_type == "multi_label":
            probabilities = tf.sigmoid(logits)
            names = tf.broadcast_to(self._label_names, tf.shape(probabilities))
            return {"probabilities": probabilities, "labels": tf.where(probabilities > 0.5, names, "")}
        probabilities = tf.nn.softmax(logits, axis=-1)
        label_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"probabilities": probabilities, "label_id": label_id,
                "label": tf.gather(self._label_names, label_id)}
