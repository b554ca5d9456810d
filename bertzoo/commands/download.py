"""``bertzoo download NAME...``: fetch catalogue models into the cache (for offline use later)."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "download", help="download pretrained models by name into BERTZOO_HOME",
        description="Downloads, verifies and unpacks each model once into BERTZOO_HOME (see `bertzoo models`); "
                    "prints its local directory. Also takes hf://org/name, TF Hub / Kaggle handles, KerasHub "
                    "presets and gs:// directories.")
    parser.add_argument("names", metavar="NAME", nargs="+", help="catalogue name or alias, or a handle")
    parser.add_argument("--force", action="store_true", help="download again even when cached")


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import download

    download.run(args.names, force=args.force)
