"""``bertzoo finetune``: encoder + task head trained from pretrained weights."""

from __future__ import annotations

import argparse

from bertzoo.commands.common import (
    TASKS,
    add_length_bucket_options,
    pretrained_options,
    task_column_options,
    task_settings,
    training_options,
    training_settings,
)


def _threshold(value: str) -> float | str:
    if value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {value!r}") from None


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "finetune", parents=[training_options(), pretrained_options(), task_column_options()],
        help="fine-tune a pretrained BERT on a labelled task (classification, pairs, regression, "
             "multi-label, SQuAD, NER, multiple choice); GPT-1 with its input transformations",
        description="Trains encoder + task head from pretrained weights (AdamW, 10%% warmup, linear decay), "
                    "writes OUTPUT/model (read by evaluate/predict) and OUTPUT/metrics.json; with --eval, "
                    "the task's official metric on that file. Rerun the same command to resume.")
    parser.add_argument("--task", required=True, choices=TASKS,
                        help="classify: one text; pair: two texts; regression: a score (STS-B); multilabel: "
                             "several labels per text; squad: extractive QA (SQuAD 1.1/2.0 JSON); ner: "
                             "CoNLL tagging; multiple_choice: SWAG CSV (sent1, sent2, ending0..3, label)")
    parser.add_argument("--train", metavar="FILE", required=True,
                        help="training file: .tsv/.csv/.jsonl (classification), SQuAD .json, CoNLL (ner), SWAG .csv "
                             "(multiple_choice)")
    parser.add_argument("--eval", metavar="FILE", default=None, help="labelled file scored after training")
    parser.add_argument("--label-names", default=None,
                        help="comma-separated labels in id order (default: those of --train, sorted)")
    parser.add_argument("--seq-length", type=int, default=None, help="tokens per example (default 128; squad 384)")
    parser.add_argument("--epochs", type=float, default=None,
                        help="passes over --train (default: 3, more on small data until 300 updates, at most 10; "
                             "paper: 2 to 4)")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="peak learning rate (default: 5e-5 * (768 / hidden size)^2 in [2e-5, 3e-4]: 2e-4 for "
                             "the default MiniLM; paper: 2e-5 to 5e-5)")
    parser.add_argument("--paper-defaults", action="store_true",
                        help="the BERT paper's settings: lr 5e-5, 3 epochs, [CLS] pooler, last epoch kept "
                             "(default: bertzoo's rule, which also works on small data and small models)")
    parser.add_argument("--search", nargs="?", const="paper", default=None, metavar="GRID",
                        help="run the paper's dev-set search (lr {5e-5,3e-5,2e-5} x epochs {2,3,4} x batch {16,32}) "
                             "or a grid given as JSON, e.g. '{\"learning_rate\": [1e-4, 2e-4], \"epochs\": [3]}'; "
                             "selects on --eval (or 10%% of --train), keeps the best model, tables every trial")
    parser.add_argument("--warmup-fraction", type=float, default=0.1, help="share of steps with linear warmup")
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--layer-decay", type=float, default=None,
                        help="layer-wise learning-rate decay factor, e.g. 0.9 (default: none)")
    parser.add_argument("--dropout", type=float, default=0.1, help="dropout before the task head")
    parser.add_argument("--tfidf-baseline", action="store_true",
                        help="classify/pair with --eval: also score TF-IDF + logistic regression on the same split "
                             "(needs scikit-learn) and print both accuracies")
    add_length_bucket_options(
        parser, default=False,
        help="classify/pair/regression/multilabel: group examples of similar length and cut each batch to the "
             "smallest of a few widths that holds it (alone: 16, 32, 64, ... --seq-length; or e.g. 32,64,128): "
             "short texts train at the cost of their length, not --seq-length, with the same results "
             "(padding is masked) but for the order of the examples")
    squad = parser.add_argument_group("squad")
    squad.add_argument("--doc-stride", type=int, default=128, help="tokens between the starts of context windows")
    squad.add_argument("--max-query-length", type=int, default=64, help="question tokens kept")
    squad.add_argument("--n-best-size", type=int, default=20, help="candidate starts/ends per window")
    squad.add_argument("--max-answer-length", type=int, default=30, help="longest answer, in tokens")
    squad.add_argument("--null-score-diff-threshold", type=_threshold, default=0.0,
                       help="SQuAD 2.0: answer nothing when null score - best span score exceeds this; 'auto': "
                            "the official evaluation's best-F1 threshold on --eval, kept in the model")
    version = squad.add_mutually_exclusive_group()
    version.add_argument("--squad-v2", dest="version_2", action="store_const", const=True, default=None,
                         help="SQuAD 2.0 (default: detected from --train)")
    version.add_argument("--squad-v1", dest="version_2", action="store_const", const=False)


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import finetune

    label_names = [name.strip() for name in args.label_names.split(",")] if args.label_names else None
    if args.tfidf_baseline and (args.task not in ("classify", "pair") or not args.eval or args.search is not None):
        raise ValueError("--tfidf-baseline needs --task classify or pair, an --eval file, "
                         "and no --search")
    if args.search is not None:
        from bertzoo.recipes import finetune_search

        finetune_search.run(grid=finetune_search.parse_grid(args.search), task=args.task, train=args.train,
                            eval=args.eval, pretrained=args.pretrained,
                            settings=task_settings(args.task, args, defaults=True), label_names=label_names,
                            seq_length=args.seq_length, warmup_fraction=args.warmup_fraction,
                            weight_decay=args.weight_decay, layer_decay=args.layer_decay,
                            length_buckets=args.length_buckets, **training_settings(args))
        return
    finetune.run(task=args.task, train=args.train, eval=args.eval, pretrained=args.pretrained,
                 settings=task_settings(args.task, args, defaults=True), label_names=label_names,
                 seq_length=args.seq_length, epochs=args.epochs, learning_rate=args.learning_rate,
                 paper_defaults=args.paper_defaults, compare_tfidf=args.tfidf_baseline,
                 warmup_fraction=args.warmup_fraction, weight_decay=args.weight_decay, layer_decay=args.layer_decay,
                 length_buckets=args.length_buckets, **training_settings(args))
