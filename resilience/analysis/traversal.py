"""The graph searches every analysis is built from, over the compiled model
(:class:`resilience.topology.compiled.CSRGraph`):

- :func:`dfs_lowpoint`   one depth-first search from a virtual root joined to every root (core):
  discovery times, low points, DFS parents, subtree sizes and weights. Node and link blast radii,
  articulation points, bridges and SPOF depth all follow from it in linear time.
- :func:`served_mask`    breadth-first search from the roots over the elements left up
  (what-if scenarios, shared-risk groups, forecast horizons); :func:`bfs_into` is its compiled
  form for other kernels (scenarios, restoration, hardening).
- :func:`widest_out_times`  for each node the time it goes out when sites die at given times
  (a max-min "widest path" from the roots, heap based).
- :func:`upstream_bfs`   the nearest down element upstream of every unserved node.

Plus :func:`root_indices` (the roots the searches start from) and :func:`whole_counts` (their
subscriber sums as whole numbers). The numba kernels themselves are private
(``resilience.analysis._kernels``).

Example
-------
>>> import networkx as nx  # noqa: F401 - the examples build graphs
>>> from resilience.topology.compiled import to_csr
>>> G = nx.MultiGraph()
>>> G.add_node("C", kind="core", subscribers=0); G.add_node("B", subscribers=10)
>>> _ = G.add_edge("C", "B", key="L1")
>>> csr = to_csr(G)
>>> csr.roots.tolist(), served_mask(csr).tolist()
([0], [True, True])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx  # noqa: F401 - the examples build graphs
import numpy as np

from resilience.analysis._kernels import (
    bfs_into,
    bfs_kernel,
    dfs_kernel,
    upstream_kernel,
    widest_kernel,
)
from resilience.topology.compiled import CSRGraph, to_csr  # noqa: F401 - to_csr: the examples

__all__ = [
    "root_indices",
    "whole_counts",
    "dfs_lowpoint",
    "served_mask",
    "widest_out_times",
    "upstream_bfs",
    "bfs_into",
    "DFSResult",
    "SMALL_GRAPH",
]


#: Graphs with fewer nodes plus links than this run the search kernels as plain Python: loading
#: a compiled kernel from numba's cache costs more than the whole search on a small network (a
#: one-shot command on a few sites). Same source, same answers (tests/analysis/test_arrays_first.py).
SMALL_GRAPH = 2_000


def _kernel(compiled: Any, csr: Any) -> Any:
    """``compiled`` (a numba kernel), or its Python function for a graph below
    :data:`SMALL_GRAPH` elements."""
    return compiled.py_func if csr.n + csr.m < SMALL_GRAPH else compiled


def whole_counts(x: np.ndarray) -> np.ndarray:
    """Whole-number sums (subscribers) as int64, refusing any that does not fit instead of
    wrapping around to a negative number.

    Subscriber sums are float64 in the kernels: exact while below 2**53 (9 x 10**15, e.g. nine
    million sites at the documented maximum of 10**9 subscribers each).

    Parameters
    ----------
    x : float array

    Returns
    -------
    int64 array

    Raises
    ------
    OverflowError
        A value is beyond the int64 range (or not finite).

    Examples
    --------
    >>> whole_counts(np.array([1e9 * 1e6, 2.0])).tolist()
    [1000000000000000, 2]
    >>> whole_counts(np.array([1e30]))
    Traceback (most recent call last):
    ...
    OverflowError: a subscriber sum (1e+30) does not fit in 64 bits: check the subscriber counts
    """
    r = np.rint(np.asarray(x, dtype=np.float64))
    bad = ~(np.abs(r) < 2.0**63)
    if bad.any():
        raise OverflowError(f"a subscriber sum ({r[bad][0]:g}) does not fit in 64 bits: "
                            "check the subscriber counts")
    return r.astype(np.int64)


def root_indices(csr: CSRGraph, roots: Iterable[Any] | None) -> np.ndarray:
    """Root indices from ids (``None``: the ``core`` nodes); unknown ids raise ``KeyError``.

    >>> G = nx.MultiGraph([("a", "b", "x")])
    >>> root_indices(to_csr(G), ["b"]).tolist()
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
    res = _kernel(dfs_kernel, csr)(
        csr.indptr,
        csr.nbr,
        csr.eid,
        csr.node_up if node_ok is None else node_ok,
        csr.link_up if link_ok is None else link_ok,
        csr.roots if roots is None else roots,
        csr.weight,
    )
    return DFSResult(*res)



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
    if csr.n + csr.m < SMALL_GRAPH:  # plain Python (see SMALL_GRAPH)
        seen = np.zeros(csr.n, np.bool_)
        bfs_into.py_func(csr.indptr, csr.nbr, csr.eid, csr.node_up if node_ok is None else node_ok,
                         csr.link_up if link_ok is None else link_ok,
                         csr.roots if roots is None else roots, seen, np.empty(csr.n, np.int64))
        return seen
    return bfs_kernel(
        csr.indptr,
        csr.nbr,
        csr.eid,
        csr.node_up if node_ok is None else node_ok,
        csr.link_up if link_ok is None else link_ok,
        csr.roots if roots is None else roots,
    )



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
    return _kernel(widest_kernel, csr)(
        csr.indptr,
        csr.nbr,
        csr.eid,
        np.asarray(death, dtype=np.float64),
        csr.link_up if link_ok is None else link_ok,
        csr.roots if roots is None else roots,
    )



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
    start = served.copy()
    start[roots] = True
    sources = np.nonzero(start)[0].astype(np.int64)
    return _kernel(upstream_kernel, csr)(
        csr.indptr, csr.nbr, csr.eid, served, ~csr.node_up, ~csr.link_up, sources
    )
