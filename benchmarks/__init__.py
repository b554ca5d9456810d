"""bertzoo's speed against KerasHub and Hugging Face on the same machine: ``python -m benchmarks.run``."""
