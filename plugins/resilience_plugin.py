"""Airflow integration of the resilience pipeline (no domain logic here).

- A listener that publishes pipeline outcomes to a Prometheus Pushgateway
  (``settings.pushgateway_url`` / ``RESILIENCE_PUSHGATEWAY_URL``; nothing is pushed when empty).
- A FastAPI app in the Airflow API server: ``POST /resilience/whatif`` answers what-if requests
  with :func:`resilience.api.whatif` (the body: :class:`resilience.api.WhatIfRequest`, as the
  ``resilience_whatif`` DAG Params; bad input, unknown names and unknown fields are a 422 naming
  the reason);
  ``GET /resilience/whatif/runs/<run_id>`` serves the result page a DAG run wrote (the
  **What-if result** link of its simulate task).

Pushed metrics, grouped by ``job="resilience_pipeline"`` and ``dag_id``, for each ``resilience_*``
DAG when one of its runs ends (the scheduler calls the listener):

- ``resilience_pipeline_last_success_timestamp_seconds``: end of the latest successful run;
- ``resilience_pipeline_last_duration_seconds``: how long that run took;
- ``resilience_pipeline_failures_total``: failed runs in the metadata database;
- ``resilience_pipeline_last_failure_timestamp_seconds``: end of the latest failed run;
- ``resilience_pipeline_last_rows_rejected`` / ``_last_files_rejected`` /
  ``_last_rows_accepted``: from the latest ``resilience_ingest`` run that ingested files.

Every value is read from the metadata database at push time (the run that just ended included),
so the group is pushed whole (``push_to_gateway``, a fresh ``CollectorRegistry`` each time) and
stays right across scheduler restarts.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from prometheus_client import CollectorRegistry
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

JOB = "resilience_pipeline"
DAG_PREFIX = "resilience_"
INGEST_DAG, INGEST_TASK = "resilience_ingest", "ingest"
PUSH_TIMEOUT_S = 3.0


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def pipeline_outcome(session: Session, dag_id: str, current: DagRun | None = None) -> dict[str, float]:
    """The metric values of one DAG, from the metadata database.

    ``current`` is the run that just ended: its end may not be written yet when the listener is
    called, so its own state and times count as well.

    Returns
    -------
    dict
        Metric name (without the ``resilience_pipeline_`` prefix) to value; metrics with no
        data yet (e.g. no successful run) are left out.
    """
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.state import DagRunState
    from sqlalchemy import func, select

    out: dict[str, float] = {}
    others = [DagRun.dag_id == dag_id]
    if current is not None:  # Airflow sessions do not autoflush: count the run that just ended apart
        others.append(DagRun.run_id != current.run_id)
    ok = session.execute(
        select(DagRun.start_date, DagRun.end_date)
        .where(*others, DagRun.state == DagRunState.SUCCESS, DagRun.end_date.is_not(None))
        .order_by(DagRun.end_date.desc()).limit(1)
    ).first()
    if ok is not None:
        out["last_success_timestamp_seconds"] = _ts(ok.end_date)
        if ok.start_date is not None:
            out["last_duration_seconds"] = max(0.0, (ok.end_date - ok.start_date).total_seconds())
    failed, last_failed = session.execute(
        select(func.count(), func.max(DagRun.end_date)).where(*others, DagRun.state == DagRunState.FAILED)
    ).one()
    out["failures_total"] = float(failed)
    if last_failed is not None:
        out["last_failure_timestamp_seconds"] = _ts(last_failed)
    if current is not None:
        from airflow.utils import timezone

        end = current.end_date or timezone.utcnow()
        if current.state == DagRunState.SUCCESS:
            out["last_success_timestamp_seconds"] = _ts(end)
            if current.start_date is not None:
                out["last_duration_seconds"] = max(0.0, (end - current.start_date).total_seconds())
        elif current.state == DagRunState.FAILED:
            out["last_failure_timestamp_seconds"] = _ts(end)
            out["failures_total"] += 1
    if dag_id == INGEST_DAG:
        row = session.execute(
            select(XComModel.value)
            .where(XComModel.dag_id == dag_id, XComModel.task_id == INGEST_TASK,
                   XComModel.key == "return_value")
            .order_by(XComModel.timestamp.desc()).limit(1)
        ).first()
        summary = XComModel.deserialize_value(row) if row is not None else None
        if isinstance(summary, dict):
            out["last_rows_rejected"] = float(summary.get("rows_quarantined", 0))
            out["last_files_rejected"] = float(len(summary.get("rejected", [])))
            out["last_rows_accepted"] = float(summary.get("rows_accepted", 0))
    return out


HELP = {
    "last_success_timestamp_seconds": "End of the latest successful run (Unix time).",
    "last_duration_seconds": "Duration of the latest successful run.",
    "failures_total": "Failed runs of the DAG.",
    "last_failure_timestamp_seconds": "End of the latest failed run (Unix time).",
    "last_rows_rejected": "Rows quarantined by the latest ingest that took files.",
    "last_files_rejected": "Files rejected (unreadable, or every row quarantined) by the latest ingest.",
    "last_rows_accepted": "Rows stored by the latest ingest that took files.",
}


class _OutcomeCollector:
    """The values of one push as metric families (counters without ``_created``)."""

    def __init__(self, values: dict[str, float]):
        self.values = values

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        for name, value in sorted(self.values.items()):
            if name.endswith("_total"):
                yield CounterMetricFamily(f"{JOB}_{name[:-len('_total')]}", HELP[name], value=value)
            else:
                yield GaugeMetricFamily(f"{JOB}_{name}", HELP[name], value=value)


def registry_for(values: dict[str, float]) -> CollectorRegistry:
    """A fresh registry holding the values as ``resilience_pipeline_*`` metrics."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(_OutcomeCollector(values))
    return registry


