# Two commands on a fresh machine with Python 3.11 and make: `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The demo data's last send day; `segpipe top` defaults to today (UTC) otherwise.
DEMO_AS_OF := 2026-11-15

.PHONY: demo test install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'

demo: install
	$(BIN)/segpipe run --as-of $(DEMO_AS_OF)
	$(BIN)/segpipe top --as-of $(DEMO_AS_OF)

test: install-dev
	$(BIN)/python -m pytest

bench: install-dev
	$(BIN)/python benchmarks/run.py --scale s

clean:
	rm -rf $(VENV) target segpipe.duckdb segpipe.duckdb.* *.egg-info
