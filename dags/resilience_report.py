"""Report DAG: the daily HTML report for managers, at 06:00 in the operator's time zone.

### resilience_report

Every day at 06:00 in the display time zone (`settings.display_timezone`, default Asia/Tokyo),
writes the HTML report of the latest analysis snapshot (what is out and why, single points of
failure, battery forecast, outage over time) to `<report_dir>/<day>/report-<time>.html` and
`latest.html` (`settings.report_dir`, default `var/reports`). The file path goes through XCom.

**has_inventory** skips the run (nothing written) while the store holds no network yet.
"Since the previous report" compares with the snapshot of the report written before it.

**Idempotent**: the file is keyed by the run's day (in Japan time) and written atomically;
running the day again rewrites the same file from the snapshot current at that moment.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, task

from resilience.settings import load_settings

TZ = load_settings().display_timezone  # the operator's zone: 06:00 there


@dag(
    dag_id="resilience_report",
    schedule=CronTriggerTimetable("0 6 * * *", timezone=TZ),
    start_date=pendulum.datetime(2024, 1, 1, tz=TZ),
    catchup=False,
    max_active_runs=1,
    tags=["resilience", "report"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "owner": "noc"},
)
def resilience_report():
    @task.short_circuit
    def has_inventory() -> bool:
        """Skip the report while the store holds no network (a report of nothing says nothing)."""
        from resilience import api

        return api.has_inventory()

    @task
    def write_report(logical_date=None, dag_run=None) -> str:
        """Write the report of this run's day; return its path."""
        import pendulum

        from resilience import api
        from resilience.settings import load_settings

        s = load_settings()
        when = pendulum.instance(logical_date or dag_run.run_after).in_timezone(api.display_timezone(s))
        return api.report_for(when.date(), out_dir=s.path(s.report_dir))

    has_inventory() >> write_report()


resilience_report()
