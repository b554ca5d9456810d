"""bertzoo/io."""
