#!/usr/bin/env bash
# make bench: every benchmark, each printing medians and ratios against a baseline run in the
# same process. Starts the private PostgreSQL server for the database benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
# A server of this run's own (folder, free port): never the developer's var/pg or a test run's.
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/resilience-bench.XXXXXX") && chmod 755 "$run_dir"
export RESILIENCE_PG_DIR="$run_dir/pg" RESILIENCE_PG_PORT=auto
trap 'scripts/pg.sh stop; rm -rf "$run_dir"' EXIT
pg_url=$(scripts/pg.sh start) || { echo "error: the benchmark PostgreSQL server did not start" >&2; exit 1; }
export RESILIENCE_TEST_PG_URL="$pg_url"
SITES=${SITES:-1000000}
python benchmarks/synthetic.py
python benchmarks/blast_radius.py
python benchmarks/ingest.py --sites "$SITES"
python benchmarks/exporter.py
python benchmarks/scale.py --sites "$SITES"
python benchmarks/peers.py --sites "$SITES" --repeats 3
python benchmarks/receiver.py
python benchmarks/restoration.py
python benchmarks/hardening.py --skip-synthetic
# Feed latency needs the running pipeline (make up): python benchmarks/feed_latency.py
