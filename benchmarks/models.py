"""The implementations under test, built from one ``bertzoo.BertConfig``, each on its natural fast path.

- ``bertzoo``: ``BertEncoder``; for training ``BertClassifier`` with bertzoo's optimizer, stepped as
  ``bertzoo.training.Trainer`` steps it (forward + loss in XLA under ``jit_compile``, then the
  gradient and the ``BertAdamW`` update, in one ``tf.function``).
- ``keras_hub``: ``keras_hub.models.BertBackbone``; for training ``BertTextClassifier`` compiled with
  Keras's ``AdamW`` and stepped with ``train_on_batch``.
- ``hf_torch``: ``transformers.BertModel`` / ``BertForSequenceClassification`` on torch (the
  ``parity`` extra), eager, ``torch.autocast`` for bfloat16.

Every model gets the same architecture, the same random inputs and random initial weights; the
same dropout (0.1) in training and none in inference.
"""

from __future__ import annotations

import importlib.util
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from bertzoo.families.bert.bert_config import BertConfig
from bertzoo.training.trainer import global_dtype_policy

IMPLS = ("bertzoo", "keras_hub", "hf_torch")
# eager: op by op; graph: tf.function; xla: tf.function(jit_compile=True). Torch runs eager only.
MODES = ("eager", "graph", "xla")
TRAIN_MODES = ("graph", "xla")
# float32; mixed_bfloat16 (Keras's policy: float32 weights, cast to bfloat16 on every call);
# bfloat16 (weights stored in bfloat16, cast once: how a model is served in bfloat16; each
# implementation built under Keras's "bfloat16" policy, torch's model converted). Training keeps
# float32 weights: float32 or mixed_bfloat16.
PRECISIONS = ("float32", "mixed_bfloat16", "bfloat16")
TRAIN_PRECISIONS = ("float32", "mixed_bfloat16")
NUM_CLASSES = 2
LEARNING_RATE = 2e-5

Step = Callable[[], object]


