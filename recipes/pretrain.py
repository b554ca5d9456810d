"""Recipe `bertzoo pretrain`: masked-LM (+ next-sentence) pretraining of BERT from raw text.

Step 1 of the BERT story. Text files (one sentence per line, blank lines between documents) are
turned into sentence-pair TFRecords the way Google's `create_pretraining_data.py` does, read back
with fresh masks every epoch (dynamic masking in tf.data), and trained with the bertzoo trainer
under any tf.distribute strategy. The result is a bertzoo-format checkpoint (encoder + heads) that
`load_pretrained` reads. Rerunning the same command resumes from the last checkpoint.
"""

from __future__ import annotations

import collections
import json
import pathlib
import tempfile
from typing import Sequence

import keras
import tensorflow as tf

from bertzoo.families.bert.bert_config import BertConfig, ConfigError
from bertzoo.data.pretraining_data import create_pretraining_tfrecords, pretraining_dataset
from bertzoo.families.bert.bert_encoder import BertEncoder
from bertzoo.families.bert.pretrained_bert import PretrainedBert
from bertzoo.pretrained import save_pretrained
from bertzoo.families.bert.checkpoints.pretraining_head_weights import read_pretraining_head_weights
from bertzoo.training.run_directory import RunDirectory, update_json_file
from bertzoo.families.bert.bert_pretrainer import BertPretrainer, pretraining_loss_terms, pretraining_metric_terms
from bertzoo.text import Vocabulary
from bertzoo.families.bert import BertPreprocessor, WordPieceTokenizer
from bertzoo.training import Trainer, create_optimizer, describe_batch, is_chief, resolve_strategy
from bertzoo.training.checkpoint_integrity import checkpoint_candidates
from bertzoo.training.memory_estimate import estimate_training_memory
from bertzoo.training.run_lock import hold_run_lock
from bertzoo.training.run_manifest import describe_files, record_run

DEFAULT_CORPUS = pathlib.Path(__file__).parent / "data" / "pretraining_corpus.txt"
RESERVED_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def read_config(spec: str) -> BertConfig:
    """A preset name (tiny, mini, ...) or a config file: Google's, Hugging Face's or bertzoo's."""
    if spec in BertConfig.preset_names():
        return BertConfig.preset(spec)
    if not pathlib.Path(spec).is_file():
        raise ConfigError(f"--config {spec!r} is neither a preset ({', '.join(BertConfig.preset_names())}) "
                          "nor a config file")
    return BertConfig.from_file(spec)


def learn_vocabulary(corpus_files: Sequence[str], vocab_size: int, lowercase: bool, out_path: pathlib.Path) -> list[str]:
    """Learns a WordPiece vocabulary from the corpus with tensorflow-text's tool; writes vocab.txt."""
    from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset as bert_vocab

    lines = tf.data.TextLineDataset(list(corpus_files)).filter(lambda line: tf.strings.length(line) > 0)
    tokens = bert_vocab.bert_vocab_from_dataset(
        lines.batch(1024).prefetch(2), vocab_size=vocab_size, reserved_tokens=RESERVED_TOKENS,
        bert_tokenizer_params={"lower_case": lowercase}, learn_params={})
    out_path.write_text("".join(token + "\n" for token in tokens), encoding="utf-8")
    return tokens


def unigram_baseline(tfrecord_pattern: str | list[str], vocabulary: Vocabulary) -> float:
    """Accuracy of always predicting the corpus's most frequent non-special token: what masked-LM
    accuracy must beat to show the model learned from context."""
    special = {vocabulary.cls_id, vocabulary.sep_id, vocabulary.pad_id}
    counts: collections.Counter = collections.Counter()
    feature = {"input_ids": tf.io.VarLenFeature(tf.int64)}
    patterns = [tfrecord_pattern] if isinstance(tfrecord_pattern, str) else tfrecord_pattern
    files = [path for pattern in patterns for path in tf.io.gfile.glob(pattern)]
    for record in tf.data.TFRecordDataset(files).take(5000):
        ids = tf.sparse.to_dense(tf.io.parse_single_example(record, feature)["input_ids"]).numpy()
        counts.update(int(i) for i in ids if int(i) not in special)
    total = sum(counts.values())
    return counts.most_common(1)[0][1] / total if total else 0.0


