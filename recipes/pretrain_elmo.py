"""Recipe `bertzoo pretrain-elmo`: an ELMo biLM trained from scratch on raw text.

The corpus (one sentence per line) gives a word vocabulary (bilm-tf's ``vocab.txt``: ``<S>``,
``</S>``, ``<UNK>``, then the words by frequency); each sentence is packed as ``<S> words </S>``
character ids by the ``ElmoPreprocessor`` in tf.data, and ``ElmoLanguageModel`` trains the forward
and backward language models (full or sampled softmax) with the bertzoo trainer under any
``--strategy``. Perplexity (both directions, full softmax, ``exp`` of the mean cross-entropy) on
the evaluation sentences is measured before and after training.

Output layout (``OUTPUT/``): ``pretrained/`` (``options.json``, ``weights.hdf5`` with the softmax as
``softmax/W``/``softmax/b``, ``vocab.txt``: bilm-tf's format, read by ``bertzoo.load_pretrained``),
``checkpoints/`` and ``logs/`` (the trainer's), ``metrics.json`` (training figures and
``perplexity_before``/``perplexity_after``). Rerunning the same command resumes from the checkpoints.
"""

from __future__ import annotations

import collections
import json
import math
import pathlib
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from bertzoo.errors import ConfigError
from bertzoo.families.elmo.elmo_config import ElmoConfig
from bertzoo.families.elmo.elmo_encoder import ElmoEncoder
from bertzoo.families.elmo.elmo_language_model import ElmoLanguageModel, language_model_loss
from bertzoo.families.elmo.elmo_preprocessor import ElmoPreprocessor
from bertzoo.families.elmo.elmo_tokenizer import BEGIN_SENTENCE, END_SENTENCE, UNKNOWN, ElmoTokenizer
from bertzoo.families.elmo.pretrained_elmo import PretrainedElmo, save_elmo
from bertzoo.training import Trainer, is_chief, resolve_strategy

__all__ = ["DEFAULT_CORPUS", "build_vocabulary", "perplexity", "read_sentences", "run"]

DEFAULT_CORPUS = pathlib.Path(__file__).parent / "data" / "pretraining_corpus.txt"
OPTIMIZERS = ("adam", "adagrad")


def read_sentences(paths: Sequence[str | pathlib.Path]) -> list[str]:
    """The non-empty lines of the corpus files, stripped."""
    sentences = []
    for path in paths:
        if not tf.io.gfile.exists(str(path)):
            raise FileNotFoundError(f"corpus file not found: {path}")
        with tf.io.gfile.GFile(str(path)) as file:
            sentences.extend(line.strip() for line in file if line.strip())
    if not sentences:
        raise ValueError(f"the corpus {list(map(str, paths))} has no sentences")
    return sentences


def build_vocabulary(sentences: Sequence[str], tokenizer: ElmoTokenizer, *, min_count: int = 1,
                     max_size: int | None = None) -> list[str]:
    """bilm-tf's vocabulary layout: ``<S>``, ``</S>``, ``<UNK>``, then words by frequency (ties by first use)."""
    counts: collections.Counter = collections.Counter()
    for begin in range(0, len(sentences), 1024):
        words = tokenizer.split(tf.constant(sentences[begin : begin + 1024])).to_list()
        counts.update(word.decode("utf-8") for row in words for word in row)
    for special in (BEGIN_SENTENCE, END_SENTENCE, UNKNOWN):
        counts.pop(special, None)
    words = [word for word, count in counts.most_common() if count >= min_count]
    if max_size is not None:
        words = words[: max(0, max_size - 3)]
    return [BEGIN_SENTENCE, END_SENTENCE, UNKNOWN, *words]


def perplexity(model: ElmoLanguageModel, preprocessor: ElmoPreprocessor, sentences: Sequence[str],
               batch_size: int = 32) -> dict[str, float]:
    """Full-softmax perplexity of both directions: ``exp(mean cross-entropy)``, forward, backward and both."""
    totals = np.zeros(4)

    @tf.function
    def evaluate(strings):
        outputs = model(preprocessor(strings), training=False)
        return [tf.reduce_sum(outputs[key]) for key in
                ("forward_losses", "forward_weights", "backward_losses", "backward_weights")]

    for begin in range(0, len(sentences), batch_size):
        totals += np.asarray([float(v) for v in evaluate(tf.constant(list(sentences[begin : begin + batch_size])))])
    forward, backward = totals[0] / totals[1], totals[2] / totals[3]
    return {"perplexity": math.exp((totals[0] + totals[2]) / (totals[1] + totals[3])),
            "forward_perplexity": math.exp(forward), "backward_perplexity": math.exp(backward)}


def _read_config(spec: str) -> ElmoConfig:
    if spec == "tiny":
        return ElmoConfig.tiny()
    path = pathlib.Path(spec)
    if not path.is_file():
        raise ConfigError(f"--config {spec}: not 'tiny' and not an options.json file")
    return ElmoConfig.from_options_json(path)


