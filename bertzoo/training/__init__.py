"""bertzoo/training."""
