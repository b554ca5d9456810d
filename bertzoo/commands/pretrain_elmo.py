"""``bertzoo pretrain-elmo``: an ELMo biLM (forward + backward language models) from scratch on raw text."""

from __future__ import annotations

import argparse

from bertzoo.commands.common import strategy_options


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "pretrain-elmo", parents=[strategy_options()],
        help="train an ELMo biLM from scratch on text files (forward and backward language models)",
        description="Builds a word vocabulary from --corpus (one sentence per line), trains ELMo's character CNN and "
                    "biLSTM on the forward and backward language-model losses, reports perplexity before and after, "
                    "and writes OUTPUT/pretrained (options.json, weights.hdf5, vocab.txt: bilm-tf's format) and "
                    "OUTPUT/metrics.json.")
    parser.add_argument("--corpus", metavar="FILE", nargs="+", default=None,
                        help="text files, one sentence per line (default: recipes/data/pretraining_corpus.txt)")
    parser.add_argument("--eval-corpus", metavar="FILE", nargs="+", default=None,
                        help="files whose perplexity is reported (default: the training corpus)")
    parser.add_argument("--output", metavar="DIR", default="output/pretrain_elmo")
    parser.add_argument("--config", default="tiny", help="'tiny' or an ELMo options.json (default tiny)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--global-batch-size", type=int, default=32, help="sentences per step")
    parser.add_argument("--seq-length", type=int, default=32, help="positions per sentence, <S> and </S> included")
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--optimizer", choices=["adam", "adagrad"], default="adam",
                        help="adam, or adagrad as bilm-tf (then try --learning-rate 0.2)")
    parser.add_argument("--num-sampled", type=int, default=0,
                        help="negatives of the sampled softmax (default 0: full softmax, for small vocabularies)")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--min-count", type=int, default=1, help="corpus count for a word to get an id")
    parser.add_argument("--max-vocabulary", type=int, default=None)
    parser.add_argument("--word-split", choices=["punctuation", "whitespace"], default="punctuation",
                        help="punctuation (raw text, default) or whitespace (pre-tokenized text)")
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--jit-compile", action="store_true", help="compile the train step with XLA")
    parser.add_argument("--seed", type=int, default=12345)


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import pretrain_elmo

    pretrain_elmo.run(corpus=args.corpus, eval_corpus=args.eval_corpus, output=args.output, config=args.config,
                      steps=args.steps, global_batch_size=args.global_batch_size, seq_length=args.seq_length,
                      learning_rate=args.learning_rate, optimizer=args.optimizer, num_sampled=args.num_sampled,
                      dropout=args.dropout, min_count=args.min_count, max_vocabulary=args.max_vocabulary,
                      word_split=args.word_split, strategy=args.strategy, log_every=args.log_every,
                      checkpoint_every=args.checkpoint_every, jit_compile=args.jit_compile, seed=args.seed)
