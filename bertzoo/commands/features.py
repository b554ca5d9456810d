"""``bertzoo features``: contextual embeddings of a text file, as .npy shards."""

from __future__ import annotations

import argparse

from bertzoo.commands.common import add_length_bucket_options, inference_options, pretrained_options


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "features", parents=[inference_options(), pretrained_options()],
        help="contextual embeddings of a text file (one text per line) per sentence or per word, as .npy shards",
        description="Streams FILE through a pretrained BERT and writes OUTPUT/features-NNNNN.npy shards, "
                    "OUTPUT/index.jsonl (the input line, and word, of every row) and OUTPUT/features.json. Blank "
                    "lines are skipped but counted in line numbers; long lines are windowed at word level.")
    parser.add_argument("--input", metavar="FILE", required=True, help="UTF-8 text, one text per line")
    parser.add_argument("--output", metavar="DIR", required=True, help="where shards, index and manifest go")
    parser.add_argument("--level", choices=["sentence", "word"], default="sentence",
                        help="one row per line (default) or one row per word")
    parser.add_argument("--layers", metavar="STRATEGY", default="last",
                        help="which layers: embeddings, last, second_to_last, sum_last_four, concat_last_four, "
                             "sum_all, or layer=i (0 the embedding output, -1 the last layer); default last")
    parser.add_argument("--pooling", choices=["cls", "mean", "max"], default="mean",
                        help="sentence level: how tokens become one vector (default mean over real tokens)")
    parser.add_argument("--no-normalize", dest="normalize", action="store_false",
                        help="sentence level: skip the L2 normalisation")
    parser.add_argument("--word-pooling", choices=["first", "mean", "max"], default="first",
                        help="word level: how a word's WordPieces become one vector (default first)")
    parser.add_argument("--dtype", choices=["float32", "float16"], default="float32", help="dtype of the shards")
    parser.add_argument("--shard-size", type=int, default=100_000, help="rows per .npy shard (default 100000)")
    parser.add_argument("--seq-length", type=int, default=128, help="tokens per encoder row (default 128)")
    parser.add_argument("--stride", type=int, default=None,
                        help="word level: WordPieces between the starts of overlapping windows of a long line "
                             "(default half a window)")
    parser.add_argument("--overwrite", action="store_true", help="replace features already in OUTPUT")
    parser.add_argument("--jit-compile", action="store_true",
                        help="compile the encoder with XLA: faster on CPUs without AVX-512 (on one AVX2 host, +16%% "
                             "for BERT-Base), slower on AVX-512 ones; the same vectors to float rounding")
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                        help="bfloat16: the encoder's weights cast to bfloat16 once at load and its matmuls in "
                             "bfloat16 (LayerNorm and pooling in float32), faster where the hardware has bfloat16 "
                             "matmuls (AVX512_BF16 or AMX CPUs, TPUs, recent GPUs); vectors to bfloat16 rounding")
    add_length_bucket_options(
        parser, default=None,
        help="group lines of similar length and cut each encoder batch to the smallest of a few widths that "
             "holds it (default on for BERT: 16, 32, 64, ... --seq-length; or e.g. 32,64,128): the same vectors, "
             "to float rounding, at the cost of the lines' length instead of --seq-length")


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import features

    features.run(args.pretrained, args.input, args.output, strategy=args.layers, level=args.level,
                 pooling=args.pooling, normalize=args.normalize, word_pooling=args.word_pooling,
                 dtype=args.dtype, shard_size=args.shard_size, seq_length=args.seq_length, stride=args.stride,
                 batch_size=args.global_batch_size, distribution=args.strategy, overwrite=args.overwrite,
                 length_buckets=args.length_buckets, jit_compile=args.jit_compile,
                 precision=args.precision)
