# HCP: `make up` runs the platform with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { command -v $$p; break; }; done)

.PHONY: up test lint install install-dev services bench clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "HCP needs Python 3.11 or newer (python3.11, python3.12, ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

up: $(VENV)/.installed
	$(BIN)/hcp migrate
	$(BIN)/hcp up --demo

# Lint first (ruff, mypy strict, the import contracts: so it stays green), then the suite. In CI the PostgreSQL and NATS tests must run:
# start the servers if they are not up.
test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	@if [ "$${CI:-}" = "true" ]; then scripts/services.sh ensure; fi
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

services:
	scripts/services.sh ensure

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
