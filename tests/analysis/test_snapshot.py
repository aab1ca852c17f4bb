"""compute_snapshot on the known network, and its round trip through the store."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select

from resilience.analysis.snapshot import (
    AGGREGATE_COLUMNS,
    AGGREGATE_METRICS,
    ELEMENT_COLUMNS,
    NODES_OUT_COLUMNS,
    compute_snapshot,
)
from resilience.store.snapshots import latest_snapshot, read_snapshot, write_snapshot
from resilience.store.tables import metadata, snapshot_elements, snapshots
from resilience.topology.graph import build_graph

T0 = datetime(2024, 1, 2, 6, 0, tzinfo=UTC)

NODES = [
    # node_id, kind, municipality, subscribers, battery_hours, power_feed
    ("C1", "core", "Kanazawa", 0, float("inf"), "F0"),
    ("A1", "aggregation", "Wajima", 0, 24.0, "F1"),
    ("B1", "base_station", "Wajima", 100, 6.0, "F1"),
    ("B2", "base_station", "Wajima", 200, 3.0, "F1"),
    ("B3", "base_station", "Wajima", 400, 3.0, "F2"),
]
LINKS = [("L1", "C1", "A1", "R1"), ("L2", "A1", "B1", ""), ("L3", "A1", "B2", ""),
         ("L4", "C1", "B2", "R1"), ("L5", "B1", "B3", "")]


def graph(status=None, power=None):
    nodes = [dict(node_id=n, kind=k, operator="docomo", prefecture="Ishikawa", municipality=m,
                  subscribers=s, battery_hours=b, power_feed=f, lat=37.0, lon=137.0)
             for n, k, m, s, b, f in NODES]
    links = [dict(link_id=i, a=a, b=b, medium="fiber", srlg=g) for i, a, b, g in LINKS]
    return build_graph(nodes, links, status, None, power, as_of=T0)


def agg(snap, metric, **labels):
    a = snap.aggregates[snap.aggregates["metric"] == metric]
    for k, v in labels.items():
        a = a[a[k] == v]
    return a["value"].sum()


def test_snapshot_known_network():
    st = [dict(observed_at=T0, node_id=n, state="up", power="grid") for n, *_ in NODES]
    st[1] = dict(observed_at=T0, node_id="A1", state="down", power="none")
    snap = compute_snapshot(graph(st, [dict(observed_at=T0, power_feed="F1", state="off")]))
    assert (snap.total_nodes, snap.total_subscribers) == (5, 700)
    assert (snap.served_nodes, snap.served_subscribers) == (2, 200)  # C1, B2 (via L4)
    assert list(snap.elements.columns) == ELEMENT_COLUMNS
    assert list(snap.nodes_out.columns) == NODES_OUT_COLUMNS
    assert list(snap.aggregates.columns) == AGGREGATE_COLUMNS
    assert set(snap.aggregates["metric"]) <= set(AGGREGATE_METRICS)
    out = snap.nodes_out.set_index("node_id")
    assert out.loc["A1", "cause"] == "power" and out.loc["A1", "root_cause"]
    assert out.loc["B1", "cause"] == "backhaul" and out.loc["B1", "upstream"] == "A1"
    assert not out.loc["B3", "root_cause"]
    assert snap.summary["nodes_out_by_cause"] == {"power": 1, "backhaul": 2}
    assert agg(snap, "nodes_out", cause="backhaul", municipality="Wajima") == 2
    assert agg(snap, "subscribers_out") == 500
    assert agg(snap, "root_cause_nodes_out") == 1
    # B2 hangs on L4 and C1 now; F1 is off, B2's 3 h battery runs out
    assert agg(snap, "forecast_subscribers_out", horizon_hours=1.0) == 500
    assert agg(snap, "forecast_subscribers_out", horizon_hours=3.0) == 700
    assert snap.summary["forecast"][0] == {"horizon_hours": 1.0, "nodes_out": 3,
                                           "subscribers_out": 500}
    assert agg(snap, "nodes") == 5 and agg(snap, "nodes", state="down") == 1


def test_snapshot_all_up_spofs_and_srlgs():
    snap = compute_snapshot(graph(), top_n=2)
    el = snap.elements
    assert el["element_id"].tolist() == ["C1", "A1", "B1", "L2", "L5"]
    assert el.set_index("element_id").loc["L5", "municipality"] == "Wajima"
    assert el.set_index("element_id").loc["L5", "kind"] == "fiber"
    r1 = snap.srlgs.set_index("srlg").loc["R1"]
    assert (r1["nodes_lost"], r1["subscribers_lost"], bool(r1["hidden"])) == (4, 700, True)
    assert agg(snap, "hidden_srlgs") == 1 and agg(snap, "bridges") == 2
    assert agg(snap, "articulation_points") == 3
    assert agg(snap, "single_homed_nodes") == 2 and agg(snap, "single_homed_subscribers") == 500
    assert len(snap.summary["top_elements"]) == 2
    # no fresh status at all: every node unknown-state but served, nothing out
    assert len(snap.nodes_out) == 0 and agg(snap, "nodes", state="unknown") == 5


def test_store_round_trip_and_prune(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'r.db'}")
    metadata.create_all(engine)
    assert latest_snapshot(engine) is None
    st = [dict(observed_at=T0, node_id=n, state="up", power="grid") for n, *_ in NODES]
    st[1] = dict(observed_at=T0, node_id="A1", state="down", power="none")
    snap = compute_snapshot(graph(st))
    ids = [write_snapshot(engine, snap, keep=3) for _ in range(5)]
    back = latest_snapshot(engine)
    assert back.id == ids[-1] and back.status == "complete"
    assert back.as_of == T0 and back.created_at.tzinfo is not None
    assert (back.served_nodes, back.served_subscribers) == (snap.served_nodes, snap.served_subscribers)
    assert back.summary == snap.summary
    for name in ("elements", "srlgs", "nodes_out"):
        a = getattr(snap, name).reset_index(drop=True)
        b = getattr(back, name)
        b = b.sort_values(list(b.columns[:1])).reset_index(drop=True) if name == "nodes_out" else b
        a = a.sort_values(list(a.columns[:1])).reset_index(drop=True) if name == "nodes_out" else a
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert back.nodes_out.set_index("node_id").loc["A1", "upstream"] is None
    key = ["metric", "operator", "prefecture", "municipality", "kind", "state", "cause",
           "horizon_hours"]
    pd.testing.assert_frame_equal(
        snap.aggregates.sort_values(key).reset_index(drop=True),
        back.aggregates.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(snapshots)).scalar() == 3
        # the same elements five times: stored once, open, first seen in a pruned snapshot
        rows = c.execute(select(snapshot_elements.c.snapshot_id,
                                snapshot_elements.c.until_snapshot_id)).all()
    assert len(rows) == len(snap.elements) and {r[1] for r in rows} == {None}
    assert {r[0] for r in rows} == {ids[0]}
    for sid in ids[-3:]:  # every kept snapshot reads the elements written for it
        pd.testing.assert_frame_equal(snap.elements.reset_index(drop=True),
                                      read_snapshot(engine, sid).elements, check_dtype=False)
    assert read_snapshot(engine, ids[0]) is None


def test_failed_write_leaves_previous_snapshot(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'r.db'}")
    metadata.create_all(engine)
    good = compute_snapshot(graph())
    sid = write_snapshot(engine, good)
    bad = compute_snapshot(graph())
    bad.elements = bad.elements.assign(nodes_lost=None)  # NOT NULL violation mid-transaction
    with pytest.raises(Exception):  # noqa: B017 - any database error
        write_snapshot(engine, bad)
    assert latest_snapshot(engine).id == sid
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(snapshots)).scalar() == 1
