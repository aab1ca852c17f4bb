"""Benchmark of the exporter: /metrics for a 1-million-site snapshot, and 50 concurrent scrapers.

The snapshot rows are synthesised straight into the store (SQLite file in a temp dir): a scrape's
cost depends on the rows the exporter reads -- aggregates with bounded labels, the top N
elements, the grouped and capped out sites -- not on the graph, so no graph is built. The store
holds what a 1M-site national snapshot in a large disaster holds: 1,000,000 nodes in the
inventory totals, 500,000 SPOF element rows (read only through ORDER BY ... LIMIT top_n),
50,000 out nodes over 300 municipalities with upstream chains, and aggregates for 10 operators
over 47 prefectures and 1,741 municipalities.

Run: ``.venv/bin/python benchmarks/exporter.py [--sites 1000000] [--seconds 30] [--clients 50]``
Targets (issue 5): median scrape under 100 ms, bounded body; 50 scrapers, no error, p99 < 500 ms.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from resilience.exporter import make_exporter, start_server  # noqa: E402
from resilience.store import tables as t  # noqa: E402
from resilience.store.engine import make_engine, migrate  # noqa: E402

OPERATORS = ["docomo", "kddi", "softbank", "rakuten"] + [f"catv{i}" for i in range(6)]
KINDS = ["core", "aggregation", "base_station", "cable_headend", "optical_node", "relay", "satellite_gateway"]
CAUSES = ["power", "backhaul", "power+backhaul", "equipment", "unknown"]
PREFS = [f"pref{i:02d}" for i in range(47)]
MUNIS = [f"muni{i:04d}" for i in range(1741)]


def synthesise(url: str, sites: int, seed: int = 7) -> dict:
    """Write one synthetic snapshot of ``sites`` sites; return its row counts."""
    rng = np.random.default_rng(seed)
    eng = make_engine(url)
    migrate(eng)
    now = datetime.now(UTC)
    counts = {}
    with eng.begin() as conn:
        sid = conn.execute(t.snapshots.insert().values(
            created_at=now, as_of=now - timedelta(seconds=60), status="complete", total_nodes=sites,
            total_subscribers=sites * 120, served_nodes=sites - 50_000, served_subscribers=sites * 114,
            duration_seconds=9.0, summary_json="{}")).inserted_primary_key[0]
        n_el = sites // 2
        subs = rng.integers(0, 200_000, n_el)
        conn.execute(t.snapshot_elements.insert(), [
            dict(snapshot_id=sid, element_type="node" if i % 3 else "link", element_id=f"E{i}",
                 nodes_lost=int(s // 100) + 2, subscribers_lost=int(s), kind=KINDS[i % 7],
                 operator=OPERATORS[i % 10], prefecture=PREFS[i % 47], municipality=MUNIS[i % 1741])
            for i, s in enumerate(subs)])
        counts["snapshot_elements"] = n_el
        conn.execute(t.snapshot_srlgs.insert(), [
            dict(snapshot_id=sid, srlg=f"G{i}", links=3, nodes_lost=i % 50, subscribers_lost=i * 10,
                 hidden=i % 4 == 0) for i in range(5000)])
        n_out = min(50_000, sites // 20)
        roots = max(1, n_out // 25)
        rows = []
        for i in range(n_out):
            root = i < roots
            rows.append(dict(
                snapshot_id=sid, node_id=f"S{i}", cause=CAUSES[i % 5] if root else "backhaul",
                root_cause=root, upstream=None if root else (f"S{i % roots}" if i % 4 else f"L{i % 97}"),
                kind="base_station", operator=OPERATORS[i % 10], prefecture=PREFS[i % 3],
                municipality=MUNIS[i % 300], subscribers=int(rng.integers(0, 3000)),
                lat=36.5 + (i % 1000) / 1000, lon=136.5 + (i % 777) / 777))
        conn.execute(t.snapshot_nodes_out.insert(), rows)
        counts["snapshot_nodes_out"] = n_out
        blank = dict(operator="", prefecture="", municipality="", kind="", state="", cause="", horizon_hours=0.0)
        aggs = []
        for op in OPERATORS:
            for p in PREFS:
                for k in KINDS[:4]:
                    for s in ("up", "down", "degraded", "unknown"):
                        aggs.append({**blank, "metric": "nodes", "operator": op, "prefecture": p, "kind": k,
                                     "state": s, "value": 100.0})
                    aggs.append({**blank, "metric": "subscribers", "operator": op, "prefecture": p, "kind": k,
                                 "value": 1e4})
                    aggs.append({**blank, "metric": "articulation_points", "operator": op, "prefecture": p,
                                 "kind": k, "value": 10.0})
                aggs.append({**blank, "metric": "served_nodes", "operator": op, "prefecture": p, "value": 1e3})
                aggs.append({**blank, "metric": "served_subscribers", "operator": op, "prefecture": p,
                             "value": 1e5})
                aggs.append({**blank, "metric": "bridges", "operator": op, "prefecture": p, "kind": "fiber",
                             "value": 5.0})
                for h in (1, 3, 6, 24, 72):
                    for m in ("forecast_nodes_out", "forecast_subscribers_out"):
                        aggs.append({**blank, "metric": m, "operator": op, "prefecture": p,
                                     "horizon_hours": float(h), "value": float(h)})
            munis = MUNIS if op in OPERATORS[:4] else MUNIS[:100]
            for i, m in enumerate(munis):
                for metric in ("single_homed_nodes", "single_homed_subscribers"):
                    aggs.append({**blank, "metric": metric, "operator": op, "prefecture": PREFS[i % 47],
                                 "municipality": m, "value": 7.0})
        aggs.append({**blank, "metric": "hidden_srlgs", "value": 1250.0})
        aggs.append({**blank, "metric": "srlgs_cutting", "value": 4900.0})
        conn.execute(t.snapshot_aggregates.insert(), [{"snapshot_id": sid, **a} for a in aggs])
        counts["snapshot_aggregates"] = len(aggs)
    eng.dispose()
    return counts


def _scrape(url: str, gz: bool) -> tuple[float, int]:
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gz else {})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
        assert r.status == 200
    return time.perf_counter() - t0, len(body)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--scrapes", type=int, default=50)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/bench.db"
        t0 = time.perf_counter()
        counts = synthesise(url, args.sites)
        print(f"synthesised a {args.sites:,}-site snapshot in {time.perf_counter() - t0:.1f} s: {counts}")
        app = make_exporter(url, top_n=50, max_sites_out=2000, ttl=5)
        t0 = time.perf_counter()
        first = app.metrics()
        load = time.perf_counter() - t0
        series = sum(1 for ln in first.splitlines() if ln and not ln.startswith(b"#"))
        server, _ = start_server(app, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.server_port}/metrics"
        try:
            rows = []
            for gz in (False, True):
                times, size = [], 0
                for _ in range(args.scrapes):
                    dt, size = _scrape(base, gz)
                    times.append(dt)
                rows.append((f"sequential /metrics ({'gzip' if gz else 'plain'})", len(times), 0,
                             statistics.median(times), float(np.percentile(times, 99)), size))
            lat: list[float] = []
            errors = [0]
            stop = time.time() + args.seconds
            lock = threading.Lock()

            def worker() -> None:
                while time.time() < stop:
                    try:
                        dt, _ = _scrape(base, True)
                        with lock:
                            lat.append(dt)
                    except Exception:  # noqa: BLE001 - counted, reported
                        with lock:
                            errors[0] += 1
            threads = [threading.Thread(target=worker) for _ in range(args.clients)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            rows.append((f"{args.clients} concurrent scrapers, {args.seconds:g} s (gzip)", len(lat), errors[0],
                         statistics.median(lat), float(np.percentile(lat, 99)), size))
        finally:
            server.shutdown()
            server.server_close()
    print(f"first render after a new snapshot (store read + render + gzip): {load * 1000:.0f} ms; "
          f"{series:,} series; body {len(first) / 1e6:.2f} MB plain, "
          f"{len(gzip.compress(first)) / 1e6:.2f} MB gzip")
    print(f"{'case':<48} {'scrapes':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'body bytes':>11}")
    for name, n, err, p50, p99, size in rows:
        print(f"{name:<48} {n:>8} {err:>6} {p50 * 1000:>8.1f} {p99 * 1000:>8.1f} {size:>11,}")
    ok = rows[0][3] < 0.1 and rows[-1][2] == 0 and rows[-1][4] < 0.5
    print("targets (median < 100 ms, no error, p99 < 500 ms):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
