"""The model's compiled adjacency: flat arrays (CSR) of a network graph's structure, built once
per graph and reused by every analysis (element states are never cached: they are read from the
graph on each use).

Indices: nodes are ``0..n-1`` in ``G``'s node order, links ``0..m-1`` in ``G.edges(keys=True)``
order. :func:`resilience.topology.build_graph` builds it with the graph, so analyses start from
a ready index; :func:`resilience.analysis._csr.to_csr` adds the per-call state arrays.

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph([("a", "b", "x"), ("a", "b", "y")])
>>> s = adjacency_structure(G)
>>> s["links"], s["indptr"].tolist(), adjacency_structure(G) is s
(['x', 'y'], [0, 2, 4], True)
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from itertools import chain
from operator import methodcaller
from typing import Any

import networkx as nx
import numpy as np

__all__ = ["adjacency_structure", "invalidate_csr", "attribute_reader"]


# Kept beside the graphs, not in G.graph: the model's own data stays exactly what it was.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def invalidate_csr(G: nx.MultiGraph) -> None:
    """Forget the cached adjacency of ``G`` (needed only after structural edits that keep both
    the node and the link count unchanged; other edits are detected).

    >>> G = nx.MultiGraph([("a", "b", "x")]); _ = adjacency_structure(G); invalidate_csr(G)
    >>> G in _CACHE
    False
    """
    _CACHE.pop(G, None)


def attribute_reader(data: list[dict[str, Any]]) -> Callable[..., np.ndarray]:
    """A function ``read(key, default=None)`` that returns one attribute of every dict of
    ``data`` as an object array in ``data``'s order.

    It visits the dicts in memory-address order and puts the values back in place with numpy:
    at a million sites the dicts of a graph lie scattered in memory, and reading them in address
    order is about five times faster than in node or link order (0.13 s against 0.73 s for the
    state of 1.4M links). The values are read on every call, never cached.

    >>> read = attribute_reader([{"state": "down"}, {}, {"state": "up"}])
    >>> read("state").tolist(), read("state", "up").tolist()
    (['down', None, 'up'], ['down', 'up', 'up'])
    """
    order = np.argsort(np.fromiter(map(id, data), np.int64, len(data)), kind="stable")
    by_address = [data[i] for i in order]

    def read(key: str, default: Any = None) -> np.ndarray:
        vals = np.fromiter(map(methodcaller("get", key, default), by_address), dtype=object,
                           count=len(by_address))
        out = np.empty(len(by_address), dtype=object)
        out[order] = vals
        return out

    return read


def adjacency_structure(G: nx.MultiGraph) -> dict[str, Any]:
    """The adjacency part of the CSR (node and link order, endpoints, row pointers), cached per
    graph (weakly, outside the graph) and reused while ``G`` keeps the same adjacency object and the same node and
    link counts. Element states and weights are not part of it: they are read on every call."""
    # C-level count of link entries (each link twice, a self-loop once): networkx's own
    # number_of_edges() is a Python-level sum over the nodes, seconds at a million sites
    entries = sum(map(len, chain.from_iterable(map(dict.values, G._adj.values()))))
    cache_key = (id(G._adj), len(G._adj), entries)
    cached = _CACHE.get(G)
    if cached is not None and cached["key"] == cache_key:
        return cached
    nodes = list(G)
    n = len(nodes)
    node_index = {v: i for i, v in enumerate(nodes)}
    # Adjacency with C-level iteration: G._adj[u] maps each neighbour v to a key dict that is the
    # same object as G._adj[v][u] (so id() pairs the two directions), and both directions list
    # the keys in the same order. Links are numbered in G.edges(keys=True) order: at the
    # endpoint that comes first in node order.
    adj = list(G._adj.values())
    deg = np.fromiter(map(len, adj), np.int64, n)
    npairs = int(deg.sum())
    pair_src = np.repeat(np.arange(n, dtype=np.int64), deg)
    pair_nbr = np.fromiter(map(node_index.__getitem__, chain.from_iterable(adj)), np.int64, npairs)
    kds = list(chain.from_iterable(map(dict.values, adj)))
    kd_arr = np.empty(npairs, dtype=object)
    kd_arr[:] = kds
    mult = np.fromiter(map(len, kds), np.int64, npairs)
    fwd = pair_src <= pair_nbr
    fkd = kd_arr[fwd].tolist()
    links = list(chain.from_iterable(fkd))
    link_data = list(chain.from_iterable(map(dict.values, fkd)))
    fmult = mult[fwd]
    eu = np.repeat(pair_src[fwd], fmult)
    ev = np.repeat(pair_nbr[fwd], fmult)

    fstart = np.cumsum(fmult) - fmult  # first link index of each forward pair
    # the reverse entry (v, u) of a forward pair (u, v): match on the pair key u * n + v
    fkey = pair_src[fwd] * max(n, 1) + pair_nbr[fwd]  # sorted: src ascending, then by position
    key = np.minimum(pair_src, pair_nbr) * max(n, 1) + np.maximum(pair_src, pair_nbr)
    order = np.argsort(fkey, kind="stable")
    pstart = fstart[order[np.searchsorted(fkey[order], key)]]
    entry_first = np.cumsum(mult) - mult
    within = np.arange(int(mult.sum()), dtype=np.int64) - np.repeat(entry_first, mult)
    eid_all = np.repeat(pstart, mult) + within
    src = np.repeat(pair_src, mult)
    dst = np.repeat(pair_nbr, mult)
    keep = src != dst  # self-loops carry nothing: not in the adjacency
    counts = np.bincount(src[keep], minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    node_data = list(G._node.values())
    structure = {
        "key": cache_key,
        "read_node": attribute_reader(node_data),
        "read_link": attribute_reader(link_data),
        "nodes": nodes,
        "node_index": node_index,
        "links": links,
        "link_data": link_data,
        "eu": eu,
        "ev": ev,
        "indptr": indptr,
        "nbr": dst[keep],
        "eid": eid_all[keep].astype(np.int64),
    }
    _CACHE[G] = structure
    return structure
