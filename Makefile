# The few commands people type. README quotes `make run` and `make test`.
#
#   make run    create .venv, install dbkit, migrate the embedded database to head, print status
#   make test   install, run the whole suite on the embedded PostgreSQL, then the smoke subset on
#               the system's PostgreSQL (a second, older major), then dbkit lint and
#               dbkit verify on the unified schema (make test-gate)
#   make lint   static checks: ruff, and dbkit lint on the unified schema
#   make bench  benchmarks/run.sh

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.dbkit-installed
PYTEST_ARGS ?=
# pytest-xdist workers for make test: one per CPU ("auto"); TEST_JOBS=0 runs in this process.
# Each worker starts its own throwaway server (tests/conftest.py), so tests that look at the
# whole server (pg_stat_activity, pg_hba.conf) see only their worker's sessions. "worksteal"
# hands the long unified-schema tests out as they come and rebalances at the end.
TEST_JOBS ?= auto
XDIST = -n $(TEST_JOBS) --dist worksteal

.PHONY: help install run test test-embedded test-system lint bench docs clean

help:
	@echo "make run | test | lint | bench | install | clean"

# Re-installs when pyproject.toml changes (or the venv was removed).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/dbkit migrate
	$(BIN)/dbkit status

test: test-embedded test-system test-gate

test-embedded: $(STAMP)
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

# The smoke subset on the system's PostgreSQL; .ci/system-pg finds (or installs) its binaries.
test-system: $(STAMP)
	bindir="$$(.ci/system-pg)"; \
	DBKIT_TEST_SERVER=system DBKIT_TEST_PG_BINDIR="$$bindir" $(BIN)/pytest $(XDIST) -m smoke $(PYTEST_ARGS)

# The CI gate on the unified schema: dbkit lint, then every rollback verified (embedded server).
test-gate: $(STAMP)
	$(BIN)/dbkit lint
	$(BIN)/dbkit verify

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/dbkit lint

bench: $(STAMP)
	@if [ -x benchmarks/run.sh ] || [ -f benchmarks/run.sh ]; then \
		PATH="$(CURDIR)/$(BIN):$$PATH" bash benchmarks/run.sh; \
	else \
		echo "make bench: benchmarks/run.sh does not exist yet" >&2; exit 1; \
	fi

docs: $(STAMP)
	$(BIN)/python scripts/cli_reference.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
