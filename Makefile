# Two commands on a fresh machine with Python 3.11 and make: `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The demo data's last send day; `segpipe top` defaults to today (UTC) otherwise.
DEMO_AS_OF := 2026-11-15

.PHONY: demo test install install-dev bench wheel clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# compileall: an editable install (or PYTHONDONTWRITEBYTECODE) would otherwise recompile
# segpipe's modules on every command, ~10 ms of `segpipe top`'s start-up.
install: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/python -m compileall -q segpipe

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q segpipe

demo: install
	$(BIN)/segpipe run --as-of $(DEMO_AS_OF)
	$(BIN)/segpipe top --as-of $(DEMO_AS_OF)

test: install-dev
	$(BIN)/python -m pytest

# A release's wheel, into dist/. build/ goes first: setuptools reuses build/lib, so a
# built-in model or macro that this version removed or renamed would ship again.
wheel: $(BIN)/python
	rm -rf build
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .

bench: install-dev
	$(BIN)/python benchmarks/run.py --scale s

clean:
	rm -rf $(VENV) target build dist segpipe.duckdb segpipe.duckdb.* *.egg-info
