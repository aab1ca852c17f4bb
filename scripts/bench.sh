#!/usr/bin/env bash
# make bench: every benchmark, each printing medians and ratios against a baseline run in the
# same process. Starts the private PostgreSQL server for the database benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export RESILIENCE_TEST_PG_URL=$(scripts/pg.sh start)
trap 'scripts/pg.sh stop' EXIT
SITES=${SITES:-1000000}
python benchmarks/blast_radius.py
python benchmarks/ingest.py --sites "$SITES"
python benchmarks/exporter.py
if [ -f benchmarks/scale.py ]; then python benchmarks/scale.py --sites "$SITES"; fi
