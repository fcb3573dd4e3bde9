# KMH Search. `make demo` and `make test` set everything up first (idempotent).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
MODELS ?= models
export KMH_MODELS_DIR ?= $(abspath $(MODELS))
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HAYSTACK_TELEMETRY_ENABLED := False
export DO_NOT_TRACK := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test bench clean-data help

help:
	@echo "make demo   set up, ingest corpus/ and show how to search"
	@echo "make test   set up and run the whole test suite"
	@echo "make bench  set up and run the benchmarks in bench/"
	@echo "make setup  only set up (.venv, packages, models)"

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch first, from the CPU wheel, and kept as a constraint for every later install.
$(VENV)/.deps: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $@

$(MODELS)/.built: $(VENV)/.deps kmh/modelkit.py kmh/e5_reference.json
	$(BIN)/kmh setup-models --models-dir $(MODELS)
	touch $@

setup: $(VENV)/.deps $(MODELS)/.built

demo: setup
	$(BIN)/kmh ingest corpus/
	@echo
	@echo "Serving on http://127.0.0.1:8000  (API docs: /docs; try /api/search?q=When+can+reintegration+be+considered+sustainable)"
	@echo "From a shell: $(BIN)/kmh search \"Combien d'acteurs nationaux ont participé à l'atelier de Saly ?\""
	$(BIN)/kmh serve --host 127.0.0.1 --port 8000

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/search.py

clean-data:
	rm -rf data
