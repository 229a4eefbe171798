# The two commands that matter: `make run` (the service, embedded) and `make test` (everything).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
UV_VERSION := 0.13.8
# uv from PATH when there is one; otherwise a private copy installed with pip under .tools/
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV_BIN := $(CURDIR)/.venv/bin
# The locks: every package pinned by version and hash (and nothing naming where it comes from).
RUNTIME_LOCK := requirements/runtime.txt
DEV_LOCK := requirements/dev.txt
COMPILE := $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes --no-header

.PHONY: help run test lint unit lock services-up services-down services-status up down clean

help:
	@echo "make run     start the service (API + worker, SQLite, in-process queue) on $(HOST):$(PORT)"
	@echo "make test    install what the tests need and run lint, types, layers and all tests"
	@echo "make lock    re-pin requirements/*.txt after a change to pyproject.toml (keeps other pins)"

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV_BIN)/python: | $(UV)
	$(UV) venv --quiet --python $(PYTHON) $(CURDIR)/.venv

# Packages are byte-compiled as they are installed: where PYTHONDONTWRITEBYTECODE is set, or
# site-packages is read-only, every process would otherwise compile each module it imports from
# source, each time it starts (measured: 5.1 s instead of 2.8 s to import langchain-openai,
# sqlglot, FastAPI, SQLAlchemy, aiokafka and DuckDB), and the tests start hundreds of them.
PIP_FLAGS := --quiet --python $(VENV_BIN)/python --compile-bytecode

# The project itself is installed editable, built by the pinned hatchling without isolation.
define install_project
$(UV) pip install $(PIP_FLAGS) --no-deps --no-build-isolation -e .
endef

$(VENV_BIN)/dbanalysis: pyproject.toml $(RUNTIME_LOCK) | $(VENV_BIN)/python
	$(UV) pip install $(PIP_FLAGS) --require-hashes -r $(RUNTIME_LOCK)
	$(install_project)
	@touch $@

run: $(VENV_BIN)/dbanalysis
	mkdir -p var
	$(VENV_BIN)/dbanalysis serve --host $(HOST) --port $(PORT)

.venv/.dev-synced: pyproject.toml $(DEV_LOCK) | $(VENV_BIN)/python
	$(UV) pip sync $(PIP_FLAGS) --require-hashes $(DEV_LOCK)
	$(install_project)
	@touch $@

# After editing the dependencies in pyproject.toml: the pins already chosen stay unless they must
# move (`make lock UPGRADE=--upgrade` moves them all).
lock: | $(UV)
	$(COMPILE) $(UPGRADE) pyproject.toml requirements/build.in -o $(RUNTIME_LOCK)
	$(COMPILE) $(UPGRADE) --group pyproject.toml:dev pyproject.toml requirements/build.in -o $(DEV_LOCK)

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
