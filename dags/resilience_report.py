"""Report DAG: the daily HTML report for managers, at 06:00 Japan time."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, task

DOC = """
### resilience_report

Every day at 06:00 Asia/Tokyo, writes the HTML report of the latest analysis snapshot (what is
out and why, single points of failure, battery forecast, outage over time) to
`<report_dir>/report-<day>.html` (`settings.report_dir`, default `var/reports`). The file path
goes through XCom.

**Idempotent**: the file is keyed by the run's day (in Japan time) and written atomically;
running the day again rewrites the same file from the snapshot current at that moment.
"""


@dag(
    dag_id="resilience_report",
    schedule=CronTriggerTimetable("0 6 * * *", timezone="Asia/Tokyo"),
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    max_active_runs=1,
    tags=["resilience", "report"],
    doc_md=DOC,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "owner": "noc"},
)
def resilience_report():
    @task
    def write_report(logical_date=None, dag_run=None) -> str:
        """Write the report of this run's day; return its path."""
        import pendulum

        from resilience.pipeline import report_for
        from resilience.settings import load_settings

        s = load_settings()
        when = pendulum.instance(logical_date or dag_run.run_after).in_timezone("Asia/Tokyo")
        return report_for(when.date(), out_dir=s.path(s.report_dir))

    write_report()


resilience_report()
