# Set-up on a fresh Debian 12 machine: `make demo` (run everything) and `make test`.
SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := postgresql-15-postgis-3 python3-venv chromium nodejs

.PHONY: all setup sysdeps db demo test lint typecheck pytest stop hub

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

demo: db
	@$(BIN)/cbm demo run

CHP := var/node/node_modules/.bin/configurable-http-proxy

# configurable-http-proxy for JupyterHub, from the npm registry.
$(CHP):
	@command -v npm >/dev/null || { echo "npm not found: apt-get install -y npm (or nodejs from nodesource)" >&2; exit 1; }
	npm install --silent --no-audit --no-fund --prefix var/node configurable-http-proxy

hub: db $(CHP)
	@scripts/hub.sh

lint: setup
	$(BIN)/ruff check backend cbm_widgets tests bench hub-config

typecheck: setup
	$(BIN)/mypy

# pytest exits 5 when no test was collected: that is a failure here.
pytest: db $(CHP)
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

test: lint typecheck pytest

stop:
	-@$(BIN)/cbm db stop
