"""What-if DAG: a planner fills in an outage in the Airflow UI and gets JSON and HTML results.

### resilience_whatif

Manual: **Trigger DAG**, choose **What fails** (one kind of damage per run) and fill in the
fields of that kind only:

| What fails | Fields |
|---|---|
| Failed nodes or links | node or link ids, one per line |
| Shared-risk groups cut | group ids (a conduit, pole line, bridge, slope), one per line |
| A region | latitude, longitude and radius in km: everything within it fails |
| A power outage | a power feed id **or a municipality name** (e.g. `Wajima`) and the hours without grid power |
| A scenario file | one of the files in `config/scenarios/` (`settings.scenarios_dir`; offered in the list) |

The form checks each field (types and ranges) before the run starts: the fields, bounds and
messages are those of `resilience.api.WhatIfRequest`, as for `resilience whatif` and the API.
**validate** then checks that the fields make one scenario and that every id, group, power feed
and municipality exists in the stored network: bad input fails at once, naming what is wrong, without retries.
**simulate** runs the what-if (the stored network is never changed) and writes `result.html`
(the page for planners: what is lost by operator and municipality, a map, the hourly timeline
of a power outage or the distribution of an earthquake, the new single points of failure)
and `result.json` to `<whatif_dir>/<run_id>/` (`settings.whatif_dir`, default `var/whatif`).

**To read the result**: open the run's **simulate** task, tab **Details**, and click the
**What-if result** button under *Extra Links* (the page is served by the resilience plugin at
`/resilience/whatif/runs/<run_id>`).

**Idempotent**: running the same run again rewrites the same two files.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import BaseOperatorLink, Param, dag, task


def scenario_files() -> dict[str, str]:
    """The scenario files a planner can pick: file name to its ``name:`` line (parse-time cheap)."""
    import re

    from resilience.settings import load_settings

    s = load_settings()
    folder = s.path(s.scenarios_dir)
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


def params() -> dict[str, Param]:
    """The form: one Param per field of :class:`resilience.api.request.WhatIfRequest` (its JSON
    schema: type, bounds, title, description), the scenario file chosen from :func:`scenario_files`."""
    from resilience.api.request import FIELDS, json_schema

    out = {}
    for name in FIELDS:
        schema = json_schema(name)
        if name == "scenario_file":
            schema.update(enum=[None, *_FILES], values_display={"None": "(none)", **_FILES})
        out[name] = Param(schema.pop("default"), **schema)
    return out


PARAMS = params()


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
    doc_md=__doc__,
    params=PARAMS,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "owner": "planning"},
)
def resilience_whatif():
    @task
    def validate(params=None) -> dict:
        """The scenario of the Params, every name checked against the store; bad input fails the
        run at once (AirflowFailException: no retries)."""
        from airflow.sdk.exceptions import AirflowFailException

        from resilience import api
        from resilience.errors import BadInput

        try:  # from the scenarios folder of the settings only
            return api.check_scenario(api.scenario_from_params(params))
        except BadInput as exc:
            raise AirflowFailException(str(exc)) from None

    @task
    def simulate(scenario: dict, run_id: str | None = None) -> dict[str, str]:
        """Run the what-if; write result.json and result.html under <whatif_dir>/<run_id>/."""
        from resilience import api
        from resilience.files import safe_name
        from resilience.settings import load_settings

        s = load_settings()
        return api.run_whatif(scenario, s.path(s.whatif_dir) / safe_name(run_id), run_id=run_id)

    result = simulate(validate())
    result.operator.operator_extra_links = [WhatIfResultLink()]


resilience_whatif()
