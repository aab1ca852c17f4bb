"""Collectors over an in-memory fake source, each test with a fresh CollectorRegistry.

Times come from the test's own moment (the ``now`` fixture) and the snapshot age from an
injected clock: nothing here depends on how long the suite ran before the test.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from resilience.exporter import CachedSource, register_collectors
from resilience.exporter.collectors import AGGREGATE_FAMILIES, AGGREGATES_DERIVED
from resilience.exporter.model import (
    Aggregate,
    Element,
    ExporterSnapshot,
    IngestCounts,
    OutageGroup,
    RootOutage,
    SharedRiskGroup,
    SiteOut,
)
from tests.exporter.conftest import ROOT


@pytest.fixture
def now() -> datetime:
    """The test's own moment: the sample snapshot's times are relative to it."""
    return datetime.now(UTC)


def make_snapshot(now: datetime, **kw) -> ExporterSnapshot:
    base = dict(
        id=42, as_of=now - timedelta(seconds=120), created_at=now - timedelta(seconds=60),
        duration_seconds=1.5, total_nodes=10, total_subscribers=1000, served_nodes=8,
        served_subscribers=750,
        aggregates=(
            Aggregate("nodes", 7, operator="docomo", prefecture="Ishikawa", kind="base_station", state="up"),
            Aggregate("nodes", 3, operator="docomo", prefecture="Ishikawa", kind="base_station", state="down"),
            Aggregate("articulation_points", 2, operator="docomo", prefecture="Ishikawa", kind="aggregation"),
            Aggregate("bridges", 3, operator="docomo", prefecture="Ishikawa", kind="fiber"),
            Aggregate("hidden_srlgs", 1),
            Aggregate("forecast_nodes_out", 4, operator="docomo", prefecture="Ishikawa", horizon_hours=3),
            Aggregate("forecast_subscribers_out", 400, operator="docomo", prefecture="Ishikawa", horizon_hours=3),
            Aggregate("single_homed_subscribers", 300, operator="docomo", prefecture="Ishikawa",
                      municipality="Suzu"),
            Aggregate("nodes_out", 99, operator="docomo", cause="power"),  # derived: not exported twice
        ),
        elements=(Element("node", "A1", 3, 500, "aggregation", "docomo", "Ishikawa", "Wajima"),
                  Element("link", "L2", 2, 200, "fiber", "docomo", "Ishikawa", "Wajima")),
        srlgs=(SharedRiskGroup("R1", 2, 3, 500, True),),
        outages=(OutageGroup("power", True, "docomo", "Ishikawa", "Wajima", 1, 0),
                 OutageGroup("backhaul", False, "docomo", "Ishikawa", "Wajima", 1, 250)),
        sites_out=(SiteOut("A1", "power", True, "", "aggregation", "docomo", "Ishikawa", "Wajima", 0,
                           37.39, 136.9, "A1"),
                   SiteOut("B1", "backhaul", False, "A1", "base_station", "docomo", "Ishikawa", "Wajima",
                           250, None, None, "A1")),
        sites_out_total=5,
        roots=(RootOutage("A1", "node", 2, 250),),
        ingest=IngestCounts(files={"status": 3}, rows_accepted={"status": 30},
                            rows_quarantined={("status", "expect_column_values_to_be_in_set:state"): 2},
                            last_ingest_timestamp=now.timestamp()),
    )
    base.update(kw)
    return ExporterSnapshot(**base)


@pytest.fixture
def registry():
    return CollectorRegistry()


def test_nothing_registered_at_import():
    from prometheus_client import REGISTRY

    import resilience.exporter  # noqa: F401

    assert not any(n.startswith("resilience_") for n in REGISTRY._names_to_collectors)


def test_values_from_the_snapshot(registry, now):
    snap = make_snapshot(now)
    register_collectors(CachedSource(lambda: snap), registry=registry, clock=now.timestamp)
    g = registry.get_sample_value
    assert g("resilience_served_ratio") == 0.75
    assert g("resilience_network_nodes") == 10
    assert g("resilience_nodes", {"operator": "docomo", "prefecture": "Ishikawa", "kind": "base_station",
                                  "state": "down"}) == 3
    assert g("resilience_spof_elements") == 6  # 2 articulation points + 3 bridges + 1 hidden group
    assert g("resilience_hidden_spof_groups") == 1
    assert g("resilience_forecast_subscribers_out",
             {"operator": "docomo", "prefecture": "Ishikawa", "horizon": "3h"}) == 400
    lab = {"cause": "backhaul", "root_cause": "false", "operator": "docomo", "prefecture": "Ishikawa",
           "municipality": "Wajima"}
    assert g("resilience_subscribers_out", lab) == 250
    assert g("resilience_site_out_subscribers", {
        "node_id": "B1", "kind": "base_station", "operator": "docomo", "prefecture": "Ishikawa",
        "municipality": "Wajima", "cause": "backhaul", "root_cause": "false", "root": "A1"}) == 250
    assert g("resilience_sites_out_not_exported") == 3
    assert g("resilience_root_outage_nodes", {"root": "A1", "root_type": "node"}) == 2
    assert g("resilience_element_subscribers_lost", {
        "element": "L2", "element_type": "link", "kind": "fiber", "operator": "docomo",
        "prefecture": "Ishikawa", "municipality": "Wajima"}) == 200
    assert g("resilience_srlg_nodes_lost", {"srlg": "R1", "hidden": "true"}) == 3
    assert g("resilience_ingest_rows_quarantined_total", {
        "kind": "status", "rule": "expect_column_values_to_be_in_set:state"}) == 2
    assert g("resilience_ingest_rows_accepted_total", {"kind": "status"}) == 30
    assert g("resilience_snapshot_id") == 42
    assert g("resilience_snapshot_age_seconds") == pytest.approx(120)  # clock: the test's moment
    assert g("resilience_exporter_snapshot_source_up") == 1
    # the aggregate nodes_out (no root_cause label) is not exported a second time
    assert g("resilience_nodes_out", {"cause": "power", "operator": "docomo", "prefecture": "",
                                      "municipality": "", "root_cause": ""}) is None


def test_snapshot_age_follows_the_clock(registry, now):
    snap = make_snapshot(now)
    clock = [now.timestamp()]
    register_collectors(CachedSource(lambda: snap), registry=registry, clock=lambda: clock[0])
    assert registry.get_sample_value("resilience_snapshot_age_seconds") == pytest.approx(120)
    clock[0] += 3600
    assert registry.get_sample_value("resilience_snapshot_age_seconds") == pytest.approx(3720)


def test_site_without_coordinates_is_not_on_the_map(registry, now):
    snap = make_snapshot(now)
    register_collectors(CachedSource(lambda: snap), registry=registry)
    text = generate_latest(registry).decode()
    info = [ln for ln in text.splitlines() if ln.startswith("resilience_site_out_info{")]
    assert len(info) == 1 and 'node_id="A1"' in info[0] and 'lat="37.39000"' in info[0]


def test_no_snapshot_yet_only_health(registry):
    register_collectors(CachedSource(lambda: None), registry=registry)
    text = generate_latest(registry).decode()
    assert registry.get_sample_value("resilience_exporter_snapshot_loaded") == 0
    assert registry.get_sample_value("resilience_exporter_snapshot_source_up") == 1
    assert "resilience_nodes_out{" not in text and "resilience_snapshot_age_seconds " not in text


def test_keeps_last_good_snapshot_and_flags_the_failure(registry, now):
    calls = {"n": 0}
    snap = make_snapshot(now)

    def fetch():
        calls["n"] += 1
        if calls["n"] > 1:
            raise ConnectionError("database is gone")
        return snap

    clock = [0.0]
    src = CachedSource(fetch, ttl=5, clock=lambda: clock[0])
    register_collectors(src, registry=registry)
    assert registry.get_sample_value("resilience_exporter_snapshot_source_up") == 1
    ok_time = registry.get_sample_value("resilience_exporter_last_success_timestamp_seconds")
    clock[0] = 10.0
    assert registry.get_sample_value("resilience_exporter_snapshot_source_up") == 0
    assert registry.get_sample_value("resilience_snapshot_id") == 42  # still served
    assert registry.get_sample_value("resilience_served_ratio") == 0.75
    assert registry.get_sample_value("resilience_exporter_source_errors_total") == 1
    assert registry.get_sample_value("resilience_exporter_last_success_timestamp_seconds") == ok_time
    assert "database is gone" in src.state().last_error


def test_ttl_cache_one_fetch_for_many_scrapes(registry, now):
    calls = []
    clock = [0.0]
    src = CachedSource(lambda: calls.append(1) or make_snapshot(now), ttl=5, clock=lambda: clock[0])
    register_collectors(src, registry=registry)
    for _ in range(5):
        generate_latest(registry)
    assert len(calls) == 1
    clock[0] = 6.0
    generate_latest(registry)
    assert len(calls) == 2


def test_concurrent_scrapes_one_fetch(now):
    import threading
    import time as _t

    calls = []

    def slow():
        calls.append(1)
        _t.sleep(0.2)
        return make_snapshot(now)

    src = CachedSource(slow, ttl=60)
    reg = CollectorRegistry()
    register_collectors(src, registry=reg)
    threads = [threading.Thread(target=generate_latest, args=(reg,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


def test_families_built_once_per_snapshot(registry, monkeypatch, now):
    from resilience.exporter import collectors as c

    snap = make_snapshot(now)
    cols = register_collectors(CachedSource(lambda: snap, ttl=0), registry=registry)
    spof = next(x for x in cols if isinstance(x, c.SpofCollector))
    built = []
    orig = c.SpofCollector.build
    monkeypatch.setattr(c.SpofCollector, "build", lambda self, s: built.append(1) or orig(self, s))
    spof._pair = None
    for _ in range(3):
        generate_latest(registry)
    assert len(built) == 1


def test_metric_names_follow_conventions(registry, now):
    snap = make_snapshot(now)
    register_collectors(CachedSource(lambda: snap), registry=registry)
    for fam in registry.collect():
        assert fam.name.startswith("resilience_"), fam.name
        assert fam.documentation, fam.name
        if fam.type == "counter":
            assert all(s.name.endswith("_total") for s in fam.samples if not s.name.endswith("_created"))
        else:
            assert not fam.name.endswith("_total"), fam.name
        for s in fam.samples:
            assert set(s.labels) <= {"operator", "prefecture", "municipality", "kind", "state", "cause",
                                     "root_cause", "horizon", "element", "element_type", "node_id", "root",
                                     "root_type", "srlg", "hidden", "rule", "lat", "lon", "version",
                                     "label"}, s


def test_every_metric_is_documented(registry, now):
    snap = make_snapshot(now, core_nodes=1)
    register_collectors(CachedSource(lambda: snap), registry=registry)
    doc = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(resilience_[a-z_]+)`", doc))
    names = {s.name for fam in registry.collect() for s in fam.samples}
    names |= {f[1] for f in AGGREGATE_FAMILIES.values()}
    assert names - documented == set()


def test_aggregate_families_cover_the_analysis_contract():
    from resilience.topology.snapshot import AGGREGATE_METRICS

    assert set(AGGREGATE_FAMILIES) | set(AGGREGATES_DERIVED) == set(AGGREGATE_METRICS)
    for metric, (_g, _name, _doc, labels) in AGGREGATE_FAMILIES.items():
        want = tuple("horizon" if lab == "horizon_hours" else lab for lab in AGGREGATE_METRICS[metric][0])
        assert set(labels) == set(want), metric


def test_root_outages_keeps_the_largest_limit_roots():
    """root_outages finds every node's root but returns only the ``limit`` largest root outages."""
    from resilience.analysis.outages import root_outages

    rows = [(f"S{i}", f"L{i % 7}", False, i) for i in range(10_000)]
    root_of, roots = root_outages(rows, limit=5)
    assert len(roots) == 5 and len(root_of) == 10_000
    assert {r.root_type for r in roots} == {"link"}
    subs = {f"L{k}": sum(i for i in range(10_000) if i % 7 == k) for k in range(7)}
    assert [r.root for r in roots] == sorted(subs, key=lambda k: -subs[k])[:5]


