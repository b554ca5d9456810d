"""``bertzoo generate``: continue prompts with a GPT (greedy, top-k / top-p sampling, beam search)."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "generate", help="continue text prompts with a GPT-2 (or GPT-1) model",
        description="Generates with the key/value cache until <|endoftext|> or --max-length tokens (prompt "
                    "included). Prints 'prompt|continuation' per prompt; --output writes generations.jsonl; "
                    "--export writes a SavedModel generating from raw prompts in core TensorFlow ops.")
    parser.add_argument("--pretrained", metavar="NAME_OR_DIR", required=True, help="a GPT checkpoint, any format")
    parser.add_argument("--prompt", action="append", default=None, help="a prompt (repeatable)")
    parser.add_argument("--prompts-file", metavar="FILE", default=None, help="one prompt per line")
    parser.add_argument("--max-length", type=int, default=64, help="tokens per row, prompt included")
    parser.add_argument("--strategy", choices=["greedy", "sample", "beam"], default="greedy")
    parser.add_argument("--temperature", type=float, default=1.0, help="sample: divides the logits")
    parser.add_argument("--top-k", type=int, default=0, help="sample: keep the k most likely tokens (0: all)")
    parser.add_argument("--top-p", type=float, default=1.0, help="sample: nucleus mass to keep (1: all)")
    parser.add_argument("--num-beams", type=int, default=4, help="beam: hypotheses kept")
    parser.add_argument("--seed", type=int, default=0, help="sample: random seed")
    parser.add_argument("--allowed-special", default=None,
                        help="special tokens read as such in prompts: comma-separated names or 'all' "
                             "(default: none, '<|endoftext|>' in a prompt is plain text)")
    parser.add_argument("--output", metavar="DIR", default=None, help="write generations.jsonl here")
    parser.add_argument("--export", metavar="DIR", default=None, help="also write a generation SavedModel here")


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import generate

    generate.run(pretrained=args.pretrained, prompts=args.prompt, prompts_file=args.prompts_file,
                 max_length=args.max_length, strategy=args.strategy, temperature=args.temperature, top_k=args.top_k,
                 top_p=args.top_p, num_beams=args.num_beams, seed=args.seed, allowed_special=args.allowed_special,
                 output=args.output, export=args.export)
