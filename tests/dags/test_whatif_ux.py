"""The what-if DAG as a planner meets it: a form that guides (titles, descriptions, types,
bounds, choices, one kind of damage), bad input failing at once in validate, the result page
one click away (the simulate task's extra link), and the small pipeline fixes (the report DAG
skips an empty network, mapped exports are labelled by operator)."""

from __future__ import annotations

import importlib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CONTRACT_LINKS, CONTRACT_NODES
from tests.dags.conftest import ROOT

_RUNS = iter(range(10_000))


def _when() -> datetime:
    """A logical date no other test uses (the Airflow metadata DB is shared in a session)."""
    return datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=next(_RUNS))


def _whatif_module(monkeypatch, home: Path):
    """``dags/resilience_whatif.py`` imported afresh with ``home`` as RESILIENCE_HOME."""
    monkeypatch.setenv("RESILIENCE_HOME", str(home))
    monkeypatch.syspath_prepend(str(ROOT / "dags"))
    sys.modules.pop("resilience_whatif", None)
    return importlib.import_module("resilience_whatif")


# --- the form -----------------------------------------------------------------------------------

def test_every_param_is_titled_described_and_only_what_fails_is_required(monkeypatch):
    w = _whatif_module(monkeypatch, ROOT)
    for name, p in w.PARAMS.items():
        s = p.schema
        assert s.get("title") and len(p.description or "") > 30, name
        types = s["type"] if isinstance(s["type"], list) else [s["type"]]
        # the Airflow form marks every field whose type does not admit null as required
        assert ("null" not in types) == (name == "damage"), f"{name}: {types}"
    assert w.PARAMS["damage"].schema["enum"] == ["failures", "srlg", "region", "power_outage", "scenario_file"]
    assert "Wajima" in w.PARAMS["power_outage_target"].description  # municipality names work
    assert "One kind of damage per run" in w.PARAMS["damage"].description
    for name, bad in [("region_lat", 91), ("region_lon", -181), ("region_km", -5), ("region_km", 0),
                      ("power_outage_hours", 721), ("failures", "A1"), ("scenario_file", "nope.yaml"),
                      ("damage", None), ("damage", "everything")]:
        p = w.PARAMS[name]
        with pytest.raises(Exception, match="alid|required|not"):
            type(p)(p.value, **p.schema).resolve(bad)


def test_scenario_files_are_offered_by_name(monkeypatch):
    w = _whatif_module(monkeypatch, ROOT)
    shipped = sorted(p.name for p in (ROOT / "config" / "scenarios").glob("*.yaml"))
    schema = w.PARAMS["scenario_file"].schema
    assert schema["enum"] == [None, *shipped]
    assert "Wajima and Suzu without grid power for a day (wajima-power-24h.yaml)" in \
        schema["values_display"].values()


# --- runs ---------------------------------------------------------------------------------------

@pytest.fixture
def whatif_env(tmp_path, monkeypatch):
    """A store with the 5-node contract network, the shipped scenarios, no Pushgateway."""
    from resilience import api

    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "scenarios").symlink_to(ROOT / "config" / "scenarios")
    url = f"sqlite:///{tmp_path}/r.db"
    monkeypatch.setenv("RESILIENCE_HOME", str(home))
    monkeypatch.setenv("RESILIENCE_DB_URL", url)
    monkeypatch.setenv("RESILIENCE_PUSHGATEWAY_URL", "")
    (tmp_path / "nodes.csv").write_text(CONTRACT_NODES)
    (tmp_path / "links.csv").write_text(CONTRACT_LINKS)
    api.ingest([tmp_path / "nodes.csv", tmp_path / "links.csv"], db_url=url)
    return {"home": home, "db_url": url}


def _conf(**given) -> dict:
    empty = {"damage": None, "failures": [], "srlg": [], "region_lat": None, "region_lon": None,
             "region_km": None, "power_outage_target": None, "power_outage_hours": None,
             "scenario_file": None}
    return {**empty, **given}


def _tis(dr) -> dict[str, object]:
    from airflow.utils.session import create_session

    with create_session() as s:
        return {ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]": ti
                for ti in dr.get_task_instances(session=s)}


