"""Analysis DAG: a snapshot each time new feed data was stored, then per-operator extracts.

### resilience_analyze

Runs whenever **resilience_ingest** stored new rows (schedule: the asset
`resilience://store/state`).

1. **analyze**: one analysis snapshot per change. When `resilience watch` runs for the same store
   (its heartbeat `<run_dir>/watch-<store>.alive` is fresh), the watch is the writer: this task
   returns the watch's snapshot of the change (waiting up to `settings.watch_wait_seconds`,
   default 60 s) and writes nothing; the watch in turn writes nothing when a snapshot of the
   change exists already. Without a watch it builds the network graph and writes the snapshot (blast radius of every
   node, link and shared-risk group, single points of failure, causes, battery forecast) in one
   transaction: the exporter and reports keep reading the previous snapshot until it commits,
   and a try that fails half-way leaves nothing. The snapshot id goes through XCom.
2. **operators** then **export_operator** (dynamic task mapping, one task per operator, each
   labelled with its operator's name): writes
   that operator's single points of failure and nodes out to
   `<exports_dir>/<snapshot_id>/<operator>.json` for its NOC (`settings.exports_dir`, default
   `var/exports`).

**Why the fan-out is after the analysis, not in it**: all blast radii come from one linear-time
pass over the whole graph (block-cut tree / dominators from the cores). Operators and prefectures
share backhaul, conduits and cores, so splitting the graph per operator or prefecture would give
wrong answers, and running the pass per part would cost more than the single pass. The extracts
are independent of each other, so they map well.

**Idempotent**: the snapshot is keyed by the run's time (`logical_date`, or for asset-triggered
runs that have none, the time the run was queued): re-running a run returns the snapshot it
wrote instead of adding another; the extracts are rewritten identically.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from resilience_assets import STATE


@dag(
    dag_id="resilience_analyze",
    schedule=[STATE],
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    max_active_runs=1,
    tags=["resilience", "analysis"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=20), "owner": "noc"},
)
def resilience_analyze():
    @task
    def analyze(logical_date=None, dag_run=None) -> int:
        """Write the snapshot for this run's time (once); return its id."""
        from resilience import api

        return api.analyze_once(logical_date or dag_run.run_after)

    @task
    def operators(snapshot_id: int) -> list[str]:
        """The operators of the network: one export each."""
        from resilience import api

        return api.snapshot_operators(snapshot_id)

    @task(map_index_template="{{ operator_name }}")
    def export_operator(snapshot_id: int, operator: str) -> str:
        """Write one operator's share of the snapshot; return the file path."""
        from airflow.sdk import get_current_context

        from resilience import api

        get_current_context()["operator_name"] = operator  # the mapped task's label in the UI
        return api.export_operator(snapshot_id, operator)  # into settings.exports_dir

    snapshot_id = analyze()
    export_operator.partial(snapshot_id=snapshot_id).expand(operator=operators(snapshot_id))


resilience_analyze()
