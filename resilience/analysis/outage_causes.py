"""Why each out node is out, and which outages are root causes (dependency-aware suppression).

A node is *out* when it is ``down`` or not served. Its cause (docs/definitions.md):

- ``power``           its own power is gone: ``power == 'none'``, or on ``battery`` with
  ``battery_remaining_min <= 0``;
- ``backhaul``        it has no path to the core (it is up but unserved, or down with power and
  no path even if it came back up);
- ``power+backhaul``  both;
- ``equipment``       down with power present and a path present;
- ``unknown``         no fresh status (``fresh`` is false, or older than ``stale_after``).

``upstream`` is the nearest down element (node or link) between the node and the served part of
the network, found by one breadth-first search from the served nodes; a node with an upstream
outage is not a root cause (``root_cause`` false), so alerts on it can be suppressed.

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph([("C", "A", "L1"), ("A", "B", "L2")])
>>> G.nodes["C"].update(kind="core", state="up", fresh=True)
>>> G.nodes["A"].update(state="down", power="none", fresh=True)
>>> G.nodes["B"].update(state="up", power="grid", fresh=True)
>>> causes(G).values.tolist()
[['A', 'power', True, None, None], ['B', 'backhaul', False, 'A', 'node']]
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from resilience.analysis.traversal import root_indices, served_mask, upstream_bfs
from resilience.topology.compiled import CSRGraph, to_csr
from resilience.topology.model import CAUSES

__all__ = ["causes", "power_gone_mask", "fresh_mask", "cause_arrays", "upstream_ids", "CAUSE_COLUMNS"]

CAUSE_COLUMNS = ["node_id", "cause", "root_cause", "upstream", "upstream_type"]


def power_gone_mask(csr: CSRGraph) -> np.ndarray:
    """Nodes whose own power is gone (node order): ``power == 'none'``, or on ``battery`` with
    ``battery_remaining_min <= 0``.

    >>> G = nx.MultiGraph(); G.add_node("a", power="none"); G.add_node("b", power="grid")
    >>> power_gone_mask(to_csr(G)).tolist()
    [True, False]
    """
    a = csr.attrs
    rem = a.numbers["battery_remaining_min"]
    with np.errstate(invalid="ignore"):
        empty = rem <= 0  # NaN (not reported) compares False
    return a.is_("power", "none") | (a.is_("power", "battery") & empty)


def fresh_mask(G: nx.MultiGraph, csr: CSRGraph, stale_after: timedelta | None) -> np.ndarray:
    """Nodes with a fresh status: the ``fresh`` attribute, or, with ``stale_after``, a status
    observed within ``stale_after`` of ``G.graph['as_of']``.

    >>> G = nx.MultiGraph(); G.add_node("a", fresh=True); G.add_node("b")
    >>> fresh_mask(G, to_csr(G), None).tolist()
    [True, False]
    """
    if stale_after is None:
        return csr.attrs.fresh.copy()
    return csr.attrs.fresh_at(G.graph.get("as_of"), stale_after)


def cause_arrays(
    G: nx.MultiGraph,
    csr: CSRGraph,
    roots: np.ndarray,
    stale_after: timedelta | None,
    served: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The arrays behind :func:`causes`: out node indices (node order), their cause codes (into
    :data:`resilience.topology.model.CAUSES`), root-cause flags, upstream type (0 none, 1 node,
    2 link) and upstream index. ``served`` (nodes reached from ``roots``) is computed when not
    given.

    >>> G = nx.MultiGraph([("C", "A", "L1"), ("A", "B", "L2")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["A"].update(state="down", power="none", fresh=True); G.nodes["B"]["fresh"] = True
    >>> c = to_csr(G)
    >>> [x.tolist() for x in cause_arrays(G, c, c.roots, None)]
    [[1, 2], [0, 1], [True, False], [0, 1], [-1, 1]]
    """
    served = served_mask(csr, roots=roots) if served is None else served
    down = ~csr.node_up
    out = np.nonzero(down | ~served)[0]
    if len(out) == 0:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0, bool), np.zeros(0, np.int8), z
    # a down node has a path if it is a root or has a carrying link to a served node
    path_if_up = served.copy()
    path_if_up[roots] = True
    lk_any = csr.link_up & (served[csr.eu] | served[csr.ev])
    path_if_up[csr.eu[lk_any]] = True
    path_if_up[csr.ev[lk_any]] = True
    fresh = fresh_mask(G, csr, stale_after)[out]
    pg = power_gone_mask(csr)[out]
    no_path = np.where(down[out], ~path_if_up[out], ~served[out])
    code = {c: i for i, c in enumerate(CAUSES)}
    cause = np.select(
        [~fresh, pg & no_path, pg, no_path],
        [code["unknown"], code["power+backhaul"], code["power"], code["backhaul"]],
        default=code["equipment"],
    ).astype(np.int64)
    up_type, up_idx = upstream_bfs(csr, served, roots=roots)
    return out, cause, up_type[out] == 0, up_type[out], up_idx[out]


