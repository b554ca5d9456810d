"""Recipe `bertzoo cache list|verify|purge`: the cache under BERTZOO_HOME."""

from __future__ import annotations

import json

from bertzoo.hub import cache, settings


def list_entries(as_json: bool = False) -> list[cache.CachedModel]:
    """Prints every entry with its size and state."""
    found = cache.list_cached()
    if as_json:
        print(json.dumps([item.to_dict() for item in found], indent=2))
        return found
    print(f"cache: {settings.home()}")
    for item in found:
        print(f"{item.name:40s} {item.size / 1e6:10.1f} MB  {item.state:10s}  {item.path}")
    print(f"{len(found)} entries, {sum(item.size for item in found) / 1e6:.1f} MB")
    return found


def verify_entries(names: list[str] | None = None) -> list[cache.Verification]:
    """Re-hashes the named entries (all by default); a problem makes the command fail."""
    results = cache.verify(names or None)
    for result in results:
        print(f"{result.name}: {'ok' if result.ok else 'FAILED'}")
        for problem in result.problems:
            print(f"  {problem}")
    failed = [result.name for result in results if not result.ok]
    if failed:
        raise OSError(f"{len(failed)} cache entries failed verification: {', '.join(failed)} "
                      "(`bertzoo cache purge NAME` removes one; the next load downloads it again)")
    print(f"{len(results)} entries verified")
    return results


def purge_entries(names: list[str], everything: bool = False, partial_only: bool = False) -> list:
    """Removes the named entries (or all, or only unfinished downloads)."""
    if not names and not everything and not partial_only:
        raise ValueError("name the entries to purge, or pass --all (every entry) or --partial (unfinished downloads)")
    removed = cache.purge(names or None, partial_only=partial_only)
    for path in removed:
        print(f"removed {path}")
    print(f"{len(removed)} removed")
    return removed
