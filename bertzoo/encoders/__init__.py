"""bertzoo/encoders."""
