"""Ingest DAG: picks up feed files dropped in the inbox, stores them, files them away.

### resilience_ingest

Picks up the feed files (inventory CSV/JSON Lines/GraphML, node/link status, power) that operators'
systems drop into the inbox folder (`settings.inbox`, `RESILIENCE_INBOX`; default `var/inbox`).

1. **wait_for_feeds** (sensor, every 5 s): claims the settled files of the inbox by moving them
   into `<inbox>/.claimed/<run_id>/` (symlinks and special files go to `rejected/`; `*.part`,
   `*.tmp`, hidden files and files still growing are left for later). Files left in the claim
   folder of a run that died are adopted.
2. **ingest**: ingests the claimed files (inventory first), one transaction per file, and moves
   each to `<inbox>/processed/` or, when unreadable or all rows quarantined, to
   `<inbox>/rejected/` with a `.reason.txt`. When new rows were stored it emits an event on the
   asset `resilience://store/state` (through the alias `resilience-store-updates`), which
   starts **resilience_analyze**. The summary (files, rows accepted and quarantined) is the
   XCom; the Pushgateway listener publishes the rejected rows from it.

**Schedule**: `@continuous` with one active run: a run waits up to 10 minutes for files, so the
inbox is looked at every few seconds while Airflow runs only a few idle runs an hour. That is
what keeps feed-to-snapshot latency under a minute (a cron every few minutes could not).

**Idempotent**: every file is archived by sha256; delivering the same content again changes
nothing and emits no asset event. A retried task carries on with the files it had claimed.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import PokeReturnValue, dag, task
from resilience_assets import STATE, STATE_UPDATES

POKE_SECONDS = 5  # how often the inbox is looked at
WAIT_MINUTES = 10  # an idle run ends after this; the next starts at once (@continuous)


@dag(
    dag_id="resilience_ingest",
    schedule="@continuous",
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    max_active_runs=1,
    tags=["resilience", "ingest"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "owner": "noc"},
)
def resilience_ingest():
    @task.sensor(poke_interval=POKE_SECONDS, timeout=WAIT_MINUTES * 60, mode="poke", soft_fail=True)
    def wait_for_feeds(run_id: str | None = None) -> PokeReturnValue:
        """Claim the settled inbox files for this run; done when there is any."""
        from resilience import api

        files = api.claim_inbox(run_id, settle_seconds=1.0)
        return PokeReturnValue(is_done=bool(files), xcom_value=run_id)

    @task(outlets=[STATE_UPDATES])
    def ingest(claim_id: str, *, outlet_events=None) -> dict:
        """Ingest the claimed files, file them away, emit the asset event if rows were stored."""
        from resilience import api
        from resilience.settings import load_settings

        s = load_settings()
        summary = api.ingest_inbox(s.path(s.inbox), claim_id, settle_seconds=0, claim_new=False)
        if summary["changed"]:
            outlet_events[STATE_UPDATES].add(STATE, extra={"files": summary["files_new"],
                                                           "rows": summary["rows_accepted"]})
        return summary

    ingest(wait_for_feeds())


resilience_ingest()
