"""bertzoo/text."""
