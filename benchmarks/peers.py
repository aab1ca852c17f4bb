"""Our blast radii beside the graph libraries' articulation points and bridges, on the same graph,
in the same process (issue 16). Prints medians and ratios.

The graph: ``resilience.sample.synthetic.generate_synthetic(N)`` (default 300,000 sites). The
same node and link arrays go to

- our model as the pipeline holds it (:func:`resilience.topology.compiled.compile_network`:
  CSR arrays built straight from the columns): every node and link blast radius
  (``blast_arrays``; and the ``blast_radius`` DataFrame on it);
- a plain ``networkx.MultiGraph`` built with networkx's own calls (not by us: our compiled
  index is built inside the call): ``blast_radius(H)`` against ``networkx.articulation_points``
  and ``networkx.bridges`` on the same H;
- ``rustworkx.PyGraph`` and ``igraph.Graph`` from the same endpoint arrays: their articulation
  points and bridges.

rustworkx and igraph are benchmark-only dependencies (not in requirements.lock)::

    .venv/bin/pip install rustworkx==0.18.1 igraph==1.0.0
    .venv/bin/python benchmarks/peers.py --sites 300000 --repeats 3

Our blast radii answer more than articulation points do (what each element cuts off from the
cores, in nodes and subscribers, for every node and link), so a ratio near 1 means the whole
answer costs what the peer's yes/no per node costs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import timed  # noqa: E402
from resilience.analysis.blast import blast_arrays, blast_radius  # noqa: E402
from resilience.topology.compiled import compile_network, invalidate_csr  # noqa: E402


def plain_networkx(model: Any) -> nx.MultiGraph:
    """A MultiGraph built with networkx's own calls from the model's arrays: the kind of graph a
    planner's script hands to ``blast_radius`` (node kind, subscribers and state; link state)."""
    H = nx.MultiGraph()
    kind = model.attrs.label("kind")
    state = model.read_node("state")
    H.add_nodes_from(
        (v, {"kind": k, "subscribers": float(w), "state": s})
        for v, k, w, s in zip(model.nodes, kind.tolist(), model.weight.tolist(), state.tolist(), strict=True)
    )
    nodes = model.node_ids
    H.add_edges_from(
        (u, v, k, {"state": "up" if up else "down"})
        for u, v, k, up in zip(nodes[model.eu].tolist(), nodes[model.ev].tolist(), model.links,
                               model.link_up.tolist(), strict=True)
    )
    return H


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=300_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-networkx", action="store_true", help="skip the networkx peers")
    ap.add_argument("--skip-networkx-bridges", action="store_true",
                    help="skip networkx.bridges (about 10x its articulation points)")
    args = ap.parse_args(argv)
    rows: list[tuple[str, str, str]] = []

    def row(what: str, value: str, note: str = "") -> None:
        rows.append((what, value, note))
        print(f"  {what:<62} {value:>10}  {note}", flush=True)

    import igraph
    import rustworkx as rx

    from resilience.sample.synthetic import generate_synthetic

    W = compile_network([{"node_id": "c", "kind": "core"}, {"node_id": "a"}],
                        [{"link_id": "1", "a": "c", "b": "a"}])
    from resilience.analysis import traversal

    small, traversal.SMALL_GRAPH = traversal.SMALL_GRAPH, 0  # warm the compiled kernels
    blast_arrays(W)
    traversal.SMALL_GRAPH = small

    t = time.perf_counter()
    net = generate_synthetic(args.sites, seed=args.seed)
    frames = (net.nodes, net.links, net.node_status, net.link_status, net.power_status)
    row("generate_synthetic", f"{time.perf_counter() - t:.1f} s", f"{args.sites:,} sites")
    c_t, model = timed(lambda: compile_network(*frames), 1)
    del net
    n, m = model.n, model.m
    row(f"compile_network (arrays first): {n:,} nodes, {m:,} links", f"{c_t:.2f} s",
        "the pipeline's model, from the columns")
    edges = np.column_stack([model.eu, model.ev])

    R = rx.PyGraph(multigraph=True)
    R.add_nodes_from(range(n))
    r_build, _ = timed(lambda: R.add_edges_from_no_data(list(map(tuple, edges.tolist()))), 1)
    row("rustworkx graph from the same endpoint arrays", f"{r_build:.2f} s")
    g_build, g = timed(lambda: igraph.Graph(n=n, edges=edges), 1)
    row("igraph graph from the same endpoint arrays", f"{g_build:.2f} s")

    ours_t, b = timed(lambda: blast_arrays(model), args.repeats)
    row("ours: every node + link blast radius on the model (arrays)", f"{ours_t:.3f} s",
        f"{int(b.node_spof.sum()):,} node, {int(b.link_spof.sum()):,} link SPOFs")
    ours_df_t, _ = timed(lambda: blast_radius(None, csr=model), args.repeats)
    row("ours: the same as the blast_radius DataFrame", f"{ours_df_t:.3f} s")
    rap_t, rap = timed(lambda: rx.articulation_points(R), args.repeats)
    row("rustworkx.articulation_points", f"{rap_t:.3f} s", f"{len(rap):,} points")
    rbr_t, rbr = timed(lambda: rx.bridges(R), args.repeats)
    row("rustworkx.bridges", f"{rbr_t:.3f} s", f"{len(rbr):,} bridges")
    gap_t, gap = timed(lambda: g.articulation_points(), args.repeats)
    row("igraph articulation_points", f"{gap_t:.3f} s", f"{len(gap):,} points")
    gbr_t, gbr = timed(lambda: g.bridges(), args.repeats)
    row("igraph bridges", f"{gbr_t:.3f} s", f"{len(gbr):,} bridges")
    row("ratio ours (model) / rustworkx AP (target <= 3)", f"{ours_t / rap_t:.2f}")
    row("ratio ours (model) / rustworkx AP + bridges", f"{ours_t / (rap_t + rbr_t):.2f}")
    row("ratio ours (model) / igraph AP", f"{ours_t / gap_t:.2f}")
    row("ratio ours (model) / igraph AP + bridges", f"{ours_t / (gap_t + gbr_t):.2f}")

    if not args.skip_networkx:
        H = plain_networkx(model)
        cold_t, _ = timed(lambda: blast_radius(H), args.repeats, before=lambda: invalidate_csr(H))
        row("ours: blast_radius(H), H a plain networkx graph (index built in the call)",
            f"{cold_t:.2f} s")
        warm_t, _ = timed(lambda: blast_radius(H), args.repeats)
        row("ours: blast_radius(H) again (index reused, states read)", f"{warm_t:.2f} s")
        nap_t, nap = timed(lambda: list(nx.articulation_points(H)), args.repeats)
        row("networkx.articulation_points(H)", f"{nap_t:.2f} s", f"{len(nap):,} points")
        try:
            if args.skip_networkx_bridges:
                raise nx.NetworkXNotImplemented("skipped (--skip-networkx-bridges)")
            nbr_t, nbr = timed(lambda: list(nx.bridges(H)), args.repeats)
            row("networkx.bridges(H)", f"{nbr_t:.2f} s", f"{len(nbr):,} bridges")
        except nx.NetworkXNotImplemented as exc:
            row("networkx.bridges(H)", "n/a", str(exc))
        row("ratio ours (plain networkx, cold) / networkx AP (target < 1)", f"{cold_t / nap_t:.2f}")
        row("ratio ours (plain networkx, warm) / networkx AP", f"{warm_t / nap_t:.2f}")

    print("\n| measure | value | note |\n|---|---:|---|")
    for what, value, note in rows:
        print(f"| {what} | {value} | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
