"""DAG integrity, policies, and end-to-end dag.test() runs of the pipeline (ingest -> analyze),
with the project store on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CONTRACT_LINKS, CONTRACT_NODES
from tests.dags.conftest import ROOT

DAG_IDS = {"resilience_ingest", "resilience_analyze", "resilience_report", "resilience_whatif",
           "resilience_restore", "resilience_harden"}

_RUNS = iter(range(10_000))


def _when() -> datetime:
    """A logical date no other test of this session uses (tests share the Airflow metadata DB)."""
    return datetime(2024, 1, 3, tzinfo=UTC) + timedelta(hours=next(_RUNS))


def _status(at: datetime) -> str:
    ts = at.isoformat()
    return ("observed_at,node_id,state,power,battery_remaining_min\n"
            f"{ts},A1,down,none,0\n{ts},B2,up,battery,90\n")


# --- no Airflow needed ------------------------------------------------------------------------

def test_ruff_air3_is_clean_on_dags():
    ruff = Path(sys.executable).with_name("ruff")
    out = subprocess.run([str(ruff), "check", "--select", "AIR3", str(ROOT / "dags")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


# --- DagBag and policies ----------------------------------------------------------------------

@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
def test_dagbag_loads_every_dag_without_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert DAG_IDS == set(dagbag.dags)


@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_dag_policy(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.catchup is False
    assert dag.tags and "resilience" in dag.tags
    assert dag.doc_md and len(dag.doc_md) > 200
    assert dag.start_date.tzinfo is not None
    assert dag.max_active_runs <= 16
    for t in dag.tasks:
        assert t.retries >= 2, f"{dag_id}.{t.task_id} retries {t.retries}"


@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
def test_dag_files_import_no_heavy_libraries_at_parse_time():
    code = ("import sys; sys.path.insert(0, " + repr(str(ROOT / "dags")) + ")\n"
            "import resilience_ingest, resilience_analyze, resilience_report, resilience_whatif\n"
            "import resilience_restore\n"
            "heavy = {'pandas', 'networkx', 'great_expectations', 'numba'}\n"
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "pandas" not in out.stdout and "networkx" not in out.stdout and "great_expectations" not in out.stdout


def test_whatif_params_are_validated_by_schema():
    from airflow.sdk import Param
    from airflow.sdk.exceptions import ParamValidationError

    sys.path.insert(0, str(ROOT / "dags"))
    try:
        import resilience_whatif as w
    finally:
        sys.path.remove(str(ROOT / "dags"))
    assert isinstance(w.PARAMS["region_km"], Param)
    for name, bad in [("region_lat", 91), ("region_km", 0), ("power_outage_hours", -1),
                      ("failures", "A1"), ("scenario_file", "/etc/passwd")]:
        with pytest.raises(ParamValidationError):
            Param(w.PARAMS[name].value, **w.PARAMS[name].schema).resolve(bad)


# --- end to end --------------------------------------------------------------------------------

@pytest.fixture
def pipeline_env(db_url, tmp_path, monkeypatch):
    """The project store (SQLite or PostgreSQL), home, inbox for tasks run in-process."""
    home = tmp_path / "home"
    inbox = tmp_path / "inbox"
    (home / "config" / "scenarios").mkdir(parents=True)
    inbox.mkdir()
    monkeypatch.setenv("RESILIENCE_HOME", str(home))
    monkeypatch.setenv("RESILIENCE_DB_URL", db_url)
    monkeypatch.setenv("RESILIENCE_INBOX", str(inbox))
    monkeypatch.setenv("RESILIENCE_PUSHGATEWAY_URL", "")
    return {"db_url": db_url, "home": home, "inbox": inbox}


def _drop(inbox: Path, name: str, text: str) -> None:
    tmp = inbox / f".{name}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, inbox / name)
    old = (inbox / name).stat().st_mtime - 30
    os.utime(inbox / name, (old, old))


def _count(db_url: str, table: str) -> int:
    from sqlalchemy import text

    from resilience import api

    with api.engine(db_url).connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def _state_events() -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as s:
        return s.scalar(select(func.count()).select_from(AssetEvent).join(
            AssetModel, AssetModel.id == AssetEvent.asset_id).where(AssetModel.uri == "resilience://store/state"))


def _fast_retries(dagbag) -> None:
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            t.retry_delay = timedelta(seconds=0)


def _xcom(dr, task_id: str, map_index: int = -1):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        row = s.execute(select(XComModel.value).where(
            XComModel.dag_id == dr.dag_id, XComModel.run_id == dr.run_id, XComModel.task_id == task_id,
            XComModel.map_index == map_index, XComModel.key == "return_value")).first()
        return XComModel.deserialize_value(row) if row is not None else None


def _states(dr) -> dict[str, str]:
    from airflow.utils.session import create_session

    with create_session() as s:
        return {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in dr.get_task_instances(session=s)}


@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
@pytest.mark.slow
def test_ingest_then_analyze_end_to_end_and_reruns_change_nothing(dagbag, pipeline_env):
    base = _when()
    t_ingest, t_analyze = base + timedelta(minutes=1), base + timedelta(minutes=5)
    STATUS = _status(base)
    db_url, inbox, home = pipeline_env["db_url"], pipeline_env["inbox"], pipeline_env["home"]
    _drop(inbox, "nodes.csv", CONTRACT_NODES)
    _drop(inbox, "links.csv", CONTRACT_LINKS)
    _drop(inbox, "status.csv", STATUS)
    (inbox / "junk.csv").write_bytes(b"\x00garbage" * 10)
    os.utime(inbox / "junk.csv", (0, 0))
    events = _state_events()

    _fast_retries(dagbag)
    ingest = dagbag.dags["resilience_ingest"]
    ingest.get_task("wait_for_feeds").timeout = 3  # an idle run ends (skipped) after 3 s, not 10 min
    ingest.get_task("wait_for_feeds").poke_interval = 1
    dr = ingest.test(logical_date=t_ingest)
    assert str(dr.state) == "success", _states(dr)
    summary = _xcom(dr, "ingest")
    assert summary["changed"] and summary["files_new"] == 3 and summary["rows_accepted"] == 12
    assert [r["path"] for r in summary["rejected"]] == ["junk.csv"]
    assert len(list((inbox / "processed").iterdir())) == 3
    assert [p.name for p in (inbox / "rejected").iterdir() if p.name.endswith(".reason.txt")]
    assert _state_events() == events + 1  # the asset event that starts resilience_analyze
    feed_files = _count(db_url, "feed_files")

    # The same logical date again (a re-run): nothing to claim, nothing stored, no event.
    dr = ingest.test(logical_date=t_ingest)
    assert str(dr.state) == "success", _states(dr)
    assert _states(dr)["wait_for_feeds[-1]"].endswith("skipped")
    assert _count(db_url, "feed_files") == feed_files and _state_events() == events + 1
    # The same content delivered again under another name: stored already, no event.
    _drop(inbox, "status-again.csv", STATUS)
    dr = ingest.test(logical_date=t_ingest + timedelta(minutes=1))
    assert _xcom(dr, "ingest")["changed"] is False and _state_events() == events + 1

    analyze = dagbag.dags["resilience_analyze"]
    dr = analyze.test(logical_date=t_analyze)
    assert str(dr.state) == "success", _states(dr)
    snap = _xcom(dr, "analyze")
    assert _count(db_url, "snapshots") == 1
    exports = home / "var" / "exports" / str(snap)
    assert sorted(p.name for p in exports.iterdir()) == ["docomo.json"]
    doc = json.loads((exports / "docomo.json").read_text())
    assert doc["snapshot_id"] == snap and doc["operator"] == "docomo"
    # A1 is down (status feed): A1, B1, B3 are out; only C1 and B2 are served, B2 over L4.
    assert {r["element_id"] for r in doc["spofs"]} == {"C1", "L4"}
    assert {r["node_id"] for r in doc["nodes_out"]} == {"A1", "B1", "B3"}
    before = (exports / "docomo.json").read_bytes()

    # Re-running the same logical date changes nothing: same snapshot, same export.
    dr = analyze.test(logical_date=t_analyze)
    assert str(dr.state) == "success" and _xcom(dr, "analyze") == snap
    assert _count(db_url, "snapshots") == 1 and (exports / "docomo.json").read_bytes() == before


@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
@pytest.mark.slow
def test_a_task_failing_half_way_and_retried_leaves_no_partial_snapshot(dagbag, pipeline_env, monkeypatch):
    from resilience import api
    from resilience.store import snapshots

    db_url = pipeline_env["db_url"]
    api.ingest([_write(pipeline_env["home"], "nodes.csv", CONTRACT_NODES),
                _write(pipeline_env["home"], "links.csv", CONTRACT_LINKS)], db_url=db_url)
    seen = {"injected": 0, "calls": 0, "snapshot_rows_before_retry": None}
    real_insert = snapshots.bulk_insert

    def fail_once_half_way(conn, table, frame):
        # the snapshot row and its first child table are written, then the write fails
        seen["calls"] += 1
        if seen["injected"] == 0 and seen["calls"] == 2:
            seen["injected"] += 1
            raise RuntimeError("injected failure half-way through writing the snapshot")
        return real_insert(conn, table, frame)

    real = api.analyze_once

    def watching(as_of, **kw):
        if seen["injected"]:
            seen["snapshot_rows_before_retry"] = _count(db_url, "snapshots")
        return real(as_of, **kw)

    monkeypatch.setattr(api, "analyze_once", watching)
    monkeypatch.setattr(snapshots, "bulk_insert", fail_once_half_way)
    analyze = dagbag.dags["resilience_analyze"]
    analyze.get_task("analyze").retry_delay = timedelta(seconds=0)
    dr = analyze.test(logical_date=_when())
    assert seen["injected"] == 1, "the failure was not injected: did analyze write snapshot_* rows?"
    assert seen["snapshot_rows_before_retry"] == 0  # the failed try left nothing
    assert str(dr.state) == "success", _states(dr)
    assert _count(db_url, "snapshots") == 1
    assert _count(db_url, "snapshot_elements") > 0


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def _conf(**given) -> dict:
    """A full what-if conf (dag.test() keeps the conf of an earlier call in the DAG's params)."""
    empty = {"failures": [], "srlg": [], "region_lat": None, "region_lon": None, "region_km": None,
             "power_outage_target": None, "power_outage_hours": None, "scenario_file": None}
    kind = next(k for k in ("failures", "srlg", "scenario_file") if given.get(k))  # the form's "What fails"
    return {**empty, "damage": kind, **given}


@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
@pytest.mark.slow
def test_whatif_dag_writes_json_and_html_and_refuses_bad_params(dagbag, pipeline_env):
    from resilience import api

    db_url, home = pipeline_env["db_url"], pipeline_env["home"]
    api.ingest([_write(home, "nodes.csv", CONTRACT_NODES), _write(home, "links.csv", CONTRACT_LINKS)],
               db_url=db_url)
    whatif = dagbag.dags["resilience_whatif"]
    dr = whatif.test(logical_date=_when(), run_conf=_conf(failures=["A1"]))
    assert str(dr.state) == "success", _states(dr)
    paths = _xcom(dr, "simulate")
    doc = json.loads(Path(paths["json"]).read_text())
    assert doc["result"]["lost"]["subscribers"] == 500
    assert Path(paths["json"]).parent.parent == home / "var" / "whatif"
    assert "<html" in Path(paths["html"]).read_text()

    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match="scenario_file"):  # only the offered files
        whatif.test(logical_date=_when(), run_conf=_conf(scenario_file="../../etc/passwd"))
    dr = whatif.test(logical_date=_when(), run_conf=_conf(failures=["A1", "NOPE"]))
    assert str(dr.state) == "failed"
    assert _states(dr)["validate[-1]"].endswith("failed")


@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
@pytest.mark.slow
def test_report_dag_writes_the_report_of_the_day(dagbag, pipeline_env):
    from resilience import api

    db_url, home = pipeline_env["db_url"], pipeline_env["home"]
    api.ingest([_write(home, "nodes.csv", CONTRACT_NODES), _write(home, "links.csv", CONTRACT_LINKS)],
               db_url=db_url)
    api.analyze(db_url=db_url)
    when = _when().replace(hour=21) + timedelta(days=30)  # 06:00 next day in Japan
    dr = dagbag.dags["resilience_report"].test(logical_date=when)
    assert str(dr.state) == "success", _states(dr)
    path = Path(_xcom(dr, "write_report"))
    day = (when + timedelta(hours=9)).date().isoformat()
    assert path.parent == home / "var" / "reports" / day and path.stat().st_size > 0
