"""Hand-checked causes and battery forecasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import networkx as nx
import numpy as np
import pytest
from brute_force import served
from hypothesis import given, settings
from hypothesis import strategies as st

from resilience.analysis import battery_forecast, causes, death_hours, node_out_times
from resilience.topology.graph import build_graph

T0 = datetime(2024, 1, 1, 16, 10, tzinfo=UTC)


def chain() -> nx.MultiGraph:
    """C - A - B - D, plus E hanging off A through a parallel pair; all fresh and up on grid."""
    G = nx.MultiGraph()
    for n in "CABDE":
        G.add_node(
            n,
            kind="core" if n == "C" else "base_station",
            subscribers={"C": 0, "A": 10, "B": 20, "D": 40, "E": 80}[n],
            state="up",
            power="grid",
            battery_remaining_min=None,
            battery_hours=6.0,
            power_feed="F1",
            fresh=True,
        )
    for k, a, b in [("L1", "C", "A"), ("L2", "A", "B"), ("L3", "B", "D"), ("L4", "A", "E"),
                    ("L5", "A", "E")]:
        G.add_edge(a, b, key=k, state="up", srlg=())
    G.graph["as_of"] = T0
    G.graph["power_feeds"] = {}
    return G


def by_id(df):
    return {r.node_id: r for r in df.itertuples(index=False)}


def test_causes_each_kind():
    G = chain()
    G.nodes["A"].update(state="down", power="none")  # power, and the cause of B, D, E
    got = by_id(causes(G))
    assert set(got) == {"A", "B", "D", "E"}
    assert got["A"].cause == "power" and got["A"].root_cause and got["A"].upstream is None
    assert got["B"].cause == "backhaul" and not got["B"].root_cause and got["B"].upstream == "A"
    assert got["D"].upstream == "A" and got["E"].upstream == "A"


def test_causes_equipment_power_backhaul_unknown():
    G = chain()
    G.nodes["B"].update(state="down", power="grid")  # equipment: power and path present
    G.nodes["D"].update(state="down", power="battery", battery_remaining_min=0)  # power+backhaul
    G.nodes["E"].update(fresh=False, state="down")  # no fresh status
    got = by_id(causes(G))
    assert got["B"].cause == "equipment" and got["B"].root_cause
    assert got["D"].cause == "power+backhaul" and got["D"].upstream == "B"
    assert not got["D"].root_cause
    assert got["E"].cause == "unknown"
    assert "A" not in got and "C" not in got


def test_causes_link_upstream_and_stale_after():
    G = chain()
    G.edges["A", "B", "L2"]["state"] = "down"
    G.nodes["D"]["observed_at"] = T0 - timedelta(hours=2)
    for n in "CABE":
        G.nodes[n]["observed_at"] = T0
    got = by_id(causes(G))
    assert got["B"].cause == "backhaul" and got["B"].upstream == "L2"
    assert got["B"].upstream_type == "link" and not got["B"].root_cause
    got2 = by_id(causes(G, stale_after=timedelta(minutes=30)))
    assert got2["D"].cause == "unknown" and got2["D"].upstream == "L2"


def test_causes_empty_when_all_served():
    df = causes(chain())
    assert len(df) == 0 and list(df.columns)[:2] == ["node_id", "cause"]


def test_causes_through_build_graph():
    G = build_graph(
        [{"node_id": "C", "kind": "core"}, {"node_id": "B", "kind": "base_station"}],
        [{"link_id": "L", "a": "C", "b": "B"}],
        [{"observed_at": T0, "node_id": "C", "state": "up", "power": "grid"},
         {"observed_at": T0, "node_id": "B", "state": "down", "power": "battery",
          "battery_remaining_min": 0}],
    )
    assert causes(G)[["node_id", "cause"]].values.tolist() == [["B", "power"]]


def test_forecast_upstream_battery_runs_out_first():
    G = chain()
    G.graph["power_feeds"] = {"F1": {"state": "off"}}
    G.nodes["C"]["battery_hours"] = float("inf")  # the core has a permanent generator
    G.nodes["A"]["battery_hours"] = 3.0  # the aggregation site dies first...
    G.nodes["B"]["battery_hours"] = 24.0  # ...cutting B and D, whose batteries last longer
    G.nodes["D"]["battery_hours"] = float("inf")
    G.nodes["E"].update(power="battery", battery_remaining_min=30)
    fc = battery_forecast(G, hours=(0.25, 1, 3, 6, 72)).set_index("horizon_hours")
    assert fc.loc[0.25, "nodes_out"] == 0
    assert (fc.loc[1, "nodes_out"], fc.loc[1, "subscribers_out"]) == (1, 80)  # E's 30 min
    assert (fc.loc[3, "nodes_out"], fc.loc[3, "subscribers_out"]) == (4, 150)  # A cuts B, D
    assert fc.loc[3, "battery_exhausted"] == 2 and fc.loc[3, "cut_off_upstream"] == 2
    assert fc.loc[72, "nodes_out"] == 4  # C never dies
    times = node_out_times(G).set_index("node_id")
    assert times.loc["D", "out_hours"] == 3.0 and times.loc["D", "battery_out_hours"] == np.inf
    assert bool(times.loc["D", "cut_off_upstream"])


def test_forecast_generator_and_down_now():
    G = chain()
    G.graph["power_feeds"] = {"F1": {"state": "off"}}
    G.nodes["C"]["battery_hours"] = float("inf")
    G.nodes["A"]["power"] = "generator"
    G.nodes["E"]["state"] = "down"
    d = dict(zip(G, death_hours(G), strict=True))
    assert d["A"] == np.inf and d["E"] == 0.0 and d["B"] == 6.0 and d["C"] == np.inf
    fc = battery_forecast(G, hours=(1, 6)).set_index("horizon_hours")
    assert fc.loc[1, "nodes_out"] == 1 and fc.loc[1, "nodes_out_new"] == 0
    assert fc.loc[6, "nodes_out"] == 3 and fc.loc[6, "subscribers_out_new"] == 60


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_forecast_matches_bfs_per_horizon(data):
    n = data.draw(st.integers(1, 12))
    G = nx.MultiGraph()
    for i in range(n):
        G.add_node(
            i,
            kind="core" if i == 0 or data.draw(st.booleans()) and i % 4 == 0 else "relay",
            subscribers=data.draw(st.integers(0, 9)),
            power=data.draw(st.sampled_from(["grid", "battery", "generator", None])),
            battery_hours=data.draw(st.sampled_from([0.0, 1.0, 2.5, 6.0, float("inf")])),
            state=data.draw(st.sampled_from(["up", "up", "down"])),
        )
    for j in range(data.draw(st.integers(0, 2 * n))):
        G.add_edge(data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1)), key=j)
    hours = (0.5, 1, 2.5, 6, 72)
    fc = battery_forecast(G, hours=hours)
    death = dict(zip(G, death_hours(G), strict=True))
    roots = [v for v, k in G.nodes(data="kind") if k == "core"]
    for h, got_n, got_s in zip(hours, fc["nodes_out"], fc["subscribers_out"], strict=True):
        H = G.copy()
        for v in H:
            if death[v] <= h:
                H.nodes[v]["state"] = "down"
        alive = served(H, roots)
        out = set(G) - alive
        assert got_n == len(out)
        assert got_s == sum(G.nodes[v]["subscribers"] for v in out)


def test_forecast_rejects_nan():
    with pytest.raises(ValueError):
        battery_forecast(chain(), hours=[float("nan")])
