"""Recipe `bertzoo pretrain --config gpt2-tiny` (or `--pretrained <gpt model>`): causal language-model
pretraining of GPT, from scratch or continued from a checkpoint.

Text files (blank lines between documents) are tokenized with GPT-2's byte-level BPE (learned from
the corpus when starting from scratch, the checkpoint's own when continuing), each document closed by
<|endoftext|>, and packed into fixed windows. The bertzoo trainer trains `GPTCausalLM` under any
strategy; perplexity on held-out documents (the last tenth) is reported against the unigram
baseline (the perplexity of predicting every token by its corpus frequency). The result is a
bertzoo_gpt directory that `load_pretrained` reads and `bertzoo generate` continues text with.
"""

from __future__ import annotations

import collections
import math
import pathlib
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from bertzoo.data.packed_sequences import pack_windows, packed_dataset, read_documents, token_stream
from bertzoo.errors import ConfigError
from bertzoo.families.gpt.bpe_learner import write_learned_bpe
from bertzoo.families.gpt.gpt2_tokenizer import GPT2Tokenizer
from bertzoo.families.gpt.gpt_causal_lm import GPTCausalLM, causal_lm_loss_terms, causal_lm_metric_terms
from bertzoo.families.gpt.gpt_config import GPTConfig
from bertzoo.families.gpt.gpt_decoder import GPTDecoder
from bertzoo.families.gpt.pretrained_gpt import PretrainedGPT, make_preprocessor
from bertzoo.pretrained import load_pretrained, save_pretrained
from bertzoo.training import Trainer, create_optimizer, is_chief, resolve_strategy
from bertzoo.training.run_directory import RunDirectory, update_json_file

DEFAULT_CORPUS = pathlib.Path(__file__).parent / "data" / "pretraining_corpus.txt"


def unigram_perplexity(train_stream: np.ndarray, eval_stream: np.ndarray, vocab_size: int) -> float:
    """Perplexity on ``eval_stream`` of the add-one-smoothed unigram distribution of ``train_stream``."""
    counts = np.bincount(train_stream, minlength=vocab_size).astype(np.float64) + 1.0
    log_probabilities = np.log(counts / counts.sum())
    return float(np.exp(-log_probabilities[eval_stream].mean()))


def evaluate_perplexity(model: keras.Model, inputs: np.ndarray, labels: np.ndarray, batch_size: int = 16) -> float:
    """exp(mean next-token cross-entropy) of ``model`` over packed windows."""
    total, count = 0.0, 0
    for start in range(0, len(inputs), batch_size):
        ids = inputs[start:start + batch_size]
        logits = model({"input_word_ids": ids, "input_mask": np.ones_like(ids)}, training=False)["logits"]
        losses = tf.keras.losses.sparse_categorical_crossentropy(labels[start:start + batch_size], logits,
                                                                 from_logits=True)
        total += float(tf.reduce_sum(losses))
        count += int(np.prod(ids.shape))
    return math.exp(total / count)


