"""What-if DAG: a planner fills in an outage in the Airflow UI and gets JSON and HTML results."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import BaseOperatorLink, Param, dag, task

DOC = """
### resilience_whatif

Manual: **Trigger DAG**, choose **What fails** (one kind of damage per run) and fill in the
fields of that kind only:

| What fails | Fields |
|---|---|
| Failed nodes or links | node or link ids, one per line |
| Shared-risk groups cut | group ids (a conduit, pole line, bridge, slope), one per line |
| A region | latitude, longitude and radius in km: everything within it fails |
| A power outage | a power feed id **or a municipality name** (e.g. `Wajima`) and the hours without grid power |
| A scenario file | one of the files in `config/scenarios/` (offered in the list) |

The form checks each field (types and ranges) before the run starts. **validate** then checks
that the fields make one scenario and that every id, group, power feed and municipality exists
in the stored network: bad input fails at once, naming what is wrong, without retries.
**simulate** runs the what-if (the stored network is never changed) and writes `result.html`
(the page for planners: what is lost by operator and municipality, a map, the hourly timeline
of a power outage or the distribution of an earthquake, the new single points of failure)
and `result.json` to `var/whatif/<run_id>/`.

**To read the result**: open the run's **simulate** task, tab **Details**, and click the
**What-if result** button under *Extra Links* (the page is served by the resilience plugin at
`/resilience/whatif/runs/<run_id>`).

**Idempotent**: running the same run again rewrites the same two files.
"""

DAMAGE = {
    "failures": "Failed nodes or links",
    "srlg": "Shared-risk groups cut",
    "region": "A region (everything within a radius)",
    "power_outage": "A power outage (feed or municipality, hours)",
    "scenario_file": "A scenario file",
}


def scenario_files() -> dict[str, str]:
    """The scenario files a planner can pick: file name to its ``name:`` line (parse-time cheap)."""
    import re

    from resilience.settings import load_settings

    folder = load_settings().path("config/scenarios")
    out: dict[str, str] = {}
    for f in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        try:
            head = f.read_text(encoding="utf-8", errors="replace")[:4096]
        except OSError:
            continue
        m = re.search(r"^name:\s*(.+?)\s*$", head, re.M)
        out[f.name] = f"{m.group(1).strip(chr(34) + chr(39))} ({f.name})" if m else f.name
    return out


_FILES = scenario_files()
_IDS = {"type": "string", "minLength": 1, "maxLength": 128}

PARAMS = {
    "damage": Param(
        None, type="string", enum=list(DAMAGE), values_display=DAMAGE, title="What fails",
        description="One kind of damage per run: choose it here, then fill in only its fields below "
                    "(a scenario file can combine several)."),
    "failures": Param(
        [], type=["null", "array"], items=_IDS, maxItems=10000, title="Failed nodes or links",
        description="For 'Failed nodes or links': node or link ids as in the inventory, one per line "
                    "(e.g. DCM-WJ-B000). Unknown ids are refused."),
    "srlg": Param(
        [], type=["null", "array"], items=_IDS, maxItems=1000, title="Shared-risk groups cut",
        description="For 'Shared-risk groups cut': group ids as in the links' srlg column, one per line "
                    "(e.g. R249-Sosogi-W). Every link in them fails at once."),
    "region_lat": Param(
        None, type=["null", "number"], minimum=-90, maximum=90, title="Region: latitude (°N)",
        description="For 'A region': the centre's latitude in degrees, -90 to 90 (e.g. 37.39 for Wajima)."),
    "region_lon": Param(
        None, type=["null", "number"], minimum=-180, maximum=180, title="Region: longitude (°E)",
        description="For 'A region': the centre's longitude in degrees, -180 to 180 (e.g. 136.90)."),
    "region_km": Param(
        None, type=["null", "number"], exclusiveMinimum=0, maximum=2000, title="Region: radius (km)",
        description="For 'A region': everything within this many km of the centre fails (more than 0, "
                    "at most 2000)."),
    "power_outage_target": Param(
        None, type=["null", "string"], minLength=1, maxLength=128,
        title="Power outage: power feed or municipality",
        description="For 'A power outage': a power feed id (the inventory's power_feed column) or a "
                    "municipality name, e.g. Wajima. Sites there run on battery."),
    "power_outage_hours": Param(
        None, type=["null", "number"], minimum=0, maximum=720, title="Power outage: hours without grid power",
        description="For 'A power outage': how long grid power stays off, 0 to 720 hours. The result shows "
                    "the sites out hour by hour as batteries run down."),
    "scenario_file": Param(
        None, type=["null", "string"], enum=[None, *_FILES], values_display={"None": "(none)", **_FILES},
        title="Scenario file",
        description="For 'A scenario file': one of the prepared scenarios in config/scenarios/ "
                    "(earthquake, power outage, region, shared-risk groups)."),
}


class WhatIfResultLink(BaseOperatorLink):
    """The **What-if result** button of the simulate task: the run's result page (plugin)."""

    name = "What-if result"

    def get_link(self, operator, *, ti_key) -> str:
        from urllib.parse import quote

        from airflow.configuration import conf

        base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
        return f"{base}/resilience/whatif/runs/{quote(ti_key.run_id, safe='')}"


@dag(
    dag_id="resilience_whatif",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    tags=["resilience", "whatif", "planning"],
    doc_md=DOC,
    params=PARAMS,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "owner": "planning"},
)
def resilience_whatif():
    @task
    def validate(params=None) -> dict:
        """The scenario of the Params, every name checked against the store; bad input fails the
        run at once (AirflowFailException: no retries)."""
        from airflow.sdk.exceptions import AirflowFailException

        from resilience.errors import BadInput
        from resilience.pipeline import check_scenario, scenario_from_params
        from resilience.settings import load_settings

        try:
            scenario = scenario_from_params(params, scenarios_dir=load_settings().path("config/scenarios"))
            return check_scenario(scenario)
        except BadInput as exc:
            raise AirflowFailException(str(exc)) from None

    @task
    def simulate(scenario: dict, run_id: str | None = None) -> dict[str, str]:
        """Run the what-if; write result.json and result.html under var/whatif/<run_id>/."""
        from resilience.feeds.inbox import safe_name
        from resilience.pipeline import run_whatif
        from resilience.settings import load_settings

        out = load_settings().path("var/whatif") / safe_name(run_id)
        return run_whatif(scenario, out, run_id=run_id)

    result = simulate(validate())
    result.operator.operator_extra_links = [WhatIfResultLink()]


resilience_whatif()
