"""GPTTaskModel: GPT-1's fine-tuning model, a decoder + a linear head on the classify token + the
auxiliary language-model loss (Radford et al. 2018; finetune-transformer-lm's ``model``).

Inputs are ``input_word_ids`` / ``input_mask`` ``[batch, sequences, seq_length]`` from
``bertzoo.models.gpt_task_inputs.transform``. Every sequence runs through the decoder; its
``pooled_output`` (the hidden state at the classify token) feeds the head:

- ``classification`` / ``entailment``: one sequence, dropout + linear -> ``[batch, num_classes]``;
- ``similarity``: the two orders' representations are summed, then dropout + linear;
- ``multiple_choice``: dropout + linear to one score per sequence -> ``[batch, choices]``.

``lm_loss`` ``[batch]`` is the auxiliary language-model loss of each row: per sequence the mean
next-token cross-entropy over its real tokens (predicting tokens 1.. from their prefixes, the
original's ``M[:, 1:]`` mask), averaged over the row's sequences. ``gpt_task_loss_terms`` adds it
with weight 0.5 (``lm_coef``) to the task loss.
"""

from __future__ import annotations

import keras
from keras import ops

from bertzoo.models.gpt_task_inputs import TRANSFORMATIONS

LM_WEIGHT = 0.5


@keras.saving.register_keras_serializable(package="bertzoo")
class GPTTaskModel(keras.Model):
    """Args:
        decoder: a ``GPTDecoder`` (GPT-1's, with its special tokens).
        transformation: one of ``classification``, ``entailment``, ``similarity``, ``multiple_choice``.
        num_classes: outputs of the head (1 for regression; ignored for multiple choice).
        dropout_rate: before the head (``clf_pdrop``, 0.1).
    """

    def __init__(self, decoder, transformation: str = "classification", num_classes: int = 2,
                 dropout_rate: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        if transformation not in TRANSFORMATIONS:
            raise ValueError(f"transformation must be one of {TRANSFORMATIONS}, got {transformation!r}")
        self.decoder = decoder
        self.encoder = decoder  # the name other bertzoo task models use
        self.transformation = transformation
        self.num_classes = num_classes
        self.dropout_rate = dropout_rate
        self.dropout = keras.layers.Dropout(dropout_rate, name="classifier_dropout")
        units = 1 if transformation == "multiple_choice" else num_classes
        self.head = keras.layers.Dense(units, name="classifier",
                                       kernel_initializer=keras.initializers.RandomNormal(stddev=0.02))

    def build(self, input_shape=None):
        self.decoder.build({name: (None, None) for name in ("input_word_ids", "input_mask", "input_type_ids")})
        self.head.build((None, self.decoder.hidden_size))
        self.built = True

    def call(self, inputs, training=None):
        word_ids = ops.cast(inputs["input_word_ids"], "int32")
        mask = ops.cast(inputs["input_mask"], "int32")
        batch, sequences, length = ops.shape(word_ids)[0], ops.shape(word_ids)[1], ops.shape(word_ids)[2]
        flat_ids = ops.reshape(word_ids, (-1, length))
        flat_mask = ops.reshape(mask, (-1, length))
        outputs = self.decoder({"input_word_ids": flat_ids, "input_mask": flat_mask,
                                "input_type_ids": ops.zeros_like(flat_ids)}, training=training)
        pooled = ops.cast(outputs["pooled_output"], "float32")
        pooled = ops.reshape(pooled, (batch, sequences, self.decoder.hidden_size))
        if self.transformation == "similarity":
            logits = self.head(self.dropout(ops.sum(pooled, axis=1), training=training))
        elif self.transformation == "multiple_choice":
            logits = ops.reshape(self.head(self.dropout(pooled, training=training)), (batch, sequences))
        else:
            logits = self.head(self.dropout(pooled[:, 0], training=training))
        # The auxiliary language-model loss, per row.
        lm_logits = self.decoder.logits(outputs["sequence_output"][:, :-1])
        targets = flat_ids[:, 1:]
        weights = ops.cast(flat_mask[:, 1:], "float32")
        token_losses = keras.losses.sparse_categorical_crossentropy(targets, lm_logits, from_logits=True)
        per_sequence = ops.sum(token_losses * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        lm_loss = ops.mean(ops.reshape(per_sequence, (batch, sequences)), axis=1)
        return {"logits": ops.cast(logits, "float32"), "lm_loss": lm_loss}

    def get_config(self):
        return dict(super().get_config(), decoder=keras.saving.serialize_keras_object(self.decoder),
                    transformation=self.transformation, num_classes=self.num_classes,
                    dropout_rate=self.dropout_rate)

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)


def gpt_task_loss_terms(problem_type: str = "single_label", lm_weight: float = LM_WEIGHT):
    """The trainer's ``loss_fn``: the task's loss plus ``lm_weight`` x the auxiliary LM loss.

    ``problem_type``: ``single_label`` (and multiple choice: softmax over the choices) or
    ``regression`` (squared error on ``logits[:, 0]``).
    """

    def loss_terms(labels, outputs):
        logits = ops.cast(outputs["logits"], "float32")
        targets = labels["labels"]
        count = ops.cast(ops.shape(logits)[0], "float32")
        if problem_type == "regression":
            losses = ops.square(logits[:, 0] - ops.cast(ops.reshape(targets, (-1,)), "float32"))
        else:
            losses = keras.losses.sparse_categorical_crossentropy(ops.cast(targets, "int32"), logits, from_logits=True)
        terms = {"regression" if problem_type == "regression" else "classification": (ops.sum(losses), count)}
        if lm_weight:
            terms["lm"] = (lm_weight * ops.sum(ops.cast(outputs["lm_loss"], "float32")), count)
        return terms

    return loss_terms