def _swapped_operator_column(now: datetime, n: int = 20_000) -> ExporterSnapshot:
    """A snapshot as a feed with a swapped column leaves it: every site has its own operator."""
    aggs, outages, sites = [], [], []
    for i in range(n):
        op = f"op{i:05d}"
        subs = 1 + i % 97
        state = "down" if i % 2 else "up"
        aggs += [Aggregate("nodes", 1, operator=op, prefecture="Ishikawa", kind="base_station", state=state),
                 Aggregate("subscribers", subs, operator=op, prefecture="Ishikawa", kind="base_station")]
        if state == "up":
            aggs += [Aggregate("served_nodes", 1, operator=op, prefecture="Ishikawa"),
                     Aggregate("served_subscribers", subs, operator=op, prefecture="Ishikawa"),
                     Aggregate("single_homed_nodes", 1, operator=op, prefecture="Ishikawa",
                               municipality=f"M{i % 20}"),
                     Aggregate("single_homed_subscribers", subs, operator=op, prefecture="Ishikawa",
                               municipality=f"M{i % 20}")]
        else:
            aggs += [Aggregate("forecast_nodes_out", 1, operator=op, prefecture="Ishikawa", horizon_hours=h)
                     for h in (1, 3, 6, 24, 72)]
            outages.append(OutageGroup("power", True, op, "Ishikawa", f"M{i % 20}", 1, subs))
            if len(sites) < 50:
                sites.append(SiteOut(f"B{i}", "power", True, "", "base_station", op, "Ishikawa",
                                     f"M{i % 20}", subs, None, None, f"B{i}"))
    return make_snapshot(now, aggregates=tuple(aggs), outages=tuple(outages), sites_out=tuple(sites),
                         sites_out_total=len(outages), roots=(), elements=(), srlgs=())


