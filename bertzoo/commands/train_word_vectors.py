"""``bertzoo train-word-vectors``: word2vec (skip-gram or CBOW, negative sampling) from scratch."""

from __future__ import annotations

import argparse

from bertzoo.commands.common import strategy_options


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train-word-vectors", parents=[strategy_options()],
        help="train word2vec vectors (skip-gram or CBOW with negative sampling) as word2vec.c does",
        description="Skip-gram or CBOW with negative sampling on a text corpus (one sentence per line): "
                    "word2vec.c's vocabulary, subsampling, shrinking windows and unigram^0.75 negatives, fed by "
                    "tf.data to a Keras model. Writes OUTPUT/vectors.bin (word2vec binary) and metrics.json.")
    parser.add_argument("--corpus", nargs="+", metavar="FILE", default=None,
                        help="text files (default: the embedded CC0 corpus)")
    parser.add_argument("--output", metavar="DIR", required=True, help="where vectors.bin and checkpoints go")
    parser.add_argument("--model", choices=["skipgram", "cbow"], default="skipgram")
    parser.add_argument("--dim", type=int, default=100, help="vector size (word2vec -size)")
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negative", type=int, default=5)
    parser.add_argument("--sample", type=float, default=1e-3, help="subsampling threshold (0: off)")
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--epochs", type=float, default=5.0, help="passes over the corpus (word2vec -iter)")
    parser.add_argument("--alpha", type=float, default=None, help="starting learning rate (default 0.025 "
                        "skip-gram, 0.05 CBOW)")
    parser.add_argument("--lowercase", action="store_true", help="lower-case the corpus first")
    parser.add_argument("--global-batch-size", type=int, default=1024, help="examples per step")
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--jit-compile", action="store_true")
    parser.add_argument("--seed", type=int, default=12345)


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import train_word_vectors

    train_word_vectors.run(
        corpus=args.corpus or train_word_vectors.DEFAULT_CORPUS, output=args.output, model=args.model, dim=args.dim,
        window=args.window, negative=args.negative, sample=args.sample, min_count=args.min_count, epochs=args.epochs,
        alpha=args.alpha, lowercase=args.lowercase, global_batch_size=args.global_batch_size, strategy=args.strategy,
        log_every=args.log_every, jit_compile=args.jit_compile, seed=args.seed)
