"""HardeningCollector over HardeningPlanFiles: the newest plan file's expected benefit as metrics."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from resilience.exporter.hardening import MAX_MEASURE_LABELS, HardeningCollector, HardeningPlanFiles

PLAN = {
    "budget": 2e9, "expected_subscriber_hours_lost": 3_800_000.0, "spent": 1_990_000_000.0,
    "baseline_loss": {"none": 4_610_000.0, "uniform": 4_450_000.0, "largest": 4_500_000.0},
    "plan": [{"measure": "battery_24h", "cost": 3e6}, {"measure": "battery_24h", "cost": 3e6},
             {"measure": "generator", "cost": 1e7}, {"measure": "satellite_kit", "cost": 1.5e6}],
    "frontier": [{"budget": 0, "expected_subscriber_hours_lost": 4_610_000.0}],
    "horizon_h": 168, "samples": 198, "currency": "JPY",
}


def _write(d: Path, name: str, doc: object, mtime: float | None = None) -> Path:
    p = d / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    if mtime is not None:
        os.utime(p, (mtime, mtime))
    return p


def _registry(d: Path, clock=lambda: 1_700_000_100.0) -> CollectorRegistry:
    reg = CollectorRegistry()
    HardeningCollector(HardeningPlanFiles(d), registry=reg, clock=clock)
    return reg


def test_values_of_the_newest_plan_are_read_back(tmp_path):
    _write(tmp_path, "hardening-1000000000.json", {**PLAN, "budget": 1e9}, mtime=1_600_000_000)
    _write(tmp_path, "hardening-2000000000.json", PLAN, mtime=1_700_000_000)
    reg = _registry(tmp_path)
    get = reg.get_sample_value
    for plan, v in {"planned": 3.8e6, "none": 4.61e6, "uniform": 4.45e6, "largest": 4.5e6}.items():
        assert get("resilience_hardening_expected_subscriber_hours_lost", {"plan": plan}) == v
    assert get("resilience_hardening_expected_subscriber_hours_saved", {"plan": "planned"}) == pytest.approx(810_000)
    assert get("resilience_hardening_expected_subscriber_hours_saved", {"plan": "uniform"}) == pytest.approx(160_000)
    assert get("resilience_hardening_expected_subscriber_hours_saved", {"plan": "none"}) is None
    assert get("resilience_hardening_budget_yen") == 2e9  # the newest file, not the other budget
    assert get("resilience_hardening_plan_cost_yen") == 1.99e9
    assert get("resilience_hardening_measures", {"measure": "battery_24h"}) == 2
    assert get("resilience_hardening_measures", {"measure": "generator"}) == 1
    assert get("resilience_hardening_plan_timestamp_seconds") == 1_700_000_000
    assert get("resilience_hardening_plan_age_seconds") == 100
    assert get("resilience_hardening_horizon_seconds") == 168 * 3600
    assert get("resilience_hardening_samples") == 198
    text = generate_latest(reg).decode()
    assert "# HELP resilience_hardening_budget_yen " in text
    assert "# TYPE resilience_hardening_expected_subscriber_hours_lost gauge" in text


def test_a_newer_file_is_picked_up_and_an_unchanged_one_is_not_read_again(tmp_path, monkeypatch):
    src = HardeningPlanFiles(tmp_path)
    _write(tmp_path, "hardening-1.json", PLAN, mtime=1_600_000_000)
    assert src()["budget"] == 2e9
    reads = []
    orig = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: reads.append(self) or orig(self, *a, **k))
    src()
    assert reads == []
    _write(tmp_path, "hardening-2.json", {**PLAN, "budget": 5.0}, mtime=1_700_000_000)
    assert src()["budget"] == 5.0


@pytest.mark.parametrize("make", ["empty", "missing"])
def test_no_plan_gives_no_samples_and_no_error(tmp_path, make):
    d = tmp_path if make == "empty" else tmp_path / "nope"
    reg = _registry(d)
    assert generate_latest(reg) == b""
    assert reg.get_sample_value("resilience_hardening_budget_yen") is None


@pytest.mark.parametrize("content", ['{"budget": 2e9, "plan": [', "[1, 2]", b"\xff\xfe\x00garbage"])
def test_a_corrupt_file_never_breaks_the_scrape_and_is_logged(tmp_path, caplog, content):
    p = tmp_path / "hardening-7.json"
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    reg = CollectorRegistry()
    reg.register(HardeningCollector(HardeningPlanFiles(tmp_path)))
    with caplog.at_level(logging.WARNING, logger="resilience.exporter.hardening"):
        assert generate_latest(reg) == b""
        assert generate_latest(reg) == b""  # the same bad file: logged once, not per scrape
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1 and "hardening-7.json" in msgs[0] and "unreadable" in msgs[0]


def test_bad_fields_are_left_out_and_a_failing_source_gives_no_samples(caplog):
    reg = CollectorRegistry()
    HardeningCollector(lambda: {"budget": "lots", "expected_subscriber_hours_lost": None,
                                "baseline_loss": {"none": 10, "uniform": float("nan")}, "plan": "x"},
                       registry=reg)
    assert reg.get_sample_value("resilience_hardening_budget_yen") is None
    assert reg.get_sample_value("resilience_hardening_expected_subscriber_hours_lost", {"plan": "none"}) == 10
    assert reg.get_sample_value("resilience_hardening_expected_subscriber_hours_lost", {"plan": "uniform"}) is None

    def boom():
        raise RuntimeError("disk on fire")

    reg2 = CollectorRegistry()
    HardeningCollector(boom, registry=reg2)
    with caplog.at_level(logging.WARNING, logger="resilience.exporter.hardening"):
        assert generate_latest(reg2) == b""
    assert any("source failed" in r.getMessage() for r in caplog.records)


def test_measure_labels_are_bounded(tmp_path):
    rows = [{"measure": f"m{i:02d}", "cost": 1} for i in range(MAX_MEASURE_LABELS + 5)]
    reg = CollectorRegistry()
    HardeningCollector(lambda: {**PLAN, "plan": rows}, registry=reg)
    fam = next(m for m in reg.collect() if m.name == "resilience_hardening_measures")
    labels = {s.labels["measure"] for s in fam.samples}
    assert len(labels) == MAX_MEASURE_LABELS + 1 and "other" in labels
    assert sum(s.value for s in fam.samples) == len(rows)
