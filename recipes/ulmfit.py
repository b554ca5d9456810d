"""Recipe `bertzoo ulmfit`: ULMFiT's three stages (Howard & Ruder 2018) on a labelled text file.

1. A language model: a pretrained AWD-LSTM (``--pretrained``: fastai's WikiText-103 model, or any
   AWD-LSTM directory), or one pretrained here on ``--corpus`` (default: the embedded corpus) with a
   vocabulary of the corpus and the task's texts.
2. Language-model fine-tuning on the task's own texts, with discriminative rates and STLR.
3. The classifier (concat pooling head) with discriminative rates, STLR and gradual unfreezing.

Language-model batches are the texts' ids concatenated (each text starting with ``xxbos``) and cut
into fixed windows of ``seq_length + 1`` (fastai streams its batches; fixed windows keep shapes
static). Training uses Keras ``fit`` (one device or ``MirroredStrategy``). Writes
``OUTPUT/language_model`` (AWD-LSTM, bertzoo format), ``OUTPUT/classifier.keras`` and
``OUTPUT/metrics.json`` (perplexities, accuracy, and the from-scratch baseline when asked).
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from bertzoo.data.task_readers import read_text_classification
from bertzoo.families.awd_lstm import (
    CLASSIFIER_DROPOUTS,
    AwdLstmConfig,
    AwdLstmEncoder,
    AwdLstmLanguageModel,
    AwdLstmPreprocessor,
    AwdLstmTokenizer,
    PretrainedAwdLstm,
    make_vocabulary,
)
from bertzoo.families.awd_lstm.pretrained_awd_lstm import assign_awd_lstm_weights, read_awd_lstm_weights
from bertzoo.models.ulmfit_classifier import UlmfitClassifier
from bertzoo.pretrained import load_pretrained, save_pretrained
from bertzoo.training.transfer_learning import (
    GradualUnfreezing,
    SlantedTriangularLearningRate,
    discriminative_optimizer,
)

DEFAULT_CORPUS = pathlib.Path(__file__).parent / "data" / "pretraining_corpus.txt"
DEFAULT_TRAIN = pathlib.Path(__file__).parent / "data" / "sentiment" / "train.tsv"
DEFAULT_DEV = pathlib.Path(__file__).parent / "data" / "sentiment" / "dev.tsv"


def language_model_windows(tokenizer: AwdLstmTokenizer, texts: Sequence[str], seq_length: int) -> np.ndarray:
    """``[windows, seq_length + 1]`` ids: the texts' ids end to end, cut into non-overlapping windows."""
    stream = np.asarray([i for text in texts for i in tokenizer.encode(text)], dtype=np.int32)
    count = (len(stream) - 1) // seq_length
    if count < 1:
        raise ValueError(f"{len(stream)} tokens make no language-model window of {seq_length + 1}")
    return np.stack([stream[i * seq_length: i * seq_length + seq_length + 1] for i in range(count)])


def _lm_dataset(windows: np.ndarray, batch_size: int, shuffle: bool, seed: int) -> tf.data.Dataset:
    inputs = {"input_word_ids": windows[:, :-1], "input_mask": np.ones_like(windows[:, :-1]),
              "input_type_ids": np.zeros_like(windows[:, :-1])}
    dataset = tf.data.Dataset.from_tensor_slices((inputs, windows[:, 1:]))
    if shuffle:
        dataset = dataset.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=shuffle and len(windows) >= batch_size)