def run(*, corpus: Sequence[str] | None = None, eval_corpus: Sequence[str] | None = None,
        output: str = "output/pretrain_elmo", config: str = "tiny", steps: int = 300, global_batch_size: int = 32,
        seq_length: int = 32, learning_rate: float = 2e-3, optimizer: str = "adam", num_sampled: int = 0,
        dropout: float = 0.1, min_count: int = 1, max_vocabulary: int | None = None,
        word_split: str = "punctuation", strategy: str = "auto", log_every: int = 20, checkpoint_every: int = 100,
        jit_compile: bool = False, evaluate: bool = True, seed: int = 12345, verbose: bool = True) -> dict:
    """Trains an ELMo biLM from scratch and writes ``output/pretrained`` and ``output/metrics.json``.

    Args:
        corpus: text files, one sentence per line (default: ``recipes/data/pretraining_corpus.txt``).
        eval_corpus: files whose perplexity is reported (default: the training corpus).
        output: the run directory.
        config: ``tiny`` or an ``options.json`` (its ``char_cnn`` and ``lstm`` sections).
        steps: training steps of ``global_batch_size`` sentences.
        seq_length: positions per row, ``<S>``/``</S>`` included; longer sentences are cut.
        learning_rate: peak learning rate (Adam), or Adagrad's (bilm-tf: Adagrad 0.2).
        optimizer: ``adam`` or ``adagrad`` (bilm-tf's, initial accumulator 1.0); gradients are
            clipped to a global norm of 10 (bilm-tf's ``all_clip_norm_val``).
        num_sampled: sampled-softmax negatives per batch (0: full softmax).
        dropout: dropout before the softmax.
        min_count, max_vocabulary: which corpus words get an id (the rest are ``<UNK>`` targets;
            every word still gets its characters).
        word_split: ``punctuation`` (raw text) or ``whitespace`` (pre-tokenized text); recorded in
            the model's ``options.json``.
        strategy: tf.distribute strategy (``auto``, ``cpu``, ``mirrored``, ``multiworker``, ``tpu``).
        jit_compile: compile the train step with XLA (the LSTMs are then unrolled over ``seq_length``).
        evaluate: measure the perplexity before and after training.
        seed: seeds initialisation and data order.
        verbose: print progress.

    Returns:
        The final figures (also in ``metrics.json``), with ``perplexity_before`` and ``perplexity_after``.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    keras.utils.set_random_seed(seed)
    out_dir = pathlib.Path(output)
    distribution = resolve_strategy(strategy)
    elmo_config = _read_config(config)
    elmo_config = elmo_config.replace(training={**elmo_config.training, "bertzoo": {"word_split": word_split}})
    sentences = read_sentences([str(p) for p in (corpus or [DEFAULT_CORPUS])])
    eval_sentences = read_sentences(eval_corpus) if eval_corpus else sentences
    splitter = ElmoTokenizer(elmo_config.max_characters_per_token, word_split=word_split)
    vocabulary = build_vocabulary(sentences, splitter, min_count=min_count, max_size=max_vocabulary)
    tokenizer = ElmoTokenizer(elmo_config.max_characters_per_token, word_split=word_split, vocabulary=vocabulary)
    preprocessor = ElmoPreprocessor(tokenizer, seq_length=seq_length)
    _say(verbose, f"{len(sentences)} sentences, vocabulary of {len(vocabulary)} words, {steps} steps of "
                  f"{global_batch_size} sentences, {'full' if not num_sampled else f'sampled ({num_sampled})'} softmax")

    def features(strings):
        inputs = preprocessor(strings)
        return inputs, {"input_mask": inputs["input_mask"]}

    dataset = (tf.data.Dataset.from_tensor_slices(sentences)
               .shuffle(len(sentences), seed=seed, reshuffle_each_iteration=True)
               .repeat()
               .batch(global_batch_size, drop_remainder=True)
               .map(features, num_parallel_calls=tf.data.AUTOTUNE)
               .prefetch(2))

    def build_model():
        # XLA cannot differentiate through the LSTM's while loop: a compiled step unrolls it
        encoder = ElmoEncoder.from_elmo_config(elmo_config, unroll=jit_compile, name="elmo_encoder")
        return ElmoLanguageModel(encoder, len(vocabulary), num_sampled=num_sampled, dropout=dropout)

    def build_optimizer():
        if optimizer == "adagrad":
            return keras.optimizers.Adagrad(learning_rate, initial_accumulator_value=1.0, global_clipnorm=10.0)
        return keras.optimizers.Adam(learning_rate, global_clipnorm=10.0)

    trainer = Trainer(distribution, build_model, build_optimizer, language_model_loss,
                      global_batch_size=global_batch_size, output_dir=out_dir, log_every=log_every,
                      checkpoint_every=checkpoint_every, jit_compile=jit_compile, seed=seed, verbose=verbose)
    figures = {"vocabulary_size": len(vocabulary), "sentences": len(sentences)}
    if evaluate:
        before = perplexity(trainer.model, preprocessor, eval_sentences)
        _say(verbose, f"perplexity before training: {before['perplexity']:.1f}")
    final = trainer.train(dataset, steps)
    if evaluate:
        after = perplexity(trainer.model, preprocessor, eval_sentences)
        _say(verbose, f"perplexity after training: {after['perplexity']:.1f} (forward "
                      f"{after['forward_perplexity']:.1f}, backward {after['backward_perplexity']:.1f})")
        figures.update({"perplexity_before": before["perplexity"], "perplexity_after": after["perplexity"],
                        "forward_perplexity_after": after["forward_perplexity"],
                        "backward_perplexity_after": after["backward_perplexity"],
                        "eval_sentences": len(eval_sentences)})
    final = {**final, **figures}
    if is_chief(distribution):
        model = trainer.model
        elmo = PretrainedElmo(config=elmo_config, encoder=model.encoder, tokenizer=tokenizer, preprocessor=preprocessor,
                              pretraining_weights=model.pretraining_weights())
        save_elmo(elmo, out_dir / "pretrained", overwrite=True)
        metrics_path = out_dir / "metrics.json"
        existing = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
        metrics_path.write_text(json.dumps({**existing, **figures}, indent=2, sort_keys=True) + "\n")
        _say(verbose, f"wrote {out_dir / 'pretrained'}")
    return final


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(message, flush=True)
