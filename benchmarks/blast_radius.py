"""Benchmark of the analysis engine (issue 3). Prints a table; all ratios are measured in this process.

1. Topology Zoo Kdl (754 nodes): all node and link blast radii, our linear pass versus networkx
   remove-and-recount (brute force), speed-up.
2. A synthetic national network (default 1 million sites, ``resilience.sample.synthetic``):
   all node and link blast radii (including the conversion of the networkx graph to CSR arrays),
   peak memory, and the ratio to ``networkx.articulation_points`` alone on the same graph;
   a what-if (a 20 km disc around the busiest aggregation site); a 72-hour battery forecast.

Run from the repository root::

    .venv/bin/python benchmarks/blast_radius.py                 # 1M sites, 3 repeats
    .venv/bin/python benchmarks/blast_radius.py --sites 100000  # quicker
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import timed  # noqa: E402
from resilience.analysis import (  # noqa: E402
    battery_forecast,
    blast_radius,
    single_points_of_failure,
    to_csr,
)
from resilience.scenarios import RegionFailure, run_whatif  # noqa: E402

KDL = [
    ROOT.parent / "shared" / "data" / "topologyzoo" / "Kdl.graphml",
    ROOT / "tests" / "data" / "topologyzoo" / "Kdl.graphml",
]



def brute_force(G: nx.MultiGraph, roots: list[str]) -> dict:
    """networkx remove-and-recount: for each element, copy-free removal via subgraph views."""

    def served(H: nx.Graph) -> set:
        out: set = set()
        for r in roots:
            if r in H and r not in out:
                out |= nx.node_connected_component(H, r)
        return out

    base = served(G)
    res = {}
    for n in list(G):
        H = nx.restricted_view(G, [n], [])
        res[("node", n)] = len(base - served(H))
    for u, v, k in list(G.edges(keys=True)):
        H = nx.restricted_view(G, [], [(u, v, k)])
        res[("link", k)] = len(base - served(H))
    return res


def kdl_graph() -> nx.MultiGraph | None:
    path = next((p for p in KDL if p.exists()), None)
    if path is None:
        return None
    from resilience.sample.zoo import zoo_multigraph

    G = zoo_multigraph(path)
    top = max(G, key=lambda n: (G.degree(n), n))
    G.nodes[top]["kind"] = "core"
    return G


def synthetic_graph(sites: int, seed: int) -> tuple[nx.MultiGraph, float, str]:
    from resilience.topology.graph import build_graph

    t = time.perf_counter()
    try:
        from resilience.sample.synthetic import generate_synthetic

        net = generate_synthetic(sites, seed=seed)
        src = "resilience.sample.synthetic.generate_synthetic"
        G = build_graph(
            net.nodes, net.links, net.node_status, net.link_status, net.power_status
        )
        del net
    except ImportError:  # fallback: a minimal local generator
        G = _local_synthetic(sites, seed)
        src = "local generator (benchmarks/blast_radius.py)"
    return G, time.perf_counter() - t, src


def _local_synthetic(sites: int, seed: int) -> nx.MultiGraph:
    """Core ring, aggregation trees, base stations single- or dual-homed (fallback only)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    G = nx.MultiGraph()
    n_core = 20
    n_agg = max(1, sites // 50)
    n_bs = sites - n_core - n_agg
    for i in range(n_core):
        G.add_node(f"C{i}", kind="core", subscribers=0)
        G.add_edge(f"C{i}", f"C{(i + 1) % n_core}", key=f"LC{i}")
    parent = rng.integers(0, np.arange(n_agg) + 1)
    for i in range(n_agg):
        G.add_node(f"A{i}", kind="aggregation", subscribers=0)
        up = f"C{i % n_core}" if i < n_core or parent[i] >= i else f"A{parent[i]}"
        G.add_edge(f"A{i}", up, key=f"LA{i}")
    home = rng.integers(0, n_agg, n_bs)
    dual = rng.random(n_bs) < 0.5
    home2 = rng.integers(0, n_agg, n_bs)
    subs = rng.integers(50, 3000, n_bs)
    for i in range(n_bs):
        G.add_node(f"B{i}", kind="base_station", subscribers=int(subs[i]), battery_hours=6.0,
                   power="battery" if i % 100 == 0 else "grid")
        G.add_edge(f"B{i}", f"A{home[i]}", key=f"LB{i}")
        if dual[i]:
            G.add_edge(f"B{i}", f"A{home2[i]}", key=f"LD{i}")
    return G


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-kdl", action="store_true")
    ap.add_argument("--skip-networkx", action="store_true", help="skip articulation_points")
    args = ap.parse_args(argv)
    rows: list[tuple[str, str, str]] = []

    def row(what: str, value: str, note: str = "") -> None:
        rows.append((what, value, note))
        print(f"  {what:<58} {value:>14}  {note}", flush=True)

    # compile the numba kernels (cache=True: a no-op after the first run on this machine)
    t = time.perf_counter()
    W = nx.MultiGraph([("c", "a", "1"), ("a", "b", "2")])
    W.nodes["c"]["kind"] = "core"
    blast_radius(W)
    battery_forecast(W)
    run_whatif(W, RegionFailure(lat=0.0, lon=0.0, radius_km=1.0))
    row("numba warm-up (compile or load cache)", f"{time.perf_counter() - t:.2f} s")

    if not args.skip_kdl:
        G = kdl_graph()
        if G is None:
            row("Kdl", "skipped", "Kdl.graphml not found")
        else:
            roots = [n for n, k in G.nodes(data="kind") if k == "core"]
            fast_t, fast = timed(lambda G=G: blast_radius(G), max(5, args.repeats))
            slow_t, slow = timed(lambda G=G, r=roots: brute_force(G, r), args.repeats)
            got = {(t_, i): n for t_, i, n in fast[["element_type", "id", "nodes_lost"]].values}
            assert got == slow, "fast and brute force disagree on Kdl"
            row(f"Kdl ({G.number_of_nodes()} nodes, {G.number_of_edges()} links): ours",
                f"{fast_t * 1e3:.2f} ms", "blast radius of every node and link")
            row("Kdl: networkx remove-and-recount", f"{slow_t * 1e3:.0f} ms", "same answers")
            row("Kdl: speed-up", f"{slow_t / fast_t:.0f}x")

    print(f"\nbuilding a synthetic network of {args.sites:,} sites ...", flush=True)
    G, build_t, src = synthetic_graph(args.sites, args.seed)
    n, m = G.number_of_nodes(), G.number_of_edges()
    row(f"synthetic: {n:,} nodes, {m:,} links", f"{build_t:.1f} s", f"built by {src}")

    from resilience.topology.compiled import adjacency_structure, invalidate_csr

    def index_from_scratch():
        invalidate_csr(G)
        return adjacency_structure(G)

    idx_t, _ = timed(index_from_scratch, args.repeats)
    row("  of which the compiled index (built once per graph by build_graph)", f"{idx_t:.2f} s",
        "adjacency as arrays; reused by every analysis of this graph")
    br_t, br = timed(lambda: blast_radius(G), args.repeats)
    row("all node + link blast radii (incl. to_csr)", f"{br_t:.2f} s", f"{len(br):,} rows")
    csr_t, csr = timed(lambda: to_csr(G), args.repeats)
    row("  of which to_csr (state arrays read from the graph)", f"{csr_t:.2f} s")
    k_t, _ = timed(lambda: blast_radius(G, csr=csr), args.repeats)
    row("  blast radii on a prebuilt CSR", f"{k_t:.3f} s")
    if not args.skip_networkx:
        ap_t, aps = timed(lambda: list(nx.articulation_points(G)), args.repeats)
        row("networkx.articulation_points alone", f"{ap_t:.2f} s", f"{len(aps):,} points")
        row("ratio ours / networkx (target < 1)", f"{br_t / ap_t:.3f}",
            "the graph as build_graph returns it: index built")
        row("ratio if the index is built in the call", f"{(br_t + idx_t) / ap_t:.3f}",
            "a networkx graph not built by build_graph")
    spofs = single_points_of_failure(G, csr=csr)
    row("single points of failure found", f"{len(spofs):,}")

    gc.collect()
    tracemalloc.start()
    blast_radius(G)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    row("peak memory of blast_radius (tracemalloc)", f"{peak / 2**20:.0f} MiB",
        "Python + numpy allocations during the call")

    top = spofs[spofs["element_type"] == "node"].iloc[0]["id"]
    lat, lon = G.nodes[top].get("lat"), G.nodes[top].get("lon")
    if lat is None:
        from resilience.scenarios import ExplicitFailure

        sc: Any = ExplicitFailure([top])
        label = f"what-if: fail {top}"
    else:
        sc = RegionFailure(lat=lat, lon=lon, radius_km=20.0)
        label = f"what-if: 20 km disc around {top}"
    wi_t, wi = timed(lambda: run_whatif(G, sc), args.repeats)
    row(f"{label} (incl. to_csr, target < 2 s)", f"{wi_t:.2f} s",
        f"{len(wi['failed']['nodes']):,} failed, {len(wi['lost']['nodes']):,} lost, "
        f"{len(wi['new_spofs']):,} new SPOFs")
    wi2_t, _ = timed(lambda: run_whatif(G, sc, csr=csr), args.repeats)
    row("  same what-if on a prebuilt CSR", f"{wi2_t:.2f} s")
    fc_t, fc = timed(lambda: battery_forecast(G, hours=(1, 3, 6, 24, 72)), args.repeats)
    row("72-hour battery forecast, 5 horizons (target < 10 s)", f"{fc_t:.2f} s",
        f"out at 72 h: {int(fc['nodes_out'].iloc[-1]):,} nodes")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    row("process max RSS (incl. the networkx graph)", f"{maxrss:.2f} GiB", "target < 4 GB")

    print("\n| measure | value | note |\n|---|---:|---|")
    for what, value, note in rows:
        print(f"| {what.strip()} | {value} | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