def run(*, config: str = "tiny", vocab: str | None = None, corpus: Sequence[str] | None = None,
        output: str = "output/pretrain", steps: int = 300, global_batch_size: int = 32,
        seq_length: int = 128, max_predictions_per_seq: int = 20, learning_rate: float = 1e-3,
        warmup_fraction: float = 0.1, vocab_size: int = 4000, lowercase: bool = True,
        next_sentence: bool = True, whole_word_masking: bool = False, dupe_factor: int = 5,
        short_seq_prob: float = 0.1, strategy: str = "auto", steps_per_execution: int = 1,
        accumulation_steps: int = 1,
        log_every: int = 20, checkpoint_every: int = 100, jit_compile: bool = False,
        mixed_precision: str | None = None, deterministic: bool = False, seed: int = 12345) -> dict:
    """Pretrains a BERT and writes ``output/pretrained`` (bertzoo format) and ``output/metrics.json``."""
    run_dir = RunDirectory(output)  # gs://...: the trainer writes there, the rest is staged and copied
    out_dir = run_dir.local
    # Seed first: tf.data's shuffles combine their own seed with TensorFlow's global one, so the
    # data pipeline is reproducible only if the global seed is set before it is built.
    keras.utils.set_random_seed(seed)
    distribution = resolve_strategy(strategy)
    describe_batch(distribution, global_batch_size)
    # One run per --output (the chief holds run.lock until the end; a crash or kill leaves it stale).
    run_lock = hold_run_lock(run_dir.location, chief=is_chief(distribution))

    # The chief prepares the vocabulary and sentence pairs in the output directory; other workers
    # of a multi-worker job make the same (seeded, deterministic) files in a directory of their own
    # rather than racing the chief for the shared one.
    work_dir = out_dir if is_chief(distribution) else pathlib.Path(tempfile.mkdtemp(prefix="bertzoo_worker_"))
    corpus_files = [str(path) for path in (corpus or [DEFAULT_CORPUS])]
    for path in corpus_files:
        if not tf.io.gfile.glob(path):
            raise FileNotFoundError(f"--corpus {path}: no such file")
    # TFRecords written by Google's create_pretraining_data.py (or bertzoo) carry their own masks.
    tfrecord_corpus = all(".tfrecord" in path for path in corpus_files)
    if tfrecord_corpus and not vocab:
        raise ConfigError("--corpus is TFRecords: pass the --vocab they were tokenized with")
    bert_config, vocabulary, lowercase = _config_and_vocabulary(
        config, vocab, corpus_files, work_dir, vocab_size=vocab_size, lowercase=lowercase)
    if seq_length > bert_config.max_position_embeddings:
        raise ConfigError(f"--seq-length {seq_length} exceeds max_position_embeddings "
                          f"{bert_config.max_position_embeddings} of --config {config}")
    tokenizer = WordPieceTokenizer(vocabulary, lowercase=lowercase)

    if tfrecord_corpus:
        pattern = corpus_files
        dataset = pretraining_dataset(
            pattern, seq_length=seq_length, max_predictions_per_seq=max_predictions_per_seq,
            global_batch_size=global_batch_size, seed=seed, validate=True)
    else:
        pattern = _write_sentence_pairs(
            corpus_files, tokenizer, vocabulary, work_dir / "data", seq_length=seq_length,
            max_predictions_per_seq=max_predictions_per_seq, dupe_factor=dupe_factor,
            short_seq_prob=short_seq_prob, seed=seed)
        dataset = pretraining_dataset(
            pattern, seq_length=seq_length, max_predictions_per_seq=max_predictions_per_seq,
            global_batch_size=global_batch_size, dynamic_masking=True, vocabulary=vocabulary,
            whole_word_masking=whole_word_masking, seed=seed)

    record_run(run_dir.location, recipe="pretrain", chief=is_chief(distribution),
               resuming=bool(checkpoint_candidates(run_dir.path("checkpoints"))),
               architecture={"config": bert_config.to_dict(), "next_sentence": next_sentence},
               data={"corpus": describe_files(corpus_files),
                     "vocabulary": describe_files([vocab or work_dir / "vocab.txt"]),
                     "seq_length": seq_length, "max_predictions_per_seq": max_predictions_per_seq,
                     "dupe_factor": dupe_factor, "short_seq_prob": short_seq_prob,
                     "whole_word_masking": whole_word_masking, "seed": seed},
               hyperparameters={"learning_rate": learning_rate, "global_batch_size": global_batch_size, "steps": steps,
                                "warmup_fraction": warmup_fraction, "accumulation_steps": accumulation_steps,
                                "mixed_precision": mixed_precision, "jit_compile": jit_compile})

    def build_model():
        model = BertPretrainer(BertEncoder.from_bert_config(bert_config, seq_length=seq_length),
                               next_sentence=next_sentence)
        model.build()
        return model

    def build_optimizer():
        return create_optimizer(learning_rate, num_train_steps=steps, warmup_steps=int(warmup_fraction * steps))

    trainer = Trainer(distribution, build_model, build_optimizer, pretraining_loss_terms,
                      metrics_fn=pretraining_metric_terms, global_batch_size=global_batch_size,
                      output_dir=run_dir.location, steps_per_execution=steps_per_execution,
                      accumulation_steps=accumulation_steps, log_every=log_every,
                      checkpoint_every=checkpoint_every, jit_compile=jit_compile,
                      mixed_precision=mixed_precision, deterministic=deterministic, seed=seed)
    print(estimate_training_memory(
        parameters=trainer.model.count_params(), num_layers=bert_config.num_hidden_layers,
        hidden_size=bert_config.hidden_size, num_heads=bert_config.num_attention_heads, seq_length=seq_length,
        micro_batch_size=trainer.per_replica_batch_size // accumulation_steps, mixed_precision=mixed_precision,
        accumulation_steps=accumulation_steps, num_loss_terms=2 if next_sentence else 1,
        output_positions=max_predictions_per_seq, output_classes=bert_config.vocab_size).describe(), flush=True)
    final = trainer.train(dataset, steps)

    baseline = unigram_baseline(pattern, vocabulary)
    final = dict(final, unigram_baseline_accuracy=baseline)
    if trainer.is_chief:
        model = trainer.model
        bundle = PretrainedBert(config=bert_config, encoder=model.encoder, tokenizer=tokenizer,
                                preprocessor=BertPreprocessor(tokenizer, seq_length=seq_length),
                                pretraining_weights=read_pretraining_head_weights(model))
        save_pretrained(bundle, out_dir / "pretrained", overwrite=True)
        run_dir.publish("pretrained", *(path.name for path in out_dir.glob("vocab*.txt")))
        update_json_file(run_dir.path("metrics.json"), {"unigram_baseline_accuracy": baseline})
        print(f"wrote {run_dir.path('pretrained')} (bertzoo.load_pretrained reads it); "
              f"unigram baseline accuracy {baseline:.3f}")
    if run_lock:
        run_lock.release()
    return final


