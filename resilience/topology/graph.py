"""The one converter from inventory and state to the networkx model: :func:`build_graph`.

Graph contract (every consumer relies on it)
--------------------------------------------
``networkx.MultiGraph``; node keys are ``node_id`` strings, edge keys are ``link_id`` strings.

Node attributes: ``kind, operator, name, lat, lon, prefecture, municipality`` (str / float),
``subscribers`` (int), ``battery_hours`` (float, ``inf`` = permanent generator),
``power_feed`` (str), and from the latest status: ``state`` (``up|down|degraded`` or ``None`` when
no status), ``power`` (``grid|battery|generator|none`` or ``None``), ``battery_remaining_min``
(float or ``None``), ``observed_at`` (aware datetime or ``None``), ``fresh`` (bool: a status
observed within ``stale_after`` of ``as_of``).

Edge attributes: ``a``, ``b`` (the contract's endpoints), ``medium``, ``capacity_mbps``,
``srlg`` (tuple of group ids), ``state`` (``up|down``; ``up`` when no status was received).

Graph attributes: ``as_of`` (aware datetime), ``power_feeds`` (dict feed id -> dict with
``state`` ``on|off``, ``expected_restore_at``, ``observed_at``).

A node that is ``down`` or a link that is ``down`` does not carry traffic; ``degraded`` does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import networkx as nx

from resilience.topology.model import split_srlg

__all__ = ["build_graph", "node_carries_traffic", "link_carries_traffic", "roots_of"]


def _records(rows: Any) -> Iterable[Mapping[str, Any]]:
    """Rows as mappings from a DataFrame, an iterable of dicts or ``None``."""
    if rows is None:
        return ()
    if hasattr(rows, "to_dict"):
        return rows.to_dict("records")
    return rows


def _none_if_nan(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    try:
        import pandas as pd

        if v is pd.NaT or (not isinstance(v, str | bytes) and pd.isna(v)):
            return None
    except (TypeError, ValueError):
        pass
    return v


def _aware(ts: Any) -> datetime | None:
    ts = _none_if_nan(ts)
    if ts is None:
        return None
    if hasattr(ts, "to_pydatetime"):
        ts = ts.to_pydatetime()
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    if ts.tzinfo is None:  # databases without time zones (SQLite) hand back UTC naive values
        ts = ts.replace(tzinfo=UTC)
    return ts


def build_graph(
    nodes: Any,
    links: Any,
    node_status: Any = None,
    link_status: Any = None,
    power_status: Any = None,
    *,
    as_of: datetime | None = None,
    stale_after: timedelta = timedelta(minutes=30),
) -> nx.MultiGraph:
    """Build the network model from inventory and current state.

    Parameters
    ----------
    nodes, links : DataFrame or iterable of dict
        Inventory rows with the contract columns (``links.srlg`` may be a ``;`` string or tuple).
    node_status, link_status, power_status : DataFrame or iterable of dict, optional
        Current state rows (one per element). Missing status means unknown for a node, up for a
        link, on for a power feed.
    as_of : datetime, optional
        The time the state is read at (default: the newest ``observed_at`` seen, else now).
    stale_after : timedelta
        A node status older than this (relative to ``as_of``) is not fresh.

    Returns
    -------
    networkx.MultiGraph
        See the module docstring for the attribute contract.

    Examples
    --------
    >>> G = build_graph(
    ...     [{"node_id": "C1", "kind": "core", "subscribers": 0},
    ...      {"node_id": "B1", "kind": "base_station", "subscribers": 100}],
    ...     [{"link_id": "L1", "a": "C1", "b": "B1", "medium": "fiber", "srlg": "R1;R2"}],
    ... )
    >>> G.nodes["B1"]["subscribers"], G.edges["C1", "B1", "L1"]["srlg"]
    (100, ('R1', 'R2'))
    """
    G = nx.MultiGraph()
    node_attrs = []
    for r in _records(nodes):
        nid = str(r["node_id"])
        battery = _none_if_nan(r.get("battery_hours"))
        subs = _none_if_nan(r.get("subscribers"))
        node_attrs.append(
            (
                nid,
                {
                    "kind": str(r.get("kind") or "aggregation"),
                    "operator": str(_none_if_nan(r.get("operator")) or ""),
                    "name": str(_none_if_nan(r.get("name")) or ""),
                    "lat": _none_if_nan(r.get("lat")),
                    "lon": _none_if_nan(r.get("lon")),
                    "prefecture": str(_none_if_nan(r.get("prefecture")) or ""),
                    "municipality": str(_none_if_nan(r.get("municipality")) or ""),
                    "subscribers": int(subs or 0),
                    "battery_hours": float(battery) if battery is not None else 0.0,
                    "power_feed": str(_none_if_nan(r.get("power_feed")) or ""),
                    "state": None,
                    "power": None,
                    "battery_remaining_min": None,
                    "observed_at": None,
                    "fresh": False,
                },
            )
        )
    G.add_nodes_from(node_attrs)

    edges = []
    for r in _records(links):
        a, b = str(r["a"]), str(r["b"])
        srlg = r.get("srlg")
        srlg = tuple(srlg) if isinstance(srlg, tuple | list) else split_srlg(srlg)
        cap = _none_if_nan(r.get("capacity_mbps"))
        edges.append(
            (
                a,
                b,
                str(r["link_id"]),
                {
                    "a": a,
                    "b": b,
                    "medium": str(r.get("medium") or "fiber"),
                    "capacity_mbps": float(cap) if cap is not None else None,
                    "srlg": srlg,
                    "state": "up",
                },
            )
        )
    G.add_edges_from(edges)

    newest: datetime | None = None
    status_rows = list(_records(node_status))
    for r in status_rows:
        nid = str(r["node_id"])
        if nid not in G:
            continue
        obs = _aware(r.get("observed_at"))
        if obs is not None and (newest is None or obs > newest):
            newest = obs
        d = G.nodes[nid]
        d["state"] = r.get("state")
        d["power"] = r.get("power")
        d["battery_remaining_min"] = _none_if_nan(r.get("battery_remaining_min"))
        d["observed_at"] = obs

    link_index = {k: (u, v) for u, v, k in G.edges(keys=True)}
    for r in _records(link_status):
        lid = str(r["link_id"])
        if lid in link_index:
            u, v = link_index[lid]
            G.edges[u, v, lid]["state"] = str(r.get("state") or "up")
        obs = _aware(r.get("observed_at"))
        if obs is not None and (newest is None or obs > newest):
            newest = obs

    feeds: dict[str, dict[str, Any]] = {}
    for r in _records(power_status):
        obs = _aware(r.get("observed_at"))
        feeds[str(r["power_feed"])] = {
            "state": str(r.get("state") or "on"),
            "expected_restore_at": _aware(r.get("expected_restore_at")),
            "observed_at": obs,
        }
        if obs is not None and (newest is None or obs > newest):
            newest = obs

    as_of = _aware(as_of) or newest or datetime.now(UTC)
    for _, d in G.nodes(data=True):
        obs = d["observed_at"]
        d["fresh"] = obs is not None and as_of - obs <= stale_after
    G.graph["as_of"] = as_of
    G.graph["power_feeds"] = feeds
    return G


def node_carries_traffic(data: Mapping[str, Any]) -> bool:
    """A node carries traffic unless its latest status says ``down``.

    >>> node_carries_traffic({"state": "degraded"}), node_carries_traffic({"state": "down"})
    (True, False)
    """
    return data.get("state") != "down"


def link_carries_traffic(data: Mapping[str, Any]) -> bool:
    """A link carries traffic unless its latest status says ``down``.

    >>> link_carries_traffic({"state": "up"})
    True
    """
    return data.get("state") != "down"


def roots_of(G: nx.Graph) -> list[str]:
    """The ``core`` nodes: exits to the operator core / internet.

    >>> G = nx.MultiGraph(); G.add_node("C", kind="core"); G.add_node("B", kind="relay")
    >>> roots_of(G)
    ['C']
    """
    return [n for n, k in G.nodes(data="kind") if k == "core"]
