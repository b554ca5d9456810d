"""Recipe `bertzoo finetune`: a pretrained encoder plus a task head, trained on labelled data.

Step 2 of the BERT story. The task (classify, pair, regression, multilabel, squad, ner) says how
to read and encode its files; examples are tokenized and packed on the host into fixed-length
arrays, so the train step is pure numeric (XLA- and TPU-ready). The bertzoo trainer runs the paper's
recipe (AdamW, linear warmup over 10 % of the steps then linear decay, lr 2e-5..5e-5, batch 32,
2..4 epochs) under any strategy; the result is a fine-tuned directory (`output/model`) that
`bertzoo evaluate`, `bertzoo predict` and `load_finetuned` read. With --eval the official metric of
the task is computed at the end and written to metrics.json beside the training figures.

``length_buckets`` (--length-buckets; classification tasks) groups examples of similar length and
cuts each batch to the smallest of a few widths (16, 32, 64, ... seq_length) that holds it: short
texts train and evaluate at the cost of their length, not seq_length, with the same results
(padding is masked) but for the order of the examples.

Defaults (``bertzoo.models.fine_tuning_defaults`` states the rule): the learning rate follows the
encoder's width (the paper's 5e-5 at 768, 2e-4 at 384), the epochs grow on small data until there
are 300 updates (3 to 10), sentence-transformers checkpoints are mean-pooled, and with --eval the
model of the best epoch is kept. ``paper_defaults=True`` (--paper-defaults) restores the paper's
lr 5e-5, 3 epochs, [CLS] pooler and last epoch. ``search`` runs the paper's dev-set grid
(``recipes.finetune_search``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from bertzoo.data.length_buckets import LengthBuckets, resolve_bucket_widths
from bertzoo.families.bert.bert_encoder import BertEncoder
from bertzoo.families.bert.checkpoints.encoder_weights import assign_encoder_weights, read_encoder_weights
from bertzoo.models import fine_tuning_defaults
from bertzoo.models.finetuned import FinetunedModel, save_finetuned
from bertzoo.pretrained import load_pretrained
from bertzoo.training.run_directory import RunDirectory, update_json_file
from bertzoo.recipes.default_weights import default_pretrained_dir
from bertzoo.recipes.tasks import CLASSIFICATION_TASKS, Task, make_task, training_dataset
from bertzoo.training import Trainer, create_optimizer, describe_batch, is_chief, resolve_strategy
from bertzoo.training.checkpoint_integrity import checkpoint_candidates
from bertzoo.training.memory_estimate import estimate_training_memory
from bertzoo.training.run_lock import hold_run_lock
from bertzoo.training.run_manifest import describe_files, record_run
from bertzoo.training.prediction import predict_in_batches
from bertzoo.training.trainer import write_scalar


def run(*, task: str, train: str, eval: str | None = None, pretrained: str | None = None,
        output: str = "output/finetune", settings: dict[str, Any] | None = None,
        label_names: list[str] | None = None, seq_length: int | None = None, epochs: float | None = None,
        learning_rate: float | None = None, paper_defaults: bool = False, keep_best_epoch: bool | None = None,
        warmup_fraction: float = 0.1, weight_decay: float = 0.01,
        layer_decay: float | None = None, global_batch_size: int = 32, strategy: str = "auto",
        steps_per_execution: int = 1, accumulation_steps: int = 1, log_every: int = 20,
        checkpoint_every: int = 500,
        jit_compile: bool = False, mixed_precision: str | None = None, deterministic: bool = False,
        seed: int = 12345, verbose: bool = True, compare_tfidf: bool = False,
        length_buckets: LengthBuckets = False) -> dict:
    """Fine-tunes ``pretrained`` on ``train`` for ``task``; writes ``output/model`` and ``output/metrics.json``.

    ``epochs`` and ``learning_rate`` None take bertzoo's defaults (the module docstring), or the
    paper's with ``paper_defaults``. ``keep_best_epoch`` None: keep the best epoch on ``eval`` when
    the epochs are the rule's (not given, not ``paper_defaults``); the search's trials pass False.
    ``compare_tfidf``: also score a TF-IDF + logistic-regression baseline on the same split
    (classify and pair tasks with ``eval``), printed and kept in metrics.json. ``length_buckets``
    (classification tasks): False pads every example to ``seq_length``; True the default widths
    (16, 32, ... ``seq_length``), or a list of widths (see ``bertzoo.data.length_buckets``).

    Returns:
        The final training figures, with ``eval`` (the official metrics on ``eval``) when given.
    """
    run_dir = RunDirectory(output)  # gs://...: the trainer writes there, the rest is staged and copied
    out_dir = run_dir.local
    keras.utils.set_random_seed(seed)
    distribution = resolve_strategy(strategy)
    describe_batch(distribution, global_batch_size)
    run_lock = hold_run_lock(run_dir.location, chief=is_chief(distribution))  # one run per --output
    fine_tuning = make_task(task, settings, label_names)

    directory = pretrained or default_pretrained_dir()  # a directory, catalogue name or handle (hf://, gs://, ...)
    seq_length = seq_length or fine_tuning.default_seq_length
    bucket_widths = resolve_bucket_widths(length_buckets, seq_length)
    if bucket_widths and task not in CLASSIFICATION_TASKS:
        raise ValueError(f"length_buckets (--length-buckets) applies to the tasks {', '.join(CLASSIFICATION_TASKS)}, "
                         f"not {task!r}")
    _say(verbose, f"loading pretrained BERT from {directory} ...")
    bert = load_pretrained(directory, seq_length=seq_length)
    if bert.family == "gpt":  # GPT-1's input transformations and auxiliary LM loss
        if bucket_widths:
            raise ValueError("length_buckets (--length-buckets) is for BERT checkpoints, not GPT")
        from bertzoo.recipes import gpt_finetune

        return gpt_finetune.run(
            gpt=bert, task_name=task, fine_tuning=fine_tuning, train=train, eval=eval, run_dir=run_dir,
            distribution=distribution, seq_length=seq_length, epochs=epochs, learning_rate=learning_rate,
            warmup_fraction=warmup_fraction, weight_decay=weight_decay, global_batch_size=global_batch_size,
            trainer_options=dict(steps_per_execution=steps_per_execution, accumulation_steps=accumulation_steps,
                                 log_every=log_every, checkpoint_every=checkpoint_every, jit_compile=jit_compile,
                                 mixed_precision=mixed_precision, deterministic=deterministic, seed=seed),
            verbose=verbose)
    _say(verbose, f"  {bert.format} checkpoint: {bert.config.num_hidden_layers} layers, hidden "
                  f"{bert.config.hidden_size}, {'uncased' if bert.config.do_lower_case else 'cased'}")

    train_examples = fine_tuning.read(train, training=True)
    encoded = fine_tuning.encode(train_examples, bert, training=True)
    eval_examples = fine_tuning.read(eval, training=False) if eval else None  # bad eval files fail early
    num_rows = encoded.num_rows
    recommended = fine_tuning_defaults.recommended_settings(
        hidden_size=bert.config.hidden_size, num_train_examples=num_rows, batch_size=global_batch_size,
        checkpoint_dir=directory, has_validation=eval is not None, paper_defaults=paper_defaults)
    if keep_best_epoch is None:  # the rule's epochs can overshoot on small data; explicit ones are kept as given
        keep_best_epoch = recommended.keep_best_epoch and epochs is None
    epochs = recommended.epochs if epochs is None else epochs
    learning_rate = recommended.learning_rate if learning_rate is None else learning_rate
    if getattr(fine_tuning, "pooling", None) == "pooler" and not (settings or {}).get("pooling"):
        fine_tuning.pooling = recommended.pooling
    _say(verbose, f"settings: lr {learning_rate:g}, {epochs:g} epochs, batch {global_batch_size}"
                  + (f", {fine_tuning.pooling} pooling" if hasattr(fine_tuning, "pooling") else "")
                  + (", the best epoch on --eval kept" if eval and keep_best_epoch else "")
                  + (" (the paper's defaults)" if paper_defaults else ""))
    steps = max(1, int(epochs * num_rows) // global_batch_size)
    warmup_steps = int(warmup_fraction * steps)
    _say(verbose, f"task {task}: {num_rows} training rows"
                  + (f", labels {fine_tuning.label_names}" if fine_tuning.label_names else "")
                  + f"; {epochs:g} epochs = {steps} steps of {global_batch_size} (warmup {warmup_steps})")
    pretrained_weights = read_encoder_weights(bert.encoder)

    record_run(run_dir.location, recipe="finetune", chief=is_chief(distribution),
               resuming=bool(checkpoint_candidates(run_dir.path("checkpoints"))),
               architecture={"task": task, "config": bert.config.to_dict(), "label_names": fine_tuning.label_names,
                             "settings": fine_tuning.settings()},
               data={"train": describe_files([train]), "pretrained": str(directory), "seq_length": seq_length,
                     "length_buckets": list(bucket_widths) if bucket_widths else None, "seed": seed},
               hyperparameters={"learning_rate": learning_rate, "global_batch_size": global_batch_size,
                                "epochs": epochs, "steps": steps, "warmup_fraction": warmup_fraction,
                                "weight_decay": weight_decay, "layer_decay": layer_decay,
                                "accumulation_steps": accumulation_steps, "mixed_precision": mixed_precision})

    def build_model():
        encoder = BertEncoder.from_bert_config(bert.config, seq_length=seq_length)
        assign_encoder_weights(encoder, pretrained_weights, source=str(directory))
        model = fine_tuning.build_model(encoder)
        model.build()
        return model

    def build_optimizer():
        return create_optimizer(learning_rate, num_train_steps=steps, warmup_steps=warmup_steps,
                                weight_decay=weight_decay, layer_decay=layer_decay,
                                num_layers=bert.config.num_hidden_layers if layer_decay else None)

    trainer = Trainer(distribution, build_model, build_optimizer, fine_tuning.loss_fn(),
                      metrics_fn=fine_tuning.metrics_fn(), global_batch_size=global_batch_size,
                      output_dir=run_dir.location, steps_per_execution=steps_per_execution,
                      accumulation_steps=accumulation_steps, log_every=log_every,
                      checkpoint_every=checkpoint_every, jit_compile=jit_compile,
                      mixed_precision=mixed_precision, deterministic=deterministic, seed=seed, verbose=verbose)
    _say(verbose, estimate_training_memory(
        parameters=trainer.model.count_params(), num_layers=bert.config.num_hidden_layers,
        hidden_size=bert.config.hidden_size, num_heads=bert.config.num_attention_heads, seq_length=seq_length,
        micro_batch_size=trainer.per_replica_batch_size // accumulation_steps, mixed_precision=mixed_precision,
        accumulation_steps=accumulation_steps).describe())
    finetuned = FinetunedModel(task=task, model=trainer.model,
                               bert=dataclasses.replace(bert, encoder=trainer.model.encoder),
                               label_names=fine_tuning.label_names, settings=fine_tuning.settings())
    if bucket_widths:
        _say(verbose, f"length buckets: batches cut to {', '.join(map(str, bucket_widths))} tokens")
    dataset = training_dataset(encoded, global_batch_size, seed, bucket_widths)
    if keep_best_epoch and eval_examples is not None and epochs > 1:
        final = _train_keeping_best_epoch(trainer, dataset, steps, num_rows, fine_tuning,
                                          finetuned, eval_examples, run_dir, global_batch_size=global_batch_size,
                                          jit_compile=jit_compile, length_buckets=bucket_widths, verbose=verbose)
        eval_examples = None  # evaluated at every epoch; the best one's figures are in `final`
    else:
        final = trainer.train(dataset, steps)
    if trainer.is_chief and "best_epoch" not in final:
        save_finetuned(finetuned, out_dir / "model", overwrite=True)
        run_dir.publish("model")
        _say(verbose, f"wrote {run_dir.path('model')} (bertzoo evaluate / predict read it)")
    if eval_examples is not None:
        results = evaluate_examples(fine_tuning, finetuned, eval_examples, out_dir, strategy=distribution,
                                    global_batch_size=global_batch_size, jit_compile=jit_compile,
                                    length_buckets=bucket_widths, write=trainer.is_chief, verbose=verbose)
        final = dict(final, eval=results)
        if trainer.is_chief:
            if fine_tuning.settings() != finetuned.settings:  # chosen at evaluation (--null-score-diff-threshold auto)
                update_json_file(os.fspath(out_dir / "model" / "task.json"), {"settings": fine_tuning.settings()})
                run_dir.publish("model")
            run_dir.publish("eval_predictions.jsonl", "logs")
            update_metrics_file(run_dir.path("metrics.json"), {"eval": results, "eval_file": str(eval)})
    if compare_tfidf and "eval" in final and trainer.is_chief:  # the last epoch's or the kept epoch's figures
        final["tfidf_baseline_accuracy"] = _compare_with_tfidf(task, train, eval, settings or {}, label_names,
                                                               final["eval"], run_dir, verbose)
    if run_lock:
        run_lock.release()
    return final


def _train_keeping_best_epoch(trainer: Trainer, dataset, steps: int, num_rows: int, task: Task,
                              finetuned: FinetunedModel, eval_examples: Any, run_dir: RunDirectory, *,
                              global_batch_size: int, jit_compile: bool, length_buckets: tuple[int, ...] | None,
                              verbose: bool) -> dict:
    """Trains epoch by epoch, scores --eval after each, and keeps (writes) the best epoch's model.

    Epoch k ends at step k * num_rows // global_batch_size (the rows run on across batches), so there
    is one evaluation per epoch and the last falls on ``steps``."""
    out_dir = run_dir.local
    epochs = -(-steps * global_batch_size // num_rows)
    boundaries = sorted({max(1, min(steps, k * num_rows // global_batch_size)) for k in range(1, epochs + 1)})
    best, history, final = None, [], {}
    for epoch, boundary in enumerate(boundaries, start=1):
        final = trainer.train(dataset, boundary)
        results = evaluate_examples(task, finetuned, eval_examples, out_dir / "epochs" / str(epoch),
                                    strategy=trainer.strategy, global_batch_size=global_batch_size,
                                    jit_compile=jit_compile, length_buckets=length_buckets,
                                    write=trainer.is_chief, verbose=verbose)
        name, larger_is_better = task_selection_metric(results)
        value = results[name]
        history.append({"epoch": epoch, "step": boundary, **results})
        if best is None or (value > best[0] if larger_is_better else value < best[0]):
            best = (value, epoch, results)
            if trainer.is_chief:
                save_finetuned(finetuned, out_dir / "model", overwrite=True)
                for written in ("eval_predictions.jsonl",):
                    (out_dir / written).write_bytes((out_dir / "epochs" / str(epoch) / written).read_bytes())
                _say(verbose, f"epoch {epoch}: best so far ({name} {value:.4f}): wrote {run_dir.path('model')}")
    _, best_epoch, best_results = best
    if trainer.is_chief:
        run_dir.publish("model", "eval_predictions.jsonl", "epochs")
        update_metrics_file(run_dir.path("metrics.json"), {"eval": best_results, "eval_file": eval_examples_source(eval_examples),
                                                           "best_epoch": best_epoch, "epochs": history})
    _say(verbose, f"kept epoch {best_epoch} of {len(boundaries)}")
    return dict(final, eval=best_results, best_epoch=best_epoch)


def eval_examples_source(examples: Any) -> str:
    return str(getattr(examples, "source", "") or getattr(examples, "path", "") or "--eval")


SELECTION_METRICS = (("accuracy", True), ("f1", True), ("macro_f1", True), ("micro_f1", True),
                     ("pearson", True), ("exact_match", True), ("exact", True), ("mean_squared_error", False))


def task_selection_metric(results: dict[str, float]) -> tuple[str, bool]:
    """The figure a model is selected on (best epoch, search): the task's main metric, larger is better
    except for errors: accuracy (classification), else F1 (SQuAD, NER), Pearson (regression), ..."""
    for name, larger in SELECTION_METRICS:
        if name in results:
            return name, larger
    name = next(iter(results))
    return name, "error" not in name and "loss" not in name


def evaluate_examples(task: Task, finetuned: FinetunedModel, examples: Any, out_dir: pathlib.Path, *,
                      strategy: tf.distribute.Strategy | None = None, global_batch_size: int = 32,
                      jit_compile: bool = False, length_buckets: tuple[int, ...] | None = None, write: bool = True,
                      verbose: bool = True) -> dict[str, float]:
    """Predicts ``examples``, computes the task's official metrics, writes ``eval_predictions.jsonl``
    and TensorBoard scalars under ``out_dir``; returns the metrics. ``length_buckets``: widths to cut
    the batches of a classification task to (``predict_in_batches``)."""
    encoded = task.encode(examples, finetuned.bert, training=False)
    _say(verbose, f"evaluating on {encoded.num_rows} rows ...")
    outputs = predict_in_batches(finetuned.model, encoded.inputs, strategy=strategy,
                                 global_batch_size=global_batch_size, jit_compile=jit_compile,
                                 length_buckets=length_buckets, verbose=verbose)
    results = {name: float(value) for name, value in task.evaluate(examples, encoded, outputs).items()}
    if write:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_jsonl(out_dir / "eval_predictions.jsonl", task.predictions(examples, encoded, outputs))
        with tf.summary.create_file_writer(str(out_dir / "logs" / "eval")).as_default(step=0):
            for name, value in results.items():
                write_scalar(f"eval/{name}", value)
    _say(verbose, "eval: " + ", ".join(f"{name} {value:.4f}" for name, value in results.items()))
    return results


def write_jsonl(path: pathlib.Path, records: list[dict]) -> None:
    """One JSON object per line (UTF-8, not ASCII-escaped)."""
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, default=_json_default) + "\n")


def _compare_with_tfidf(task: str, train: str, eval: str, settings: dict, label_names, results: dict, run_dir,
                        verbose: bool) -> float | None:
    """TF-IDF + logistic regression on the same split, printed next to the fine-tuned accuracy."""
    from bertzoo.recipes.tfidf_baseline import tfidf_baseline

    if task not in ("classify", "pair"):
        raise ValueError(f"--tfidf-baseline compares single-label classification (classify, pair), not {task!r}")
    columns = {key: settings[key] for key in ("text_column", "text_pair_column", "label_column", "delimiter",
                                              "has_header") if key in settings}
    baseline = tfidf_baseline(train, eval, label_names=label_names, **columns)
    if baseline is None:
        _say(verbose, "TF-IDF + logistic regression: skipped (scikit-learn is not installed)")
        return None
    _say(verbose, f"accuracy on {eval}: fine-tuned {results['accuracy']:.4f}, "
                  f"TF-IDF + logistic regression {baseline:.4f} (same split)")
    update_metrics_file(run_dir.path("metrics.json"), {"tfidf_baseline_accuracy": baseline})
    return baseline


def update_metrics_file(path: str | os.PathLike, values: dict) -> None:
    """Merges ``values`` into the JSON file at ``path`` (local or a URL, atomically)."""
    update_json_file(os.fspath(path), values, default=_json_default)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(message, flush=True)
