"""Regression test of issue 6: the 2024 Noto replay through the real ingest + analysis code
reproduces the shape of the event (peak 24-72 h after the quake, causes near the ministry's
shares), and the JSON rows have the contract shape."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

QUAKE = datetime.fromisoformat("2024-01-01T16:10:00+09:00")


@pytest.mark.slow
def test_noto_2024_replay_through_the_pipeline(tmp_path):
    from resilience.cli import app

    runner = CliRunner()
    out = tmp_path / "replay"
    assert runner.invoke(app, ["sample", "noto-2024", "--out", str(out)]).exit_code == 0
    res = runner.invoke(app, ["--db", f"sqlite:///{tmp_path}/r.db", "replay", str(out),
                              "--step", "12h", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    for r in rows:
        assert set(r) == {"at", "sites_down", "by_cause", "subscribers_out"}
        assert sum(r["by_cause"].values()) == r["sites_down"]
    peak = max(rows, key=lambda r: r["sites_down"])
    hours = (datetime.fromisoformat(peak["at"]) - QUAKE).total_seconds() / 3600
    assert 24 <= hours <= 72, peak
    assert 400 <= peak["sites_down"] <= 1200, peak
    c = peak["by_cause"]
    power = (c.get("power", 0) + c.get("power+backhaul", 0)) / peak["sites_down"]
    backhaul = (c.get("backhaul", 0) + c.get("power+backhaul", 0)) / peak["sites_down"]
    assert 0.58 <= power <= 0.79, c  # the ministry: just under 70 %, within 10 points
    assert 0.48 <= backhaul <= 0.69, c  # just under 60 %, within 10 points
    # rising for about two days: the count 12 h after the quake is below the peak
    early = [r for r in rows if (datetime.fromisoformat(r["at"]) - QUAKE).total_seconds() <= 12 * 3600]
    assert early and max(r["sites_down"] for r in early) < peak["sites_down"]
    assert rows[-1]["sites_down"] < peak["sites_down"] / 4  # restoration over the following weeks
