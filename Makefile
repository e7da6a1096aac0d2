# Set-up on a fresh Debian 12 machine: `make demo` (run everything) and `make test`.
SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := postgresql-15-postgis-3 python3-venv

.PHONY: all setup sysdeps db demo test lint typecheck pytest stop clean-var

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

lint: setup
	$(BIN)/ruff check backend cbm_widgets tests bench

typecheck: setup
	$(BIN)/mypy

# pytest exits 5 when no test was collected: that is a failure here.
pytest: db
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

test: lint typecheck pytest

stop:
	-@$(BIN)/cbm db stop
