"""Battery forecast: what will be out at 1, 3, 6, 24, 72 hours if grid power is not restored.

A node runs on battery when its status says ``power == 'battery'`` or its power feed is ``off``
in ``G.graph['power_feeds']`` (unless it runs on a ``generator``). It dies when its battery runs
out: ``battery_remaining_min`` when reported, else ``battery_hours`` (``inf`` = never). A node
that is down or without power now is out at time 0. At each horizon the out set is the dead
nodes plus every node no longer served because the sites upstream of it died.

All horizons come from one pass: each node's *out time* is the widest (max-min) path value from
the roots over the nodes' death times (see :func:`resilience.analysis.traversal.widest_out_times`), so
the node is out at horizon h exactly when ``out_time <= h``.

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph([("C", "A", "L1"), ("A", "B", "L2")])
>>> G.nodes["C"].update(kind="core", subscribers=0, battery_hours=float("inf"))
>>> G.nodes["A"].update(power="battery", battery_remaining_min=120, subscribers=0)
>>> G.nodes["B"].update(power="battery", battery_hours=6, subscribers=100)
>>> battery_forecast(G, hours=(1, 3, 6))[["nodes_out", "subscribers_out"]].values.tolist()
[[0, 0], [2, 100], [2, 100]]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from resilience.analysis.outage_causes import power_gone_mask
from resilience.analysis.traversal import root_indices, whole_counts, widest_out_times
from resilience.topology.compiled import CSRGraph, to_csr

__all__ = ["battery_forecast", "node_out_times", "death_hours", "battery_hours_left", "DEFAULT_HORIZONS"]

DEFAULT_HORIZONS: tuple[float, ...] = (1, 3, 6, 24, 72)


def battery_hours_left(csr: CSRGraph) -> np.ndarray:
    """Hours each node can run on battery from now: ``battery_remaining_min`` when reported,
    else its rated ``battery_hours`` (missing: 0; ``inf`` = permanent generator).

    >>> G = nx.MultiGraph(); G.add_node("a", battery_remaining_min=90, battery_hours=4)
    >>> G.add_node("b", battery_hours=3); G.add_node("c")
    >>> battery_hours_left(to_csr(G)).tolist()
    [1.5, 3.0, 0.0]
    """
    num = csr.attrs.numbers
    rem, rated = num["battery_remaining_min"], num["battery_hours"]
    left = np.where(np.isnan(rem), np.where(np.isnan(rated), 0.0, rated), rem / 60.0)
    return np.maximum(left, 0.0)


def death_hours(
    G: nx.MultiGraph,
    *,
    feeds_off: Iterable[str] | None = None,
    municipalities_off: Iterable[str] | None = None,
    csr: CSRGraph | None = None,
) -> np.ndarray:
    """Hours from ``as_of`` until each node (graph order) stops carrying traffic.

    Parameters
    ----------
    G : networkx.MultiGraph
    feeds_off, municipalities_off : iterable of str, optional
        Extra power feeds / municipalities whose grid power is cut now (what-if power outages),
        on top of the feeds ``off`` in ``G.graph['power_feeds']``.
    csr : CSRGraph, optional
        Reused ``to_csr(G)``.

    Returns
    -------
    numpy.ndarray of float
        0 for nodes down or without power now, ``inf`` for nodes that never die (grid power on,
        generator, or an ``inf`` battery), else the battery time left.

    Notes
    -----
    O(n), vectorised over the view's attribute arrays.

    Examples
    --------
    >>> G = nx.MultiGraph(); G.add_node("a", power="battery", battery_remaining_min=90)
    >>> G.add_node("b", power_feed="F1", battery_hours=3); G.add_node("c", state="down")
    >>> death_hours(G, feeds_off=["F1"]).tolist()
    [1.5, 3.0, 0.0]
    """
    csr = csr if csr is not None else to_csr(G)
    a = csr.attrs
    feeds = G.graph.get("power_feeds") or {}
    off = {f for f, s in feeds.items() if (s or {}).get("state") == "off"}
    off |= set(feeds_off or ())
    munis = set(municipalities_off or ())
    on_battery, generator = a.is_("power", "battery"), a.is_("power", "generator")
    grid_cut = a.is_in("power_feed", off - {""})
    if munis:
        grid_cut |= a.is_in("municipality", munis - {""})
    # on battery now, or the grid just went (or will go) off: a reported remaining time wins
    # over the rating; a generator never dies
    runs_down = on_battery | (grid_cut & ~generator)
    out = np.where(runs_down, battery_hours_left(csr), np.inf)
    out[~csr.node_up | power_gone_mask(csr)] = 0.0
    return out


def node_out_times(
    G: nx.MultiGraph,
    roots: Iterable[Any] | None = None,
    *,
    death: np.ndarray | None = None,
    csr: CSRGraph | None = None,
) -> pd.DataFrame:
    """When each node goes out if grid power is not restored.

    Parameters
    ----------
    G : networkx.MultiGraph
    roots : iterable of node ids, optional
    death : array, optional
        Own death times in hours (default :func:`death_hours`).
    csr : CSRGraph, optional

    Returns
    -------
    pandas.DataFrame
        Columns ``node_id``, ``battery_out_hours`` (its own battery runs out; ``inf`` never),
        ``out_hours`` (it goes out, on its own or because an upstream site died; 0 = out now),
        ``cut_off_upstream`` (it goes out before its own battery does), in graph order.

    Notes
    -----
    O(n) attribute reads plus a heap-based widest-path pass, O((n + m) log n).

    Examples
    --------
    >>> G = nx.MultiGraph([("C", "A", "1"), ("A", "B", "2")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["A"].update(power="battery", battery_hours=2)
    >>> G.nodes["B"].update(power="battery", battery_hours=5)
    >>> node_out_times(G)["out_hours"].tolist()
    [inf, 2.0, 2.0]
    """
    csr = csr if csr is not None else to_csr(G)
    death = death_hours(G, csr=csr) if death is None else death
    out = widest_out_times(csr, death, roots=root_indices(csr, roots))
    return pd.DataFrame(
        {
            "node_id": csr.nodes,
            "battery_out_hours": death,
            "out_hours": out,
            "cut_off_upstream": out < death,
        }
    )


def battery_forecast(
    G: nx.MultiGraph,
    hours: Sequence[float] = DEFAULT_HORIZONS,
    roots: Iterable[Any] | None = None,
    *,
    weight: str | None = "subscribers",
    death: np.ndarray | None = None,
    csr: CSRGraph | None = None,
) -> pd.DataFrame:
    """Nodes and subscribers out at each horizon if grid power is not restored.

    Parameters
    ----------
    G : networkx.MultiGraph
    hours : sequence of float
        Horizons in hours from ``G.graph['as_of']``.
    roots : iterable of node ids, optional
    weight : str or None
        Node attribute summed into ``subscribers_out``.
    death : array, optional
        Own death times in hours (default :func:`death_hours`).
    csr : CSRGraph, optional
        Reused ``to_csr(G, weight=weight)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``horizon_hours``, ``nodes_out``, ``subscribers_out`` (everything out at that
        time, including what is out now), ``battery_exhausted`` (nodes whose own battery ran
        out), ``cut_off_upstream`` (nodes still powered but cut off by upstream deaths),
        ``nodes_out_new`` and ``subscribers_out_new`` (out at the horizon but not now).

    Notes
    -----
    One widest-path pass for all horizons, O((n + m) log n + h n).

    Examples
    --------
    >>> G = nx.MultiGraph([("C", "B", "1")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["B"].update(power="battery", battery_hours=4, subscribers=10)
    >>> battery_forecast(G, hours=[3, 6])["subscribers_out"].tolist()
    [0, 10]
    """
    csr = csr if csr is not None else to_csr(G, weight=weight)
    death = death_hours(G, csr=csr) if death is None else np.asarray(death, dtype=float)
    out_t = widest_out_times(csr, death, roots=root_indices(csr, roots))
    w = csr.weight
    now = out_t <= 0
    rows = []
    for h in hours:
        h = float(h)
        if math.isnan(h):
            raise ValueError("horizon hours must be numbers")
        out = out_t <= h
        dead = death <= h
        new = out & ~now
        rows.append(
            (
                h,
                int(out.sum()),
                w[out].sum(),
                int(dead.sum()),
                int((out & ~dead).sum()),
                int(new.sum()),
                w[new].sum(),
            )
        )
    df = pd.DataFrame(
        rows,
        columns=[
            "horizon_hours",
            "nodes_out",
            "subscribers_out",
            "battery_exhausted",
            "cut_off_upstream",
            "nodes_out_new",
            "subscribers_out_new",
        ],
    )
    if csr.weight_is_int:
        for c in ("subscribers_out", "subscribers_out_new"):
            df[c] = whole_counts(df[c].to_numpy(dtype=float))
    df["horizon_hours"] = df["horizon_hours"].astype(float)
    return df