def _scrape(snap: ExporterSnapshot) -> tuple[CollectorRegistry, bytes, int]:
    registry = CollectorRegistry()
    register_collectors(CachedSource(lambda: snap), registry=registry)
    body = generate_latest(registry)
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return registry, body, series


def test_cardinality_20000_operators_fold_into_other(now):
    """20,000 distinct operator values: at most the limit + "other" per label, a bounded scrape,
    the folded values counted, and no subscriber lost in the folding."""
    from resilience.exporter.model import fold_labels, parse_label_limits

    raw = _swapped_operator_column(now)
    _, body_raw, series_raw = _scrape(raw)
    assert series_raw > 60_000 and len(body_raw) > 5_000_000  # what an unbounded label costs

    limits = parse_label_limits("operator=100")
    registry, body, series = _scrape(fold_labels(raw, limits))
    operators = {m.group(1) for m in re.finditer(rb'operator="([^"]*)"', body)}
    assert len(operators) == 100 + 1 and b"other" in operators
    # per family: (limit + other) x the other labels' few values; per-site series: the sites given
    families_with_operator = sum(1 for fam in registry.collect()
                                 if any("operator" in s.labels for s in fam.samples))
    assert series <= 101 * 2 * 5 * families_with_operator + len(raw.sites_out) * 2 + 200
    assert series < series_raw / 20 and len(body) < 500_000
    g = registry.get_sample_value
    assert g("resilience_exporter_folded_label_values", {"label": "operator"}) == 20_000 - 100
    assert g("resilience_exporter_folded_label_values", {"label": "municipality"}) == 0
    want = sum(a.value for a in raw.aggregates if a.metric == "subscribers")
    got = sum(s.value for fam in registry.collect() if fam.name == "resilience_subscribers"
              for s in fam.samples)
    assert got == want
    assert sum(s.value for fam in registry.collect() if fam.name == "resilience_subscribers_out"
               for s in fam.samples) == sum(o.subscribers for o in raw.outages)


