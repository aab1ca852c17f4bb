"""Dashboards as code: the committed JSON is exactly the generator's output, and well formed."""

from __future__ import annotations

import yaml

from resilience.dashboards import DATASOURCE_UID, build_dashboards, render
from tests.exporter.conftest import CONFIG

DASH = CONFIG / "grafana" / "dashboards"


def test_committed_json_equals_generator_output():
    boards = build_dashboards()
    assert sorted(p.name for p in DASH.glob("*.json")) == sorted(boards)
    for name, board in boards.items():
        assert (DASH / name).read_text(encoding="utf-8") == render(board), (
            f"{name} is stale: run python -m resilience.dashboards")


def test_expected_dashboards_and_panels():
    boards = build_dashboards()
    uids = {b["uid"] for b in boards.values()}
    assert uids == {"resilience-overview", "resilience-spof", "resilience-battery-forecast",
                    "resilience-municipality", "resilience-map", "resilience-pipeline"}
    types = {p["type"] for b in boards.values() for p in b["panels"]}
    assert {"geomap", "table", "stat", "timeseries"} <= types
    for b in boards.values():
        ids = [p["id"] for p in b["panels"]]
        assert len(ids) == len(set(ids))
        for p in b["panels"]:
            g = p["gridPos"]
            assert g["x"] + g["w"] <= 24
            assert p["datasource"]["uid"] == DATASOURCE_UID
            assert all(t["datasource"]["uid"] == DATASOURCE_UID for t in p["targets"])


def test_provisioning_points_at_the_dashboards_datasource():
    ds = yaml.safe_load((CONFIG / "grafana" / "provisioning" / "datasources" / "resilience.yml").read_text())
    assert [d["uid"] for d in ds["datasources"]] == [DATASOURCE_UID]
    prov = yaml.safe_load((CONFIG / "grafana" / "provisioning" / "dashboards" / "resilience.yml").read_text())
    assert prov["providers"][0]["type"] == "file"


