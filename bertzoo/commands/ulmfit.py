"""``bertzoo ulmfit``: ULMFiT's language-model pretraining, fine-tuning and classifier."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "ulmfit", help="ULMFiT: an AWD-LSTM language model, fine-tuned on the task's texts, then a classifier "
                       "with discriminative rates, slanted triangular rates and gradual unfreezing",
        description="Stage 1 loads --pretrained (an AWD-LSTM, e.g. fastai's WikiText-103 model) or pretrains one "
                    "on --corpus; stage 2 fine-tunes it on --train's texts; stage 3 trains the classifier and "
                    "scores --eval. Writes OUTPUT/language_model, OUTPUT/classifier.keras, OUTPUT/metrics.json.")
    parser.add_argument("--train", metavar="FILE", default=None,
                        help="labelled .tsv/.csv (default: the embedded sentiment reviews)")
    parser.add_argument("--eval", metavar="FILE", default=None, help="labelled file scored at the end")
    parser.add_argument("--output", metavar="DIR", default="output/ulmfit")
    parser.add_argument("--pretrained", metavar="NAME_OR_DIR", default=None,
                        help="an AWD-LSTM language model (default: pretrain one on --corpus)")
    parser.add_argument("--corpus", metavar="FILE", default=None,
                        help="text for stage 1 pretraining, one text per line (default: the embedded corpus)")
    parser.add_argument("--size", choices=["tiny", "small", "wt103"], default="small",
                        help="size of a language model pretrained here (wt103: ULMFiT's 400/1152x3)")
    parser.add_argument("--text-column", default="sentence")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--pretrain-epochs", type=int, default=4)
    parser.add_argument("--lm-epochs", type=int, default=2)
    parser.add_argument("--classifier-epochs", type=int, default=5)
    parser.add_argument("--learning-rate", type=float, default=1e-2, help="peak rate of the language model")
    parser.add_argument("--classifier-learning-rate", type=float, default=1e-2, help="peak rate of the classifier")
    parser.add_argument("--drop-mult", type=float, default=0.5, help="scales every dropout (fastai's drop_mult)")
    parser.add_argument("--seq-length", type=int, default=64)
    parser.add_argument("--global-batch-size", type=int, default=32)
    parser.add_argument("--labelled", type=int, default=None,
                        help="train the classifier on this many labelled rows only (the language model still "
                             "fine-tunes on every --train text)")
    parser.add_argument("--baseline", action="store_true",
                        help="also train the same classifier from scratch and report its accuracy")
    parser.add_argument("--seed", type=int, default=12345)


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import ulmfit

    ulmfit.run(train=args.train or str(ulmfit.DEFAULT_TRAIN),
               eval=args.eval if args.eval or args.train else str(ulmfit.DEFAULT_DEV),
               output=args.output, pretrained=args.pretrained, corpus=args.corpus, text_column=args.text_column,
               label_column=args.label_column, size=args.size, pretrain_epochs=args.pretrain_epochs,
               lm_epochs=args.lm_epochs, classifier_epochs=args.classifier_epochs, learning_rate=args.learning_rate,
               classifier_learning_rate=args.classifier_learning_rate, drop_mult=args.drop_mult,
               seq_length=args.seq_length, global_batch_size=args.global_batch_size, labelled=args.labelled,
               baseline=args.baseline,
               seed=args.seed)
