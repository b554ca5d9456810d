"""Word vectors' registration with the family registry: how their directories are recognised and read."""

from bertzoo.families.registry import Family
from bertzoo.families.word_vectors.pretrained_word_vectors import (
    LOOKED_FOR, load_word_vectors, save_word_vectors, word_vectors_format)

FAMILY = Family(name="word_vectors", detect=word_vectors_format, load=load_word_vectors, save=save_word_vectors,
                looked_for=LOOKED_FOR)
