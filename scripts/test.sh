#!/usr/bin/env bash
# The README's test command (make test): lint, start a private PostgreSQL, run every test, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
ruff check resilience dags plugins tests benchmarks
ruff check --select AIR3 dags/
export RESILIENCE_TEST_PG_URL=$(scripts/pg.sh start)
trap 'scripts/pg.sh stop' EXIT
pytest -q -n 2 --dist loadgroup "$@"
