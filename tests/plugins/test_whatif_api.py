"""The plugin's FastAPI app (``/resilience`` in the Airflow API server), through its test client
with a real Airflow token: 422 with the reason for bad input, unknown names and unknown keys;
the result page of a DAG run; Airflow's auth in front of both."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import CONTRACT_LINKS, CONTRACT_NODES
from tests.dags.conftest import ROOT

pytestmark = [pytest.mark.airflow, pytest.mark.xdist_group("airflow")]


@pytest.fixture(scope="module")
def plugin():
    sys.path.insert(0, str(ROOT / "plugins"))
    try:
        import resilience_plugin
    finally:
        sys.path.remove(str(ROOT / "plugins"))
    return resilience_plugin


@pytest.fixture
def client(plugin, airflow_db, tmp_path, monkeypatch):
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    from resilience import api

    url = f"sqlite:///{tmp_path}/r.db"
    monkeypatch.setenv("RESILIENCE_DB_URL", url)
    (tmp_path / "n.csv").write_text(CONTRACT_NODES)
    (tmp_path / "l.csv").write_text(CONTRACT_LINKS)
    api.ingest([tmp_path / "n.csv", tmp_path / "l.csv"], db_url=url)
    token = create_auth_manager().generate_jwt(SimpleAuthManagerUser(username="planner", role="admin"))
    c = TestClient(plugin._whatif_app())
    c.headers["Authorization"] = f"Bearer {token}"
    return c


def test_a_good_request_answers_the_whatif(client):
    r = client.post("/whatif", json={"damage": "failures", "failures": ["A1"]})
    assert r.status_code == 200 and r.json()["lost"]["subscribers"] == 500


@pytest.mark.parametrize("body, reason", [
    ({"failures": ["A1", "NOPE"]}, "unknown node or link id(s): NOPE"),
    ({"srlg": ["R2"]}, "unknown shared-risk group(s): R2 (did you mean R1?)"),
    ({"power_outage_target": "Wajma", "power_outage_hours": 3}, "did you mean Wajima?"),
    ({}, "nothing to simulate"),
    ({"failures": ["A1"], "srlg": ["R1"]}, "one kind of damage"),
    ({"scenario_file": "../../etc/passwd"}, "scenario_file"),
])
def test_bad_input_is_a_422_naming_the_reason(client, body, reason):
    r = client.post("/whatif", json=body)
    assert r.status_code == 422 and reason in r.json()["detail"], r.text


def test_unknown_keys_and_out_of_range_values_are_refused(client):
    r = client.post("/whatif", json={"failure": ["A1"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "failure"]
    r = client.post("/whatif", json={"region_lat": 37, "region_lon": 137, "region_km": -5})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "region_km"]


def test_the_result_page_of_a_run_is_served_and_nothing_else(client, plugin):
    from resilience import api
    from resilience.files import safe_name
    from resilience.settings import load_settings

    run_id = "manual__2025-03-01T00:00:00+00:00"
    api.run_whatif({"type": "explicit", "fail": ["A1"]},
                        load_settings().path("var/whatif") / safe_name(run_id), run_id=run_id)
    r = client.get("/whatif/runs/manual__2025-03-01T00%3A00%3A00%2B00%3A00")
    assert r.status_code == 200 and "Wajima 1" in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert client.get("/whatif/runs/scheduled__nothing").status_code == 404
    assert client.get("/whatif/runs/..%2F..%2Fetc").status_code == 404


def test_requests_without_a_token_are_refused(client):
    del client.headers["Authorization"]
    assert client.post("/whatif", json={"failures": ["A1"]}).status_code == 401
    assert client.get("/whatif/runs/x").status_code == 401
