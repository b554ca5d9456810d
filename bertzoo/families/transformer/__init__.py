"""The Transformer of "Attention Is All You Need": encoder-decoder, SentencePiece, decoding."""
