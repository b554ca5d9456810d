"""bertzoo."""
