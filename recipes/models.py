"""Recipe `bertzoo models`: the catalogue as a table, or as JSON with every field."""

from __future__ import annotations

import json

from bertzoo.hub import cache, entries


def rows(family: str | None = None, cached_only: bool = False) -> list[dict]:
    """One dict per entry: its schema fields plus ``cached``."""
    found = []
    for entry in entries().values():
        if family and entry.family != family:
            continue
        row = entry.to_dict()
        row["cached"] = cache.complete_entry(entry) is not None
        if cached_only and not row["cached"]:
            continue
        found.append(row)
    return found


def run(as_json: bool = False, family: str | None = None, cached_only: bool = False) -> list[dict]:
    """Prints the catalogue; returns its rows."""
    table = rows(family, cached_only)
    if as_json:
        print(json.dumps(table, indent=2))
        return table
    columns = ["name", "family", "size", "layers/hidden", "languages", "casing", "cached", "aliases"]
    lines = [[row["name"], row["family"] or "?", _size(row["size"]), _shape(row), ",".join(row.get("languages") or []),
              _casing(row), "yes" if row["cached"] else "-", ", ".join(row["aliases"][:3])] for row in table]
    widths = [max(len(column), *(len(line[index]) for line in lines)) if lines else len(column)
              for index, column in enumerate(columns)]
    print("  ".join(column.ljust(width) for column, width in zip(columns, widths)).rstrip())
    for line in lines:
        print("  ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip())
    print(f"{len(table)} models; load any by name: bertzoo.load_pretrained(NAME), or --pretrained NAME")
    return table


def _size(size: int | None) -> str:
    if size is None:
        return "?"
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"


def _shape(row: dict) -> str:
    layers, hidden = row.get("layers"), row.get("hidden")
    return f"{layers}/{hidden}" if layers is not None and hidden is not None else "-"


def _casing(row: dict) -> str:
    cased = row.get("cased")
    return "-" if cased is None else ("cased" if cased else "uncased")
