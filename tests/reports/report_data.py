"""Report test data: a Noto-shaped store filled with SQLAlchemy Core inserts.

``fill_store(engine, hostile=...)`` writes an inventory and four snapshots (2, 8, 20 and 44 hours
after the 2024-01-01 16:10 JST earthquake) with outages growing as batteries run out. With
``hostile=True`` some feed names are injection payloads.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from resilience.store import tables as t

QUAKE = datetime(2024, 1, 1, 7, 10, tzinfo=UTC)  # 16:10 JST
HOURS_AFTER = (2, 8, 20, 44)
TOWNS = {  # name: (population, lat, lon)
    "Wajima": (24600, 37.390, 136.899),
    "Suzu": (12900, 37.437, 137.260),
    "Noto": (15700, 37.306, 137.150),
    "Anamizu": (7900, 37.231, 136.912),
    "Nanao": (50300, 37.043, 136.967),
    "Shika": (18600, 37.006, 136.778),
    "Nakanoto": (16600, 36.989, 136.899),
    "Hakui": (20400, 36.894, 136.779),
    "Hodatsushimizu": (12400, 36.862, 136.797),
    "Kanazawa": (463000, 36.561, 136.656),
}
HIT = {"Wajima": 0.8, "Suzu": 0.85, "Noto": 0.6, "Anamizu": 0.5, "Nanao": 0.2, "Shika": 0.25}
OPERATORS = ("docomo", "KDDI", "SoftBank", "Rakuten", "Noto CATV")
CAUSE_WEIGHTS = {"power": 0.38, "backhaul": 0.27, "power+backhaul": 0.3, "equipment": 0.03,
                 "unknown": 0.02}
HORIZONS = (1, 3, 6, 24, 72)

XSS_MUNI = "<script>alert(1)</script>"
XSS_OPERATOR = '"><img src=x onerror="document.title=\'pwned\'">'
XSS_TITLE = "</title><script>document.title='pwned'</script>"
FORMULA_SRLG = '=HYPERLINK("http://evil.example/x","click")'


def _sites(rng: random.Random, hostile: bool) -> list[dict]:
    rows = []
    for town, (pop, lat, lon) in TOWNS.items():
        muni = XSS_MUNI if hostile and town == "Suzu" else town
        spread = 0.12 if town != "Kanazawa" else 0.06
        for op in OPERATORS:
            opname = XSS_OPERATOR if hostile and op == "Rakuten" else op
            n = 3 + min(pop // 2500, 14)
            for i in range(n):
                kind = "aggregation" if i == 0 else ("cable_headend" if op == "Noto CATV" and i == 1
                                                    else "base_station")
                nid = f"{op[:3].upper()}-{town[:4].upper()}-{i:03d}"
                name = f"{town} {op} {i}"
                if hostile and i == 2 and town == "Wajima":
                    name = XSS_TITLE
                rows.append({
                    "node_id": nid, "kind": kind, "operator": opname, "name": name,
                    "lat": lat + rng.uniform(-spread, spread) * 0.7,
                    "lon": lon + rng.uniform(-spread, spread),
                    "prefecture": "Ishikawa", "municipality": muni,
                    "subscribers": 0 if kind == "aggregation" else rng.randint(200, 1500),
                    "battery_hours": rng.choice([3, 3, 4, 6, 24]), "power_feed": f"F-{town}",
                })
    rows.append({"node_id": "CORE-KNZ", "kind": "core", "operator": "docomo", "name": "Kanazawa core",
                 "lat": 36.58, "lon": 136.64, "prefecture": "Ishikawa", "municipality": "Kanazawa",
                 "subscribers": 0, "battery_hours": float("inf"), "power_feed": "F0"})
    return rows


def fill_store(engine: Engine, *, hostile: bool = False, seed: int = 7) -> dict:
    """Insert an inventory and four snapshots; return what was written (for assertions)."""
    rng = random.Random(seed)
    sites = _sites(rng, hostile)
    total_nodes = len(sites)
    total_subs = sum(s["subscribers"] for s in sites)
    written = {"sites": sites, "snapshots": []}
    causes, weights = zip(*CAUSE_WEIGHTS.items(), strict=True)
    ranks = {s["node_id"]: rng.random() for s in sites}
    fixed_cause = {s["node_id"]: rng.choices(causes, weights)[0] for s in sites}
    with engine.begin() as conn:
        conn.execute(t.nodes.insert(), sites)
        for k, h in enumerate(HOURS_AFTER):
            growth = (k + 1) / len(HOURS_AFTER)
            out = []
            for s in sites:
                if s["kind"] == "core":
                    continue
                town = next(tn for tn in TOWNS if s["node_id"].split("-")[1] == tn[:4].upper())
                if ranks[s["node_id"]] >= HIT.get(town, 0.0) * growth:
                    continue
                out.append(s)
            as_of = QUAKE + timedelta(hours=h)
            served_subs = total_subs - sum(s["subscribers"] for s in out)
            sid = conn.execute(t.snapshots.insert().values(
                created_at=as_of + timedelta(minutes=1), as_of=as_of, status="complete",
                total_nodes=total_nodes, total_subscribers=total_subs,
                served_nodes=total_nodes - len(out), served_subscribers=served_subs,
                duration_seconds=0.5, summary_json=json.dumps({"sites_out": len(out)}),
            )).inserted_primary_key[0]
            out_rows = [{
                "snapshot_id": sid, "node_id": s["node_id"], "cause": fixed_cause[s["node_id"]],
                "root_cause": s["kind"] != "base_station" or rng.random() < 0.8, "upstream": None,
                "kind": s["kind"], "operator": s["operator"], "prefecture": s["prefecture"],
                "municipality": s["municipality"], "subscribers": s["subscribers"],
                "lat": s["lat"], "lon": s["lon"],
            } for s in out]
            if out_rows:
                conn.execute(t.snapshot_nodes_out.insert(), out_rows)
            served = [s for s in sites if s not in out and s["kind"] == "aggregation"]
            elements = [{
                "snapshot_id": sid, "element_type": "node", "element_id": s["node_id"],
                "nodes_lost": 5 + i % 7, "subscribers_lost": 4000 + 371 * i,
                "kind": s["kind"], "operator": s["operator"], "prefecture": s["prefecture"],
                "municipality": s["municipality"],
            } for i, s in enumerate(served)]
            elements.append({
                "snapshot_id": sid, "element_type": "link", "element_id": "L-NANAO-WAJIMA-1",
                "nodes_lost": 40, "subscribers_lost": 31000, "kind": "fiber", "operator": "docomo",
                "prefecture": "Ishikawa", "municipality": "Nanao",
            })
            conn.execute(t.snapshot_elements.insert(), elements)
            conn.execute(t.snapshot_srlgs.insert(), [
                {"snapshot_id": sid, "srlg": "R249-coastal", "links": 6, "nodes_lost": 55,
                 "subscribers_lost": 42000, "hidden": True},
                {"snapshot_id": sid, "srlg": FORMULA_SRLG if hostile else "Noto-pass-tunnel",
                 "links": 3, "nodes_lost": 18, "subscribers_lost": 12500, "hidden": True},
                {"snapshot_id": sid, "srlg": "Nanao-bridge", "links": 2, "nodes_lost": 0,
                 "subscribers_lost": 0, "hidden": False},
            ])
            fc, forecast = [], []
            for j, hz in enumerate(HORIZONS):
                nodes = len(out) + int((total_nodes - len(out)) * 0.08 * (j + 1) ** 1.2)
                forecast.append({"horizon_hours": float(hz), "nodes_out": nodes,
                                 "subscribers_out": nodes * 700})
                # stored like compute_snapshot does: one row per operator and prefecture
                for metric, total in (("forecast_nodes_out", nodes),
                                      ("forecast_subscribers_out", nodes * 700)):
                    for k, op in enumerate(OPERATORS):
                        share = total // len(OPERATORS) + (total % len(OPERATORS) if k == 0 else 0)
                        fc.append({"snapshot_id": sid, "metric": metric, "operator": op,
                                   "prefecture": "Ishikawa", "horizon_hours": float(hz),
                                   "value": float(share)})
            conn.execute(t.snapshot_aggregates.insert(), fc)
            written["snapshots"].append({
                "id": sid, "as_of": as_of, "sites_out": len(out),
                "subscribers_out": total_subs - served_subs,
                "served_ratio": served_subs / total_subs, "out": out_rows,
                "elements": elements, "forecast": forecast,
            })
    written["total_nodes"], written["total_subscribers"] = total_nodes, total_subs
    return written