def test_folding_keeps_the_largest_values():
    """The values kept are the ones with the most subscribers; the empty value is not counted."""
    from resilience.exporter.model import fold_labels

    t = datetime(2024, 1, 3, tzinfo=UTC)
    aggs = (Aggregate("subscribers", 10, operator="small"), Aggregate("subscribers", 900, operator="big"),
            Aggregate("subscribers", 500, operator="mid"), Aggregate("hidden_srlgs", 1))
    v = fold_labels(ExporterSnapshot(1, t, t, aggregates=aggs), {"operator": 2})
    assert {(a.metric, a.operator): a.value for a in v.aggregates} == {
        ("subscribers", "big"): 900, ("subscribers", "mid"): 500, ("subscribers", "other"): 10,
        ("hidden_srlgs", ""): 1}
    assert v.folded == {"operator": 1, "prefecture": 0, "municipality": 0, "kind": 0}
    unchanged = fold_labels(ExporterSnapshot(1, t, t, aggregates=aggs), {"operator": 3})
    assert unchanged.aggregates == aggs and unchanged.folded["operator"] == 0


def test_label_limits_setting_is_validated():
    from resilience.errors import BadInput
    from resilience.exporter.model import parse_label_limits

    assert parse_label_limits("operator=5")["operator"] == 5
    for bad in ("operator=0", "operator=x", "colour=3", "operator"):
        with pytest.raises(BadInput, match="exporter_label_limits"):
            parse_label_limits(bad)


