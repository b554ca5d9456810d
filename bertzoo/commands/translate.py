"""``bertzoo translate``: train a Transformer on a parallel corpus, score BLEU, export a translator."""

from __future__ import annotations

import argparse
import json

from bertzoo.commands.common import training_options, training_settings


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "translate", parents=[training_options()],
        help="train a Transformer (Attention Is All You Need) on a parallel corpus, report BLEU, export a "
             "string-to-string SavedModel",
        description="Trains a joint SentencePiece vocabulary and a Transformer (label smoothing 0.1, Adam 0.9/0.98/"
                    "1e-9, warmup + inverse square root schedule), averages the last checkpoints, translates "
                    "--eval with beam search (GNMT length penalty) and reports sacrebleu's BLEU in "
                    "OUTPUT/metrics.json; writes OUTPUT/model (load_pretrained reads it) and OUTPUT/translator "
                    "(SavedModel, needs the tensorflow-text ops). Rerun the same command to resume.")
    data = parser.add_argument_group("corpus (a TSV of source<TAB>target, or two aligned files)")
    data.add_argument("--train", metavar="TSV", default=None, help="training pairs, one 'source<TAB>target' a line")
    data.add_argument("--train-source", metavar="FILE", default=None, help="training sources, one a line")
    data.add_argument("--train-target", metavar="FILE", default=None, help="their translations, line by line")
    data.add_argument("--eval", metavar="TSV", default=None, help="pairs translated and scored after training")
    data.add_argument("--eval-source", metavar="FILE", default=None)
    data.add_argument("--eval-target", metavar="FILE", default=None)
    model = parser.add_argument_group("model")
    model.add_argument("--preset", choices=["tiny", "base", "big"], default="base", help="the paper's base or big")
    model.add_argument("--config", metavar="JSON", default=None,
                       help='TransformerConfig fields overriding the preset, e.g. \'{"num_layers": 3}\'')
    model.add_argument("--vocab-size", type=int, default=8000, help="SentencePiece pieces at most (default 8000)")
    model.add_argument("--sentencepiece-model", metavar="FILE", default=None,
                       help="use this SentencePiece .model instead of training one (ids 0-3: <pad> <unk> <s> </s>)")
    model.add_argument("--seq-length", type=int, default=64, help="source and target tokens kept (default 64)")
    training = parser.add_argument_group("training")
    training.add_argument("--steps", type=int, default=1000, help="training steps")
    training.add_argument("--warmup-steps", type=int, default=4000, help="schedule warmup (paper: 4000)")
    training.add_argument("--learning-rate-scale", type=float, default=1.0, help="multiplies the schedule (paper: 1)")
    training.add_argument("--average-last", type=int, default=1,
                          help="average the last N checkpoints before translating (paper: 5 base, 20 big)")
    decoding = parser.add_argument_group("decoding")
    decoding.add_argument("--beam-size", type=int, default=4, help="1: greedy (paper: 4)")
    decoding.add_argument("--alpha", type=float, default=0.6, help="length-penalty exponent (paper: 0.6)")
    decoding.add_argument("--max-decode-length", type=int, default=None, help="output tokens at most (default: "
                                                                            "--seq-length)")
    decoding.add_argument("--no-export", dest="export", action="store_false", help="skip the SavedModel")


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import translate

    if args.train is None and (args.train_source is None or args.train_target is None):
        raise SystemExit("bertzoo translate: give --train TSV, or --train-source and --train-target")
    try:
        overrides = json.loads(args.config) if args.config else None
    except json.JSONDecodeError as error:
        raise SystemExit(f"bertzoo translate: --config is not JSON: {error}") from None
    translate.run(train=args.train, train_source=args.train_source, train_target=args.train_target, eval=args.eval,
                  eval_source=args.eval_source, eval_target=args.eval_target, preset=args.preset,
                  config_overrides=overrides, vocab_size=args.vocab_size,
                  sentencepiece_model=args.sentencepiece_model, seq_length=args.seq_length,
                  max_decode_length=args.max_decode_length, steps=args.steps, warmup_steps=args.warmup_steps,
                  learning_rate_scale=args.learning_rate_scale, average_last=args.average_last,
                  beam_size=args.beam_size, alpha=args.alpha, export=args.export, **training_settings(args))
