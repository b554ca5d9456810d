"""BERT's checkpoint formats, one module per source: Google's TF1 release, Hugging Face safetensors,
KerasHub presets, TF Hub encoder SavedModels and bertzoo's own format, with the canonical weight
names they all map to."""
