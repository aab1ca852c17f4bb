"""Why each out node is out, and which outages are root causes (dependency-aware suppression).

A node is *out* when it is ``down`` or not served. Its cause (DESIGN.md):

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

from resilience.analysis._csr import CSRGraph, resolve_roots, served_mask, to_csr, upstream_bfs

__all__ = ["causes", "power_gone", "CAUSE_COLUMNS"]

CAUSE_COLUMNS = ["node_id", "cause", "root_cause", "upstream", "upstream_type"]


def power_gone(data: dict[str, Any]) -> bool:
    """The node's own power is gone: no power, or on battery with none left.

    >>> power_gone({"power": "battery", "battery_remaining_min": 0}), power_gone({"power": "grid"})
    (True, False)
    """
    p = data.get("power")
    if p == "none":
        return True
    if p == "battery":
        rem = data.get("battery_remaining_min")
        return rem is not None and rem == rem and rem <= 0
    return False


def _fresh(G: nx.MultiGraph, stale_after: timedelta | None) -> np.ndarray:
    nd = G._node.values()
    if stale_after is None:
        return np.fromiter((bool(d.get("fresh")) for d in nd), bool, len(G))
    as_of = G.graph.get("as_of")
    out = []
    for d in nd:
        obs = d.get("observed_at")
        out.append(obs is not None and as_of is not None and as_of - obs <= stale_after)
    return np.asarray(out, dtype=bool)


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
    r = resolve_roots(csr, roots)
    served = served_mask(csr, roots=r)
    down = ~csr.node_up
    out = np.nonzero(down | ~served)[0]
    if len(out) == 0:
        empty = np.array([], dtype=object)
        return pd.DataFrame(
            {c: (np.array([], bool) if c == "root_cause" else empty) for c in CAUSE_COLUMNS}
        )
    # a down node has a path if it is a root or has a carrying link to a served node
    path_if_up = served.copy()
    path_if_up[r] = True
    lk_any = csr.link_up & (served[csr.eu] | served[csr.ev])
    path_if_up[csr.eu[lk_any]] = True
    path_if_up[csr.ev[lk_any]] = True
    fresh = _fresh(G, stale_after)
    nd = list(G._node.values())
    up_type, up_idx = upstream_bfs(csr, served, roots=r)
    nodes = csr.nodes
    rows = []
    for i in out:
        d = nd[i]
        if not fresh[i]:
            cause = "unknown"
        else:
            pg = power_gone(d)
            no_path = not served[i] if not down[i] else not path_if_up[i]
            if pg and no_path:
                cause = "power+backhaul"
            elif pg:
                cause = "power"
            elif no_path:
                cause = "backhaul"
            else:
                cause = "equipment"
        t = up_type[i]
        if t == 1:
            up, ut = nodes[up_idx[i]], "node"
        elif t == 2:
            up, ut = csr.links[up_idx[i]], "link"
        else:
            up, ut = None, None
        rows.append((nodes[i], cause, up is None, up, ut))
    cols = list(zip(*rows, strict=True))
    return pd.DataFrame(
        {
            "node_id": np.array(cols[0], dtype=object),
            "cause": np.array(cols[1], dtype=object),
            "root_cause": np.array(cols[2], dtype=bool),
            "upstream": pd.Series(cols[3], dtype=object),
            "upstream_type": pd.Series(cols[4], dtype=object),
        }
    )