def run(*, config: str = "gpt2-tiny", pretrained: str | None = None, corpus: Sequence[str] | None = None,
        output: str = "output/pretrain_gpt", steps: int = 300, global_batch_size: int = 16, seq_length: int = 64,
        learning_rate: float = 1e-3, warmup_fraction: float = 0.1, vocab_size: int = 1000,
        strategy: str = "auto", steps_per_execution: int = 1, accumulation_steps: int = 1, log_every: int = 20,
        checkpoint_every: int = 100, jit_compile: bool = False, mixed_precision: str | None = None,
        deterministic: bool = False, seed: int = 12345) -> dict:
    """Pretrains (or continues pretraining) a GPT; writes ``output/pretrained`` and ``output/metrics.json``."""
    run_dir = RunDirectory(output)
    out_dir = run_dir.local
    keras.utils.set_random_seed(seed)
    distribution = resolve_strategy(strategy)
    corpus_files = [str(path) for path in (corpus or [DEFAULT_CORPUS])]
    for path in corpus_files:
        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(f"--corpus {path}: no such file")
    documents = read_documents(corpus_files)
    if len(documents) < 2:
        raise ConfigError(f"--corpus holds {len(documents)} document(s); perplexity needs held-out documents too")
    held_out = max(1, len(documents) // 10)
    train_documents, eval_documents = documents[:-held_out], documents[-held_out:]

    start_bundle = None
    if pretrained:
        start_bundle = load_pretrained(pretrained, seq_length=seq_length)
        if start_bundle.family != "gpt" or start_bundle.config.variant != "gpt2":
            raise ConfigError(f"--pretrained {pretrained} is a {start_bundle.family} model; causal-LM pretraining "
                              "continues GPT-2 style checkpoints")
        if start_bundle.tokenizer is None:
            raise ConfigError(f"--pretrained {pretrained} has no tokenizer files (encoder.json + vocab.bpe)")
        tokenizer, gpt_config = start_bundle.tokenizer, start_bundle.config
    else:
        tokenizer_dir = out_dir / "tokenizer"
        if not (tokenizer_dir / "vocab.bpe").is_file():
            print(f"learning a byte-level BPE vocabulary ({vocab_size} tokens) from the corpus ...", flush=True)
            write_learned_bpe(train_documents, vocab_size, tokenizer_dir)
        tokenizer = GPT2Tokenizer.from_files(tokenizer_dir / "encoder.json", tokenizer_dir / "vocab.bpe")
        gpt_config = _read_config(config).replace(vocab_size=tokenizer.vocabulary_size)
    if seq_length > gpt_config.max_position_embeddings:
        raise ConfigError(f"--seq-length {seq_length} exceeds the model's context of "
                          f"{gpt_config.max_position_embeddings} tokens")

    def encode(texts):
        return tokenizer(tf.constant(texts)).to_list()

    end_id = tokenizer.end_of_text_id
    train_stream = token_stream(train_documents, encode, end_id)
    eval_stream = token_stream(eval_documents, encode, end_id)
    train_inputs, train_labels = pack_windows(train_stream, seq_length)
    eval_inputs, eval_labels = pack_windows(eval_stream, seq_length)
    print(f"  {len(train_stream)} training tokens -> {len(train_inputs)} windows of {seq_length}; "
          f"{len(eval_stream)} held-out tokens", flush=True)
    dataset = packed_dataset(train_inputs, train_labels, global_batch_size, seed=seed)

    def build_model():
        decoder = GPTDecoder.from_gpt_config(gpt_config)
        model = GPTCausalLM(decoder)
        model.build()
        if start_bundle is not None:
            decoder.set_weights(start_bundle.encoder.get_weights())
        return model

    def build_optimizer():
        return create_optimizer(learning_rate, num_train_steps=steps, warmup_steps=int(warmup_fraction * steps))

    trainer = Trainer(distribution, build_model, build_optimizer, causal_lm_loss_terms,
                      metrics_fn=causal_lm_metric_terms, global_batch_size=global_batch_size,
                      output_dir=run_dir.location, steps_per_execution=steps_per_execution,
                      accumulation_steps=accumulation_steps, log_every=log_every, checkpoint_every=checkpoint_every,
                      jit_compile=jit_compile, mixed_precision=mixed_precision, deterministic=deterministic, seed=seed)
    final = trainer.train(dataset, steps)

    figures = {
        "perplexity": evaluate_perplexity(trainer.model, eval_inputs, eval_labels),
        "train_perplexity": evaluate_perplexity(trainer.model, train_inputs[:64], train_labels[:64]),
        "unigram_perplexity": unigram_perplexity(train_stream, eval_stream, gpt_config.vocab_size),
    }
    print("held-out perplexity {perplexity:.1f} (unigram baseline {unigram_perplexity:.1f}); "
          "train perplexity {train_perplexity:.1f}".format(**figures), flush=True)
    if is_chief(distribution):
        decoder = trainer.model.decoder
        bundle = PretrainedGPT(config=gpt_config, encoder=decoder, tokenizer=tokenizer,
                               preprocessor=make_preprocessor(gpt_config, tokenizer, seq_length),
                               tokenizer_files=(start_bundle.tokenizer_files if start_bundle else {
                                   "encoder.json": out_dir / "tokenizer" / "encoder.json",
                                   "vocab.bpe": out_dir / "tokenizer" / "vocab.bpe"}))
        save_pretrained(bundle, out_dir / "pretrained", overwrite=True)
        run_dir.publish("pretrained")
        update_json_file(run_dir.path("metrics.json"), figures)
        print(f"wrote {run_dir.path('pretrained')} (bertzoo.load_pretrained reads it)")
    return dict(final, **figures)


def _read_config(spec: str) -> GPTConfig:
    if spec in GPTConfig.preset_names():
        return GPTConfig.preset(spec)
    path = pathlib.Path(spec)
    if not path.is_file():
        raise ConfigError(f"--config {spec!r} is neither a GPT preset ({', '.join(GPTConfig.preset_names())}) "
                          "nor a config file")
    import json

    data = json.loads(path.read_text())
    if "model_type" in data:
        return GPTConfig.from_hf_json(path)
    if "n_embd" in data:
        return GPTConfig.from_openai_hparams(path)
    return GPTConfig.from_dict(data, source=str(path))
