# The two commands that matter: `make run` (the service, embedded) and `make test` (everything).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
UV_VERSION := 0.13.8
# uv from PATH when there is one; otherwise a private copy installed from PyPI under .tools/
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV_BIN := $(CURDIR)/.venv/bin

.PHONY: help run test lint unit services-up services-down services-status up down clean

help:
	@echo "make run     start the service (API + worker, SQLite, in-process queue) on $(HOST):$(PORT)"
	@echo "make test    install what the tests need and run lint, types, layers and all tests"

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV_BIN)/dbanalysis: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --inexact --no-dev
	@touch $@

run: $(VENV_BIN)/dbanalysis
	mkdir -p var
	$(VENV_BIN)/dbanalysis serve --host $(HOST) --port $(PORT)

.venv/.dev-synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

lint: .venv/.dev-synced
	$(VENV_BIN)/ruff check src tests $(wildcard bench)
	$(VENV_BIN)/ruff format --check src tests $(wildcard bench)
	$(VENV_BIN)/mypy
	$(VENV_BIN)/lint-imports

unit: .venv/.dev-synced
	$(VENV_BIN)/pytest tests/unit -q

# Integration tests need PostgreSQL, Apache Kafka and Trino: the addresses given in the
# environment, else testcontainers where a Docker engine runs (PostgreSQL, Kafka), else native
# services started by our scripts (Trino always: the lab's own script).
test: lint
	source scripts/test-services.sh && $(VENV_BIN)/pytest -q

services-up:
	scripts/services/postgres.sh start
	scripts/services/kafka.sh start
	scripts/services/trino.sh start

services-down:
	-scripts/services/trino.sh stop
	-scripts/services/kafka.sh stop
	-scripts/services/postgres.sh stop

services-status:
	scripts/services/postgres.sh status
	scripts/services/kafka.sh status
	scripts/services/trino.sh status

# Production-like stack in containers, where a Docker engine runs.
up:
	docker compose up -d --build

down:
	docker compose down

clean:
	rm -rf .venv .tools .mypy_cache .pytest_cache .ruff_cache .hypothesis
