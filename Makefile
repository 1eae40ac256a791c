# selfheal: `make demo` starts the demo, `make test` runs the whole suite. Both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
TORCH ?= torch==2.13.0

.PHONY: demo test lint api ui install install-dev bench-ingest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Runtime with the UI, PostgreSQL and dense-embedding extras. torch is installed first, pinned to the CPU
# wheel, so that the `[embed]` extra's range is already satisfied and pip fetches no other torch build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet '$(TORCH)'
	$(BIN)/pip install --quiet -e '.[ui,postgres,embed]'
	touch $(STAMP)

# The dev tools (pytest, ruff, mypy, playwright, ...): only `make test` and `make lint` need them.
$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[ui,postgres,embed,dev]'
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

demo: $(STAMP)
	$(BIN)/selfheal demo

api: $(STAMP)
	$(BIN)/selfheal api

ui: $(STAMP)
	$(BIN)/selfheal ui

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: $(DEV_STAMP) lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench-ingest: $(STAMP)
	$(BIN)/selfheal bench ingest

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
