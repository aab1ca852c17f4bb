"""Blast radius of every node and link, single points of failure, single homing.

Definitions (docs/definitions.md): a node is *served* when it has a path to some root (default: the
``core`` nodes) over elements that carry traffic (node state is not ``down``, link state is not
``down``). The blast radius of an element is the set of served nodes that would not be served if
it alone failed (a node's own radius includes itself).

All radii come from one depth-first search from a virtual root joined to every root (see
:func:`resilience.analysis.traversal.dfs_lowpoint`): failing node ``p`` cuts ``p`` and every DFS child
subtree ``c`` with ``low[c] >= disc[p]``; failing the tree link to ``c`` cuts ``c``'s subtree when
``low[c] > disc[p]`` (a bridge). Nothing is removed and recounted. Shared-risk groups (many
links failing together) are :mod:`resilience.analysis.srlg`.

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph()
>>> G.add_nodes_from([("C", {"kind": "core", "subscribers": 0}), ("A", {"subscribers": 5}),
...                   ("B", {"subscribers": 7})])
>>> G.add_edges_from([("C", "A", "L1"), ("A", "B", "L2")])
['L1', 'L2']
>>> blast_radius(G).values.tolist()
[['node', 'C', 3, 12], ['node', 'A', 2, 12], ['node', 'B', 1, 7], ['link', 'L1', 2, 12], ['link', 'L2', 1, 7]]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from resilience.analysis.traversal import (
    DFSResult,
    dfs_lowpoint,
    root_indices,
    served_mask,
    whole_counts,
)
from resilience.jit import njit
from resilience.topology.compiled import CSRGraph, to_csr

__all__ = [
    "blast_radius",
    "single_points_of_failure",
    "single_homed",
    "spof_depths",
    "served_nodes",
    "BlastArrays",
    "blast_arrays",
]

BLAST_COLUMNS = ["element_type", "id", "nodes_lost", "subscribers_lost"]


@dataclass
class BlastArrays:
    """Blast radii as arrays over a :class:`CSRGraph` (the fast path behind the DataFrames).

    Attributes
    ----------
    node_lost, link_lost : int64 arrays
        Nodes lost if the node / link alone fails.
    node_wlost, link_wlost : float64 arrays
        Their summed weight (subscribers).
    dfs : DFSResult
        The search they came from (``dfs.served`` is the served mask).
    """

    node_lost: np.ndarray
    node_wlost: np.ndarray
    link_lost: np.ndarray
    link_wlost: np.ndarray
    dfs: DFSResult

    @property
    def node_spof(self) -> np.ndarray:
        """Nodes whose radius holds another node."""
        return self.node_lost > 1

    @property
    def link_spof(self) -> np.ndarray:
        """Links whose radius holds any node."""
        return self.link_lost > 0


def blast_arrays(
    csr: CSRGraph,
    *,
    roots: np.ndarray | None = None,
    node_ok: np.ndarray | None = None,
    link_ok: np.ndarray | None = None,
) -> BlastArrays:
    """Node and link blast radii over a CSR graph with optional failure masks.

    Parameters
    ----------
    csr : CSRGraph
    roots : int array, optional
    node_ok, link_ok : bool arrays, optional
        Elements that carry traffic (defaults: their state is not ``down``).

    Returns
    -------
    BlastArrays

    Notes
    -----
    One DFS plus a few vectorised passes: O(n + m) time and memory.

    Examples
    --------
    >>> G = nx.MultiGraph([("c", "a", "1"), ("a", "b", "2")]); G.nodes["c"]["kind"] = "core"
    >>> blast_arrays(to_csr(G, weight=None)).node_lost.tolist()
    [3, 2, 1]
    """
    d = dfs_lowpoint(csr, roots=roots, node_ok=node_ok, link_ok=link_ok)
    n, m = csr.n, csr.m
    child = np.nonzero(d.parent >= 0)[0]
    p = d.parent[child]
    low_c = d.low[child]
    disc_p = d.disc[p]
    art = low_c >= disc_p
    cut_n = np.bincount(p[art], weights=d.size[child[art]], minlength=n)
    cut_w = np.bincount(p[art], weights=d.wsum[child[art]], minlength=n)
    served = d.disc >= 0
    w = csr.weight
    node_lost = np.where(served, 1 + cut_n, 0).astype(np.int64)
    node_wlost = np.where(served, w + cut_w, 0.0)
    bridge = low_c > disc_p
    link_lost = np.zeros(m, np.int64)
    link_wlost = np.zeros(m, np.float64)
    be = d.pedge[child[bridge]]
    link_lost[be] = d.size[child[bridge]]
    link_wlost[be] = d.wsum[child[bridge]]
    return BlastArrays(node_lost, node_wlost, link_lost, link_wlost, d)


def _subs(csr: CSRGraph, x: np.ndarray) -> np.ndarray:
    return whole_counts(x) if csr.weight_is_int else x


def blast_radius(
    G: nx.MultiGraph,
    roots: Iterable[Any] | None = None,
    weight: str | None = "subscribers",
    *,
    csr: CSRGraph | None = None,
) -> pd.DataFrame:
    """Blast radius of every node and every link.

    Parameters
    ----------
    G : networkx.MultiGraph
        The network (graph contract of :mod:`resilience.topology.graph`).
    roots : iterable of node ids, optional
        Exits to the core (default: nodes with ``kind == 'core'``), joined by a virtual root.
    weight : str or None
        Node attribute summed into ``subscribers_lost`` (``None``: count nodes).
    csr : CSRGraph, optional
        ``to_csr(G, weight=weight)`` computed beforehand, to skip the conversion.

    Returns
    -------
    pandas.DataFrame
        Columns ``element_type`` (``node`` | ``link``), ``id``, ``nodes_lost``,
        ``subscribers_lost``: one row per node (G's order) then one per link, zeros included.
        Unserved nodes, down elements and links touching them lose 0; parallel links are never
        bridges.

    Notes
    -----
    O(n + m): one iterative DFS (numba) from a virtual root joined to every root; a node's radius
    is itself plus its DFS child subtrees with ``low >= disc`` (block-cut structure), a link's is
    the child subtree of a bridge.

    Examples
    --------
    >>> G = nx.MultiGraph([("c", "a", "L1"), ("a", "b", "L2"), ("a", "b", "L3")])
    >>> G.nodes["c"]["kind"] = "core"
    >>> blast_radius(G, weight=None)[["id", "nodes_lost"]].values.tolist()
    [['c', 3], ['a', 2], ['b', 1], ['L1', 2], ['L2', 0], ['L3', 0]]
    """
    csr = csr if csr is not None else to_csr(G, weight=weight)
    b = blast_arrays(csr, roots=root_indices(csr, roots))
    return _frame(csr, b)


def _frame(csr: CSRGraph, b: BlastArrays) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "element_type": pd.Series(np.repeat(np.array(["node", "link"], dtype=object),
                                                [csr.n, csr.m]), dtype=object),
            "id": pd.Series(np.concatenate([csr.node_ids, csr.link_ids]), dtype=object),
            "nodes_lost": np.concatenate([b.node_lost, b.link_lost]),
            "subscribers_lost": _subs(csr, np.concatenate([b.node_wlost, b.link_wlost])),
        },
        columns=BLAST_COLUMNS,
    )


def served_nodes(
    G: nx.MultiGraph, roots: Iterable[Any] | None = None, *, csr: CSRGraph | None = None
) -> set[str]:
    """Ids of the nodes with a path to a root over elements that carry traffic.

    Notes
    -----
    One BFS, O(n + m).

    Examples
    --------
    >>> G = nx.MultiGraph([("c", "a", "1"), ("x", "y", "2")]); G.nodes["c"]["kind"] = "core"
    >>> sorted(served_nodes(G))
    ['a', 'c']
    """
    csr = csr if csr is not None else to_csr(G)
    mask = served_mask(csr, roots=root_indices(csr, roots))
    return {csr.nodes[i] for i in np.nonzero(mask)[0]}


def single_points_of_failure(
    G: nx.MultiGraph,
    roots: Iterable[Any] | None = None,
    weight: str | None = "subscribers",
    *,
    csr: CSRGraph | None = None,
) -> pd.DataFrame:
    """Elements whose blast radius holds any node but themselves.

    Parameters
    ----------
    G, roots, weight, csr
        As in :func:`blast_radius`.

    Returns
    -------
    pandas.DataFrame
        :func:`blast_radius` rows of nodes with ``nodes_lost > 1`` and links with
        ``nodes_lost > 0``, ordered by ``subscribers_lost`` then ``nodes_lost`` descending.

    Notes
    -----
    O(n + m) plus sorting the SPOFs.

    Examples
    --------
    >>> G = nx.MultiGraph([("c", "a", "L1"), ("a", "b", "L2")]); G.nodes["c"]["kind"] = "core"
    >>> single_points_of_failure(G, weight=None)["id"].tolist()
    ['c', 'a', 'L1', 'L2']
    """
    df = blast_radius(G, roots, weight, csr=csr)
    keep = np.where(df["element_type"] == "node", df["nodes_lost"] > 1, df["nodes_lost"] > 0)
    return (
        df[keep]
        .sort_values(["subscribers_lost", "nodes_lost"], ascending=False, kind="stable")
        .reset_index(drop=True)
    )


@njit(cache=True)
def _depth_kernel(order, cnt, parent, pedge, disc, low, is_root):  # pragma: no cover
    n = parent.shape[0]
    depth = np.zeros(n, np.int64)
    near_t = np.zeros(n, np.int8)  # 0 none, 1 node, 2 link
    near_i = np.full(n, -1, np.int64)
    for i in range(cnt):
        v = order[i]
        p = parent[v]
        if p < 0:
            continue
        art = low[v] >= disc[p] and not is_root[p]
        bridge = low[v] > disc[p]
        depth[v] = depth[p] + (1 if art else 0) + (1 if bridge else 0)
        if bridge:
            near_t[v] = 2
            near_i[v] = pedge[v]
        elif art:
            near_t[v] = 1
            near_i[v] = p
        else:
            near_t[v] = near_t[p]
            near_i[v] = near_i[p]
    return depth, near_t, near_i


def spof_depths(
    csr: CSRGraph,
    roots: np.ndarray,
    node_ok: np.ndarray | None = None,
    link_ok: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Array form of :func:`single_homed`: every node's SPOF depth and the SPOF nearest to it.

    Parameters
    ----------
    csr : CSRGraph
        The compiled graph.
    roots : numpy.ndarray
        Root (core) indices (:func:`resilience.analysis.traversal.root_indices`).
    node_ok, link_ok : numpy.ndarray of bool, optional
        The elements that are up (default: the compiled graph's states), e.g. with a what-if's
        damage taken out.

    Returns
    -------
    (served, depth, nearest_type, nearest_index)
        Per node: reached from a root; SPOFs on its dominator path; the nearest SPOF's type
        (0 none, 1 node, 2 link) and its node or link index.

    Example
    -------
    >>> from resilience.analysis.traversal import root_indices
    >>> from resilience.topology.compiled import to_csr
    >>> G = nx.MultiGraph([("c", "a", "L1"), ("a", "b", "L2")]); G.nodes["c"]["kind"] = "core"
    >>> csr = to_csr(G, weight=None)
    >>> served, depth, near_type, near_index = spof_depths(csr, root_indices(csr, None))
    >>> depth.tolist(), near_type.tolist(), near_index.tolist()
    ([0, 1, 3], [0, 2, 2], [-1, 0, 1])
    """
    d = dfs_lowpoint(csr, roots=roots, node_ok=node_ok, link_ok=link_ok)
    is_root = np.zeros(csr.n, bool)
    is_root[roots] = True
    depth, near_t, near_i = _depth_kernel(d.order, d.count, d.parent, d.pedge, d.disc, d.low, is_root)
    return d.served, depth, near_t, near_i


def single_homed(
    G: nx.MultiGraph,
    roots: Iterable[Any] | None = None,
    weight: str | None = "subscribers",
    *,
    csr: CSRGraph | None = None,
    all_served: bool = False,
) -> pd.DataFrame:
    """Served nodes with at least one single point of failure between them and the core.

    Parameters
    ----------
    G, roots, weight, csr
        As in :func:`blast_radius`.
    all_served : bool
        Return every served node (depth 0 included), not only the single-homed ones.

    Returns
    -------
    pandas.DataFrame
        Columns ``node_id``, ``spof_depth`` (articulation nodes plus bridges whose failure would
        cut the node off: the SPOFs on its dominator path to the core; the roots themselves
        are the destination and not counted), ``subscribers`` (its own
        weight), ``nearest_spof`` and ``nearest_spof_type`` (``node`` | ``link``, the SPOF
        closest to it), ordered by depth descending then node order.

    Notes
    -----
    One DFS plus one pass in discovery order: O(n + m).

    Examples
    --------
    >>> G = nx.MultiGraph([("c", "a", "L1"), ("a", "b", "L2")]); G.nodes["c"]["kind"] = "core"
    >>> single_homed(G, weight=None)[["node_id", "spof_depth", "nearest_spof"]].values.tolist()
    [['b', 3, 'L2'], ['a', 1, 'L1']]
    """
    csr = csr if csr is not None else to_csr(G, weight=weight)
    served, depth, near_t, near_i = spof_depths(csr, root_indices(csr, roots))
    sel = served if all_served else depth > 0
    idx = np.nonzero(sel)[0]
    nodes = np.asarray(csr.nodes, dtype=object)
    links = np.asarray(csr.links, dtype=object)
    nt = near_t[idx]
    ni = near_i[idx]
    near = np.full(len(idx), None, dtype=object)
    near[nt == 1] = nodes[ni[nt == 1]]
    near[nt == 2] = links[ni[nt == 2]]
    ntype = np.full(len(idx), None, dtype=object)
    ntype[nt == 1] = "node"
    ntype[nt == 2] = "link"
    df = pd.DataFrame(
        {
            "node_id": nodes[idx],
            "spof_depth": depth[idx],
            "subscribers": _subs(csr, csr.weight[idx]),
            "nearest_spof": pd.Series(near, dtype=object),
            "nearest_spof_type": pd.Series(ntype, dtype=object),
        }
    )
    return df.sort_values("spof_depth", ascending=False, kind="stable").reset_index(drop=True)
