# HCP: `make up` installs the platform and its web console and runs them with demo data;
# `make test` runs every check (lint, the Python suite, the console's type check, unit and browser tests).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { command -v $$p; break; }; done)

.PHONY: up test lint install install-dev services bench clean web web-test web-e2e openapi

# The web console (web/): npm installs exactly its lockfile; the build is redone when a source changed.
NPM ?= npm
WEB_SOURCES := $(shell find web/src web/public -type f -not -name schema.d.ts 2>/dev/null) \
	web/index.html web/vite.config.ts web/tsconfig.json web/package.json web/openapi/openapi.json

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

web/node_modules/.installed: web/package-lock.json
	@command -v $(NPM) >/dev/null || { echo "HCP's web console needs Node.js 20.19+ and npm (https://nodejs.org)"; exit 1; }
	cd web && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && $(NPM) run --silent build
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
web: web/dist/index.html

up: $(VENV)/.installed web/dist/index.html
	$(BIN)/hcp migrate
	$(BIN)/hcp up --demo

# After an API change: refresh the console's OpenAPI snapshot (a test fails while it drifts).
openapi: $(VENV)/.installed
	$(BIN)/hcp openapi -o web/openapi/openapi.json

# The console's checks: the type check of the app and its generated client, then Vitest.
web-test: web/node_modules/.installed
	cd web && $(NPM) run --silent typecheck
	cd web && $(NPM) run --silent test

# The browser tests (Playwright on Debian's chromium, against a real `hcp up --demo`). In CI a
# missing chromium is installed and the tests must run; elsewhere they are skipped, saying why.
web-e2e: $(VENV)/.installed web/dist/index.html
	@chromium=$$(scripts/chromium.sh) || chromium=""; \
	if [ -z "$$chromium" ]; then \
		if [ "$${CI:-}" = "true" ]; then echo "web-e2e: no chromium in CI" >&2; exit 1; fi; \
		echo "web-e2e: SKIPPED: no chromium (apt-get install chromium, or set HCP_CHROMIUM)"; exit 0; \
	fi; \
	cd web && HCP_CHROMIUM="$$chromium" $(NPM) run --silent e2e

# The Python suite runs on two workers (pytest-xdist): most tests wait on simulated time, not CPU.
PYTEST_ARGS ?= -n 2

# Lint first (ruff, mypy strict, the import contracts: so it stays green), then the suite. In CI the PostgreSQL and NATS tests must run:
# start the servers if they are not up.
test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	@if [ "$${CI:-}" = "true" ]; then scripts/services.sh ensure; fi
	$(MAKE) --no-print-directory web-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory web-e2e

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

services:
	scripts/services.sh ensure

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist
