"""Train a Transformer on a parallel corpus, translate, score BLEU, export a string-to-string SavedModel.

The paper's recipe at any size: a joint SentencePiece vocabulary trained on both sides of the
training corpus, shared embeddings, label smoothing 0.1, Adam (0.9, 0.98, 1e-9) with the
warmup / inverse-square-root schedule, the last checkpoints averaged, beam search (beam 4, alpha
0.6). Writes to ``output``: ``sentencepiece.model``, ``checkpoints/``, ``logs/``, ``model/`` (the
bundle, ``bertzoo.load_pretrained`` reads it), ``translator/`` (SavedModel: strings in, strings
out; needs the tensorflow-text ops), ``translations.txt`` and ``metrics.json`` (with ``eval.bleu``
computed by sacrebleu).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib

import keras
import numpy as np
import tensorflow as tf

from bertzoo.data.parallel_corpus import read_parallel_corpus
from bertzoo.families.transformer.pretrained_transformer import bundle_from_model, save_transformer
from bertzoo.families.transformer.sentencepiece_tokenizer import SentencePieceTokenizer, train_sentencepiece
from bertzoo.families.transformer.transformer_config import TransformerConfig
from bertzoo.families.transformer.transformer_preprocessor import pack_source, pack_target
from bertzoo.families.transformer.transformer_seq2seq import TransformerSeq2Seq
from bertzoo.families.transformer.translator import Translator
from bertzoo.metrics.bleu import corpus_bleu
from bertzoo.training import (
    Trainer,
    TransformerSchedule,
    average_checkpoints,
    describe_batch,
    label_smoothed_cross_entropy,
    last_checkpoints,
    resolve_strategy,
    transformer_adam,
)


def run(*, train: str | None = None, train_source: str | None = None, train_target: str | None = None,
        eval: str | None = None, eval_source: str | None = None, eval_target: str | None = None,
        output: str = "output/translate", preset: str = "base", config_overrides: dict | None = None,
        vocab_size: int = 8000, sentencepiece_model: str | None = None, seq_length: int = 64,
        max_decode_length: int | None = None, steps: int = 1000, warmup_steps: int = 4000,
        learning_rate_scale: float = 1.0, average_last: int = 1, beam_size: int = 4, alpha: float = 0.6,
        global_batch_size: int = 32, strategy: str = "auto", steps_per_execution: int = 1,
        accumulation_steps: int = 1, log_every: int = 20, checkpoint_every: int = 100, jit_compile: bool = False,
        mixed_precision: str | None = None, deterministic: bool = False, seed: int = 12345,
        export: bool = True, verbose: bool = True) -> dict:
    """Trains, averages the last ``average_last`` checkpoints, translates ``eval`` and exports.

    Returns:
        The final figures (also in ``output/metrics.json``), with ``eval`` (BLEU) when given.
    """
    out_dir = pathlib.Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    distribution = resolve_strategy(strategy)
    describe_batch(distribution, global_batch_size)
    max_decode_length = max_decode_length or seq_length

    sources, targets = read_parallel_corpus(train, source=train_source, target=train_target)
    has_eval = eval is not None or eval_source is not None
    eval_pairs = read_parallel_corpus(eval, source=eval_source, target=eval_target) if has_eval else None
    _say(verbose, f"training corpus: {len(sources)} sentence pairs")

    tokenizer = _tokenizer(out_dir, sources + targets, vocab_size, sentencepiece_model, verbose)
    config = TransformerConfig.preset(preset, **{"vocab_size": tokenizer.vocab_size,
                                                 "max_length": max(seq_length, max_decode_length),
                                                 **(config_overrides or {})})
    _say(verbose, f"Transformer {preset}: {config.num_layers} layers, d_model {config.hidden_size}, "
                  f"{config.num_attention_heads} heads, d_ff {config.filter_size}, vocabulary {config.vocab_size}")

    def build_model():
        model = TransformerSeq2Seq.from_transformer_config(config)
        model.build()
        return model

    def build_optimizer():
        return transformer_adam(TransformerSchedule(config.hidden_size, warmup_steps, scale=learning_rate_scale))

    trainer = Trainer(distribution, build_model, build_optimizer, translation_loss_terms(config.label_smoothing),
                      metrics_fn=translation_metric_terms, global_batch_size=global_batch_size,
                      output_dir=str(out_dir), steps_per_execution=steps_per_execution,
                      accumulation_steps=accumulation_steps, log_every=log_every, checkpoint_every=checkpoint_every,
                      max_checkpoints=max(3, average_last), jit_compile=jit_compile, mixed_precision=mixed_precision,
                      deterministic=deterministic, seed=seed, verbose=verbose)
    # The trainer seeds TensorFlow, and tf.random.set_seed in eager mode clears TensorFlow's resource
    # containers, the SentencePiece op's model among them: the tokenizer is (re)made after it.
    tokenizer = SentencePieceTokenizer.from_file(out_dir / "sentencepiece.model")
    dataset = translation_dataset(sources, targets, tokenizer, seq_length, global_batch_size, seed)
    final = trainer.train(dataset, steps)
    model = trainer.model

    if average_last > 1:
        paths = last_checkpoints(out_dir / "checkpoints", average_last)
        averaged = average_checkpoints(paths, str(out_dir / "averaged" / "averaged"))
        tf.train.Checkpoint(model=model).restore(averaged).expect_partial()
        _say(verbose, f"averaged the last {len(paths)} checkpoints into {averaged}")
        final["averaged_checkpoints"] = [os.path.basename(path) for path in paths]

    bundle = bundle_from_model(config, model, tokenizer, seq_length=seq_length, source=str(out_dir / "model"))
    if trainer.is_chief:
        save_transformer(bundle, out_dir / "model", overwrite=True)
        _say(verbose, f"wrote {out_dir / 'model'}")
    translator = Translator(model, tokenizer, seq_length=seq_length, max_decode_length=max_decode_length,
                            beam_size=beam_size, alpha=alpha)
    if eval_pairs is not None:
        eval_sources, references = eval_pairs
        hypotheses = translate_texts(translator, eval_sources, batch_size=global_batch_size)
        scores = corpus_bleu(hypotheses, references)
        final["eval"] = dict(scores, sentences=len(hypotheses), beam_size=beam_size, alpha=alpha)
        if trainer.is_chief:
            (out_dir / "translations.txt").write_text("".join(text + "\n" for text in hypotheses), encoding="utf-8")
        _say(verbose, f"BLEU {scores['bleu']:.2f} on {len(hypotheses)} sentences ({scores['signature']})")
    if export and trainer.is_chief:
        tf.saved_model.save(translator, str(out_dir / "translator"), signatures={"serving_default": translator.serve})
        _say(verbose, f"exported {out_dir / 'translator'} (serving_default: inputs [batch] strings -> translations; "
                      f"needs the tensorflow-text ops)")
    if trainer.is_chief:
        _update_metrics(out_dir / "metrics.json", {key: final[key] for key in ("eval", "averaged_checkpoints")
                                                   if key in final})
    return final


def translation_dataset(sources: list[str], targets: list[str], tokenizer: SentencePieceTokenizer, seq_length: int,
                        global_batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled, repeated ``(features, labels)`` batches for teacher-forced training (static shapes)."""
    if len(sources) < global_batch_size:
        raise ValueError(f"the corpus has {len(sources)} pairs, fewer than one batch of {global_batch_size}")

    # Tokenized and packed once, eagerly: the training input is plain numbers (no op resource in
    # the input pipeline, which a distributed iterator may run elsewhere).
    source_ids, source_mask = pack_source(tokenizer.tokenize(tf.constant(sources)), seq_length, tokenizer.eos_id,
                                          tokenizer.pad_id)
    decoder_inputs, labels, weights = pack_target(tokenizer.tokenize(tf.constant(targets)), seq_length,
                                                  tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id)
    features = {"source_word_ids": source_ids, "source_mask": source_mask, "target_word_ids": decoder_inputs}
    dataset = tf.data.Dataset.from_tensor_slices((features, {"labels": labels, "label_weights": weights}))
    dataset = dataset.shuffle(len(sources), seed=seed, reshuffle_each_iteration=True).repeat()
    return dataset.batch(global_batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def translation_loss_terms(smoothing: float):
    """The trainer's loss: label-smoothed cross-entropy per real target token."""

    def loss_terms(labels, logits):
        return {"label_smoothed_cross_entropy": label_smoothed_cross_entropy(
            labels["labels"], logits, labels["label_weights"], smoothing=smoothing)}

    return loss_terms


def translation_metric_terms(labels, logits):
    """Teacher-forced token accuracy over real target tokens."""
    weights = tf.cast(labels["label_weights"], tf.float32)
    correct = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), labels["labels"]), tf.float32)
    return {"token_accuracy": (tf.reduce_sum(correct * weights), tf.reduce_sum(weights))}


