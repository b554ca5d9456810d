"""``bertzoo models``: the catalogue as a table (or JSON), with what the cache holds."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "models", help="list the pretrained models bertzoo loads by name",
        description="Every catalogue entry (Google's BERT releases, other families' checkpoints, BERTZOO_MODELS "
                    "and register_model entries): name, family, size, layers/hidden, languages, casing, and "
                    "whether BERTZOO_HOME holds it. Any name or alias works wherever a checkpoint is taken.")
    parser.add_argument("--json", action="store_true", help="print the full entries as JSON")
    parser.add_argument("--family", default=None, help="only this family's entries")
    parser.add_argument("--cached", action="store_true", help="only entries the cache holds")


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import models

    models.run(as_json=args.json, family=args.family, cached_only=args.cached)