def test_no_core_gauge(registry, now):
    """resilience_network_core_nodes says 0 when the inventory has no core (alert ResilienceNoCore)."""
    snap = make_snapshot(now, core_nodes=0, served_nodes=0, served_subscribers=0)
    register_collectors(CachedSource(lambda: snap), registry=registry)
    assert registry.get_sample_value("resilience_network_core_nodes") == 0
    assert registry.get_sample_value("resilience_network_served_nodes") == 0


def test_root_outages_cycle_terminates():
    from resilience.analysis.outages import root_outages

    root_of, _ = root_outages([("A", "B", False, 1), ("B", "A", False, 1)])
    assert set(root_of) == {"A", "B"}


def test_restoration_collector_reads_the_newest_plan_file(tmp_path, now):
    """resilience_restoration_* from the newest var/restoration/restoration-<id>.json, re-read
    when a newer plan is written; no plan, or a broken file: no samples, the scrape still works."""
    import json
    import os

    from resilience.exporter.server import ExporterApp
    from resilience.exporter.source import RestorationPlanFiles

    plans = RestorationPlanFiles(tmp_path)
    app = ExporterApp(CachedSource(lambda: make_snapshot(now)), restoration=plans)
    assert b"resilience_restoration_subscribers_restored{" not in app.metrics()
    curve = [{"hours": h, "served_subscribers": 1000 + 10 * min(h, 30)} for h in range(0, 73)]
    plan = {"start": "2024-01-03T00:00:00+09:00", "snapshot_id": 7, "horizon_h": 72,
            "subscriber_hours_lost": 500, "baselines": {"none": 900, "nearest": 700, "largest": 650,
                                                        "fifo": 800},
            "actions": [{"action": "generator"}] * 3 + [{"action": "repair"}], "curve": curve}
    (tmp_path / "restoration-7.json").write_text(json.dumps(plan))
    text = app.metrics().decode()
    assert 'resilience_restoration_subscribers_restored{horizon="6h"} 60.0' in text
    assert 'resilience_restoration_subscribers_restored{horizon="24h"} 240.0' in text
    assert 'resilience_restoration_subscribers_restored{horizon="72h"} 300.0' in text
    assert 'resilience_restoration_subscriber_hours_lost{strategy="planned"} 500.0' in text
    assert 'resilience_restoration_subscriber_hours_lost{strategy="fifo"} 800.0' in text
    assert 'resilience_restoration_actions{action="generator"} 3.0' in text
    assert 'resilience_restoration_actions{action="satellite_backhaul"} 0.0' in text
    assert "resilience_restoration_plan_snapshot_id 7.0" in text
    newer = tmp_path / "restoration-8.json"
    newer.write_text(json.dumps({**plan, "snapshot_id": 8}))
    st = newer.stat()
    os.utime(newer, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert "resilience_restoration_plan_snapshot_id 8.0" in app.metrics().decode()
    newer.write_text("{broken")
    os.utime(newer, ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10**9))
    text = app.metrics().decode()
    assert "resilience_restoration_plan_snapshot_id 8.0" not in text
    assert "resilience_snapshot_id" in text
