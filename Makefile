# Guanxi — two commands:
#   make run    install, prepare the database, load demo data, serve on http://127.0.0.1:8000
#   make test   install what the tests need and run them (SQLite, browser, PostgreSQL)
# Needs Python 3.11+ (Debian 12 or newer). Data lives in ./var (GUANXI_DATA_DIR).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
BENCH_CUSTOMERS ?= 5000

.PHONY: help run test install install-test bench bench-ops clean

help:
	@echo "make run      install, migrate, load demo data once, start worker + server on http://$(HOST):$(PORT)"
	@echo "make test     install test tools and run every test (SQLite + browser, then PostgreSQL)"
	@echo "make bench    load demo data and time the main pages ($(BENCH_CUSTOMERS) customers; BENCH_CUSTOMERS=N)"
	@echo "make bench-ops  time migrate, demo data, the search-index job, backup and pages"
	@echo "make clean    remove the virtual environment and build leftovers (keeps ./var, your data)"

$(BIN)/python:
	@PYTHON=$(PYTHON) scripts/bootstrap-venv.sh $(VENV)

# Reinstall only when the package metadata changes (the install is editable).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	@VENV=$(VENV) HOST=$(HOST) PORT=$(PORT) scripts/run.sh

test: install-test
	@VENV=$(VENV) scripts/run-tests.sh

# bench/run.py (page timings, p50/p95/p99) when present; scripts/bench.py times operations.
bench: install
	@if [ -f bench/run.py ]; then $(BIN)/python bench/run.py --customers $(BENCH_CUSTOMERS); \
	else $(BIN)/python scripts/bench.py --customers $(BENCH_CUSTOMERS); fi

bench-ops: install
	$(BIN)/python scripts/bench.py --customers $(BENCH_CUSTOMERS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache bench/out
	find src tests -name __pycache__ -type d -prune -exec rm -rf {} +
	find src -name '*.mo' -delete
	@echo "Kept ./var (the database and secret key). Delete it yourself to start from scratch."
