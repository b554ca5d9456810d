"""Task: the base of the Keras task models that take raw strings (``TextClassifier``, ...).

A task is a ``keras.Model`` around a numeric network (encoder + head: ``BertClassifier``, ...) with
the checkpoint's preprocessor attached. ``fit``, ``evaluate`` and ``predict`` accept raw strings
(Python lists, NumPy arrays, pandas columns, or a batched ``tf.data`` of strings) and build a
``tf.data`` pipeline that maps the preprocessing over batches, so the train step itself only sees
int32 ``[batch, seq_length]`` tensors (XLA- and TPU-ready). ``compile()`` with no arguments gives
BERT's AdamW with warmup and linear decay, sized by the ``fit`` call that follows, and the task's
loss and metrics; any Keras optimizer, loss, metric or callback can replace them.

Keras ``fit`` does not run under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585); there the
task raises and points to ``bertzoo.training.Trainer``, which trains the same task object through
``trainer_arguments`` / ``training_dataset``.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from bertzoo.errors import ConfigError
from bertzoo.models import fine_tuning_defaults as defaults

AUTO = "auto"


def as_string_array(values: Any, what: str) -> np.ndarray:
    """A list, tuple, NumPy array or pandas Series of strings as a 1-D NumPy object array."""
    if isinstance(values, (str, bytes)):
        values = [values]
    if hasattr(values, "to_numpy"):  # pandas Series / Index
        values = values.to_numpy()
    array = np.asarray(values, dtype=object)
    if array.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D sequence of strings, got shape {array.shape}")
    for index, value in enumerate(array):
        if not isinstance(value, (str, bytes)):
            raise TypeError(f"{what}[{index}]: expected a string, got {type(value).__name__} {value!r:.60}")
    return array.astype(str)


class _KeepBestEpoch(keras.callbacks.Callback):
    """Restores the weights of the epoch with the best ``monitor`` value when training ends."""

    def __init__(self, monitor: str, mode: str):
        super().__init__()
        self.monitor, self.mode = monitor, mode
        self.best, self.best_weights, self.best_epoch = None, None, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        if self.best is None or (value > self.best if self.mode == "max" else value < self.best):
            self.best, self.best_epoch = value, epoch
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class Task(keras.Model):
    """Base of the raw-string task models; subclasses define the data mapping and decoding.

    Subclasses implement ``_host_inputs`` (raw ``x`` -> tensors ``tf.data`` can slice),
    ``_preprocess`` (a batch of those -> the network's int inputs), ``_host_labels``, ``_select``
    (network outputs -> what the Keras loss reads), ``default_loss``, ``default_metrics``,
    ``loss_terms`` / ``metric_terms`` (for the bertzoo trainer) and ``decode`` (predict's answer).

    Args:
        network: the numeric model (encoder + head) on the encoder's int inputs.
        preprocessor: the checkpoint's preprocessor (strings -> int inputs).
    """

    monitor = ("val_loss", "min")

    def __init__(self, network: keras.Model, preprocessor: keras.layers.Layer, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.preprocessor = preprocessor
        self._auto = None  # the compile() arguments left to "auto", sized in fit

    # -- the model ---------------------------------------------------------------------------------

    @property
    def encoder(self) -> keras.Model:
        return self.network.encoder

    @property
    def seq_length(self) -> int:
        return int(self.preprocessor.seq_length)

    def call(self, inputs, training=None):
        return self._select(self.network(inputs, training=training))

    def build(self, input_shape=None):
        if not self.network.built:
            self.network.build()
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.update(network=keras.saving.serialize_keras_object(self.network),
                      preprocessor=keras.saving.serialize_keras_object(self.preprocessor))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        config["preprocessor"] = keras.saving.deserialize_keras_object(config["preprocessor"])
        return cls(**config)

    # -- compile -------------------------------------------------------------------------------------

    def compile(self, optimizer: Any = AUTO, loss: Any = AUTO, metrics: Any = AUTO, *,
                learning_rate: float | None = None, warmup_fraction: float = 0.1, weight_decay: float = 0.01,
                paper_defaults: bool = False, **kwargs):
        """Keras ``compile`` with task defaults.

        ``optimizer="auto"``: BERT's AdamW (``bertzoo.training.create_optimizer``) with linear
        warmup over ``warmup_fraction`` of the steps and linear decay to 0, its step count taken
        from the following ``fit`` call (epochs x steps per epoch); ``learning_rate`` None takes
        bertzoo's default for the encoder's width (``fine_tuning_defaults``), or the paper's 5e-5
        with ``paper_defaults=True``. ``loss``/``metrics="auto"``: the task's. Anything else is
        passed to Keras unchanged.
        """
        self._auto = {"learning_rate": learning_rate, "warmup_fraction": warmup_fraction,
                      "weight_decay": weight_decay, "paper_defaults": paper_defaults} if optimizer == AUTO else None
        # Set past Keras's tracker: these metrics are Keras compile's to track, and the tracker of a
        # built (fitted or loaded) task refuses new state, which made compiling it again fail.
        object.__setattr__(self, "_compile_arguments", dict(
            loss=self.default_loss() if loss == AUTO else loss,
            metrics=self.default_metrics() if metrics == AUTO else metrics, **kwargs))
        if optimizer == AUTO:
            optimizer = self._bert_optimizer(num_train_steps=1)  # resized by fit
        super().compile(optimizer=optimizer, **self._compile_arguments)

    def get_compile_config(self):
        return None  # a loaded task is compiled again by its user (compile() gives the defaults)

    def _bert_optimizer(self, num_train_steps: int) -> keras.optimizers.Optimizer:
        from bertzoo.training.optimization import create_optimizer

        auto = self._auto
        learning_rate = auto["learning_rate"]
        if learning_rate is None:
            learning_rate = (defaults.PAPER.learning_rate if auto["paper_defaults"]
                             else defaults.default_learning_rate(self.encoder.hidden_size))
        warmup_steps = int(auto["warmup_fraction"] * num_train_steps)
        return create_optimizer(learning_rate, num_train_steps=max(1, num_train_steps), warmup_steps=warmup_steps,
                                weight_decay=auto["weight_decay"])

    # -- data ------------------------------------------------------------------------------------------

    def _check_strategy(self) -> None:
        strategies = (tf.distribute.get_strategy(), self.distribute_strategy)
        if any(isinstance(s, tf.distribute.MultiWorkerMirroredStrategy) for s in strategies):
            raise RuntimeError(
                f"{type(self).__name__}.fit/evaluate/predict cannot run under MultiWorkerMirroredStrategy: Keras "
                "fit fails there (keras-team/keras#20585). Train this task with the bertzoo trainer instead: "
                "bertzoo.training.Trainer(strategy, build_model, build_optimizer, task.loss_terms, "
                "metrics_fn=task.metric_terms, ...).train(task.training_dataset(x, y, global_batch_size), steps), "
                "or run `bertzoo finetune --strategy multiworker`.")

    def _dataset(self, x, y=None, sample_weight=None, *, batch_size: int, training: bool,
                 seed: int | None = None) -> tf.data.Dataset:
        """Raw ``x`` (and ``y``) -> a batched ``tf.data`` of ``(inputs, y[, weights])`` with the
        preprocessing mapped over batches."""
        if isinstance(x, tf.data.Dataset):
            if y is not None:
                raise ValueError("x is a tf.data.Dataset: it must yield (x, y) itself; do not pass y")
            return x.map(self._preprocess_element, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
        features = self._host_inputs(x)
        elements: tuple = (features,)
        if y is not None:
            elements += (self._host_labels(y),)
            if sample_weight is not None:
                elements += (np.asarray(sample_weight, np.float32),)
        rows = {len(v) for v in tf.nest.flatten(elements)}
        if len(rows) != 1:
            raise ValueError(f"x and y must have the same number of rows, got {sorted(rows)}")
        dataset = tf.data.Dataset.from_tensor_slices(elements)  # a tuple even alone: a pair stays one x
        if training:
            dataset = dataset.shuffle(next(iter(rows)), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size)
        return dataset.map(self._preprocess_element, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    @tf.autograph.experimental.do_not_convert
    def _preprocess_element(self, *element):
        if len(element) == 1:
            return self._preprocess(element[0])
        x, *rest = element
        return (self._preprocess(x), *self._preprocess_labels(*rest))

    def _preprocess_labels(self, y, *sample_weight):
        return (y, *sample_weight)

    def training_dataset(self, x, y, global_batch_size: int, seed: int | None = None) -> tf.data.Dataset:
        """``(inputs, labels)`` batches for ``bertzoo.training.Trainer``: reshuffled, repeated, of static size."""
        dataset = self._dataset(x, y, batch_size=1, training=True, seed=seed).unbatch()
        return dataset.repeat().batch(global_batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    # -- Keras entry points on raw strings -----------------------------------------------------------

    def fit(self, x=None, y=None, batch_size: int | None = None, epochs: int | None = None, *,
            validation_data=None, validation_split: float = 0.0, callbacks=None, sample_weight=None,
            keep_best_epoch: bool | None = None, seed: int | None = None, shuffle: bool = True, **kwargs):
        """Keras ``fit`` on raw inputs. ``epochs`` None: bertzoo's default for the data size
        (``fine_tuning_defaults.default_epochs``; 3 after ``compile(paper_defaults=True)``).
        ``validation_data``: raw ``(x, y)`` or a ``tf.data``; ``validation_split``: the last share of
        ``x``/``y`` held out (as Keras). ``shuffle``: reshuffle the rows every epoch (seeded by
        ``seed``). With validation, ``keep_best_epoch`` (default True) restores
        the weights of the epoch with the best validation metric when training ends."""
        self._check_strategy()
        if not self.compiled:
            self.compile()
        batch_size = batch_size or defaults.PAPER.batch_size
        if validation_split and not isinstance(x, tf.data.Dataset):
            x, y, validation_data = self._split(x, y, validation_split)
        dataset = self._dataset(x, y, sample_weight, batch_size=batch_size, training=shuffle, seed=seed)
        steps_per_epoch = kwargs.get("steps_per_epoch") or int(dataset.cardinality())
        if steps_per_epoch < 0:
            raise ValueError("x is a tf.data.Dataset of unknown length: pass steps_per_epoch")
        paper = bool(self._auto and self._auto["paper_defaults"])
        if epochs is None:
            epochs = defaults.PAPER_EPOCHS if paper else defaults.default_epochs(steps_per_epoch * batch_size, batch_size)
        if self._auto is not None:
            with self.distribute_strategy.scope():  # the optimizer's slots live where the weights do
                optimizer = self._bert_optimizer(epochs * steps_per_epoch)
            super().compile(optimizer=optimizer, **self._compile_arguments)
        if validation_data is not None and not isinstance(validation_data, tf.data.Dataset):
            validation_data = self._dataset(*validation_data, batch_size=batch_size, training=False)
        callbacks = list(callbacks or [])
        if validation_data is not None and (keep_best_epoch if keep_best_epoch is not None else not paper):
            callbacks.append(_KeepBestEpoch(*self.monitor))
        self._fitting = True  # Keras fit calls self.evaluate on the already preprocessed validation data
        try:
            # shuffle=False: the dataset is already reshuffled each epoch (Keras would only warn)
            return super().fit(dataset, epochs=epochs, validation_data=validation_data, callbacks=callbacks,
                               shuffle=False, **kwargs)
        finally:
            self._fitting = False

    def evaluate(self, x=None, y=None, batch_size: int | None = None, *, sample_weight=None, **kwargs):
        """Keras ``evaluate`` on raw inputs (the compiled loss and metrics)."""
        if getattr(self, "_fitting", False):
            return super().evaluate(x, y, batch_size=batch_size, sample_weight=sample_weight, **kwargs)
        self._check_strategy()
        if not self.compiled:
            self.compile()
        dataset = self._dataset(x, y, sample_weight, batch_size=batch_size or 32, training=False)
        return super().evaluate(dataset, **kwargs)

    def predict_outputs(self, x, batch_size: int | None = None, **kwargs):
        """The numeric outputs (logits) for raw ``x``: Keras ``predict`` on the preprocessed batches."""
        self._check_strategy()
        kwargs.setdefault("verbose", 0)
        return super().predict(self._dataset(x, batch_size=batch_size or 32, training=False), **kwargs)

    def predict(self, x, batch_size: int | None = None, **kwargs) -> list[dict]:
        """What a user wants for each input of ``x`` (see the subclass's ``decode``)."""
        return self.decode(x, self.predict_outputs(x, batch_size=batch_size, **kwargs))

    def _split(self, x, y, validation_split: float):
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
        count = len(self._host_labels(y))
        cut = count - int(math.ceil(count * validation_split))
        if cut <= 0 or cut >= count:
            raise ValueError(f"validation_split {validation_split} of {count} rows leaves one side empty")

        def take(values, part):
            if isinstance(values, tuple):
                return tuple(take(v, part) for v in values)
            if hasattr(values, "iloc"):
                return values.iloc[part]
            return values[part] if isinstance(values, np.ndarray) else list(values)[part]
        return take(x, slice(0, cut)), take(y, slice(0, cut)), (take(x, slice(cut, None)), take(y, slice(cut, None)))

    # -- the fine-tuned directory format ------------------------------------------------------------

    def pretrained_bundle(self):
        """The task's encoder, tokenizer and preprocessor as a ``PretrainedBert`` bundle."""
        import dataclasses

        from bertzoo.families.bert.pretrained_bert import PretrainedBert

        tokenizer = self.preprocessor.tokenizer
        config = dataclasses.replace(self.encoder.bert_config, do_lower_case=bool(tokenizer.lowercase))
        return PretrainedBert(config=config, encoder=self.encoder, tokenizer=tokenizer, preprocessor=self.preprocessor)

    def to_finetuned(self):
        """The task as a ``FinetunedModel``: what ``save_finetuned``, ``bertzoo predict/evaluate`` and
        ``bertzoo.export.saved_model`` read."""
        raise NotImplementedError(f"{type(self).__name__} has no fine-tuned directory format yet")

    def save_finetuned(self, directory, overwrite: bool = False):
        """Writes the task as a fine-tuned directory (``bertzoo evaluate/predict/export`` read it)."""
        from bertzoo.models.finetuned import save_finetuned

        return save_finetuned(self.to_finetuned(), directory, overwrite=overwrite)

    # -- to be defined by each task --------------------------------------------------------------------

    def _host_inputs(self, x):
        raise NotImplementedError

    def _host_labels(self, y):
        raise NotImplementedError

    def _preprocess(self, x):
        raise NotImplementedError

    def _select(self, outputs):
        return outputs["logits"]

    def default_loss(self):
        raise NotImplementedError

    def default_metrics(self):
        raise NotImplementedError

    def loss_terms(self, labels, outputs) -> dict:
        raise NotImplementedError

    def metric_terms(self, labels, outputs) -> dict:
        raise NotImplementedError

    def decode(self, x, outputs) -> list[dict]:
        raise NotImplementedError


# Families whose models take the Keras tasks through classes of their own, task -> "module:Class"
# (GPT: GPT-1's fine-tuning, its input transformations and auxiliary LM loss). Families not listed
# are BERT-style encoders, which the task classes take themselves.
FAMILY_TASKS: dict[str, dict[str, str]] = {
    "gpt": {"TextClassifier": "bertzoo.models.gpt_tasks:GPTTextClassifier",
            "MultipleChoice": "bertzoo.models.gpt_tasks:GPTMultipleChoice"},
}


def family_task(task: str, family: str) -> type | None:
    """The class that gives ``task`` on a model of ``family`` when the family has its own
    (``FAMILY_TASKS``), else None; a ValueError when the family has classes but none for ``task``."""
    tasks = FAMILY_TASKS.get(family)
    if tasks is None:
        return None
    if task not in tasks:
        raise ValueError(f"{task} does not take {family} models: {family} models work with the Keras "
                         f"tasks {' and '.join(sorted(tasks))} only; the other tasks need a BERT-style encoder")
    module, name = tasks[task].split(":")
    return getattr(importlib.import_module(module), name)


def load_bundle(name_or_path, seq_length: int, *, task: str, **options):
    """``load_pretrained`` plus the checkpoint's local directory (for ``checkpoint_pooling``).

    ``task``: the calling task class's name. A model of a family with task classes of its own
    (``FAMILY_TASKS``) is refused unless it has one for ``task`` (the caller then builds it: ``family_task``).
    """
    from bertzoo.pretrained import load_pretrained, resolve_checkpoint

    bert = load_pretrained(name_or_path, seq_length=seq_length, **options)
    family_task(task, bert.family)  # a clear error before a BERT head meets another family's model
    try:
        directory = resolve_checkpoint(name_or_path)
    except (FileNotFoundError, ValueError, ConfigError):
        directory = None
    return bert, directory