def translate_texts(translator: Translator, texts: list[str], batch_size: int = 32) -> list[str]:
    """Translations of ``texts``, in fixed-size batches (one trace)."""
    results = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start: start + batch_size]
        padded = chunk + [""] * (batch_size - len(chunk))
        outputs = translator.serve(tf.constant(padded, tf.string))["translations"].numpy()
        results.extend(text.decode("utf-8") for text in outputs[: len(chunk)])
    return results


def _tokenizer(out_dir: pathlib.Path, texts: list[str], vocab_size: int, given: str | None,
               verbose: bool) -> SentencePieceTokenizer:
    path = out_dir / "sentencepiece.model"
    if given:
        path.write_bytes(pathlib.Path(given).read_bytes())
    elif not path.exists():  # a rerun (resume) keeps the vocabulary its checkpoints were trained with
        _say(verbose, f"training a SentencePiece model (BPE, up to {vocab_size} pieces) on both sides ...")
        trained = train_sentencepiece(texts, out_dir / "sentencepiece", vocab_size, hard_vocab_limit=False)
        assert trained == path
    tokenizer = SentencePieceTokenizer.from_file(path)
    _say(verbose, f"SentencePiece model {path}: {tokenizer.vocab_size} pieces")
    return tokenizer


def _update_metrics(path: pathlib.Path, values: dict) -> None:
    metrics = json.loads(path.read_text()) if path.exists() else {}
    metrics.update(values)
    path.write_text(json.dumps(metrics, indent=2, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(message, flush=True)
