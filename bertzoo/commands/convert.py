"""``bertzoo convert``: any checkpoint format -> bertzoo's format, verified by a reload."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "convert", help="convert a Google, Hugging Face, KerasHub or bertzoo checkpoint to bertzoo's format",
        description="Reads SRC (format detected from its files), writes bertzoo's format to DST, "
                    "reads it back and checks the outputs are identical.")
    parser.add_argument("source", metavar="SRC",
                        help="checkpoint directory, catalogue name (`bertzoo models`) or handle (hf://org/name, a TF "
                             "Hub handle, a KerasHub preset, gs://...)")
    parser.add_argument("destination", metavar="DST", help="output directory (bertzoo format)")
    parser.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    casing = parser.add_mutually_exclusive_group()
    casing.add_argument("--uncased", dest="do_lower_case", action="store_const", const=True,
                        help="override the casing the checkpoint's files imply: lowercase input")
    casing.add_argument("--cased", dest="do_lower_case", action="store_const", const=False,
                        help="override the casing the checkpoint's files imply: keep case")


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import convert

    convert.run(args.source, args.destination, overwrite=args.overwrite, do_lower_case=args.do_lower_case)