def perplexity(language_model: AwdLstmLanguageModel, windows: np.ndarray, batch_size: int = 32) -> float:
    """exp(mean next-word cross-entropy) over the windows."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    total, count = 0.0, 0
    for inputs, targets in _lm_dataset(windows, batch_size, shuffle=False, seed=0):
        total += float(loss(targets, language_model(inputs, training=False)))
        count += int(np.prod(targets.shape))
    return math.exp(total / count)


def language_model_of(bundle: PretrainedAwdLstm) -> AwdLstmLanguageModel:
    """The bundle's encoder under its tied decoder, with the bundle's decoder bias when it has one."""
    model = AwdLstmLanguageModel(bundle.encoder)
    model(bundle.preprocessor(["xxbos"]))
    if bundle.decoder_bias is not None:
        model.decoder_bias.assign(bundle.decoder_bias)
    return model


def train_language_model(bundle: PretrainedAwdLstm, texts: Sequence[str], *, epochs: int, learning_rate: float,
                         seq_length: int = 64, batch_size: int = 32, discriminative: bool = True, seed: int = 0,
                         verbose: int = 2) -> AwdLstmLanguageModel:
    """Trains (pretrains or fine-tunes) ``bundle.encoder`` as a next-word model on ``texts``.

    Fine-tuning (``discriminative``) uses ULMFiT's discriminative rates over
    ``[lstm_0, ..., lstm_n, embedding + decoder]`` (fastai's ``awd_lstm_lm_split``: the decoder is
    tied to the embedding matrix, so that matrix is the language model's output layer and trains at
    the top rate) and STLR; pretraining uses one rate with STLR.
    """
    windows = language_model_windows(bundle.tokenizer, texts, seq_length)
    dataset = _lm_dataset(windows, batch_size, shuffle=True, seed=seed)
    model = language_model_of(bundle)
    steps = max(1, epochs * int(dataset.cardinality()))
    schedule = SlantedTriangularLearningRate(learning_rate, num_train_steps=steps)
    encoder = bundle.encoder
    groups = ([[rnn] for rnn in encoder.rnns] + [[encoder.embedding, model]]) if discriminative else [[model]]
    optimizer = discriminative_optimizer(groups, schedule, factor=2.6 if discriminative else 1.0,
                                         global_clipnorm=0.4)
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(dataset, epochs=epochs, shuffle=False, verbose=verbose)  # the dataset is shuffled
    bundle.decoder_bias = np.asarray(model.decoder_bias)
    return model


def train_classifier(encoder: AwdLstmEncoder, preprocessor: AwdLstmPreprocessor, texts: Sequence[str],
                     labels: np.ndarray, num_classes: int, *, epochs: int, learning_rate: float, batch_size: int = 32,
                     ulmfit_techniques: bool = True, seed: int = 0, verbose: int = 2) -> UlmfitClassifier:
    """The classifier on ``encoder``: with ULMFiT's three techniques, or (``ulmfit_techniques=False``)
    plain Adam at one rate with everything trainable, the from-scratch baseline's way."""
    inputs = preprocessor(list(texts))
    dataset = (tf.data.Dataset.from_tensor_slices((inputs, np.asarray(labels, dtype=np.int32)))
               .shuffle(len(texts), seed=seed, reshuffle_each_iteration=True).batch(batch_size))
    model = UlmfitClassifier(encoder, num_classes)
    model({name: value[:2] for name, value in inputs.items()})
    steps = max(1, epochs * int(dataset.cardinality()))
    callbacks = []
    if ulmfit_techniques:
        groups = model.layer_groups()
        optimizer = discriminative_optimizer(groups, SlantedTriangularLearningRate(learning_rate, steps),
                                             global_clipnorm=None)
        callbacks.append(GradualUnfreezing(groups, verbose=bool(verbose)))
    else:
        optimizer = keras.optimizers.Adam(learning_rate)
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(dataset, epochs=epochs, callbacks=callbacks, shuffle=False, verbose=verbose)
    return model


def accuracy(model: UlmfitClassifier, preprocessor: AwdLstmPreprocessor, texts: Sequence[str],
             labels: np.ndarray) -> float:
    logits = model.predict(preprocessor(list(texts)), verbose=0)
    return float((np.argmax(logits, axis=-1) == np.asarray(labels)).mean())


def pretrain_from_scratch(corpus_texts: Sequence[str], task_texts: Sequence[str], config: AwdLstmConfig | None,
                          *, epochs: int, learning_rate: float, seq_length: int, batch_size: int, seed: int,
                          min_freq: int = 2, verbose: int = 2) -> tuple[PretrainedAwdLstm, AwdLstmLanguageModel]:
    """A vocabulary from the corpus and the task's texts, and an AWD-LSTM language model on the corpus."""
    vocabulary = make_vocabulary(list(corpus_texts) + list(task_texts), min_freq=min_freq)
    config = dataclasses.replace(config or AwdLstmConfig(vocab_size=len(vocabulary)), vocab_size=len(vocabulary))
    tokenizer = AwdLstmTokenizer(vocabulary)
    keras.utils.set_random_seed(seed)
    bundle = PretrainedAwdLstm(config=config, encoder=AwdLstmEncoder.from_config_object(config),
                               tokenizer=tokenizer, preprocessor=AwdLstmPreprocessor(tokenizer, seq_length))
    model = train_language_model(bundle, corpus_texts, epochs=epochs, learning_rate=learning_rate,
                                 seq_length=seq_length, batch_size=batch_size, discriminative=False, seed=seed,
                                 verbose=verbose)
    return bundle, model


def with_classifier_dropouts(bundle: PretrainedAwdLstm, drop_mult: float) -> AwdLstmEncoder:
    """A copy of the bundle's encoder with fastai's classifier dropouts (x ``drop_mult``) and its weights."""
    config = bundle.encoder.config.with_dropouts(CLASSIFIER_DROPOUTS, drop_mult)
    encoder = AwdLstmEncoder.from_config_object(config)
    encoder(bundle.preprocessor(["xxbos"]))
    assign_awd_lstm_weights(encoder, read_awd_lstm_weights(bundle.encoder), source="the fine-tuned language model")
    return encoder


