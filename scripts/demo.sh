#!/usr/bin/env bash
# make demo: the main job on embedded defaults (SQLite under var/demo, nothing to configure).
#   1. generate the Noto peninsula network and the feeds of the 2024-01-01 earthquake
#   2. replay them through the pipeline's ingest + analysis, one row per 6 hours
#   3. list the top single points of failure, the battery forecast and a what-if
#   4. write the manager's HTML report and leave the Prometheus exporter running
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export RESILIENCE_HOME="$PWD"
export RESILIENCE_DB_URL="sqlite:///$PWD/var/demo/resilience.db"
export RESILIENCE_SNAPSHOTS_KEPT=500   # keep the whole replay for the report's outage-over-time chart
mkdir -p var/demo
rm -f var/demo/resilience.db*

echo "== 1. sample: Noto peninsula network and the 2024 earthquake feeds"
resilience sample noto-2024 --out var/demo/noto-2024 >/dev/null
ls var/demo/noto-2024 | sed -n 1,3p; echo "   ... $(ls var/demo/noto-2024 | wc -l) files"

echo "== 2. replay through ingest + analysis (every 6 h)"
resilience init >/dev/null
resilience replay var/demo/noto-2024 --step 6h --format json > var/demo/replay.json
python - <<'PY'
import json
rows = json.load(open("var/demo/replay.json"))
peak = max(rows, key=lambda r: r["sites_down"])
print(f"   {len(rows)} steps; peak {peak['sites_down']} base stations down at {peak['at']} {peak['by_cause']}")
PY

echo "== 3. the network as the replay left it: SPOFs, battery forecast, a what-if"
resilience spof --top 10
resilience forecast
resilience whatif --scenario config/scenarios/noto-route-249.yaml
resilience whatif --power-outage Wajima --hours 12   # grid off in Wajima for 12 h, batteries played forward

echo "== 4. report and exporter"
resilience report --out var/demo/reports
scripts/exporter.sh start
echo
echo "Report:   file://$PWD/var/demo/reports/latest.html"
echo "Metrics:  http://127.0.0.1:${RESILIENCE_EXPORTER_PORT:-9108}/metrics   (stop with: make down)"
