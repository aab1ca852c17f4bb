"""Hardening DAG: monthly (and on demand) the hardening plan of the stored network.

### resilience_harden

Monthly (first day, 03:00 Asia/Tokyo) and on demand with Params: where the next yen of
hardening keeps the most people connected.

1. **plan**: `resilience.api.harden` on the stored network with the measures catalogue
   (`config/hardening/measures.yaml` unless the Param names another file) and the scenario
   files (default: every file of `config/scenarios` that applies to the network), `runs`
   samples over `horizon_hours`; writes the plan (measures with site, cost and expected
   subscriber-hours saved, the frontier, the baselines `uniform` and `largest` at the same
   budget) to `<hardening_dir>/hardening-<budget>.json` (`settings.hardening_dir`, default
   `var/hardening`) and the page next to it
   (`hardening-<budget>.html`). XCom: the JSON path and the headline figures. A bad catalogue,
   scenario or Param fails the run at once, without retries.

**Idempotent**: the files are keyed by the budget and written atomically; a re-run rewrites them.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

PARAMS = {
    "budget": Param(2e9, type="number", minimum=0, title="Budget (yen)",
                    description="Money to spend on hardening, in the catalogue's currency."),
    "runs": Param(200, type="integer", minimum=1, maximum=100000, title="Scenario samples",
                  description="Samples of the ensemble in all, shared out by scenario weight."),
    "horizon_hours": Param(168, type="number", exclusiveMinimum=0, maximum=8760, title="Horizon (hours)",
                           description="Hours counted by the objective (subscriber-hours lost)."),
    "measures": Param("", type="string", title="Measures catalogue",
                      description="A catalogue YAML under the project home; empty: config/hardening/measures.yaml."),
    "scenarios": Param([], type="array", items={"type": "string"}, title="Scenario files",
                       description="Scenario or ensemble YAML files; empty: every file of config/scenarios."),
    "holdout": Param("", type="string", title="Held-out scenario",
                     description="A scenario name left out of planning and scored alone (empty: none)."),
}


@dag(
    dag_id="resilience_harden",
    schedule="0 3 1 * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Tokyo"),
    catchup=False,
    max_active_runs=1,
    tags=["resilience", "hardening", "planning"],
    doc_md=__doc__,
    params=PARAMS,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5), "owner": "planning"},
)
def resilience_harden():
    @task
    def plan(params=None) -> dict:
        """Plan within the budget; write the JSON and the page; return the path and headline."""
        from pathlib import Path

        from airflow.sdk.exceptions import AirflowFailException

        from resilience import api
        from resilience.errors import BadInput
        from resilience.files import write_text_atomic
        from resilience.reports.hardening import render_hardening
        from resilience.settings import load_settings

        p = params or {}
        s = load_settings()
        try:
            out = api.harden(float(p.get("budget", 2e9)), measures=(s.path(p["measures"]) if p.get("measures") else None),
                             scenarios=[s.path(f) for f in p["scenarios"]] if p.get("scenarios") else None,
                             runs=int(p.get("runs", 200)), horizon_h=float(p.get("horizon_hours", 168)),
                             holdout=p.get("holdout") or None, out_dir=s.path(s.hardening_dir))
        except BadInput as exc:
            raise AirflowFailException(str(exc)) from None
        page = write_text_atomic(Path(out["path"]).with_suffix(".html"), render_hardening(out, tz=api.display_timezone()))
        return {"path": out["path"], "page": str(page), "budget": out["budget"],
                "expected_subscriber_hours_lost": out["expected_subscriber_hours_lost"],
                "baseline_loss": out["baseline_loss"], "measures": len(out["plan"])}

    plan()


resilience_harden()