def _xcom(dr, task_id: str, key: str = "return_value"):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        row = s.execute(select(XComModel.value).where(
            XComModel.dag_id == dr.dag_id, XComModel.run_id == dr.run_id, XComModel.task_id == task_id,
            XComModel.key == key)).first()
        return XComModel.deserialize_value(row) if row is not None else None


@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
def test_power_outage_by_municipality_gives_a_readable_page_and_a_link_to_it(dagbag, whatif_env):
    dag = dagbag.dags["resilience_whatif"]
    dr = dag.test(logical_date=_when(), run_conf=_conf(damage="power_outage", power_outage_target="Wajima",
                                                       power_outage_hours=12))
    tis = _tis(dr)
    assert str(dr.state) == "success", {k: str(v.state) for k, v in tis.items()}
    paths = _xcom(dr, "simulate")
    assert Path(paths["html"]).parent == whatif_env["home"] / "var" / "whatif" / Path(paths["html"]).parent.name
    page = Path(paths["html"]).read_text(encoding="utf-8")
    assert "No grid power in Wajima for 12 h" in page
    assert "Wajima 3" in page and 'id="timeline"' in page and "<script" not in page
    assert '"baseline"' not in page  # no JSON dump
    link = _xcom(dr, "simulate", key="_link_WhatIfResultLink")
    assert link.endswith(f"/resilience/whatif/runs/{dr.run_id.replace(':', '%3A').replace('+', '%2B')}")


@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
@pytest.mark.parametrize("conf, reason", [
    (_conf(damage="failures", failures=["A1", "NOPE"]), "unknown node or link id(s): NOPE"),
    (_conf(damage="srlg", srlg=["R2"]), "unknown shared-risk group(s): R2 (did you mean R1?)"),
    (_conf(damage="power_outage", power_outage_target="Wajma", power_outage_hours=3),
     "unknown power feed or municipality: Wajma (did you mean Wajima?)"),
    (_conf(damage="failures", failures=["A1"], srlg=["R1"]), "one kind of damage per run"),
    (_conf(damage="region"), "fill in region_lat and region_lon and region_km"),
])
def test_bad_input_fails_in_validate_at_once_without_retries(dagbag, whatif_env, conf, reason, capfd):
    dag = dagbag.dags["resilience_whatif"]
    dr = dag.test(logical_date=_when(), run_conf=conf)
    tis = _tis(dr)
    assert str(dr.state) == "failed"
    assert str(tis["validate"].state).endswith("failed") and tis["validate"].try_number == 1
    assert not str(tis["simulate"].state).endswith("success")
    out = capfd.readouterr()
    assert reason in out.out + out.err  # the task log names what is wrong


@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
def test_report_dag_skips_an_empty_network(dagbag, tmp_path, monkeypatch):
    monkeypatch.setenv("RESILIENCE_DB_URL", f"sqlite:///{tmp_path}/empty.db")
    monkeypatch.setenv("RESILIENCE_PUSHGATEWAY_URL", "")
    dr = dagbag.dags["resilience_report"].test(logical_date=_when())
    tis = _tis(dr)
    assert str(tis["has_inventory"].state).endswith("success")
    assert str(tis["write_report"].state).endswith("skipped")
    from resilience.settings import load_settings

    s = load_settings()
    assert not s.path(s.report_dir).exists() or not any(s.path(s.report_dir).rglob("*.html"))


@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
def test_mapped_exports_are_labelled_by_operator(dagbag, whatif_env):
    from resilience import api

    more = CONTRACT_NODES.replace("B3,base_station,docomo", "B3,base_station,KDDI")
    (whatif_env["home"] / "n2.csv").write_text(more)
    api.ingest([whatif_env["home"] / "n2.csv"], db_url=whatif_env["db_url"], allow_redefine=True)
    dr = dagbag.dags["resilience_analyze"].test(logical_date=_when())
    tis = _tis(dr)
    assert str(dr.state) == "success"
    labels = sorted(ti.rendered_map_index for k, ti in tis.items() if k.startswith("export_operator["))
    assert labels == ["KDDI", "docomo"]
