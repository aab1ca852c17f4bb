"""DatabaseSource against the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import networkx as nx

from resilience.exporter.source import CachedSource, DatabaseSource, view_of
from tests.exporter.sample import EXPECTED, write_sample_snapshot


def test_reads_the_sample_snapshot(sample_engine):
    snap = DatabaseSource(sample_engine, top_n=3, max_sites_out=10)()
    assert snap.total_nodes == EXPECTED["total_nodes"] and snap.served_subscribers == 200
    assert [e.element_id for e in snap.elements] == ["C1", "L2", "B1"]  # top 3, ties by type then id
    assert sum(g.nodes for g in snap.outages) == EXPECTED["nodes_out"]
    assert sum(g.subscribers for g in snap.outages) == EXPECTED["subscribers_out"]
    assert {s.node_id for s in snap.sites_out if s.root_cause} == EXPECTED["root_causes"]
    assert [s.root_cause for s in snap.sites_out] == [True, True, False, False, False]  # roots first
    assert {r.root: (r.root_type, r.nodes, r.subscribers) for r in snap.roots} == EXPECTED["roots"]
    assert {s.node_id: s.root for s in snap.sites_out}["B3"] == "A1"  # B3 -> B1 -> A1
    assert snap.ingest.rows_accepted == EXPECTED["ingest_accepted"]
    assert snap.ingest.rows_quarantined == EXPECTED["ingest_quarantined"]
    assert [g.srlg for g in snap.srlgs] == ["R1", "R7"]
    assert {g.srlg: (g.hidden_nodes, g.hidden_subscribers) for g in snap.srlgs} == EXPECTED["srlg_hidden"]
    assert {g.srlg: g.hidden for g in snap.srlgs} == {"R1": True, "R7": False}  # hidden_nodes > 0
    assert snap.core_nodes == EXPECTED["core_nodes"]


def test_core_nodes_of_a_snapshot_without_the_cores_aggregate(engine):
    """Snapshots written before the ``cores`` aggregate count the nodes of kind core."""
    write_sample_snapshot(engine, with_cores=False)
    assert DatabaseSource(engine)().core_nodes == EXPECTED["core_nodes"]


def test_cap_on_sites(sample_engine):
    snap = DatabaseSource(sample_engine, max_sites_out=2)()
    assert [s.node_id for s in snap.sites_out] == ["K3", "A1"]  # root causes, by subscribers
    assert snap.sites_out_total == 5 and len(snap.roots) == 2


def test_newer_snapshot_replaces_the_view_and_same_id_is_reused(sample_engine):
    src = DatabaseSource(sample_engine)
    first = src()
    assert src() is first  # nothing changed: the same object (collectors replay their families)
    write_sample_snapshot(sample_engine, served_subscribers=100, with_ingest=False)
    second = src()
    assert second.id > first.id and second.served_subscribers == 100


def test_recreated_store_reusing_snapshot_id_1_is_read_again(db_url, engine):
    """A store dropped and re-created whose new snapshot is again id 1 is not served from the
    cache of the old snapshot 1 (issue 18: the view was keyed by snapshot id only)."""
    import os
    from pathlib import Path

    from resilience.store.engine import create_database, make_engine, migrate

    src = DatabaseSource(engine)
    assert write_sample_snapshot(engine, served_subscribers=200) == 1
    assert src().served_subscribers == 200
    if db_url.startswith("sqlite"):
        engine.dispose()
        db = Path(db_url.split("sqlite:///", 1)[1])
        for p in db.parent.glob(db.name + "*"):
            p.unlink()
    else:
        engine.dispose()
        base = os.environ["RESILIENCE_TEST_PG_URL"]
        create_database(base, db_url.rsplit("/", 1)[1], replace=True)
    fresh = make_engine(db_url)
    migrate(fresh)
    assert write_sample_snapshot(fresh, served_subscribers=100) == 1
    fresh.dispose()
    again = src()
    assert again.id == 1 and again.served_subscribers == 100


def test_20000_operators_through_the_store_give_a_bounded_scrape(engine):
    """One swapped column (every site its own operator): the scrape stays bounded by the label
    limits and the per-site cap, and says how many values it folded."""
    import re

    from prometheus_client import CollectorRegistry, generate_latest

    from resilience.analysis.snapshot import compute_snapshot
    from resilience.exporter import register_collectors
    from resilience.store.snapshots import write_snapshot

    as_of = datetime(2024, 1, 2, 6, tzinfo=UTC)
    G = nx.MultiGraph(as_of=as_of)
    base = dict(prefecture="Ishikawa", power="grid", fresh=True, observed_at=as_of, battery_hours=6.0)
    G.add_node("C", kind="core", operator="docomo", municipality="Kanazawa", subscribers=0, state="up",
               **base)
    n = 20_000
    for i in range(n):
        G.add_node(f"B{i}", kind="base_station", operator=f"op{i:05d}", municipality=f"M{i % 20}",
                   subscribers=1 + i % 97, state="down" if i % 2 else "up", **base)
        G.add_edge("C", f"B{i}", key=f"L{i}", link_id=f"L{i}", medium="fiber", srlg="", state="up")
    write_snapshot(engine, compute_snapshot(G, hours=(1, 3)))

    def scrape(limits):
        registry = CollectorRegistry()
        register_collectors(CachedSource(DatabaseSource(engine, max_sites_out=500, label_limits=limits)),
                            registry=registry)
        body = generate_latest(registry)
        return registry, body, sum(1 for ln in body.splitlines() if ln and not ln.startswith(b"#"))

    registry, body, series = scrape({"operator": 50})
    assert len({m.group(1) for m in re.finditer(rb'operator="([^"]*)"', body)}) == 50 + 1
    # unbounded, resilience_nodes and resilience_subscribers alone would hold 2 x 20,000 series
    assert series < 51 * 40 + 3 * 500 + 500 and len(body) < 1_000_000
    g = registry.get_sample_value
    assert g("resilience_exporter_folded_label_values", {"label": "operator"}) == n + 1 - 50
    assert g("resilience_nodes_out", {"cause": "equipment", "root_cause": "true", "operator": "other",
                                      "prefecture": "Ishikawa", "municipality": "M1"}) is not None


def test_no_snapshot_yet(engine):
    assert DatabaseSource(engine)() is None
    assert CachedSource(DatabaseSource(engine)).state().up


def _graph() -> nx.MultiGraph:
    as_of = datetime(2024, 1, 2, 6, tzinfo=UTC)
    G = nx.MultiGraph(as_of=as_of)
    base = dict(operator="docomo", prefecture="Ishikawa", state="up", power="grid", fresh=True,
                observed_at=as_of - timedelta(minutes=1), battery_hours=6.0)
    nodes = {
        "C1": dict(kind="core", subscribers=0, municipality="Kanazawa", lat=36.56, lon=136.65,
                   battery_hours=float("inf")),
        "A1": dict(kind="aggregation", subscribers=0, municipality="Wajima", lat=37.39, lon=136.9,
                   state="down", power="none"),
        "B1": dict(kind="base_station", subscribers=100, municipality="Wajima", lat=37.4, lon=136.91,
                   power="battery", battery_remaining_min=90),
        "B2": dict(kind="base_station", subscribers=200, municipality="Wajima", lat=37.41, lon=136.92,
                   power="battery", battery_remaining_min=120),
        "B3": dict(kind="base_station", subscribers=400, municipality="Suzu", lat=37.43, lon=137.26),
        "B4": dict(kind="base_station", subscribers=50, municipality="Suzu", lat=37.44, lon=137.27),
    }
    for n, d in nodes.items():
        G.add_node(n, **{**base, **d})
    for key, a, b, srlg in [("L1", "C1", "A1", "R1"), ("L2", "A1", "B1", ""), ("L3", "C1", "B2", "R1"),
                            ("L4", "B2", "B3", ""), ("L5", "B1", "B4", ""), ("L6", "C1", "B3", "")]:
        G.add_edge(a, b, key=key, link_id=key, medium="fiber", srlg=srlg, state="up")
    return G


def test_bounded_queries_equal_the_full_latest_snapshot(engine):
    """The exporter's view read with bounded queries equals the view of latest_snapshot()."""
    from resilience.analysis.snapshot import compute_snapshot
    from resilience.store.snapshots import latest_snapshot, write_snapshot

    write_snapshot(engine, compute_snapshot(_graph(), hours=(1, 3, 6)))
    full = latest_snapshot(engine)
    assert len(full.nodes_out) > 0 and len(full.elements) > 0
    for top_n, cap in ((50, 2000), (2, 1)):
        got = DatabaseSource(engine, top_n=top_n, max_sites_out=cap)()
        want = view_of(full, top_n=top_n, max_sites_out=cap)
        assert set(got.outages) == set(want.outages)
        assert set(got.aggregates) == set(want.aggregates)
        assert replace(got, ingest=want.ingest, outages=(), aggregates=()) == replace(
            want, outages=(), aggregates=())


