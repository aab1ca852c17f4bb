#!/usr/bin/env bash
# The README's test command (make test): lint, start a private PostgreSQL, run every test, stop it.
#
# Each run has its own folder (PostgreSQL data on a free port, RESILIENCE_HOME), so two runs, or
# a run and a developer's server (var/pg, port 55432), never stop each other's server or share
# files. Every real component is required (RESILIENCE_TEST_REQUIRE): a test that needs one runs
# or fails, never skips, and the run ends with the count of tests per component
# (tests/conftest.py). Hypothesis runs derandomized (profile ci); `make fuzz` passes
# --hypothesis-profile=fuzz after it. Arguments go to pytest (a subset: scripts/test.sh tests/x).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
ruff check resilience dags plugins tests benchmarks
ruff check --select AIR3 dags/

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/resilience-test.XXXXXX")
chmod 755 "$run_dir"  # the postgres user must reach its data folder
export RESILIENCE_PG_DIR="$run_dir/pg" RESILIENCE_PG_PORT="${RESILIENCE_TEST_PG_PORT:-auto}"
cleanup() {
  scripts/pg.sh stop || true
  rm -rf "$run_dir"
}
trap cleanup EXIT
if ! pg_url=$(scripts/pg.sh start); then
  echo "error: the test PostgreSQL server did not start (see above): no test run" >&2
  exit 1
fi
export RESILIENCE_TEST_PG_URL="$pg_url"
# Nothing a test writes by default lands in the repository (tests/conftest.py gives each test
# a home of its own under this one).
export RESILIENCE_HOME="$run_dir/home"
mkdir -p "$RESILIENCE_HOME/config" && cp config/resilience.toml "$RESILIENCE_HOME/config/"
export RESILIENCE_TEST_REQUIRE=postgres,prometheus,chromium,airflow,zoo,snmp
pytest -q -n 2 --dist loadgroup --hypothesis-profile=ci "$@"
# The production compose stack, started for real (docs/deploy.md: its own dockerd, images from a
# debootstrap base, ~11 min with the images built). Full runs only, not a subset.
if [ $# -eq 0 ]; then scripts/test-stack.sh; fi
