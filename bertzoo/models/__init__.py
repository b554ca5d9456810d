"""Models: an encoder plus head(s), trainable as one keras.Model."""