def test_a_source_takes_any_store_reader_and_writes_no_query():
    """The store's reader is injected (as pve-exporter's collectors take a client): a fake with
    the named reads, no database, gives the same kind of view."""
    from contextlib import contextmanager
    from types import SimpleNamespace as Row

    t0 = datetime(2024, 1, 3, tzinfo=UTC)

    class Reads:
        def database_identity(self):
            return None

        def latest_snapshot_row(self):
            return {"id": 3, "as_of": t0, "created_at": t0, "duration_seconds": 0.5, "total_nodes": 3,
                    "total_subscribers": 30, "served_nodes": 2, "served_subscribers": 20}

        def ingest_marks(self):
            return (1, t0), (0, None)

        def files_by_kind(self):
            return [("nodes", 1, 3)]

        def quarantined_by_rule(self):
            return []

        def aggregates(self, sid):
            return [Row(metric="cores", value=1.0, operator="", prefecture="", municipality="", kind="",
                        state="", cause="", horizon_hours=0.0)]

        def top_elements(self, sid, n):
            return [Row(element_type="link", element_id="L1", nodes_lost=1, subscribers_lost=10, kind="fiber",
                        operator="o", prefecture="p", municipality="m")][:n]

        def top_shared_risk_groups(self, sid, n):
            return []

        def outages_by_place(self, sid):
            return [("backhaul", False, "o", "p", "m", 1, 10)]

        def outage_upstreams(self, sid):
            return [("B", "L1", False, 10)]

        def sites_out(self, sid, limit):
            return [Row(node_id="B", cause="backhaul", root_cause=False, upstream="L1", kind="base_station",
                        operator="o", prefecture="p", municipality="m", subscribers=10, lat=None, lon=None)]

    class FakeStore:
        engine = path = None
        reopened = 0

        def file_identity(self):
            return None

        @contextmanager
        def reading(self):
            yield Reads()

    snap = DatabaseSource(FakeStore())()
    assert snap.id == 3 and [e.element_id for e in snap.elements] == ["L1"]
    assert [(r.root, r.root_type) for r in snap.roots] == [("L1", "link")]
    assert snap.ingest.rows_accepted == {"nodes": 3} and snap.core_nodes == 1