def torch_available() -> bool:
    """Whether the ``parity`` extra (torch + transformers) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "transformers"))


def modes_of(impl: str, modes: tuple[str, ...]) -> tuple[str, ...]:
    """The modes ``impl`` runs in, of those asked for (torch: eager, whatever was asked)."""
    return ("eager",) if impl == "hf_torch" else modes


def random_batch(config: BertConfig, batch: int, seq_length: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random word ids, real lengths between half and all of ``seq_length``, segments a/b, labels."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(seq_length // 2, seq_length + 1, size=batch)
    positions = np.arange(seq_length)[None, :]
    mask = (positions < lengths[:, None]).astype(np.int32)
    word_ids = rng.integers(1000, config.vocab_size, size=(batch, seq_length)).astype(np.int32) * mask
    type_ids = ((positions >= lengths[:, None] // 2) & (mask == 1)).astype(np.int32)
    labels = rng.integers(0, NUM_CLASSES, size=batch).astype(np.int32)
    return {"input_word_ids": word_ids, "input_mask": mask, "input_type_ids": type_ids, "labels": labels}


# ------------------------------------------------------------------------------------------------
# Inference: the encoder alone, sequence_output and pooled_output back on the host.

def build_encoder(impl: str, config: BertConfig, precision: str):
    """A randomly initialised encoder of ``config`` from ``impl``."""
    if impl == "hf_torch":
        import transformers

        model = transformers.BertModel(_hf_config(config), add_pooling_layer=True).eval()
        if precision == "bfloat16":
            import torch

            model = model.to(torch.bfloat16)
        return model
    with global_dtype_policy(precision):
        if impl == "bertzoo":
            from bertzoo.families.bert.bert_encoder import BertEncoder

            return BertEncoder.from_bert_config(config)
        return _keras_hub_backbone(config)


def inference_step(impl: str, encoder, batch: dict[str, np.ndarray], mode: str, precision: str) -> Step:
    """One forward pass over ``batch`` that returns once the outputs are on the host."""
    if impl == "hf_torch":
        import torch

        inputs = {"input_ids": torch.from_numpy(batch["input_word_ids"]).long(),
                  "attention_mask": torch.from_numpy(batch["input_mask"]).long(),
                  "token_type_ids": torch.from_numpy(batch["input_type_ids"]).long()}

        def torch_step():
            with torch.inference_mode(), _torch_autocast(precision):
                outputs = encoder(**inputs)
            return outputs.last_hidden_state, outputs.pooler_output

        return torch_step
    inputs = _keras_inputs(impl, batch)

    def forward():
        outputs = encoder(inputs, training=False)
        return outputs["sequence_output"], outputs["pooled_output"]

    return _to_host(forward if mode == "eager" else tf.function(forward, jit_compile=mode == "xla"))


# ------------------------------------------------------------------------------------------------
# Fine-tuning: classifier on pooled_output, cross-entropy, AdamW with weight decay and clipping.

def build_train_step(impl: str, config: BertConfig, batch: dict[str, np.ndarray], mode: str,
                     precision: str) -> Step:
    """A fresh classifier and optimizer, and one training step on ``batch`` returning the loss."""
    if impl == "bertzoo":
        return _bertzoo_train_step(config, batch, mode, precision)
    if impl == "keras_hub":
        return _keras_hub_train_step(config, batch, mode, precision)
    return _torch_train_step(config, batch, precision)


def _bertzoo_train_step(config, batch, mode, precision) -> Step:
    from bertzoo.families.bert.bert_encoder import BertEncoder
    from bertzoo.models.bert_classifier import BertClassifier, classification_loss_terms
    from bertzoo.training.optimization import create_optimizer

    with global_dtype_policy(precision):
        model = BertClassifier(BertEncoder.from_bert_config(config), num_classes=NUM_CLASSES)
    optimizer = create_optimizer(LEARNING_RATE, num_train_steps=10_000, warmup_steps=100)
    loss_terms = classification_loss_terms("single_label")
    features = _keras_inputs("bertzoo", batch)
    labels = {"labels": tf.constant(batch["labels"])}
    model(features)
    optimizer.build(model.trainable_variables)

    def forward(features, labels):
        loss_sum, count = loss_terms(labels, model(features, training=True))["classification"]
        return loss_sum / count

    compiled_forward = tf.function(forward, jit_compile=True) if mode == "xla" else forward

    @tf.function
    def train_step(features, labels):
        with tf.GradientTape() as tape:
            loss = compiled_forward(features, labels)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply([tf.convert_to_tensor(g) for g in gradients], model.trainable_variables)
        return loss

    return lambda: train_step(features, labels).numpy()


def _keras_hub_train_step(config, batch, mode, precision) -> Step:
    import keras_hub

    with global_dtype_policy(precision):
        model = keras_hub.models.BertTextClassifier(_keras_hub_backbone(config), num_classes=NUM_CLASSES,
                                                    preprocessor=None)
    optimizer = keras.optimizers.AdamW(LEARNING_RATE, weight_decay=0.01, epsilon=1e-6, global_clipnorm=1.0)
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=mode == "xla")
    features = _keras_inputs("keras_hub", batch)
    labels = tf.constant(batch["labels"])
    return lambda: model.train_on_batch(features, labels)


def _torch_train_step(config, batch, precision) -> Step:
    import torch
    import transformers

    model = transformers.BertForSequenceClassification(_hf_config(config, num_labels=NUM_CLASSES)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01, eps=1e-6)
    inputs = {"input_ids": torch.from_numpy(batch["input_word_ids"]).long(),
              "attention_mask": torch.from_numpy(batch["input_mask"]).long(),
              "token_type_ids": torch.from_numpy(batch["input_type_ids"]).long(),
              "labels": torch.from_numpy(batch["labels"]).long()}

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        with _torch_autocast(precision):
            loss = model(**inputs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.item()

    return train_step


# ------------------------------------------------------------------------------------------------

def _keras_hub_backbone(config: BertConfig):
    import keras_hub

    return keras_hub.models.BertBackbone(
        vocabulary_size=config.vocab_size, num_layers=config.num_hidden_layers,
        num_heads=config.num_attention_heads, hidden_dim=config.hidden_size,
        intermediate_dim=config.intermediate_size, dropout=config.hidden_dropout_prob,
        max_sequence_length=config.max_position_embeddings, num_segments=config.type_vocab_size)


def _hf_config(config: BertConfig, **kwargs):
    import transformers

    activations = {"gelu_tanh": "gelu_new", "gelu_erf": "gelu", "relu": "relu", "silu": "silu"}
    return transformers.BertConfig(
        vocab_size=config.vocab_size, hidden_size=config.hidden_size,
        num_hidden_layers=config.num_hidden_layers, num_attention_heads=config.num_attention_heads,
        intermediate_size=config.intermediate_size, hidden_act=activations[config.hidden_act],
        hidden_dropout_prob=config.hidden_dropout_prob,
        attention_probs_dropout_prob=config.attention_probs_dropout_prob,
        max_position_embeddings=config.max_position_embeddings, type_vocab_size=config.type_vocab_size,
        layer_norm_eps=config.layer_norm_eps, **kwargs)


def _keras_inputs(impl: str, batch: dict[str, np.ndarray]) -> dict[str, tf.Tensor]:
    if impl == "bertzoo":
        return {name: tf.constant(batch[name]) for name in ("input_word_ids", "input_mask", "input_type_ids")}
    return {"token_ids": tf.constant(batch["input_word_ids"]), "padding_mask": tf.constant(batch["input_mask"]),
            "segment_ids": tf.constant(batch["input_type_ids"])}


def _to_host(forward: Callable) -> Step:
    return lambda: [tensor.numpy() for tensor in forward()]


def _torch_autocast(precision: str):
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "mixed_bfloat16")
