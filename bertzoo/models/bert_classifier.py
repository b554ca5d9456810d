"""BertClassifier: an encoder plus a DenseHead on ``pooled_output``, for sentence and sentence-pair tasks."""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.families.bert.bert_encoder import INPUT_NAMES
from bertzoo.heads.dense_head import DenseHead
from bertzoo.layers.encoder_head_model import EncoderHeadModel

PROBLEM_TYPES = ("single_label", "multi_label", "regression")
POOLINGS = ("pooler", "mean")


def pool_sequence(encoded: dict, input_mask, pooling: str):
    """The sentence vector a head reads: the encoder's ``pooled_output`` (``"pooler"``, BERT's tanh
    layer on [CLS]) or the mean of ``sequence_output`` over real tokens (``"mean"``, how
    sentence-transformers checkpoints such as all-MiniLM-L6-v2 were trained to be read)."""
    if pooling == "pooler":
        return encoded["pooled_output"]
    sequence = encoded["sequence_output"]
    mask = ops.cast(ops.expand_dims(input_mask, -1), sequence.dtype)
    return ops.sum(sequence * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), ops.cast(1.0, sequence.dtype))


def classification_loss_terms(problem_type: str):
    """The trainer's ``loss_fn`` for a problem type: ``(labels, outputs) -> {name: (sum, count)}``.

    ``labels["labels"]`` holds int class ids ``[batch]`` (single_label: softmax cross-entropy),
    float multi-hot vectors ``[batch, num_classes]`` (multi_label: sigmoid cross-entropy averaged
    over the classes, as Keras's ``binary_crossentropy``) or float scores ``[batch]`` (regression:
    squared error, as Google's STS-B fine-tuning).
    """
    _check_problem_type(problem_type)

    def loss_terms(labels, outputs):
        logits = ops.cast(outputs["logits"], "float32")
        targets = labels["labels"]
        count = ops.cast(ops.shape(logits)[0], "float32")
        if problem_type == "single_label":
            losses = keras.losses.sparse_categorical_crossentropy(ops.cast(targets, "int32"), logits, from_logits=True)
        elif problem_type == "multi_label":
            losses = ops.mean(ops.binary_crossentropy(ops.cast(targets, "float32"), logits, from_logits=True), axis=-1)
        else:
            losses = ops.square(logits[:, 0] - ops.cast(ops.reshape(targets, (-1,)), "float32"))
        return {problem_type.replace("single_label", "classification"): (ops.sum(losses), count)}

    return loss_terms


def classification_metric_terms(problem_type: str):
    """The trainer's ``metrics_fn``: accuracy (single_label), per-label accuracy at 0.5
    (multi_label) or mean absolute error (regression), as ``{name: (sum, count)}``."""
    _check_problem_type(problem_type)

    def metric_terms(labels, outputs):
        logits = ops.cast(outputs["logits"], "float32")
        targets = labels["labels"]
        if problem_type == "single_label":
            correct = ops.cast(ops.equal(ops.argmax(logits, axis=-1), ops.cast(targets, "int64")), "float32")
            return {"accuracy": (ops.sum(correct), ops.cast(ops.size(correct), "float32"))}
        if problem_type == "multi_label":
            correct = ops.cast(ops.equal(ops.cast(logits > 0, "float32"), ops.cast(targets, "float32")), "float32")
            return {"label_accuracy": (ops.sum(correct), ops.cast(ops.size(correct), "float32"))}
        errors = ops.abs(logits[:, 0] - ops.cast(ops.reshape(targets, (-1,)), "float32"))
        return {"mean_absolute_error": (ops.sum(errors), ops.cast(ops.size(errors), "float32"))}

    return metric_terms


def _check_problem_type(problem_type: str) -> None:
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"problem_type must be one of {PROBLEM_TYPES}, got {problem_type!r}")


@keras.saving.register_keras_serializable(package="bertzoo")
class BertClassifier(EncoderHeadModel):
    """Encoder + ``DenseHead`` on ``pooled_output``: one model for single sentences
    (spam / not spam), sentence pairs (segment ids 0/1: paraphrase, entailment), multi-label
    (sigmoid per label) and regression (``num_classes=1``, STS-B).

    Inputs: the encoder's dict. Output: ``{"logits": float32 [batch, num_classes]}``; the
    probabilities are ``softmax`` (single_label) or ``sigmoid`` (multi_label) of the logits, and
    the regression score is ``logits[:, 0]``.

    Args:
        encoder: a model of the encoder contract (e.g. ``BertEncoder``).
        num_classes: classes or labels (1 for regression).
        problem_type: ``"single_label"``, ``"multi_label"`` or ``"regression"``.
        dropout_rate: dropout on ``pooled_output`` while training.
        pooling: ``"pooler"`` (the paper's [CLS] pooler) or ``"mean"`` (masked mean of
            ``sequence_output``, for sentence-embedding checkpoints); see ``pool_sequence``.

    Example:
        >>> classifier = BertClassifier(BertEncoder.from_bert_config(BertConfig.preset("tiny")), num_classes=2)
        >>> classifier(inputs)["logits"].shape
        TensorShape([batch, 2])
    """

    def __init__(self, encoder: keras.Model, num_classes: int, problem_type: str = "single_label",
                 dropout_rate: float = 0.1, pooling: str = "pooler", **kwargs):
        super().__init__(**kwargs)
        _check_problem_type(problem_type)
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.pooling = pooling
        if problem_type == "regression" and num_classes != 1:
            raise ValueError(f"regression predicts one score: num_classes must be 1, got {num_classes}")
        self.encoder = encoder
        self.num_classes = num_classes
        self.problem_type = problem_type
        self.dropout_rate = dropout_rate
        self.classification_head = DenseHead(
            num_classes=num_classes, hidden_size=encoder.hidden_size, dropout_rate=dropout_rate,
            initializer_range=getattr(encoder, "initializer_range", 0.02), dtype=encoder.dtype_policy,
            name="classification_head")

    def call(self, inputs, training=None):
        encoded = self.encoder({name: inputs[name] for name in INPUT_NAMES}, training=training)
        pooled = pool_sequence(encoded, inputs["input_mask"], self.pooling)
        return {"logits": self.classification_head(pooled, training=training)}

    def build(self, input_shape=None):
        self.classification_head.build((None, self.encoder.hidden_size))
        self.built = True

    def head_config(self) -> dict:
        config = dict(num_classes=self.num_classes, problem_type=self.problem_type, dropout_rate=self.dropout_rate)
        if self.pooling != "pooler":  # fine-tuned directories of the paper's head keep their old task.json
            config["pooling"] = self.pooling
        return config
