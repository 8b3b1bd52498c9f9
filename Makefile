# The two commands of the quick start: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench lint typecheck pytest install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@pkg-config --exists libvirt 2>/dev/null || { echo "make test needs libvirt's headers: apt-get install libvirt-dev pkg-config"; exit 1; }
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# The independent peers the tests run against (an OpenID provider, axe-core).
tests/node/node_modules/.installed: tests/node/package.json tests/node/package-lock.json
	@command -v npm >/dev/null || { echo "make test needs Node.js and npm: apt-get install nodejs npm"; exit 1; }
	npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev tests/node/node_modules/.installed

## Install and run the portal and API on http://127.0.0.1:8000 with the demo municipality.
demo: install
	$(BIN)/anyplace demo

## Install with the dev extras and run every check: lint, format, types, tests.
test: install-dev lint typecheck pytest

## Benchmarks that print figures (not part of make test).
bench: install-dev
	$(BIN)/python bench/simulate.py
	$(BIN)/python bench/launch_storm.py
	$(BIN)/python bench/portal.py
	$(BIN)/python bench/microapps.py

lint:
	$(BIN)/ruff check src tests examples bench tools
	$(BIN)/ruff format --check src tests examples bench tools

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