def _config_and_vocabulary(config: str, vocab: str | None, corpus_files: list[str], out_dir: pathlib.Path,
                           *, vocab_size: int, lowercase: bool) -> tuple[BertConfig, Vocabulary, bool]:
    """The architecture and the vocabulary, made to agree: a preset takes the vocabulary's size; a
    config file must already match it. Without --vocab one is learned from the corpus."""
    bert_config = read_config(config)
    if vocab:
        vocabulary = Vocabulary.from_file(vocab)
        lowercase = vocabulary.infer_lowercase()
        if config not in BertConfig.preset_names() and len(vocabulary) != bert_config.vocab_size:
            raise ConfigError(f"--vocab {vocab} has {len(vocabulary)} tokens but --config {config} says "
                              f"vocab_size {bert_config.vocab_size}; they must match")
    else:
        vocab_path = out_dir / "vocab.txt"
        if not vocab_path.is_file():
            print(f"learning a WordPiece vocabulary (up to {vocab_size} tokens) from the corpus ...", flush=True)
            learn_vocabulary(corpus_files, vocab_size, lowercase, vocab_path)
        vocabulary = Vocabulary.from_file(vocab_path)
        print(f"  vocabulary: {len(vocabulary)} tokens ({vocab_path})")
    return bert_config.replace(vocab_size=len(vocabulary), do_lower_case=lowercase), vocabulary, lowercase


def _write_sentence_pairs(corpus_files: list[str], tokenizer: WordPieceTokenizer, vocabulary: Vocabulary,
                          data_dir: pathlib.Path, *, seq_length: int, max_predictions_per_seq: int,
                          dupe_factor: int, short_seq_prob: float, seed: int) -> str:
    """Writes unmasked sentence-pair TFRecords once; a rerun of the same command reuses them."""
    spec = {"corpus": corpus_files, "vocabulary_size": len(vocabulary), "vocabulary_head": vocabulary.tokens[:100],
            "lowercase": tokenizer.lowercase, "seq_length": seq_length, "dupe_factor": dupe_factor,
            "short_seq_prob": short_seq_prob, "seed": seed}
    spec_path = data_dir / "spec.json"
    pattern = str(data_dir / "pretraining-*.tfrecord")
    if spec_path.is_file() and json.loads(spec_path.read_text()) == spec and tf.io.gfile.glob(pattern):
        return pattern
    data_dir.mkdir(parents=True, exist_ok=True)
    spec_path.unlink(missing_ok=True)
    for stale in tf.io.gfile.glob(pattern):
        tf.io.gfile.remove(stale)
    print("writing pretraining sentence pairs ...", flush=True)
    summary = create_pretraining_tfrecords(
        corpus_files, tokenizer, data_dir / "pretraining", max_seq_length=seq_length,
        max_predictions_per_seq=max_predictions_per_seq, short_seq_prob=short_seq_prob,
        dupe_factor=dupe_factor, mask=False, seed=seed)
    print(f"  {summary['documents']} documents -> {summary['examples']} sentence pairs")
    spec_path.write_text(json.dumps(spec))
    return pattern
