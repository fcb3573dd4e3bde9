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

.PHONY: setup system-packages seminars handbooks scans demo test test-fast bench clean-data help

help:
	@echo "make demo       set up, ingest corpus/ and show how to search"
	@echo "make test       set up and run the whole test suite"
	@echo "make test-fast  set up .venv only and run the unit tests (tests/unit: no model, database, server or"
	@echo "                Debian package; the import contracts too, which .venv/bin/lint-imports checks alone)"
	@echo "make bench      set up and run the benchmarks in bench/"
	@echo "make setup      only set up (.venv, packages with the test tools, models, and the Debian packages"
	@echo "                espeak-ng, ffmpeg, postgresql, chromium, tesseract (fra, eng) and the FreeDict dictionaries;"
	@echo "                the sample seminar's recording, the sample handbook's PDF and the sample scanned note)"

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

# Debian packages for recordings: ffmpeg decodes audio and video, espeak-ng speaks the test and bench clips;
# postgresql's server binaries (/usr/lib/postgresql/NN/bin) run the throwaway catalog database of the tests (tests/pg.py);
# chromium is the browser the web tests drive with Playwright (tests/browser/test_browser.py);
# the FreeDict English-French dictionaries translate questions for keyword search (search/translate.py);
# tesseract with its French and English data reads scanned PDF pages (ingest/parsers/ocr.py).
# Skipped when all are there; `apt-get update` only when the first install fails.
SYSTEM_PACKAGES := espeak-ng ffmpeg postgresql chromium dict-freedict-eng-fra dict-freedict-fra-eng \
	tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng
system-packages:
	@if [ -x /usr/bin/espeak-ng ] && command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null && [ -x /usr/bin/chromium ] \
	  && [ -f /usr/share/dictd/freedict-eng-fra.index ] && [ -f /usr/share/dictd/freedict-fra-eng.index ] \
	  && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null \
	  && command -v tesseract >/dev/null && compgen -G '/usr/share/tesseract-ocr/*/tessdata/fra.traineddata' >/dev/null \
	  && compgen -G '/usr/share/tesseract-ocr/*/tessdata/eng.traineddata' >/dev/null; \
	then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null; then sudo=sudo; \
	else echo "need root or sudo to install: $(SYSTEM_PACKAGES)" >&2; exit 1; fi; \
	apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get"; \
	echo "installing $(SYSTEM_PACKAGES)"; \
	$$apt install -y -q --no-install-recommends $(SYSTEM_PACKAGES) \
	  || { $$apt update -q && $$apt install -y -q --no-install-recommends $(SYSTEM_PACKAGES); }

# The sample seminar's recording is synthetic: espeak-ng speaks its script (kmh synth-seminar; skipped when up to date).
SEMINARS := $(wildcard corpus/seminars/*/script.yaml)
seminars: system-packages $(VENV)/.deps
	$(if $(SEMINARS),$(BIN)/kmh synth-seminar $(dir $(SEMINARS)))

# The sample handbook is a real PDF typeset from its text in corpus-src/ (kmh synth-handbook: headings by font size,
# a section per page, running header, page numbers, fixed date: the same bytes every time); made again only when its
# text, its sidecar or the typesetting changes. corpus-src/ is not ingested: the handbook is ingested once, as the PDF.
HANDBOOK_PDFS := $(patsubst corpus-src/handbooks/%.txt,corpus/handbooks/%.pdf,$(wildcard corpus-src/handbooks/*.txt))
corpus/handbooks/%.pdf: corpus-src/handbooks/%.txt corpus/handbooks/%.meta.yaml ingest/synth_pdf.py | $(VENV)/.deps
	$(BIN)/kmh synth-handbook $< $@
handbooks: $(HANDBOOK_PDFS)

# The sample corpus's scanned field note is made from its text, as page images without a text layer, so that the demo
# shows OCR (kmh synth-scan; remade only when its text or ingest/scansynth.py changes; the PDF is not in git).
SCAN_NOTE := corpus/reports/note-de-terrain-suivi-reintegration-scan.pdf
$(SCAN_NOTE): ingest/samples/note-de-terrain-scannee.yaml ingest/scansynth.py | $(VENV)/.deps
	$(BIN)/kmh synth-scan $< $@
scans: $(SCAN_NOTE)

setup: system-packages $(VENV)/.deps $(MODELS)/.built seminars handbooks scans

demo: setup
	$(BIN)/kmh ingest corpus/
	@echo
	@echo "Open http://127.0.0.1:8000/ (web pages; API docs at /docs; try /search?q=When+can+reintegration+be+considered+sustainable)"
	@echo "From a shell: $(BIN)/kmh search \"Combien d'acteurs nationaux ont participé à l'atelier de Saly ?\""
	@echo "A seminar moment: /api/search?q=projets+communautaires+de+r%C3%A9int%C3%A9gration (seminars: /api/seminars, topics: /api/topics)"
	$(BIN)/kmh serve --host 127.0.0.1 --port 8000

test: setup
	$(BIN)/python -m pytest -q

# The unit layer needs the packages only: no models, no Debian packages, no sample recording.
test-fast: $(VENV)/.deps
	$(BIN)/python -m pytest -q tests/unit

bench: setup
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/kernels.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/transcribe.py
	$(BIN)/python bench/web.py

clean-data:
	rm -rf data
