"""The OpenAI Transformer family: GPT-1 and GPT-2 (decoders, checkpoints, tokenizers, generation)."""
