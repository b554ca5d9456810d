"""``bertzoo pretrain``: masked-LM and next-sentence pretraining on raw text."""

from __future__ import annotations

import argparse

from bertzoo.commands.common import training_options, training_settings


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "pretrain", parents=[training_options()], help="pretrain BERT (masked LM + next sentence) on raw text",
        description="Masked-LM and next-sentence pretraining from text files (one sentence per line, blank "
                    "lines between documents) or TFRecords; rerun the same command to resume.")
    parser.add_argument("--config", default="tiny",
                        help="preset (tiny, mini, small, medium, base, large) or a config JSON file; a GPT preset "
                             "(gpt2-tiny, gpt2, gpt2-medium, gpt2-large, gpt2-xl) trains a causal language model")
    parser.add_argument("--pretrained", metavar="NAME_OR_DIR", default=None,
                        help="continue pretraining this GPT checkpoint (causal language model)")
    parser.add_argument("--vocab", metavar="FILE", default=None,
                        help="WordPiece vocab.txt (default: learn one from the corpus)")
    parser.add_argument("--vocab-size", type=int, default=4000, help="size of a learned vocabulary")
    parser.add_argument("--cased", action="store_true", help="keep case when learning a vocabulary")
    parser.add_argument("--corpus", nargs="+", metavar="FILE", default=None,
                        help="text files or a TFRecord glob (default: the embedded CC0 corpus)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--max-predictions-per-seq", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--dupe-factor", type=int, default=5, help="passes over the corpus with new pairs")
    parser.add_argument("--whole-word-masking", action="store_true")
    parser.add_argument("--no-next-sentence", action="store_true", help="masked LM only (RoBERTa style)")


_GPT_PRESETS = ("gpt2-tiny", "gpt1-tiny", "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")


def run(args: argparse.Namespace) -> None:
    if args.pretrained or args.config in _GPT_PRESETS:
        from bertzoo.recipes import causal_lm_pretrain

        causal_lm_pretrain.run(config=args.config, pretrained=args.pretrained, corpus=args.corpus, steps=args.steps,
                               seq_length=args.seq_length, learning_rate=args.learning_rate,
                               vocab_size=args.vocab_size, **training_settings(args))
        return
    from bertzoo.recipes import pretrain

    pretrain.run(config=args.config, vocab=args.vocab, corpus=args.corpus, steps=args.steps,
                 seq_length=args.seq_length, max_predictions_per_seq=args.max_predictions_per_seq,
                 learning_rate=args.learning_rate, vocab_size=args.vocab_size, lowercase=not args.cased,
                 next_sentence=not args.no_next_sentence, whole_word_masking=args.whole_word_masking,
                 dupe_factor=args.dupe_factor, **training_settings(args))
