"""Compressed sparse row (CSR) view of the network graph and the compiled kernels over it.

Every analysis converts the networkx graph once with :func:`to_csr` and then works on flat numpy
arrays with numba-compiled, iterative (non-recursive) kernels:

- :func:`dfs_lowpoint`   one depth-first search from a virtual root joined to every root (core):
  discovery times, low points, DFS parents, subtree sizes and weights. Node and link blast radii,
  articulation points, bridges and SPOF depth all follow from it in linear time.
- :func:`served_mask`    breadth-first search from the roots over the elements left up
  (what-if scenarios, shared-risk groups, forecast horizons).
- :func:`widest_out_times`  for each node the time it goes out when sites die at given times
  (a max-min "widest path" from the roots, heap based).
- :func:`upstream_bfs`   the nearest down element upstream of every unserved node.

Indices: nodes are ``0..n-1`` in ``G``'s node order, links ``0..m-1`` in ``G.edges(keys=True)``
order. Self-loops are kept in the link list (so every link has a row) but not in the adjacency.

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph()
>>> G.add_node("C", kind="core", subscribers=0); G.add_node("B", subscribers=10)
>>> _ = G.add_edge("C", "B", key="L1")
>>> csr = to_csr(G)
>>> csr.n, csr.m, csr.roots.tolist(), served_mask(csr).tolist()
(2, 1, [0], [True, True])
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from operator import methodcaller
from typing import Any

import networkx as nx
import numpy as np
from numba import njit

from resilience.topology.index import adjacency_structure

__all__ = [
    "CSRGraph",
    "to_csr",
    "resolve_roots",
    "dfs_lowpoint",
    "served_mask",
    "widest_out_times",
    "upstream_bfs",
    "DFSResult",
]


@dataclass
class CSRGraph:
    """Flat-array view of a network graph (see :func:`to_csr`).

    Attributes
    ----------
    nodes : list of str
        Node ids; position = node index.
    links : list of str
        Link ids (edge keys); position = link index.
    node_index : dict
        Node id to index (``link_index``, built on first use, does the same for links).
    eu, ev : int64 arrays (m,)
        Link endpoints.
    indptr : int64 array (n + 1,)
        Adjacency row pointers; ``nbr[indptr[v]:indptr[v+1]]`` are v's neighbours and
        ``eid[...]`` the links to them (each non-loop link appears twice).
    node_up, link_up : bool arrays
        Element carries traffic (state is not ``down``).
    roots : int64 array
        Indices of the ``core`` nodes (default roots).
    weight : float64 array (n,)
        Node weights (the ``weight`` attribute, default ``subscribers``; 1 when ``None``).
    weight_is_int : bool
        All weights are whole numbers (sums are reported as int).
    srlg_links : dict
        Shared-risk group id to int64 array of link indices (built on first use).
    """

    nodes: list[str]
    links: list[Any]
    node_index: dict[str, int]
    eu: np.ndarray
    ev: np.ndarray
    indptr: np.ndarray
    nbr: np.ndarray
    eid: np.ndarray
    node_up: np.ndarray
    link_up: np.ndarray
    roots: np.ndarray
    weight: np.ndarray
    weight_is_int: bool = True
    link_data: list[dict[str, Any]] = field(default_factory=list, repr=False)
    _link_index: dict[Any, int] | None = field(default=None, repr=False)
    _srlg_links: dict[str, np.ndarray] | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def m(self) -> int:
        """Number of links."""
        return len(self.links)

    @property
    def link_index(self) -> dict[Any, int]:
        """Link id to index."""
        if self._link_index is None:
            self._link_index = {k: i for i, k in enumerate(self.links)}
        return self._link_index

    @property
    def srlg_links(self) -> dict[str, np.ndarray]:
        """Shared-risk group id to the indices of its links."""
        if self._srlg_links is None:
            groups: dict[str, list[int]] = {}
            for i, d in enumerate(self.link_data):
                s = d.get("srlg")
                if s:
                    for g in s:
                        groups.setdefault(g, []).append(i)
            self._srlg_links = {g: np.asarray(v, dtype=np.int64) for g, v in groups.items()}
        return self._srlg_links


def to_csr(G: nx.MultiGraph, *, weight: str | None = "subscribers") -> CSRGraph:
    """Convert a network graph (the :mod:`resilience.topology.graph` contract) to a CSRGraph.

    Parameters
    ----------
    G : networkx.MultiGraph (a simple ``Graph`` works too: edge keys become ``"u|v"``)
    weight : str or None
        Node attribute summed as impact (``None``: every node weighs 1).

    Returns
    -------
    CSRGraph
        Links are in ``G.edges(keys=True)`` order.

    Notes
    -----
    O(n + m) Python work to read the attributes (the dominant cost) plus an O(m log m) numpy
    sort; the graph is not modified.

    Examples
    --------
    >>> G = nx.MultiGraph([("a", "b", "x"), ("a", "b", "y"), ("b", "b", "z")])
    >>> c = to_csr(G, weight=None)
    >>> c.links, c.indptr.tolist()
    (['x', 'y', 'z'], [0, 2, 4])
    """
    if not G.is_multigraph():  # a simple Graph: keyed copy (small inputs only)
        H = nx.MultiGraph()
        H.add_nodes_from(G.nodes(data=True))
        H.add_edges_from((u, v, f"{u}|{v}", d) for u, v, d in G.edges(data=True))
        G = H
    structure = adjacency_structure(G)
    nodes, node_index, link_data = structure["nodes"], structure["node_index"], structure["link_data"]
    n, m = len(nodes), len(structure["links"])
    ndata = list(G._node.values())  # same order as list(G)
    ne_down = partial(operator.ne, "down")
    node_up = np.fromiter(map(ne_down, map(methodcaller("get", "state"), ndata)), bool, n)
    is_core = np.fromiter(
        map(partial(operator.eq, "core"), map(methodcaller("get", "kind"), ndata)), bool, n
    )
    if weight is None:
        w = np.ones(n, dtype=np.float64)
    else:
        try:
            w = np.fromiter(map(methodcaller("get", weight, 0), ndata), np.float64, n)
        except (TypeError, ValueError):
            w = np.fromiter((float(d.get(weight) or 0) for d in ndata), np.float64, n)
        w = np.nan_to_num(w, nan=0.0)
    w_int = bool(np.all(w == np.rint(w))) if n else True
    # link_data holds G's own edge dicts: states are read live, never from the cache
    link_up = np.fromiter(map(ne_down, map(methodcaller("get", "state"), link_data)), bool, m)
    return CSRGraph(
        nodes=nodes,
        links=structure["links"],
        node_index=node_index,
        eu=structure["eu"],
        ev=structure["ev"],
        indptr=structure["indptr"],
        nbr=structure["nbr"],
        eid=structure["eid"],
        node_up=node_up,
        link_up=link_up,
        roots=np.nonzero(is_core)[0].astype(np.int64),
        weight=w,
        weight_is_int=w_int,
        link_data=link_data,
    )


def resolve_roots(csr: CSRGraph, roots: Iterable[Any] | None) -> np.ndarray:
    """Root indices from ids (``None``: the ``core`` nodes); unknown ids raise ``KeyError``.

    >>> G = nx.MultiGraph([("a", "b", "x")])
    >>> resolve_roots(to_csr(G), ["b"]).tolist()
    [1]
    """
    if roots is None:
        return csr.roots
    out = [csr.node_index[r] for r in roots]
    return np.unique(np.asarray(out, dtype=np.int64))


@dataclass
class DFSResult:
    """Output of :func:`dfs_lowpoint` (arrays of length n; -1 = not reached).

    ``parent`` is -2 for a node hanging directly off the virtual root, ``pedge`` the link index
    to the parent (-1 for none), ``order`` the nodes in discovery order (``count`` of them).
    """

    disc: np.ndarray
    low: np.ndarray
    parent: np.ndarray
    pedge: np.ndarray
    size: np.ndarray
    wsum: np.ndarray
    order: np.ndarray
    count: int

    @property
    def served(self) -> np.ndarray:
        """Nodes reached from the roots."""
        return self.disc >= 0


@njit(cache=True)
def _dfs_kernel(indptr, nbr, eid, node_ok, link_ok, roots, w):  # pragma: no cover - compiled
    n = indptr.shape[0] - 1
    disc = np.full(n, -1, np.int64)
    low = np.zeros(n, np.int64)
    parent = np.full(n, -1, np.int64)
    pedge = np.full(n, -1, np.int64)
    size = np.zeros(n, np.int64)
    wsum = np.zeros(n, np.float64)
    order = np.empty(n, np.int64)
    it = np.empty(n, np.int64)
    stack = np.empty(n, np.int64)
    is_root = np.zeros(n, np.bool_)
    for r in roots:
        is_root[r] = True
    t = 1  # the virtual root has discovery time 0
    cnt = 0
    for r in roots:
        if not node_ok[r] or disc[r] != -1:
            continue
        disc[r] = t
        low[r] = t
        t += 1
        parent[r] = -2
        order[cnt] = r
        cnt += 1
        it[r] = indptr[r]
        sp = 0
        stack[0] = r
        while sp >= 0:
            v = stack[sp]
            if it[v] < indptr[v + 1]:
                k = it[v]
                it[v] += 1
                e = eid[k]
                if e == pedge[v] or not link_ok[e]:
                    continue
                u = nbr[k]
                if not node_ok[u]:
                    continue
                if disc[u] == -1:
                    parent[u] = v
                    pedge[u] = e
                    disc[u] = t
                    # a root found below another root keeps its virtual link to the root: back edge
                    low[u] = 0 if is_root[u] else t
                    t += 1
                    order[cnt] = u
                    cnt += 1
                    it[u] = indptr[u]
                    sp += 1
                    stack[sp] = u
                elif disc[u] < low[v]:
                    low[v] = disc[u]
            else:
                sp -= 1
                size[v] += 1
                wsum[v] += w[v]
                if sp >= 0:
                    p = stack[sp]
                    size[p] += size[v]
                    wsum[p] += wsum[v]
                    if low[v] < low[p]:
                        low[p] = low[v]
    return disc, low, parent, pedge, size, wsum, order, cnt


def dfs_lowpoint(
    csr: CSRGraph,
    *,
    roots: np.ndarray | None = None,
    node_ok: np.ndarray | None = None,
    link_ok: np.ndarray | None = None,
) -> DFSResult:
    """Iterative DFS from a virtual root joined to every root, over elements that are ok.

    Parameters
    ----------
    csr : CSRGraph
    roots : int array, optional
        Root node indices (default ``csr.roots``).
    node_ok, link_ok : bool arrays, optional
        Elements that carry traffic (default ``csr.node_up`` / ``csr.link_up``).

    Returns
    -------
    DFSResult

    Notes
    -----
    O(n + m) time and memory; a child ``c`` of ``p`` with ``low[c] >= disc[p]`` hangs on ``p``
    alone (``p`` is an articulation point for it), with ``low[c] > disc[p]`` the link between them
    is a bridge. Parallel links are back edges, so never bridges.

    Examples
    --------
    >>> G = nx.MultiGraph([("c", "a", "1"), ("a", "b", "2")]); G.nodes["c"]["kind"] = "core"
    >>> r = dfs_lowpoint(to_csr(G, weight=None))
    >>> r.size.tolist(), r.low.tolist()
    ([3, 2, 1], [1, 2, 3])
    """
    res = _dfs_kernel(
        csr.indptr,
        csr.nbr,
        csr.eid,
        csr.node_up if node_ok is None else node_ok,
        csr.link_up if link_ok is None else link_ok,
        csr.roots if roots is None else roots,
        csr.weight,
    )
    return DFSResult(*res)


@njit(cache=True)
def bfs_into(indptr, nbr, eid, node_ok, link_ok, roots, seen, queue):  # pragma: no cover
    """Mark in ``seen`` (all False on entry) every node reached from ``roots`` over usable nodes
    and links; ``queue`` is scratch space of length n. Compiled; callable from other kernels."""
    head = 0
    tail = 0
    for r in roots:
        if node_ok[r] and not seen[r]:
            seen[r] = True
            queue[tail] = r
            tail += 1
    while head < tail:
        v = queue[head]
        head += 1
        for k in range(indptr[v], indptr[v + 1]):
            u = nbr[k]
            if seen[u] or not node_ok[u] or not link_ok[eid[k]]:
                continue
            seen[u] = True
            queue[tail] = u
            tail += 1


@njit(cache=True)
def _bfs_kernel(indptr, nbr, eid, node_ok, link_ok, roots):  # pragma: no cover - compiled
    n = indptr.shape[0] - 1
    seen = np.zeros(n, np.bool_)
    bfs_into(indptr, nbr, eid, node_ok, link_ok, roots, seen, np.empty(n, np.int64))
    return seen


def served_mask(
    csr: CSRGraph,
    *,
    roots: np.ndarray | None = None,
    node_ok: np.ndarray | None = None,
    link_ok: np.ndarray | None = None,
) -> np.ndarray:
    """Nodes with a path to some root over elements that are ok (BFS, O(n + m)).

    >>> G = nx.MultiGraph([("c", "a", "1"), ("b", "d", "2")]); G.nodes["c"]["kind"] = "core"
    >>> served_mask(to_csr(G)).tolist()
    [True, True, False, False]
    """
    return _bfs_kernel(
        csr.indptr,
        csr.nbr,
        csr.eid,
        csr.node_up if node_ok is None else node_ok,
        csr.link_up if link_ok is None else link_ok,
        csr.roots if roots is None else roots,
    )


@njit(cache=True)
def _widest_kernel(indptr, nbr, eid, death, link_ok, roots):  # pragma: no cover - compiled
    # out[v] = max over root paths of min(death of nodes on the path): the time v goes out.
    n = indptr.shape[0] - 1
    out = np.zeros(n, np.float64)
    done = np.zeros(n, np.bool_)
    cap = n + indptr[n] + 1
    hk = np.empty(cap, np.float64)  # max-heap keys
    hv = np.empty(cap, np.int64)
    size = 0
    for r in roots:
        if death[r] > out[r]:
            out[r] = death[r]
            # push
            i = size
            size += 1
            hk[i] = death[r]
            hv[i] = r
            while i > 0:
                p = (i - 1) // 2
                if hk[p] >= hk[i]:
                    break
                hk[p], hk[i] = hk[i], hk[p]
                hv[p], hv[i] = hv[i], hv[p]
                i = p
    while size > 0:
        key = hk[0]
        v = hv[0]
        size -= 1
        hk[0] = hk[size]
        hv[0] = hv[size]
        i = 0
        while True:
            lft = 2 * i + 1
            if lft >= size:
                break
            c = lft
            if lft + 1 < size and hk[lft + 1] > hk[lft]:
                c = lft + 1
            if hk[i] >= hk[c]:
                break
            hk[c], hk[i] = hk[i], hk[c]
            hv[c], hv[i] = hv[i], hv[c]
            i = c
        if done[v] or key < out[v]:
            continue
        done[v] = True
        for k in range(indptr[v], indptr[v + 1]):
            if not link_ok[eid[k]]:
                continue
            u = nbr[k]
            if done[u]:
                continue
            cand = key if key < death[u] else death[u]
            if cand > out[u]:
                out[u] = cand
                i = size
                size += 1
                hk[i] = cand
                hv[i] = u
                while i > 0:
                    p = (i - 1) // 2
                    if hk[p] >= hk[i]:
                        break
                    hk[p], hk[i] = hk[i], hk[p]
                    hv[p], hv[i] = hv[i], hv[p]
                    i = p
    return out


def widest_out_times(
    csr: CSRGraph,
    death: np.ndarray,
    *,
    roots: np.ndarray | None = None,
    link_ok: np.ndarray | None = None,
) -> np.ndarray:
    """When each node goes out, given when each node itself dies.

    ``death[v]`` is the time node v stops carrying traffic (0: already down, ``inf``: never).
    A node is served at time t while some root path has every node alive at t, so its out time is
    the widest (max-min) path value from the roots; 0 means out now.

    Notes
    -----
    Dijkstra-like with a binary max-heap: O((n + m) log n).

    Examples
    --------
    >>> G = nx.MultiGraph([("c", "a", "1"), ("a", "b", "2")]); G.nodes["c"]["kind"] = "core"
    >>> widest_out_times(to_csr(G), np.array([np.inf, 3.0, 6.0])).tolist()
    [inf, 3.0, 3.0]
    """
    return _widest_kernel(
        csr.indptr,
        csr.nbr,
        csr.eid,
        np.asarray(death, dtype=np.float64),
        csr.link_up if link_ok is None else link_ok,
        csr.roots if roots is None else roots,
    )


@njit(cache=True)
def _upstream_kernel(indptr, nbr, eid, served, node_down, link_down, sources):  # pragma: no cover
    # BFS over the physical graph (all elements) from the served nodes and the roots; each
    # unserved node learns the last down element on its BFS path before it.
    n = indptr.shape[0] - 1
    up_type = np.zeros(n, np.int8)  # 0 none, 1 node, 2 link
    up_idx = np.full(n, -1, np.int64)
    seen = np.zeros(n, np.bool_)
    queue = np.empty(n, np.int64)
    head = 0
    tail = 0
    for v in sources:
        if not seen[v]:
            seen[v] = True
            queue[tail] = v
            tail += 1
    while head < tail:
        v = queue[head]
        head += 1
        for k in range(indptr[v], indptr[v + 1]):
            u = nbr[k]
            if seen[u]:
                continue
            seen[u] = True
            e = eid[k]
            if link_down[e]:
                up_type[u] = 2
                up_idx[u] = e
            elif node_down[v] and not served[v]:
                up_type[u] = 1
                up_idx[u] = v
            else:
                up_type[u] = up_type[v]
                up_idx[u] = up_idx[v]
            queue[tail] = u
            tail += 1
    return up_type, up_idx


def upstream_bfs(
    csr: CSRGraph, served: np.ndarray, *, roots: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest down element upstream of each node (type 0 none / 1 node / 2 link, index).

    BFS over all elements from the served nodes (and the roots, even when down): the last down
    element crossed on the way to an unserved node explains why it is cut off. O(n + m).

    >>> G = nx.MultiGraph([("c", "a", "1"), ("a", "b", "2")]); G.nodes["c"]["kind"] = "core"
    >>> G.nodes["a"]["state"] = "down"; c = to_csr(G)
    >>> [x.tolist() for x in upstream_bfs(c, served_mask(c))]
    [[0, 0, 1], [-1, -1, 1]]
    """
    roots = csr.roots if roots is None else roots
    sources = np.unique(np.concatenate([np.nonzero(served)[0], roots]).astype(np.int64))
    return _upstream_kernel(
        csr.indptr, csr.nbr, csr.eid, served, ~csr.node_up, ~csr.link_up, sources
    )
