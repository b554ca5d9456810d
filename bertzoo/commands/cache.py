"""``bertzoo cache list|verify|purge``: what BERTZOO_HOME holds, re-checked or removed."""

from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "cache", help="list, verify or purge downloaded models",
        description="The cache under BERTZOO_HOME (default ~/.cache/bertzoo): list its entries, re-check "
                    "every file against the sha256 recorded at download, or remove entries.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="entries, sizes and states")
    listing.add_argument("--json", action="store_true", help="print JSON")
    verify = actions.add_parser("verify", help="re-hash every file against the sha256 recorded at download")
    verify.add_argument("names", metavar="NAME", nargs="*", help="entries to check (default: all)")
    purge = actions.add_parser("purge", help="remove entries")
    purge.add_argument("names", metavar="NAME", nargs="*", help="entries to remove")
    purge.add_argument("--all", action="store_true", help="remove every entry")
    purge.add_argument("--partial", action="store_true", help="remove only unfinished downloads")


def run(args: argparse.Namespace) -> None:
    from bertzoo.recipes import cache

    if args.action == "list":
        cache.list_entries(as_json=args.json)
    elif args.action == "verify":
        cache.verify_entries(args.names)
    else:
        cache.purge_entries(args.names, everything=args.all, partial_only=args.partial)
