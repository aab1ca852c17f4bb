"""A real Airflow run of ``resilience_harden`` (dag.test()) on a small synthetic network in the
store: the plan file it writes is sane (within budget, no worse than any baseline at the same
budget, non-empty, frontier decreasing), the page is next to it, and the exporter's hardening
collector reads it back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.dags.conftest import ROOT

BUDGET = 3e8


@pytest.fixture
def harden_env(tmp_path, monkeypatch):
    """A SQLite store with a 600-site synthetic network, and an ensemble file over it."""
    import yaml

    from resilience import api
    from resilience.sample.synthetic import generate_synthetic, write_synthetic

    home = tmp_path / "home"
    (home / "config" / "scenarios").mkdir(parents=True)
    db_url = f"sqlite:///{tmp_path}/r.db"
    monkeypatch.setenv("RESILIENCE_HOME", str(home))
    monkeypatch.setenv("RESILIENCE_DB_URL", db_url)
    monkeypatch.setenv("RESILIENCE_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("RESILIENCE_PUSHGATEWAY_URL", "")
    net = generate_synthetic(600, seed=5)
    files = write_synthetic(net, tmp_path / "net")
    api.ingest([files["nodes"], files["links"]], db_url=db_url)
    munis = sorted(net.nodes.loc[net.nodes["kind"] == "base_station", "municipality"].unique())
    groups = sorted({g for s in net.links["srlg"].dropna() for g in str(s).split(";") if g})
    ens = {"horizon_hours": 96, "runs": 6, "scenarios": [
        {"name": "outage", "weight": 2, "power_hours": [12, 48],
         "scenario": {"type": "power_outage", "municipalities": munis[:8], "hours": 48}},
        {"name": "cuts", "weight": 1, "repair_hours": 36,
         "scenario": {"type": "srlg", "groups": groups[3:9]}}]}
    path = home / "config" / "scenarios" / "small.yaml"
    path.write_text(yaml.safe_dump(ens), encoding="utf-8")
    return {"home": home, "db_url": db_url, "ensemble": path}


@pytest.mark.airflow
@pytest.mark.xdist_group("airflow")
@pytest.mark.slow
def test_harden_dag_writes_a_sane_plan(dagbag, harden_env):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    home = harden_env["home"]
    dag = dagbag.dags["resilience_harden"]
    conf = {"budget": BUDGET, "runs": 6, "horizon_hours": 96,
            "measures": str(ROOT / "config/hardening/measures.yaml"),
            "scenarios": [str(harden_env["ensemble"])], "holdout": ""}
    dr = dag.test(logical_date=datetime(2024, 2, 1, 18, tzinfo=UTC), run_conf=conf)
    with create_session() as s:
        states = {ti.task_id: str(ti.state) for ti in dr.get_task_instances(session=s)}
        row = s.execute(select(XComModel.value).where(
            XComModel.dag_id == dr.dag_id, XComModel.run_id == dr.run_id, XComModel.task_id == "plan",
            XComModel.key == "return_value")).first()
    assert str(dr.state) == "success", states
    xcom = XComModel.deserialize_value(row)

    path = Path(xcom["path"])
    assert path == home / "var" / "hardening" / f"hardening-{int(BUDGET)}.json"
    doc = json.loads(path.read_text())
    assert {"budget", "expected_subscriber_hours_lost", "baseline_loss", "plan", "frontier"} <= doc.keys()
    assert doc["budget"] == BUDGET and doc["samples"] == 6
    plan, loss, base = doc["plan"], doc["expected_subscriber_hours_lost"], doc["baseline_loss"]
    assert plan, "nothing bought"
    assert sum(p["cost"] for p in plan) == pytest.approx(doc["spent"]) and doc["spent"] <= BUDGET
    assert set(base) == {"none", "uniform", "largest"}
    assert all(loss <= v + 1e-6 for v in base.values()), (loss, base)
    assert loss < base["none"]
    assert all(p["expected_subscriber_hours_saved"] > 0 for p in plan)
    front = [f["expected_subscriber_hours_lost"] for f in doc["frontier"]]
    assert front[0] == pytest.approx(base["none"]) and front[-1] == pytest.approx(loss)
    assert all(b <= a + 1e-6 for a, b in zip(front, front[1:], strict=False))
    assert [f["budget"] for f in doc["frontier"]][-1] <= BUDGET
    assert xcom["expected_subscriber_hours_lost"] == loss and xcom["measures"] == len(plan)
    assert "<html" in Path(xcom["page"]).read_text()

    from prometheus_client import CollectorRegistry

    from resilience.exporter.hardening import HardeningCollector, HardeningPlanFiles

    reg = CollectorRegistry()
    HardeningCollector(HardeningPlanFiles(path.parent), registry=reg)
    assert reg.get_sample_value("resilience_hardening_expected_subscriber_hours_lost",
                                {"plan": "planned"}) == pytest.approx(loss)
    assert reg.get_sample_value("resilience_hardening_budget_yen") == BUDGET