def causes(
    G: nx.MultiGraph,
    roots: Iterable[Any] | None = None,
    *,
    stale_after: timedelta | None = None,
    csr: CSRGraph | None = None,
) -> pd.DataFrame:
    """Cause of every out node (down, or not served) and whether it is a root cause.

    Parameters
    ----------
    G : networkx.MultiGraph
        The network with its current state.
    roots : iterable of node ids, optional
        Default: the ``core`` nodes.
    stale_after : timedelta, optional
        Recompute freshness as ``as_of - observed_at <= stale_after``; default: the node's
        ``fresh`` attribute set by :func:`~resilience.topology.graph.build_graph`.
    csr : CSRGraph, optional
        Reused conversion of ``G``.

    Returns
    -------
    pandas.DataFrame
        Columns ``node_id``, ``cause`` (one of ``resilience.topology.model.CAUSES``),
        ``root_cause`` (bool: no upstream outage explains it), ``upstream`` (id of the nearest
        down node or link upstream, or ``None``) and ``upstream_type`` (``node`` | ``link`` |
        ``None``), one row per out node in graph order.

    Notes
    -----
    Two breadth-first searches: O(n + m).

    Examples
    --------
    >>> G = nx.MultiGraph([("C", "B", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["B"].update(state="down", power="grid", fresh=True)
    >>> causes(G)[["node_id", "cause"]].values.tolist()
    [['B', 'equipment']]
    """
    csr = csr if csr is not None else to_csr(G)
    out, cause, root, up_type, up_idx = cause_arrays(G, csr, root_indices(csr, roots), stale_after)
    return pd.DataFrame(
        {
            "node_id": csr.node_ids[out],
            "cause": np.asarray(CAUSES, dtype=object)[cause],
            "root_cause": root,
            "upstream": pd.Series(upstream_ids(csr, up_type, up_idx), dtype=object),
            "upstream_type": pd.Series(
                np.array([None, "node", "link"], dtype=object)[up_type], dtype=object
            ),
        }
    )


def upstream_ids(csr: CSRGraph, up_type: np.ndarray, up_idx: np.ndarray) -> np.ndarray:
    """Ids of upstream elements (type 1 node, 2 link; ``None`` for type 0) as an object array.

    >>> G = nx.MultiGraph([("c", "a", "L1")]); c = to_csr(G)
    >>> upstream_ids(c, np.array([1, 2, 0]), np.array([0, 0, -1])).tolist()
    ['c', 'L1', None]
    """
    ids = np.full(len(up_type), None, dtype=object)
    for t, names in ((1, csr.node_ids), (2, csr.link_ids)):
        sel = np.nonzero(up_type == t)[0]
        ids[sel] = names[up_idx[sel]]
    return ids
