"""A small stored snapshot with known answers, written straight into the snapshot tables.

Two operators. docomo: core C1; aggregation A1 is down on power (a root cause); B1 behind it is
out (backhaul, upstream A1), B3 behind B1 is out (upstream B1, so its root is A1); B2 is served
over a second path. kddi: core K1; base station K2 is cut off by link LK2 (backhaul, upstream
LK2: a cut link is its root); K3 is down with power and path (equipment, a root cause).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from resilience.store import tables as t

__all__ = ["write_sample_snapshot", "EXPECTED", "OUT_ROWS"]

OUT_ROWS = [
    # node_id, cause, root_cause, upstream, kind, operator, prefecture, municipality, subs, lat, lon
    ("A1", "power", True, None, "aggregation", "docomo", "Ishikawa", "Wajima", 0, 37.39, 136.90),
    ("B1", "backhaul", False, "A1", "base_station", "docomo", "Ishikawa", "Wajima", 100, 37.40, 136.91),
    ("B3", "power+backhaul", False, "B1", "base_station", "docomo", "Ishikawa", "Suzu", 400, 37.43, 137.26),
    ("K2", "backhaul", False, "LK2", "base_station", "kddi", "Ishikawa", "Suzu", 300, 37.44, 137.25),
    ("K3", "equipment", True, None, "base_station", "kddi", "Ishikawa", "Noto", 50, 37.30, 137.15),
]

ELEMENTS = [
    # element_type, id, nodes_lost, subscribers_lost, kind, operator, prefecture, municipality
    ("node", "C1", 5, 700, "core", "docomo", "Ishikawa", "Kanazawa"),
    ("node", "K1", 3, 350, "core", "kddi", "Ishikawa", "Kanazawa"),
    ("node", "B1", 2, 500, "base_station", "docomo", "Ishikawa", "Wajima"),
    ("link", "L2", 2, 500, "fiber", "docomo", "Ishikawa", "Wajima"),
    ("link", "L5", 1, 400, "microwave", "docomo", "Ishikawa", "Suzu"),
    ("node", "B2", 1, 200, "base_station", "docomo", "Ishikawa", "Wajima"),  # not a SPOF (itself only)
]

# srlg, links, nodes_lost, subscribers_lost, hidden, hidden_nodes, hidden_subscribers:
# R1 cuts B1, B2, B3; B2 is not single-homed (the hidden part); R7 cuts only what a link cuts
SRLGS = [("R1", 2, 3, 500, True, 1, 200), ("R7", 1, 1, 50, False, 0, 0)]

FORECAST = {1: (0, 0), 3: (2, 600), 6: (3, 650), 24: (4, 700), 72: (6, 1050)}

NODES = [
    # state, kind, operator, prefecture, count
    ("up", "core", "docomo", "Ishikawa", 1),
    ("down", "aggregation", "docomo", "Ishikawa", 1),
    ("up", "base_station", "docomo", "Ishikawa", 3),
    ("up", "core", "kddi", "Ishikawa", 1),
    ("up", "base_station", "kddi", "Ishikawa", 1),
    ("down", "base_station", "kddi", "Ishikawa", 1),
]

SPOFS_CUTTING_OTHERS = {"docomo": 3, "kddi": 1}

SINGLE_HOMED = [("docomo", "Ishikawa", "Wajima", 1, 200), ("kddi", "Ishikawa", "Suzu", 1, 300)]

EXPECTED = {
    "total_nodes": 8,
    "total_subscribers": 1050,
    "served_nodes": 3,
    "served_subscribers": 200,
    "articulation_points": 3,  # C1, K1, B1 (B2 loses only itself)
    "bridges": 2,
    "hidden_spof_groups": 1,
    "srlg_hidden": {"R1": (1, 200), "R7": (0, 0)},
    "spofs_cutting_other_sites": 4,
    "single_homed_sites": 1,
    "core_nodes": 2,
    "nodes_out": 5,
    "subscribers_out": 850,
    "root_causes": {"A1", "K3"},
    "roots": {"A1": ("node", 3, 500), "LK2": ("link", 1, 300), "K3": ("node", 1, 50)},
    "forecast": FORECAST,
    "ingest_accepted": {"inventory": 10, "status": 7},
    "ingest_quarantined": {("status", "expect_column_values_to_be_in_set:state"): 2,
                           ("status", "expect_column_values_to_not_be_null:node_id"): 1},
}


def write_sample_snapshot(engine: Engine, as_of: datetime | None = None, snapshot_id: int | None = None,
                          served_subscribers: int = 200, with_ingest: bool = True,
                          with_cores: bool = True) -> int:
    """Insert the sample snapshot (and ingest records) and return its id.

    ``with_cores=False`` writes no ``cores`` aggregate, as snapshots before it did.
    """
    now = datetime.now(UTC)
    as_of = as_of or now - timedelta(seconds=30)
    with engine.begin() as conn:
        values = dict(created_at=now, as_of=as_of, status="complete", total_nodes=8, total_subscribers=1050,
                      served_nodes=3, served_subscribers=served_subscribers, duration_seconds=0.25,
                      summary_json="{}")
        if snapshot_id is not None:
            values["id"] = snapshot_id
        sid = conn.execute(t.snapshots.insert().values(**values)).inserted_primary_key[0]
        conn.execute(t.snapshot_elements.insert(), [
            dict(snapshot_id=sid, element_type=e[0], element_id=e[1], nodes_lost=e[2], subscribers_lost=e[3],
                 kind=e[4], operator=e[5], prefecture=e[6], municipality=e[7]) for e in ELEMENTS])
        conn.execute(t.snapshot_srlgs.insert(), [
            dict(snapshot_id=sid, srlg=s[0], links=s[1], nodes_lost=s[2], subscribers_lost=s[3], hidden=s[4],
                 hidden_nodes=s[5], hidden_subscribers=s[6])
            for s in SRLGS])
        conn.execute(t.snapshot_nodes_out.insert(), [
            dict(snapshot_id=sid, node_id=r[0], cause=r[1], root_cause=r[2], upstream=r[3], kind=r[4],
                 operator=r[5], prefecture=r[6], municipality=r[7], subscribers=r[8], lat=r[9], lon=r[10])
            for r in OUT_ROWS])
        aggs = []
        for state, kind, op, pref, n in NODES:
            aggs.append(dict(metric="nodes", state=state, kind=kind, operator=op, prefecture=pref, value=n))
        for op, kind, _n, subs in (("docomo", "base_station", 4, 700), ("docomo", "aggregation", 0, 0),
                                  ("docomo", "core", 0, 0), ("kddi", "core", 0, 0),
                                  ("kddi", "base_station", 3, 350)):
            aggs.append(dict(metric="subscribers", kind=kind, operator=op, prefecture="Ishikawa", value=subs))
        for op, n, subs in (("docomo", 2, 200),  ("kddi", 1, 0)):
            aggs.append(dict(metric="served_nodes", operator=op, prefecture="Ishikawa", value=n))
            aggs.append(dict(metric="served_subscribers", operator=op, prefecture="Ishikawa", value=subs))
        for metric, op, kind, n in (("articulation_points", "docomo", "core", 1),
                                    ("articulation_points", "docomo", "base_station", 1),
                                    ("articulation_points", "kddi", "core", 1),
                                    ("bridges", "docomo", "fiber", 1), ("bridges", "docomo", "microwave", 1)):
            aggs.append(dict(metric=metric, operator=op, prefecture="Ishikawa", kind=kind, value=n))
        aggs.append(dict(metric="hidden_srlgs", value=1))
        # C1, B1, L2 (docomo) and K1 (kddi) cut other sites; L5 is B4's own access link
        for op, n in SPOFS_CUTTING_OTHERS.items():
            aggs.append(dict(metric="spofs_cutting_others", operator=op, prefecture="Ishikawa", value=n))
        aggs.append(dict(metric="single_homed_sites", operator="docomo", prefecture="Ishikawa", value=1))
        if with_cores:
            aggs.append(dict(metric="cores", value=2))
        aggs.append(dict(metric="srlgs_cutting", value=2))
        for op, pref, muni, n, subs in SINGLE_HOMED:
            aggs.append(dict(metric="single_homed_nodes", operator=op, prefecture=pref, municipality=muni, value=n))
            aggs.append(dict(metric="single_homed_subscribers", operator=op, prefecture=pref,
                             municipality=muni, value=subs))
        for h, (n, subs) in FORECAST.items():
            if n:  # like compute_snapshot: no row for an empty group
                aggs.append(dict(metric="forecast_nodes_out", operator="docomo", prefecture="Ishikawa",
                                 horizon_hours=float(h), value=n))
                aggs.append(dict(metric="forecast_subscribers_out", operator="docomo", prefecture="Ishikawa",
                                 horizon_hours=float(h), value=subs))
        blank = dict(operator="", prefecture="", municipality="", kind="", state="", cause="", horizon_hours=0.0)
        conn.execute(t.snapshot_aggregates.insert(), [{**blank, "snapshot_id": sid, **a} for a in aggs])
        if with_ingest:
            conn.execute(t.feed_files.insert(), [
                dict(sha256="a" * 64, path="nodes.csv", kind="inventory", rows=8, accepted=8, quarantined=0,
                     ingested_at=now),
                dict(sha256="b" * 64, path="links.csv", kind="inventory", rows=2, accepted=2, quarantined=0,
                     ingested_at=now),
                dict(sha256="c" * 64, path="status.csv", kind="status", rows=10, accepted=7, quarantined=3,
                     ingested_at=now),
            ])
            conn.execute(t.quarantine.insert(), [
                dict(file_sha256="c" * 64, path="status.csv", kind="status", line=3, field="state",
                     value="broken", rule="expect_column_values_to_be_in_set", reason="state not in set",
                     created_at=now),
                dict(file_sha256="c" * 64, path="status.csv", kind="status", line=4, field="state",
                     value="x", rule="expect_column_values_to_be_in_set", reason="state not in set",
                     created_at=now),
                dict(file_sha256="c" * 64, path="status.csv", kind="status", line=5, field="node_id",
                     value=None, rule="expect_column_values_to_not_be_null", reason="missing node_id",
                     created_at=now),
            ])
    return int(sid)
