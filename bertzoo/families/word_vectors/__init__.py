"""Static word vectors in the zoo: GloVe, word2vec and fastText files, the word-vector encoder that
meets the encoder contract, analogy and similarity evaluation, and skip-gram / CBOW training as
``word2vec.c`` does it. One vector per word, whatever its context ("stick" has one vector)."""

from bertzoo.families.word_vectors.vector_table import VectorTable
from bertzoo.families.word_vectors.word_vectors_config import WordVectorsConfig
from bertzoo.families.word_vectors.word_vector_encoder import WordVectorEncoder
from bertzoo.families.word_vectors.word_tokenizer import WordTokenizer
from bertzoo.families.word_vectors.word_vector_preprocessor import WordVectorPreprocessor
from bertzoo.families.word_vectors.pretrained_word_vectors import (
    PretrainedWordVectors, load_word_vectors, save_word_vectors, word_vectors_format)

__all__ = ["PretrainedWordVectors", "VectorTable", "WordTokenizer", "WordVectorEncoder", "WordVectorPreprocessor",
           "WordVectorsConfig", "load_word_vectors", "save_word_vectors", "word_vectors_format"]
