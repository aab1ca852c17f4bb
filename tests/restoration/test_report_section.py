"""The "Restoration plan" section of the daily report: ordered actions with site names and the
served-subscribers chart against the baselines; the plan file the DAG filed for the snapshot."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd

from resilience.reports.publish import read_restoration_plan
from resilience.reports.report import SnapshotView, build_report


def _plan() -> dict:
    curve = [{"at": h, "hours": h, "served_subscribers": 100 + 10 * min(h, 5)} for h in range(0, 25)]
    return {"strategy": "planned", "horizon_h": 24, "start": "2024-01-03T08:10:00+09:00",
            "subscriber_hours_lost": 400, "baselines": {"none": 1200, "nearest": 600},
            "baseline_curves": {"none": [100] * 25, "nearest": [100 + 5 * min(h, 10) for h in range(25)]},
            "actions": [{"at": "2024-01-03T08:10:00+09:00", "done_at": "2024-01-03T09:10:00+09:00",
                         "resource": "kddi-gen#1", "action": "portable_bs", "element": "B<1>",
                         "travel_h": 0.5, "work_h": 0.5, "sites_restored": 1, "subscribers_restored": 50}],
            "curve": curve}


def test_report_restoration_section(tmp_path):
    snap = SnapshotView(id=2, as_of=datetime(2024, 1, 3, tzinfo=UTC), total_nodes=5, total_subscribers=700,
                        served_nodes=2, served_subscribers=200)
    sites = pd.DataFrame({"node_id": ["B<1>"], "name": ["輪島 <基地局>"], "lat": [37.4], "lon": [136.9],
                          "operator": ["KDDI"], "municipality": ["Wajima"], "kind": ["base_station"]})
    html = build_report(snap, sites=sites, restoration=_plan())
    sec = html.split('<section id="restoration">')[1].split("</section>")[0]
    assert "輪島 &lt;基地局&gt;" in sec and "(B&lt;1&gt;)" in sec and "Wajima" in sec  # names, escaped
    assert "portable bs" in sec and "kddi-gen#1" in sec
    assert sec.count("<path") == 3  # planned, none, nearest
    assert "0.67" in sec  # planned / nearest
    assert 'id="restoration"' not in build_report(snap, sites=sites)  # no plan: no section
    (tmp_path / "restoration-2.json").write_text(json.dumps(_plan()))
    assert read_restoration_plan(2, tmp_path)["subscriber_hours_lost"] == 400
    (tmp_path / "restoration-3.json").write_text("{")
    assert read_restoration_plan(3, tmp_path) is None