def publish(
    dag_id: str, session: Session, *, url: str | None = None, current: DagRun | None = None
) -> dict[str, float] | None:
    """Push the outcome of ``dag_id`` to the Pushgateway; no-op without a URL. Never raises."""
    from resilience.settings import load_settings

    url = load_settings().pushgateway_url if url is None else url
    if not url or not dag_id.startswith(DAG_PREFIX):
        return None
    try:
        from prometheus_client import push_to_gateway

        values = pipeline_outcome(session, dag_id, current)
        push_to_gateway(url, job=JOB, grouping_key={"dag_id": dag_id}, registry=registry_for(values),
                        timeout=PUSH_TIMEOUT_S)
        return values
    except Exception:  # the scheduler must never stop because monitoring is down
        log.warning("resilience: could not push pipeline metrics of %s to %s", dag_id, url, exc_info=True)
        return None


def _session_of(dag_run: DagRun) -> tuple[Any, bool]:
    from sqlalchemy.orm import object_session

    session = object_session(dag_run)
    if session is not None:
        return session, False
    from airflow.settings import Session as make_session

    return make_session(), True


def _on_run_end(dag_run: DagRun) -> None:
    session, own = _session_of(dag_run)
    try:
        publish(dag_run.dag_id, session, current=dag_run)
    finally:
        if own:
            session.close()


class PipelineMetricsListener:
    """Publishes a ``resilience_*`` DAG's outcome whenever one of its runs ends."""

    @hookimpl
    def on_dag_run_success(self, dag_run: DagRun, msg: str) -> None:
        _on_run_end(dag_run)

    @hookimpl
    def on_dag_run_failed(self, dag_run: DagRun, msg: str) -> None:
        _on_run_end(dag_run)


