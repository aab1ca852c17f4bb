"""What-if DAG: a planner fills in an outage in the Airflow UI and gets JSON and HTML results."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

DOC = """
### resilience_whatif

Manual. Trigger it with **Trigger DAG** and fill in one or more of:

| Param | What |
|---|---|
| failures | ids of nodes or links that fail |
| srlg | shared-risk groups that are cut (every link in them fails) |
| region_lat, region_lon, region_km | everything within km of a point fails (all three or none) |
| power_outage_target, power_outage_hours | a power feed id (or `all`) without grid power for so many hours |
| scenario_file | a scenario file name under `config/scenarios/` |

The Params are checked by their JSON schemas in the form; **validate** then checks that they
make one consistent scenario (and that the scenario file lies under `config/scenarios/`); a bad
input fails at once, without retries. **simulate** runs the what-if (baseline, scenario and the
difference; the stored network is never changed) and writes `result.json` and `result.html`
to `var/whatif/<run_id>/`; the two paths are the XCom.

**Idempotent**: running the same run again rewrites the same two files.
"""

PARAMS = {
    "failures": Param([], type="array", items={"type": "string", "minLength": 1, "maxLength": 128},
                      maxItems=10000, title="Failed nodes or links",
                      description="Ids of the nodes or links that fail."),
    "srlg": Param([], type="array", items={"type": "string", "minLength": 1, "maxLength": 128},
                  maxItems=1000, title="Shared-risk groups cut",
                  description="Every link in these groups fails (a conduit, bridge, slope)."),
    "region_lat": Param(None, type=["null", "number"], minimum=-90, maximum=90, title="Region: latitude"),
    "region_lon": Param(None, type=["null", "number"], minimum=-180, maximum=180,
                        title="Region: longitude"),
    "region_km": Param(None, type=["null", "number"], exclusiveMinimum=0, maximum=2000,
                       title="Region: radius (km)"),
    "power_outage_target": Param(None, type=["null", "string"], maxLength=128,
                                 title="Power outage: feed id (or all)"),
    "power_outage_hours": Param(None, type=["null", "number"], minimum=0, maximum=720,
                                title="Power outage: hours without grid power"),
    "scenario_file": Param(None, type=["null", "string"], maxLength=255, pattern=r"^[^/\\][^\\]*$",
                           title="Scenario file (under config/scenarios/)"),
}


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
        """The scenario of the Params; a bad one fails the run without retries."""
        from airflow.sdk.exceptions import AirflowFailException

        from resilience.errors import BadInput
        from resilience.pipeline import scenario_from_params
        from resilience.settings import load_settings

        try:
            return scenario_from_params(params, scenarios_dir=load_settings().path("config/scenarios"))
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

    simulate(validate())


resilience_whatif()
