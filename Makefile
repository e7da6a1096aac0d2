# Set-up on a fresh Debian 12 machine: `make demo` (run everything) and `make test`.
SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := postgresql-15-postgis-3 python3-venv chromium nodejs libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0

.PHONY: all setup sysdeps db demo demo-data test lint typecheck pytest stop hub

all: demo

sysdeps:
	@scripts/sysdeps.sh $(SYSTEM_PACKAGES)
	@scripts/pg-user.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

.env:
	cp .env.demo .env

setup: sysdeps $(STAMP) .env

db: setup
	@$(BIN)/cbm db start
	@$(BIN)/cbm db migrate

# The demo data pipeline (build, import, catalogue, extraction via the batch runner, markers).
demo-data: db
	@$(BIN)/cbm demo run

demo: demo-data
	@scripts/serve-demo.sh

CHP := var/node/node_modules/.bin/configurable-http-proxy

# configurable-http-proxy for JupyterHub, from the npm registry.
$(CHP):
	@command -v npm >/dev/null || { echo "npm not found: apt-get install -y npm (or nodejs from nodesource)" >&2; exit 1; }
	npm install --silent --no-audit --no-fund --prefix var/node configurable-http-proxy

hub: db $(CHP)
	@scripts/hub.sh

lint: setup
	$(BIN)/ruff check backend cbm_widgets tests bench hub-config apps scripts notebooks

typecheck: setup
	$(BIN)/mypy

# Two pytest workers (pytest-xdist, tests dealt one by one) for the two cores; tests share the demo
# database read-mostly and shared caches are locked (tests/s1card.py). PYTEST_WORKERS=0: one process.
# The schemathesis fuzzing runs in a process of its own after them: under pytest-xdist it quietly
# shrinks to a handful of cases (8 distinct requests instead of 384).
# pytest exits 5 when no test was collected: that is a failure here.
PYTEST_WORKERS ?= 2
SERIAL_TESTS := tests/api/test_fuzz.py
pytest: demo-data $(CHP)
	@if [ "$(PYTEST_WORKERS)" = "0" ]; then $(BIN)/pytest $(PYTEST_ARGS); rc=$$?; else \
	  $(BIN)/pytest -n $(PYTEST_WORKERS) --dist load --ignore=$(SERIAL_TESTS) $(PYTEST_ARGS); rc=$$?; \
	  $(BIN)/pytest $(SERIAL_TESTS) $(filter-out tests/%,$(PYTEST_ARGS)); rc2=$$?; \
	  if [ $$rc -eq 0 ] && [ $$rc2 -ne 0 ]; then rc=$$rc2; fi; fi; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

test: lint typecheck pytest

stop:
	-@for f in var/serve/*.pid; do [ -f "$$f" ] && kill "$$(cat $$f)" 2>/dev/null; rm -f "$$f"; done; true
	-@$(BIN)/cbm db stop
