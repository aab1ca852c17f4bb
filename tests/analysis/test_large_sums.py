"""Subscriber sums cannot overflow or lose units: sites near the documented maximum (10**9
subscribers each) on many sites, summed exactly in every output; a sum beyond 64 bits is refused,
never wrapped to a negative number."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from resilience.analysis import battery_forecast, blast_radius, compute_snapshot, srlg_blast_radius
from resilience.analysis.traversal import whole_counts
from resilience.scenarios import ExplicitFailure, run_whatif

MAX_PER_SITE = 10**9
SITES = 20_000  # 2 x 10**13 subscribers in all: far beyond 32 bits, exact in float64 and int64


def big_network() -> tuple[nx.MultiGraph, list[int]]:
    """A core, two dual-homed aggregations in duct D, and SITES base stations hanging off them,
    each with a different count near 10**9 (odd numbers: a lost unit would show)."""
    rng = np.random.default_rng(7)
    subs = (MAX_PER_SITE - rng.integers(0, 1000, SITES) * 2 - 1).tolist()
    G = nx.MultiGraph()
    G.add_node("C", kind="core", subscribers=0, battery_hours=float("inf"))
    for a in ("A", "B"):
        G.add_node(a, kind="aggregation", subscribers=0, battery_hours=float("inf"))
    G.add_edge("C", "A", "CA", srlg=("D",))
    G.add_edge("C", "B", "CB", srlg=("D",))
    G.add_edge("A", "B", "AB", srlg=())
    for i, s in enumerate(subs):
        G.add_node(f"S{i}", kind="base_station", subscribers=s, battery_hours=1.0, power="battery")
        G.add_edge("A" if i % 2 else "B", f"S{i}", f"L{i}", srlg=())
    return G, subs


def test_sums_near_the_maximum_are_exact_everywhere():
    G, subs = big_network()
    total = sum(subs)  # Python ints: the reference
    assert total > 2**40
    br = blast_radius(G).set_index("id")
    assert int(br.loc["C", "subscribers_lost"]) == total
    assert int(br.loc["A", "subscribers_lost"]) == sum(subs[1::2])
    assert br["subscribers_lost"].dtype == np.int64 and (br["subscribers_lost"] >= 0).all()
    row = srlg_blast_radius(G).set_index("srlg").loc["D"]
    assert int(row["subscribers_lost"]) == total
    assert (int(row["hidden_nodes"]), int(row["hidden_subscribers"])) == (2, 0)  # A, B: 0 subs
    snap = compute_snapshot(G, hours=[0.5, 2])
    assert snap.total_subscribers == snap.served_subscribers == total
    assert int(snap.elements["subscribers_lost"].max()) == total
    agg = snap.aggregates
    assert agg.loc[agg["metric"] == "subscribers", "value"].sum() == total
    fc = battery_forecast(G, hours=[2])
    assert int(fc["subscribers_out"].iloc[0]) == total
    w = run_whatif(G, ExplicitFailure(["A"]))
    assert w["lost"]["subscribers"] == sum(subs[1::2])


def test_a_sum_beyond_64_bits_is_refused_not_wrapped():
    with pytest.raises(OverflowError, match="does not fit in 64 bits"):
        whole_counts(np.array([5.0, 1e30]))
    G = nx.MultiGraph([("C", "S", "L")])
    G.nodes["C"]["kind"] = "core"
    G.nodes["S"]["subscribers"] = 2**70
    with pytest.raises(OverflowError):
        blast_radius(G)
