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

Graph attributes: ``as_of`` (aware datetime: the newest observation unless given),
``newest_observed`` (the newest observation in the state, or ``None``), ``power_feeds`` (dict feed id -> dict with
``state`` ``on|off``, ``expected_restore_at``, ``observed_at``).

A node that is ``down`` or a link that is ``down`` does not carry traffic; ``degraded`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from operator import methodcaller
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
import pandas as pd

from resilience.timestamps import as_utc
from resilience.topology._adjacency import adjacency_structure
from resilience.topology.model import split_srlg

__all__ = ["build_graph", "update_state", "StateUpdate", "node_carries_traffic", "link_carries_traffic", "roots_of"]


_NODE_TEXT = ("operator", "name", "prefecture", "municipality", "power_feed")
_NODE_KEYS = ("kind", *_NODE_TEXT, "lat", "lon", "subscribers", "battery_hours", "state", "power",
              "battery_remaining_min", "observed_at", "fresh")
_EDGE_KEYS = ("a", "b", "medium", "capacity_mbps", "srlg", "state")


def _frame(rows: Any, columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows (DataFrame, iterable of dicts or None) as a DataFrame holding at least ``columns``."""
    if rows is None:
        df = pd.DataFrame(columns=list(columns))
    elif isinstance(rows, pd.DataFrame):
        df = rows
    else:
        df = pd.DataFrame.from_records(list(rows))
    missing = [c for c in columns if c not in df.columns]
    if missing:
        df = df.assign(**{c: None for c in missing})
    return df


def _objects(s: pd.Series) -> list:
    """Column values as Python objects, with NaN / NaT / NA as ``None``."""
    return s.astype(object).where(s.notna(), None).tolist()


def _utc_times(s: pd.Series) -> pd.Series:
    """Aware UTC timestamps; naive values (databases without time zones) are taken as UTC."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC")
    out = pd.to_datetime(s, utc=True, format="ISO8601") if s.dtype == object else pd.to_datetime(s)
    return out.dt.tz_localize("UTC") if out.dt.tz is None else out.dt.tz_convert("UTC")


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

    Notes
    -----
    Column work is vectorised (pandas); the remaining cost is networkx's own insertion of
    O(n + m) attribute dicts. The graph also carries its compiled adjacency
    (:mod:`resilience.topology.compiled`), so analyses do not convert it again.

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
    nd = _frame(nodes, ("node_id", "kind", *_NODE_TEXT, "lat", "lon", "subscribers", "battery_hours"))
    ld = _frame(links, ("link_id", "a", "b", "medium", "capacity_mbps", "srlg"))
    ns = _frame(node_status, ("node_id", "observed_at", "state", "power", "battery_remaining_min"))
    ls = _frame(link_status, ("link_id", "observed_at", "state"))
    ps = _frame(power_status, ("power_feed", "observed_at", "state", "expected_restore_at"))

    ids = nd["node_id"].astype(str)
    newest = _newest(ns, ls, ps)
    as_of = _as_of(as_of, newest)
    st = _node_state(ids, ns, as_of, stale_after)
    text = {c: nd[c].astype(object).where(nd[c].notna(), "").astype(str).tolist() for c in _NODE_TEXT}
    kind = nd["kind"].astype(object).where(nd["kind"].notna() & (nd["kind"] != ""), "aggregation")
    subs = pd.to_numeric(nd["subscribers"], errors="coerce").fillna(0).astype(np.int64).tolist()
    battery = pd.to_numeric(nd["battery_hours"], errors="coerce").fillna(0.0).astype(float).tolist()
    columns = (
        kind.astype(str).tolist(), *(text[c] for c in _NODE_TEXT),
        _objects(pd.to_numeric(nd["lat"], errors="coerce")),
        _objects(pd.to_numeric(nd["lon"], errors="coerce")),
        subs, battery, *(st[k] for k in _STATE_KEYS),
    )
    G = nx.MultiGraph()
    rows = (dict(zip(_NODE_KEYS, row, strict=True)) for row in zip(*columns, strict=True))
    lids = ld["link_id"].astype(str)
    link_state = _link_state(lids, ls)
    srlg = [
        tuple(v) if isinstance(v, tuple | list) else split_srlg(v) for v in ld["srlg"].tolist()
    ]
    a, b = ld["a"].astype(str).tolist(), ld["b"].astype(str).tolist()
    medium = ld["medium"].astype(object).where(ld["medium"].notna() & (ld["medium"] != ""), "fiber")
    ecols = (a, b, medium.astype(str).tolist(),
             _objects(pd.to_numeric(ld["capacity_mbps"], errors="coerce")), srlg, link_state)
    edges = (dict(zip(_EDGE_KEYS, row, strict=True)) for row in zip(*ecols, strict=True))
    if not _insert(G, ids, rows, lids, a, b, edges):  # ids listed twice: networkx's merge rules
        G.add_nodes_from(zip(ids.tolist(), rows, strict=True))
        G.add_edges_from(
            (u, v, k, dict(zip(_EDGE_KEYS, row, strict=True)))
            for u, v, k, row in zip(a, b, lids.tolist(), zip(*ecols, strict=True), strict=True)
        )

    feeds = _power_feeds(ps)
    G.graph["as_of"] = as_of
    G.graph["newest_observed"] = newest
    G.graph["power_feeds"] = feeds
    adjacency_structure(G)  # the compiled index every analysis starts from (made by _insert)
    return G


def _insert(G: nx.MultiGraph, ids: pd.Series, rows: Any, lids: pd.Series, a: list, b: list,
            edges: Any) -> bool:
    """Fill an empty ``G`` with the nodes and links as ``add_nodes_from`` / ``add_edges_from``
    would (same dicts, same order, the two directions of a pair sharing one key dict), without
    their per-element checks, and store its compiled index from the same arrays
    (:func:`resilience.topology.compiled.link_order`), so it is not read back from the dicts.
    False (nothing done) when a node id or a link id is listed twice or a link names a node
    that is not in the inventory: then networkx's own calls apply their rules."""
    from resilience.topology._adjacency import _CACHE, PositionIndex, attribute_reader
    from resilience.topology.compiled import link_order

    index = pd.Index(ids)
    if not index.is_unique or not lids.is_unique:
        return False
    ia, ib = index.get_indexer(a), index.get_indexer(b)
    if len(ia) and (min(ia.min(), ib.min()) < 0):
        return False
    nodes = ids.tolist()
    node_data = list(rows)
    adjs: list[dict] = [{} for _ in nodes]
    G._node.update(zip(nodes, node_data, strict=True))
    G._adj.update(zip(nodes, adjs, strict=True))
    link_ids = lids.tolist()
    link_rows = list(edges)
    for u, v, k, d in zip(ia.tolist(), ib.tolist(), link_ids, link_rows, strict=True):
        au = adjs[u]
        nv = nodes[v]
        kd = au.get(nv)
        if kd is None:
            kd = au[nv] = {}
            adjs[v][nodes[u]] = kd
        kd[k] = d
    n = len(nodes)
    ia, ib = ia.astype(np.int64), ib.astype(np.int64)
    order, indptr, nbr, eid = link_order(ia, ib, n)
    link_data = [link_rows[i] for i in order.tolist()]
    loops = int((ia == ib).sum())
    _CACHE[G] = {
        "key": (id(G._adj), n, 2 * (len(ia) - loops) + loops),
        "read_node": attribute_reader(node_data),
        "read_link": attribute_reader(link_data),
        "nodes": nodes,
        "node_index": PositionIndex(nodes),
        "links": [link_ids[i] for i in order.tolist()],
        "link_data": link_data,
        "eu": np.minimum(ia, ib)[order],
        "ev": np.maximum(ia, ib)[order],
        "indptr": indptr,
        "nbr": nbr,
        "eid": eid,
    }
    return True


_STATE_KEYS = ("state", "power", "battery_remaining_min", "observed_at", "fresh")


def _newest(ns: pd.DataFrame, ls: pd.DataFrame, ps: pd.DataFrame) -> datetime | None:
    """The newest observation in the state frames (``None`` when there is none)."""
    newest = [
        _utc_times(f["observed_at"]).max()
        for f in (ns, ls, ps)
        if len(f) and f["observed_at"].notna().any()
    ]
    return as_utc(max(newest)) if newest else None


def _as_of(as_of: Any, newest: datetime | None) -> datetime:
    """``as_of`` if given, else the newest observation, else now."""
    return as_utc(as_of) or newest or datetime.now(UTC)


def _node_state(ids: pd.Series, ns: pd.DataFrame, as_of: datetime, stale_after: timedelta) -> dict[str, list]:
    """Per node (in ``ids`` order): state, power, battery_remaining_min, observed_at, fresh."""
    ns = ns.assign(node_id=ns["node_id"].astype(str)).drop_duplicates("node_id", keep="last")
    idx = pd.Index(ns["node_id"]).get_indexer(ids)  # -1: no status for that node
    has = idx >= 0

    def col(c: str) -> pd.Series:
        out = np.full(len(ids), None, dtype=object)
        out[has] = ns[c].to_numpy(dtype=object)[idx[has]]
        return pd.Series(out)

    if len(ns):
        obs = _utc_times(col("observed_at"))
    else:
        obs = pd.Series(pd.NaT, index=range(len(ids)), dtype="datetime64[us, UTC]")
    fresh = obs.notna() & ((pd.Timestamp(as_of) - obs) <= pd.Timedelta(stale_after))
    return {
        "state": _objects(col("state")),
        "power": _objects(col("power")),
        "battery_remaining_min": _objects(pd.to_numeric(col("battery_remaining_min"), errors="coerce")),
        "observed_at": _objects(obs),
        "fresh": fresh.tolist(),
    }


def _link_state(lids: pd.Series, ls: pd.DataFrame) -> list:
    """Per link (in ``lids`` order): its state, ``up`` when no status was received."""
    out = np.full(len(lids), "up", dtype=object)
    if len(ls):
        ls = ls.assign(link_id=ls["link_id"].astype(str)).drop_duplicates("link_id", keep="last")
        li = pd.Index(ls["link_id"]).get_indexer(lids)
        vals = ls["state"].astype(object).where(ls["state"].notna(), "up").to_numpy()
        out[li >= 0] = vals[li[li >= 0]]
    return out.tolist()


def _power_feeds(ps: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Feed id -> ``{state, expected_restore_at, observed_at}`` (last row of a feed wins);
    column-wise conversion, one small dict per feed."""
    if not len(ps):
        return {}

    def times(c: str) -> list:
        col = ps[c]
        if col.isna().all():
            return [None] * len(ps)
        return [None if t is pd.NaT else as_utc(t) for t in _utc_times(col).tolist()]

    state = ps["state"].astype(object).where(ps["state"].notna() & (ps["state"] != ""), "on")
    rows = zip(ps["power_feed"].astype(str).tolist(), state.astype(str).tolist(),
               times("expected_restore_at"), times("observed_at"), strict=True)
    return {f: {"state": s, "expected_restore_at": r, "observed_at": o} for f, s, r, o in rows}


class StateUpdate(NamedTuple):
    """What :func:`update_state` changed: node and link indices (node / link order of the
    graph's compiled index), sorted."""

    nodes: np.ndarray
    links: np.ndarray


def update_state(
    G: nx.MultiGraph,
    node_status: Any = None,
    link_status: Any = None,
    power_status: Any = None,
    *,
    as_of: datetime | None = None,
    stale_after: timedelta = timedelta(minutes=30),
    changes_only: bool = False,
) -> StateUpdate:
    """Bring the state of a graph from :func:`build_graph` up to date, in place.

    Parameters
    ----------
    G : networkx.MultiGraph
    node_status, link_status, power_status : DataFrame or iterable of dict, optional
        The whole current state (as :func:`build_graph` takes it), or with ``changes_only`` just
        the rows that changed (:func:`resilience.store.repo.load_state_changes`).
    as_of : datetime, optional
        Default: the newest observation in the frames (with ``changes_only``: or the graph's
        ``as_of`` if newer).
    stale_after : timedelta
        As in :func:`build_graph`.
    changes_only : bool
        The frames hold only changed elements; the others keep their state (their ``fresh``
        flag still follows the new ``as_of``).

    Returns
    -------
    StateUpdate
        The nodes and links whose attributes were written.

    Notes
    -----
    Only the node and link dicts whose values differ are written. With the whole state the
    comparison is vectorised over every element; with ``changes_only`` the cost is that of the
    changed rows plus one pass over the fresh nodes' times when ``as_of`` moved, so a feed that
    changed 1% of a million sites costs well under a second. Structure (inventory) is not
    changed: rebuild the graph when the inventory changes.

    Examples
    --------
    >>> G = build_graph([{"node_id": "C1", "kind": "core"}, {"node_id": "B1", "kind": "relay"}],
    ...                 [{"link_id": "L1", "a": "C1", "b": "B1"}])
    >>> update_state(G, [{"node_id": "B1", "observed_at": "2024-01-01T16:10:00+09:00",
    ...                   "state": "down", "power": "none"}]).nodes.tolist()
    [1]
    >>> G.nodes["B1"]["state"], G.nodes["C1"]["state"]
    ('down', None)
    >>> update_state(G, link_status=[{"link_id": "L1", "observed_at": "2024-01-01T16:15:00+09:00",
    ...                               "state": "down"}], changes_only=True).links.tolist()
    [0]
    >>> G.nodes["B1"]["state"], G.edges["C1", "B1", "L1"]["state"]
    ('down', 'down')
    """
    ns = _frame(node_status, ("node_id", "observed_at", "state", "power", "battery_remaining_min"))
    ls = _frame(link_status, ("link_id", "observed_at", "state"))
    ps = _frame(power_status, ("power_feed", "observed_at", "state", "expected_restore_at"))
    index = adjacency_structure(G)  # its link_data are the graph's own edge dicts
    link_data = index["link_data"]
    ndata = list(G._node.values())
    before = G.graph.get("as_of")
    newest = _newest(ns, ls, ps)
    if changes_only:
        seen = [t for t in (G.graph.get("newest_observed"), newest) if t is not None]
        newest = max(seen) if seen else None
        as_of = _as_of(as_of, newest)
        ids, where = _positions(ns["node_id"], index["node_index"])
        lids, lwhere = _positions(ls["link_id"], _link_index(index))
    else:
        as_of = _as_of(as_of, newest)
        ids, where = pd.Series(list(G), dtype=object).astype(str), np.arange(len(ndata))
        lids = pd.Series(index["links"], dtype=object).astype(str)
        lwhere = np.arange(len(link_data))
    new = _node_state(ids.reset_index(drop=True), ns, as_of, stale_after)
    sub = [ndata[i] for i in where]
    changed = np.zeros(len(sub), dtype=bool)
    for k in _STATE_KEYS:
        cur = np.fromiter(map(methodcaller("get", k), sub), dtype=object, count=len(sub))
        nv = np.asarray(new[k], dtype=object)
        changed |= np.fromiter(map(_differs, cur, nv), dtype=bool, count=len(sub))
    for j in np.flatnonzero(changed):
        d = sub[j]
        for k in _STATE_KEYS:
            d[k] = new[k][j]
    nodes_changed = set(where[changed].tolist())
    if changes_only and as_of != before:
        nodes_changed |= _refresh_fresh(ndata, as_of, stale_after, grew=before is None or as_of > before,
                                        skip=set(where.tolist()))
    lstate = np.asarray(_link_state(lids.reset_index(drop=True), ls), dtype=object)
    lsub = [link_data[i] for i in lwhere]
    cur = np.fromiter(map(methodcaller("get", "state"), lsub), dtype=object, count=len(lsub))
    link_changed = np.flatnonzero(cur != lstate) if len(lsub) else np.zeros(0, np.int64)
    for j in link_changed:
        lsub[j]["state"] = lstate[j]
    G.graph["as_of"] = as_of
    G.graph["newest_observed"] = newest
    feeds = _power_feeds(ps)
    G.graph["power_feeds"] = {**(G.graph.get("power_feeds") or {}), **feeds} if changes_only else feeds
    return StateUpdate(
        np.asarray(sorted(nodes_changed), dtype=np.int64),
        np.sort(np.asarray(lwhere[link_changed], dtype=np.int64)),
    )


def _positions(ids: pd.Series, index: dict[str, int]) -> tuple[pd.Series, np.ndarray]:
    """The distinct ``ids`` known to ``index`` and their positions (unknown ids are skipped)."""
    known = [(i, p) for i in dict.fromkeys(ids.astype(str).tolist()) if (p := index.get(i)) is not None]
    return (pd.Series([i for i, _ in known], dtype=object),
            np.fromiter((p for _, p in known), np.int64, len(known)))


def _link_index(index: dict[str, Any]) -> dict[str, int]:
    """Link id to link index, built once per compiled index."""
    if "link_index" not in index:
        index["link_index"] = {str(k): i for i, k in enumerate(index["links"])}
    return index["link_index"]


def _refresh_fresh(ndata: list[dict], as_of: datetime, stale_after: timedelta, *, grew: bool,
                   skip: set[int]) -> set[int]:
    """Re-derive ``fresh`` of the nodes not in ``skip`` after ``as_of`` moved; return those
    flipped. When ``as_of`` grew only fresh nodes can go stale, so only they are looked at."""
    cutoff = pd.Timestamp(as_of - stale_after)  # Timestamp vs Timestamp: the fast comparison
    flags = np.fromiter(map(bool, map(methodcaller("get", "fresh"), ndata)), dtype=bool, count=len(ndata))
    look = np.flatnonzero(flags) if grew else np.arange(len(ndata))
    if skip:
        look = look[~np.isin(look, np.fromiter(skip, np.int64, len(skip)))]
    obs = [ndata[i].get("observed_at") for i in look.tolist()]
    fresh = ~np.fromiter((o is None or o < cutoff for o in obs), dtype=bool, count=len(obs))
    flip = np.flatnonzero(fresh != flags[look])
    for j in flip.tolist():
        ndata[look[j]]["fresh"] = bool(fresh[j])
    return set(look[flip].tolist())


def _differs(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is not b
    return bool(a != b)


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
