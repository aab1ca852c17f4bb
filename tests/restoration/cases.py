"""Small hand-made and random restoration cases for the tests and the benchmark."""

from __future__ import annotations

import io

import networkx as nx
import numpy as np
import pandas as pd

from resilience.restoration import resources_from_dict
from resilience.sample.known import KNOWN_LINKS_CSV, KNOWN_NODES_CSV
from resilience.topology import build_graph

AT = "2024-01-01T18:00:00+09:00"


def known_graph(node_status=(), link_status=(), power=()):
    """The five-site known network with the given status rows (times default to AT)."""
    ns = [{"observed_at": AT, **r} for r in node_status]
    ls = [{"observed_at": AT, **r} for r in link_status]
    ps = [{"observed_at": AT, **r} for r in power]
    return build_graph(pd.read_csv(io.StringIO(KNOWN_NODES_CSV)), pd.read_csv(io.StringIO(KNOWN_LINKS_CSV)),
                       ns or None, ls or None, ps or None, as_of=pd.Timestamp(AT).to_pydatetime())


def random_case(seed: int, n: int = 9):
    """A random tree-plus-chords network near Wajima with a few failures and small resources
    (a handful of candidate actions)."""
    rng = np.random.default_rng(seed)
    nodes = [{"node_id": "C", "kind": "core", "subscribers": 0, "lat": 37.0, "lon": 136.9,
              "battery_hours": float("inf"), "power_feed": "F0", "operator": "op"}]
    links = []
    for i in range(1, n):
        kind = "aggregation" if i < 3 else "base_station"
        nodes.append({"node_id": f"N{i}", "kind": kind, "operator": "op",
                      "subscribers": 0 if kind == "aggregation" else int(rng.integers(50, 500)),
                      "lat": 37.0 + rng.uniform(0, 0.4), "lon": 136.9 + rng.uniform(-0.2, 0.2),
                      "battery_hours": float(rng.choice([2.0, 4.0, 8.0])), "power_feed": f"F{i % 2 + 1}"})
        parent = int(rng.integers(0, i)) if i > 1 else 0
        links.append({"link_id": f"L{i}", "a": nodes[parent]["node_id"], "b": f"N{i}",
                      "medium": "fiber", "srlg": f"R{parent}"})
    for j in range(2):  # a few chords
        a, b = rng.choice(np.arange(1, n), size=2, replace=False)
        links.append({"link_id": f"X{j}", "a": f"N{a}", "b": f"N{b}", "medium": "microwave", "srlg": ""})
    ids = [x["node_id"] for x in nodes[1:]]
    down_links = rng.choice([x["link_id"] for x in links], size=2, replace=False).tolist()
    dead = rng.choice(ids, size=2, replace=False).tolist()
    node_status = [{"observed_at": AT, "node_id": i, "state": "down" if i in dead else "up",
                    "power": "none" if i in dead else "battery",
                    "battery_remaining_min": 0 if i in dead else float(rng.integers(30, 600))}
                   for i in ids]
    link_status = [{"observed_at": AT, "link_id": x["link_id"], "state": "down" if x["link_id"] in down_links else "up"}
                   for x in links]
    power = [{"observed_at": AT, "power_feed": f, "state": "off",
              "expected_restore_at": pd.Timestamp(AT) + pd.Timedelta(hours=float(rng.uniform(10, 40)))}
             for f in ("F1",)]
    G = build_graph(nodes, links, node_status, link_status, power, as_of=pd.Timestamp(AT).to_pydatetime())
    res = resources_from_dict({
        "depots": [{"id": "D", "lat": 37.1, "lon": 136.9}],
        "crews": [{"id": "crew", "depot": "D", "count": 1, "repairs": {"fiber": 3, "microwave": 2}}],
        "equipment": [{"id": "gen", "type": "generator", "depot": "D", "count": 2, "kinds": ["aggregation"]},
                      {"id": "pbs", "type": "portable_bs", "depot": "D", "count": 1}],
        "roads": {"closed": [{"group": f"R{int(rng.integers(0, 3))}", "reopen_after_h": 5.0}]},
    })
    return G, res


def small_graph() -> nx.MultiGraph:
    """C - A (aggregation, no power) - B (base station); A's uplink L1 is cut."""
    G = nx.MultiGraph()
    G.add_node("C", kind="core", subscribers=0, lat=37.0, lon=136.9)
    G.add_node("A", kind="aggregation", subscribers=0, lat=37.2, lon=136.9, state="down", power="none")
    G.add_node("B", kind="base_station", subscribers=100, lat=37.25, lon=136.9)
    G.add_edge("C", "A", "L1", medium="fiber", state="down", srlg=("R1",))
    G.add_edge("A", "B", "L2", medium="fiber", state="up", srlg=())
    return G
