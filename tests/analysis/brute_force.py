"""Brute-force oracles: remove one element, recount served nodes with networkx (slow, obvious)."""

from __future__ import annotations

import networkx as nx

__all__ = ["served", "brute_blast"]


def _carrying(G: nx.MultiGraph, drop_node=None, drop_link=None) -> nx.MultiGraph:
    H = nx.MultiGraph()
    H.add_nodes_from(
        n for n, d in G.nodes(data=True) if d.get("state") != "down" and n != drop_node
    )
    H.add_edges_from(
        (u, v, k)
        for u, v, k, d in G.edges(keys=True, data=True)
        if d.get("state") != "down" and k != drop_link and u in H and v in H
    )
    return H


def served(G: nx.MultiGraph, roots, drop_node=None, drop_link=None) -> set:
    H = _carrying(G, drop_node, drop_link)
    out: set = set()
    for r in roots:
        if r in H and r not in out:
            out |= nx.node_connected_component(H, r)
    return out


def brute_blast(G: nx.MultiGraph, roots, weight="subscribers") -> dict:
    """{(element_type, id): (nodes_lost, weight_lost)} by remove-and-recount."""

    def w(n):
        return 1 if weight is None else (G.nodes[n].get(weight) or 0)

    base = served(G, roots)
    out = {}
    for n in G:
        lost = base - served(G, roots, drop_node=n)
        out[("node", n)] = (len(lost), sum(w(x) for x in lost))
    for _, _, k in G.edges(keys=True):
        lost = base - served(G, roots, drop_link=k)
        out[("link", k)] = (len(lost), sum(w(x) for x in lost))
    return out
