"""The `bertzoo` command line (placeholder while the package is scaffolded)."""


def main() -> int:
    raise SystemExit("bertzoo: no subcommands yet")