def _request_model() -> type[BaseModel]:
    """The API's body as a pydantic model generated from the library's what-if request
    (:data:`resilience.api.request.FIELDS`: the same fields, bounds and words as the DAG's
    Params and ``resilience whatif``). A field that is not one of these (e.g. a misspelt
    ``failure``) is refused (422), never ignored."""
    from typing import Annotated

    from pydantic import StringConstraints, create_model

    from resilience.api.request import DAMAGE, FIELDS

    fields: dict[str, Any] = {}
    for name, f in FIELDS.items():
        if f.kind == "choice":
            fields[name] = (Literal[tuple(DAMAGE)] | None, Field(None, title=f.title, description=f.description))
        elif f.kind == "ids":
            item = Annotated[str, StringConstraints(min_length=1, max_length=f.max_length)]
            fields[name] = (list[item] | None, Field(default_factory=list, max_length=f.max_items,
                                                     title=f.title, description=f.description))
        elif f.kind == "number":
            fields[name] = (float | None, Field(None, ge=f.minimum, le=f.maximum, gt=f.exclusive_minimum,
                                                title=f.title, description=f.description))
        else:
            fields[name] = (str | None, Field(None, min_length=1, max_length=f.max_length, title=f.title,
                                              description=f.description))
    return create_model("WhatIfRequest", __config__=ConfigDict(extra="forbid"),
                        __doc__="A what-if request (one kind of damage): resilience.api.WhatIfRequest.", **fields)


WhatIfRequest = _request_model()


def result_page(run_id: str, home: Path | None = None) -> Path | None:
    """The ``result.html`` of a what-if run (``<whatif_dir>/<run_id>/``), if it was written.

    The run id is mapped to its folder the way the DAG maps it (:func:`resilience.files.safe_name`)
    and the path must stay inside the settings' ``whatif_dir`` (no ``..``, no symlink out).
    """
    from resilience.files import inside, safe_name
    from resilience.settings import load_settings

    s = load_settings()
    root = home or s.path(s.whatif_dir)
    try:
        path = inside(root, f"{safe_name(run_id)}/result.html")
    except ValueError:
        return None
    return path if path.is_file() else None


def _whatif_app():
    """``POST /whatif`` (scenario fields as the DAG Params), ``GET /whatif/runs/{run_id}`` (the
    result page of a DAG run) and ``GET /health``."""
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.responses import HTMLResponse

    trigger, read = [], []
    try:  # callers need the rights on the what-if DAG (Airflow's own auth: token or UI cookie)
        from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
        from airflow.api_fastapi.core_api.security import requires_access_dag

        trigger = [Depends(requires_access_dag("POST", param_dag_id="resilience_whatif"))]
        read = [Depends(requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id="resilience_whatif"))]
    except ImportError:  # pragma: no cover - older API servers
        pass

    app = FastAPI(title="Resilience what-if", description="What-if outages over the stored network.")

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.post("/whatif", dependencies=trigger)
    def whatif(req: WhatIfRequest) -> dict:
        import warnings

        from resilience import api
        from resilience.errors import BadInput

        try:  # scenario files from the settings' scenarios_dir only
            scenario = api.check_scenario(api.scenario_from_params(req.model_dump()))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return api.whatif(scenario).to_dict()
        except BadInput as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        except ValueError as exc:  # the scenario itself refuses the input (e.g. a bad scenario file)
            raise HTTPException(status_code=422, detail=f"scenario: {exc}") from None

    @app.get("/whatif/runs/{run_id}", dependencies=read, response_class=HTMLResponse)
    def result(run_id: str) -> HTMLResponse:
        path = result_page(run_id)
        if path is None:
            raise HTTPException(status_code=404, detail=f"no what-if result for run {run_id!r} (yet): "
                                                        "the simulate task writes it when it succeeds")
        return HTMLResponse(path.read_text(encoding="utf-8"),
                            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                                "img-src data:",
                                     "X-Content-Type-Options": "nosniff"})

    return app


class ResiliencePlugin(AirflowPlugin):
    """The listener and the what-if API."""

    name = "resilience"
    listeners = [PipelineMetricsListener()]
    fastapi_apps = [{"app": _whatif_app(), "url_prefix": "/resilience", "name": "Resilience what-if"}]