def run(train: str = str(DEFAULT_TRAIN), eval: str | None = str(DEFAULT_DEV), output: str = "output/ulmfit", *,
        pretrained: str | None = None, corpus: str | None = None, text_column: str = "sentence",
        label_column: str = "label", size: str = "small", pretrain_epochs: int = 4, lm_epochs: int = 2,
        classifier_epochs: int = 5, learning_rate: float = 1e-2, classifier_learning_rate: float = 1e-2,
        drop_mult: float = 0.5, seq_length: int = 64, global_batch_size: int = 32, labelled: int | None = None,
        baseline: bool = False, seed: int = 12345, verbose: int = 2) -> dict:
    """Runs the three stages and writes ``output/``; returns the metrics.

    ``labelled``: train the classifier on this many (randomly chosen) labelled rows only, while the
    language model still fine-tunes on every training text (the paper's semi-supervised setting).
    """
    keras.utils.set_random_seed(seed)
    out_dir = pathlib.Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    train_data = read_text_classification(train, text_column=text_column, label_column=label_column)
    eval_data = (read_text_classification(eval, text_column=text_column, label_column=label_column,
                                          label_names=train_data.label_names) if eval else None)
    metrics: dict = {"task": "ulmfit", "train": str(train), "eval": eval, "label_names": train_data.label_names}
    if pretrained:
        bundle = load_pretrained(pretrained, seq_length=seq_length)
        if bundle.family != "awd_lstm":
            raise ValueError(f"--pretrained {pretrained} is a {bundle.family} model; ULMFiT needs an AWD-LSTM")
        print(f"stage 1: pretrained AWD-LSTM from {pretrained} ({bundle.config.vocab_size} tokens)")
    else:
        corpus_path = pathlib.Path(corpus or DEFAULT_CORPUS)
        corpus_texts = [line for line in corpus_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        # ULMFiT's own size is "wt103" (400 / 1152 x 3); the small ones have two layers, which learn
        # from a corpus of this size within minutes on a CPU.
        sizes = {"small": dict(embedding_size=64, hidden_size=128, num_layers=2),
                 "tiny": dict(embedding_size=16, hidden_size=32, num_layers=2), "wt103": {}}
        if size not in sizes:
            raise ValueError(f"--size must be one of {sorted(sizes)}, got {size!r}")
        print(f"stage 1: pretraining an AWD-LSTM ({size}) language model on {corpus_path} "
              f"({len(corpus_texts)} lines), {pretrain_epochs} epochs")
        bundle, model = pretrain_from_scratch(corpus_texts, train_data.texts, AwdLstmConfig(vocab_size=8, **sizes[size]),
                                              epochs=pretrain_epochs, learning_rate=learning_rate,
                                              seq_length=seq_length, batch_size=global_batch_size, seed=seed,
                                              verbose=verbose)
        metrics["pretrain_perplexity"] = perplexity(model, language_model_windows(
            bundle.tokenizer, corpus_texts[-len(corpus_texts) // 10:], seq_length))
    held_out = eval_data.texts if eval_data else train_data.texts[-len(train_data.texts) // 10:]
    held_out_windows = language_model_windows(bundle.tokenizer, held_out, min(seq_length, 16))
    metrics["task_perplexity_before_lm_finetuning"] = perplexity(language_model_of(bundle), held_out_windows)
    print(f"stage 2: fine-tuning the language model on {len(train_data.texts)} task texts, {lm_epochs} epochs")
    language_model = train_language_model(bundle, train_data.texts, epochs=lm_epochs, learning_rate=learning_rate / 2,
                                          seq_length=seq_length, batch_size=global_batch_size, seed=seed,
                                          verbose=verbose)
    metrics["task_perplexity_after_lm_finetuning"] = perplexity(language_model, held_out_windows)
    save_pretrained(bundle, out_dir / "language_model", overwrite=True)

    print(f"stage 3: the classifier with discriminative rates, STLR and gradual unfreezing, "
          f"{classifier_epochs} epochs")
    num_classes = len(train_data.label_names)
    texts, labels = train_data.texts, np.asarray(train_data.labels)
    if labelled is not None and labelled < len(texts):
        chosen = np.random.default_rng(seed).permutation(len(texts))[:labelled]
        texts, labels = [texts[i] for i in chosen], labels[chosen]
        print(f"the classifier sees {labelled} of {len(train_data.texts)} labelled rows")
    metrics["labelled_rows"] = len(texts)
    classifier = train_classifier(with_classifier_dropouts(bundle, drop_mult), bundle.preprocessor,
                                  texts, labels, num_classes, epochs=classifier_epochs,
                                  learning_rate=classifier_learning_rate, batch_size=global_batch_size, seed=seed,
                                  verbose=verbose)
    classifier.save(out_dir / "classifier.keras")
    if eval_data:
        metrics["accuracy"] = accuracy(classifier, bundle.preprocessor, eval_data.texts, eval_data.labels)
        print(f"eval accuracy: {metrics['accuracy']:.4f}")
    if baseline and eval_data:
        keras.utils.set_random_seed(seed)
        scratch = AwdLstmEncoder.from_config_object(bundle.encoder.config.with_dropouts(CLASSIFIER_DROPOUTS, drop_mult))
        model = train_classifier(scratch, bundle.preprocessor, texts, labels, num_classes,
                                 epochs=classifier_epochs, learning_rate=1e-3, batch_size=global_batch_size,
                                 ulmfit_techniques=False, seed=seed, verbose=verbose)
        metrics["from_scratch_accuracy"] = accuracy(model, bundle.preprocessor, eval_data.texts, eval_data.labels)
        print(f"same classifier from scratch: {metrics['from_scratch_accuracy']:.4f}")
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return metrics
