"""``bertzoo feature-ner``: the BERT paper's feature-based NER table beside fine-tuning."""

from __future__ import annotations

import argparse

from bertzoo.commands.common import pretrained_options, strategy_options


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "feature-ner", parents=[pretrained_options(), strategy_options()],
        help="the BERT paper's feature-based NER table: a BiLSTM tagger on frozen features per layer strategy, "
             "beside fine-tuning",
        description="For each layer strategy, trains a two-layer BiLSTM tagger on the frozen encoder's first-WordPiece "
                    "word vectors and scores entity F1 on --eval; then fine-tunes the same checkpoint (bertzoo "
                    "finetune --task ner) on the same files. Prints the table and writes OUTPUT/table.md and "
                    "OUTPUT/metrics.json.")
    parser.add_argument("--train", metavar="FILE", default=None,
                        help="CoNLL training file, word first, tag last (default: recipes/data/ner/train.txt)")
    parser.add_argument("--eval", metavar="FILE", default=None,
                        help="CoNLL file scored (default: recipes/data/ner/dev.txt)")
    parser.add_argument("--output", metavar="DIR", default="output/feature_ner",
                        help="where table.md, metrics.json and each run's checkpoints go")
    parser.add_argument("--layers", metavar="STRATEGIES", default=None,
                        help="comma-separated layer strategies, one tagger each (default: the paper's six: "
                             "embeddings,second_to_last,last,sum_last_four,concat_last_four,sum_all; "
                             "layer=i also works)")
    parser.add_argument("--epochs", type=float, default=10.0, help="tagger passes over --train (default 10)")
    parser.add_argument("--lstm-units", type=int, default=128,
                        help="LSTM units per direction of each of the two BiLSTM layers (default 128)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="tagger Adam learning rate")
    parser.add_argument("--global-batch-size", type=int, default=32, help="sentences per step (default 32)")
    parser.add_argument("--finetune-epochs", type=float, default=3.0,
                        help="epochs of the fine-tuning row (default 3; 0 skips it)")
    parser.add_argument("--finetune-learning-rate", type=float, default=5e-4,
                        help="peak learning rate of the fine-tuning row (default 5e-4: a small model, few steps)")
    parser.add_argument("--seq-length", type=int, default=64,
                        help="WordPieces per encoder row (default 64, enough for the default data; 128 for "
                             "CoNLL-2003: fine-tuning truncates longer sentences)")
    parser.add_argument("--elmo", metavar="DIR", default=None,
                        help="an ELMo checkpoint (options.json + weights.hdf5): adds an 'elmo' row, the same tagger on "
                             "ELMo's word vectors (its three layers averaged)")
    parser.add_argument("--glove", metavar="DIR", default=None,
                        help="static word vectors (a GloVe, word2vec or fastText file's directory): adds a 'glove' "
                             "row, the same tagger on the frozen vectors (one per word, whatever its context)")
    parser.add_argument("--seed", type=int, default=12345)


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import feature_ner

    strategies = (feature_ner.STRATEGIES if args.layers is None
                  else [name.strip() for name in args.layers.split(",") if name.strip()])
    feature_ner.run(pretrained=args.pretrained, train=args.train or feature_ner.DEFAULT_TRAIN,
                    eval=args.eval or feature_ner.DEFAULT_DEV, output=args.output, strategies=strategies,
                    lstm_units=args.lstm_units, epochs=args.epochs, batch_size=args.global_batch_size,
                    learning_rate=args.learning_rate, seq_length=args.seq_length,
                    finetune_epochs=args.finetune_epochs, finetune_learning_rate=args.finetune_learning_rate,
                    strategy=args.strategy, seed=args.seed, elmo=args.elmo,
                    glove=args.glove)
