"""Restoration DAG: while sites are out, a restoration plan for the latest analysis snapshot.

### resilience_restore

Runs whenever **resilience_ingest** stored new rows (schedule: the asset
`resilience://store/state`), next to **resilience_analyze**.

1. **latest_snapshot**: the newest complete analysis snapshot and how many nodes it found out
   (XCom: `{"snapshot_id", "nodes_out"}`; `snapshot_id` is null before the first analysis).
2. **plan**: when something is out, plans the restoration with the resources file
   `settings.restoration_resources` (`RESILIENCE_RESTORATION_RESOURCES`; default
   `config/resources/noto-2024.yaml`) over 72 h and writes
   the plan (ordered actions, served subscribers per hour, subscriber-hours lost against the
   nearest / largest / fifo baselines) to `<restoration_dir>/restoration-<snapshot_id>.json`
   (`settings.restoration_dir`, default `var/restoration`), filed under the snapshot it was made
   from. The path is the XCom (empty when nothing is out).
   A bad resources file fails the run at once, without retries.

**Idempotent**: the plan is keyed by the snapshot id and written atomically; re-running a run
rewrites the same file.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from resilience_assets import STATE


@dag(
    dag_id="resilience_restore",
    schedule=[STATE],
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    max_active_runs=1,
    tags=["resilience", "restoration", "planning"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "owner": "noc"},
)
def resilience_restore():
    @task
    def latest_snapshot() -> dict:
        """The newest snapshot's id and its count of nodes out."""
        from resilience import api

        return api.latest_outage()

    @task
    def plan(snapshot: dict) -> str:
        """Plan the restoration of that snapshot's state; return the plan's path ('' if none)."""
        from airflow.sdk.exceptions import AirflowFailException

        from resilience import api
        from resilience.errors import BadInput
        from resilience.settings import load_settings

        if snapshot["snapshot_id"] is None or snapshot["nodes_out"] == 0:
            return ""
        s = load_settings()
        try:  # the resources file: settings.restoration_resources
            result = api.restore(None, snapshot_id=snapshot["snapshot_id"], horizon_h=72.0,
                                 out_dir=s.path(s.restoration_dir))
        except BadInput as exc:
            raise AirflowFailException(str(exc)) from None
        return result["path"]

    plan(latest_snapshot())


resilience_restore()
