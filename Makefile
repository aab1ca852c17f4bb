# The two commands of the README: `make demo` and `make test`. Both build .venv from requirements.lock.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export RESILIENCE_HOME := $(CURDIR)

.PHONY: venv demo test fuzz test-fast lint bench lock up down pg-start pg-stop system-deps clean test-stack

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@command -v $(PY) >/dev/null || PY=python3; $${PY:-$(PY)} -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

## Install the Debian packages the tests use (PostgreSQL, Prometheus + promtool, Alertmanager, Pushgateway, Chromium, docker-compose)
system-deps:
	scripts/system-deps.sh

demo: venv
	scripts/demo.sh

test: venv system-deps
	scripts/test.sh

## The production compose stack started for real and checked end to end (root; docs/deploy.md)
test-stack: venv system-deps
	scripts/test-stack.sh

## The property (Hypothesis) tests with fresh seeds and FUZZ_FACTOR (default 20) times their examples
FUZZ_FACTOR ?= 20
fuzz: venv system-deps
	RESILIENCE_FUZZ_FACTOR=$(FUZZ_FACTOR) scripts/test.sh -m hypothesis --hypothesis-profile=fuzz --timeout=3600

test-fast: venv
	$(BIN)/pytest -q -m "not postgres and not slow and not prometheus and not chromium and not airflow" -n 2

lint: venv
	$(BIN)/ruff check resilience dags plugins tests benchmarks
	$(BIN)/ruff check --select AIR3 dags/

bench: venv system-deps
	scripts/bench.sh

lock:
	rm -rf /tmp/resilience-lock && python3 -m venv /tmp/resilience-lock
	/tmp/resilience-lock/bin/pip install -q -e '.[deploy]'
	{ echo "# Runtime pins: every dependency (direct and transitive) of the library and of the production image"; \
	  echo "# (pyproject's dependencies plus its 'deploy' extra), Python 3.11. Dev tools: requirements-dev.lock."; \
	  echo "# Regenerate: make lock"; /tmp/resilience-lock/bin/pip freeze | grep -v '^-e\|^resilience'; } > requirements.lock
	/tmp/resilience-lock/bin/pip install -q -e '.[dev]'
	{ echo "# Dev tools only (tests, lint), on top of requirements.lock: never in the image. Regenerate: make lock"; \
	  /tmp/resilience-lock/bin/pip freeze | grep -v '^-e\|^resilience' | grep -vxFf requirements.lock; } > requirements-dev.lock

up: venv
	scripts/up.sh

down:
	scripts/down.sh

pg-start:
	scripts/pg.sh start

pg-stop:
	scripts/pg.sh stop

clean:
	rm -rf var/ .pytest_cache
