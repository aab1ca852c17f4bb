"""Internet Topology Zoo backbones as test networks: a real topology with deterministic
subscriber weights, for oracles (brute-force recount) and benchmarks.

Example
-------
>>> import pathlib, resilience
>>> p = pathlib.Path(resilience.__file__).parent.parent / "tests/data/topologyzoo/Abilene.graphml"
>>> G = zoo_multigraph(p) if p.exists() else None
>>> G is None or G.number_of_nodes() > 0
True
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx

__all__ = ["zoo_multigraph"]


def zoo_multigraph(path: str | Path) -> nx.MultiGraph:
    """A Topology Zoo GraphML file as a MultiGraph of ``aggregation`` nodes with deterministic
    ``subscribers`` (0-100) and one link per GraphML edge (keys ``e0, e1, ...``; parallel edges
    kept). No node is a core: choose the roots for the case at hand."""
    raw = nx.read_graphml(path)
    G = nx.MultiGraph()
    for i, n in enumerate(raw.nodes):
        G.add_node(str(n), kind="aggregation", subscribers=(i * 37) % 11 * 10)
    for i, (u, v) in enumerate(raw.edges()):
        G.add_edge(str(u), str(v), key=f"e{i}")
    return G
