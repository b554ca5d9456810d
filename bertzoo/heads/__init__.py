"""Heads: contextual vectors -> task outputs. Each head takes the encoder contract's outputs."""
