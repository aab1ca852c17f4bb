"""The arrays-first model: the compiled CSR view built straight from the store's columns.

:func:`compile_network` takes the same inventory and state frames as
:func:`resilience.topology.graph.build_graph` and returns a
:class:`~resilience.analysis._csr.CSRGraph` without building a networkx object: every column is
normalised with pandas/numpy (no per-row Python) and the adjacency is sorted with numpy. The
result equals ``to_csr(build_graph(...))`` element for element: the same node order, the same
link order (networkx's ``G.edges(keys=True)`` order, reproduced), the same neighbour order in
every adjacency row, the same attribute values. It carries the graph attributes (``as_of``,
``newest_observed``, ``power_feeds``) in :attr:`CSRGraph.graph`, so
:func:`resilience.analysis.snapshot.compute_snapshot` runs on it directly.

networkx stays the model for planners' scripts: :func:`build_graph` (and
:func:`resilience.api.load_graph`) still return one.

Example
-------
>>> m = compile_network(
...     [{"node_id": "C1", "kind": "core", "subscribers": 0},
...      {"node_id": "B1", "kind": "base_station", "subscribers": 100}],
...     [{"link_id": "L1", "a": "C1", "b": "B1", "medium": "fiber", "srlg": "R1;R2"}],
... )
>>> m.nodes, m.links, m.roots.tolist(), m.weight.tolist(), m.srlg_groups[0]
(['C1', 'B1'], ['L1'], [0], [0.0, 100.0], ['R1', 'R2'])
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from resilience.topology.graph import (
    _NODE_TEXT,
    _as_of,
    _frame,
    _link_state,
    _newest,
    _power_feeds,
    _utc_times,
)
from resilience.topology.index import PositionIndex
from resilience.topology.model import split_srlg

if TYPE_CHECKING:  # the analysis package imports topology: no import cycle at run time
    from resilience.analysis._csr import CSRGraph

__all__ = ["compile_network", "link_order", "group_srlg_codes"]


def link_order(ia: np.ndarray, ib: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                 np.ndarray]:
    """networkx's link and adjacency order for links added row by row to a ``MultiGraph``.

    Parameters
    ----------
    ia, ib : int64 arrays (m,)
        Endpoint node indices of each link row (rows in insertion order, keys distinct).
    n : int
        Number of nodes.

    Returns
    -------
    order : int64 array (m,)
        Row of each link index (``G.edges(keys=True)`` order: by the endpoint first in node
        order, then by when that node first met the neighbour, then by row).
    indptr, nbr, eid : int64 arrays
        The adjacency (self-loops left out) in the order of each node's networkx adjacency
        dict: neighbours by their first link's row, parallel links by row.

    Notes
    -----
    Two stable sorts: O(m log m), all in numpy.

    Examples
    --------
    >>> order, indptr, nbr, eid = link_order(np.array([1, 0, 1]), np.array([2, 1, 0]), 3)
    >>> order.tolist(), indptr.tolist(), nbr.tolist(), eid.tolist()
    ([1, 2, 0], [0, 2, 5, 6], [1, 1, 2, 0, 0, 1], [0, 1, 2, 0, 1, 2])
    """
    m = len(ia)
    rows = np.arange(m, dtype=np.int64)
    lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
    pair = lo * max(n, 1) + hi
    _, inv = np.unique(pair, return_inverse=True)
    first = np.full(int(inv.max()) + 1 if m else 0, m, np.int64)
    np.minimum.at(first, inv, rows)
    frow = first[inv]  # the row that first joined the pair
    order = np.lexsort((rows, frow, lo))
    eid_of_row = np.empty(m, np.int64)
    eid_of_row[order] = rows
    keep = ia != ib
    src = np.concatenate([ia[keep], ib[keep]])
    dst = np.concatenate([ib[keep], ia[keep]])
    er = np.concatenate([rows[keep], rows[keep]])
    fr = np.concatenate([frow[keep], frow[keep]])
    adj = np.lexsort((er, fr, src))
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return order, indptr, dst[adj].astype(np.int64), eid_of_row[er[adj]]


def group_srlg_codes(srlg: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The shared-risk groups of each link, flat: ``(link, name)`` pairs, links ascending and
    each link's groups left to right (the ``;`` field split and stripped, empties dropped).

    >>> link, name = group_srlg_codes(pd.Series(["R1; R2", None, "", " R3;R1"]))
    >>> link.tolist(), name.tolist()
    ([0, 0, 3, 3], ['R1', 'R2', 'R3', 'R1'])
    """
    s = srlg.reset_index(drop=True)
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        # tuples or lists (build_graph takes them), or numbers: per row, as build_graph does
        vals = [tuple(v) if isinstance(v, tuple | list) else split_srlg(v) for v in s.tolist()]
        count = np.fromiter(map(len, vals), np.int64, len(vals))
        link = np.repeat(np.arange(len(vals), dtype=np.int64), count)
        return link, np.asarray([g for v in vals for g in v], dtype=object)
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    split = pc.split_pattern(arr, ";")
    link = pc.list_parent_indices(split).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.utf8_trim_whitespace(pc.list_flatten(split)).to_numpy(zero_copy_only=False)
    keep = flat != ""
    return link[keep], np.asarray(flat[keep], dtype=object)


def compile_network(
    nodes: Any,
    links: Any,
    node_status: Any = None,
    link_status: Any = None,
    power_status: Any = None,
    *,
    as_of: datetime | None = None,
    stale_after: timedelta = timedelta(minutes=30),
    weight: str | None = "subscribers",
) -> CSRGraph:
    """The compiled network model straight from inventory and state columns (no networkx).

    Parameters
    ----------
    nodes, links, node_status, link_status, power_status, as_of, stale_after
        As in :func:`resilience.topology.graph.build_graph`.
    weight : str or None
        Node attribute summed as impact (as in :func:`resilience.analysis._csr.to_csr`).

    Returns
    -------
    CSRGraph
        Equal to ``to_csr(build_graph(...), weight=weight)``; its ``graph`` holds ``as_of``,
        ``newest_observed`` and ``power_feeds``. It is a picture of the state: it has no
        element dicts, so :meth:`CSRGraph.reread` does not apply (compile again, or use
        :func:`build_graph` and :func:`resilience.topology.graph.update_state`).

    Notes
    -----
    O(n + m) vectorised column work plus O(m log m) numpy sorts. Inputs with a node id or a
    link id listed twice go through ``to_csr(build_graph(...))`` (networkx's
    merge rules).

    Examples
    --------
    >>> m = compile_network([{"node_id": "C", "kind": "core"}, {"node_id": "B"}],
    ...                     [{"link_id": "L", "a": "B", "b": "C"}],
    ...                     [{"node_id": "B", "observed_at": "2024-01-01T16:00:00+09:00",
    ...                       "state": "down", "power": "none"}])
    >>> m.node_up.tolist(), m.attrs.label("kind").tolist(), str(m.graph["as_of"])
    ([True, False], ['core', 'aggregation'], '2024-01-01 07:00:00+00:00')
    """
    from resilience.analysis._csr import CSRGraph, NodeAttributes, _label_codes, to_csr

    nd = _frame(nodes, ("node_id", "kind", *_NODE_TEXT, "lat", "lon", "subscribers", "battery_hours"))
    ld = _frame(links, ("link_id", "a", "b", "medium", "capacity_mbps", "srlg"))
    ids = nd["node_id"].astype(str).reset_index(drop=True)
    lids = ld["link_id"].astype(str).reset_index(drop=True)
    a = ld["a"].astype(str).to_numpy(dtype=object)
    b = ld["b"].astype(str).to_numpy(dtype=object)
    if ids.duplicated().any() or lids.duplicated().any():
        from resilience.topology.graph import build_graph

        G = build_graph(nodes, links, node_status, link_status, power_status, as_of=as_of,
                        stale_after=stale_after)
        csr = to_csr(G, weight=weight)
        csr.graph = dict(G.graph)
        return csr
    ns = _frame(node_status, ("node_id", "observed_at", "state", "power", "battery_remaining_min"))
    ls = _frame(link_status, ("link_id", "observed_at", "state"))
    ps = _frame(power_status, ("power_feed", "observed_at", "state", "expected_restore_at"))
    newest = _newest(ns, ls, ps)
    as_of = _as_of(as_of, newest)

    # nodes: the inventory's, then endpoints named only by a link, in the order networkx adds
    # them (bare: no attributes); one hash pass over the ids and the interleaved endpoints
    n_inv, m = len(ids), len(lids)
    ends = np.empty(2 * m, dtype=object)
    ends[0::2], ends[1::2] = a, b
    codes, uniq = pd.factorize(np.concatenate([ids.to_numpy(dtype=object), ends]))
    node_ids = np.asarray(uniq, dtype=object)
    n = len(node_ids)
    ia = codes[n_inv::2].astype(np.int64)
    ib = codes[n_inv + 1::2].astype(np.int64)

    # node state from the status rows, in node order (no per-row Python)
    ns = ns.assign(node_id=ns["node_id"].astype(str)).drop_duplicates("node_id", keep="last")
    pos = codes[:n_inv]  # == arange: the inventory ids are distinct
    at = pd.Index(ids).get_indexer(ns["node_id"]) if len(ns) else np.zeros(0, np.int64)
    hit = at >= 0
    rows = ns[hit]
    where = pos[at[hit]]
    obs_us = np.full(n, np.iinfo(np.int64).min, np.int64)
    if len(rows) and rows["observed_at"].notna().any():
        t = _utc_times(rows["observed_at"].reset_index(drop=True))
        obs_us[where] = t.dt.tz_convert(None).to_numpy(dtype="datetime64[us]").view(np.int64)
    cutoff = pd.Timestamp(as_of).value // 1000 - pd.Timedelta(stale_after).value // 1000
    fresh = (obs_us != np.iinfo(np.int64).min) & (obs_us >= cutoff)
    has_state = np.zeros(n, bool)
    has_state[where] = True

    def node_col(values: Any, fill: Any, inv_fill: Any = None) -> pd.Series:
        """A column over every node: inventory values, ``fill`` for the bare nodes."""
        v = pd.Series(values).reset_index(drop=True)
        if inv_fill is not None:
            v = v.where(v.notna() & (v.astype(object) != ""), inv_fill)
        if n == n_inv:
            return v
        return pd.concat([v, pd.Series([fill] * (n - n_inv), dtype=object)], ignore_index=True)

    def status_col(c: str) -> pd.Series:
        out = pd.Series(np.full(n, None, dtype=object))
        if len(rows):
            out.iloc[where] = rows[c].to_numpy(dtype=object)
        return out

    labels: dict[str, pd.Series] = {
        "kind": node_col(nd["kind"], None, "aggregation"),
        **{c: node_col(nd[c], None, "") for c in _NODE_TEXT},
        "state": status_col("state"),
        "power": status_col("power"),
    }
    numbers = {
        "lat": pd.to_numeric(node_col(nd["lat"], np.nan), errors="coerce").to_numpy(np.float64),
        "lon": pd.to_numeric(node_col(nd["lon"], np.nan), errors="coerce").to_numpy(np.float64),
        "battery_hours": pd.to_numeric(node_col(pd.to_numeric(nd["battery_hours"], errors="coerce")
                                                .fillna(0.0), np.nan)).to_numpy(np.float64),
        "battery_remaining_min": pd.to_numeric(status_col("battery_remaining_min"), errors="coerce")
        .to_numpy(np.float64),
    }
    subs = node_col(pd.to_numeric(nd["subscribers"], errors="coerce").fillna(0).astype(np.int64), None)

    def read(key: str, default: Any = None) -> np.ndarray:
        """One node attribute as an object array in node order (what the graph's dicts hold)."""
        if key in labels:
            col = labels[key].astype(object).where(labels[key].notna(), None).to_numpy(dtype=object)
            if key in ("state", "power"):
                return col
        elif key in numbers:
            col = np.asarray(numbers[key], dtype=object)
            col[np.isnan(numbers[key])] = None
        elif key == "subscribers":
            col = subs.to_numpy(dtype=object)
        elif key == "fresh":
            col = np.asarray(fresh, dtype=object)
        elif key == "observed_at":
            col = np.full(n, None, dtype=object)
            if has_state.any():
                col[has_state] = list(pd.to_datetime(obs_us[has_state], unit="us", utc=True))
        elif key == "name":
            col = labels["name"].to_numpy(dtype=object)
        else:
            return np.full(n, default, dtype=object)
        if n > n_inv:  # bare nodes hold nothing
            col = np.array(col, dtype=object)
            col[n_inv:] = default
        return col

    node_up = ~(labels["state"] == "down").to_numpy(dtype=bool)
    if weight is None:
        w = np.ones(n, np.float64)
    elif weight == "subscribers":
        w = pd.to_numeric(subs, errors="coerce").fillna(0).to_numpy(np.float64)
    else:
        raw = read(weight, 0)
        try:
            w = raw.astype(np.float64)
        except (TypeError, ValueError):
            w = np.fromiter((float(x or 0) for x in raw), np.float64, n)
        w = np.nan_to_num(w, nan=0.0)

    attrs = NodeAttributes([], read=read)
    for key, col in labels.items():
        if key == "name":
            continue
        lc, cats = pd.factorize(col.astype(object).where(col.notna(), ""), sort=True)
        cats = np.asarray(cats, dtype=object)
        if not all(isinstance(c, str) for c in cats):  # mixed types: as _label_codes does
            lc, cats = _label_codes(read(key).tolist())
        dict.__setitem__(attrs.codes, key, np.asarray(lc, dtype=np.int64))
        dict.__setitem__(attrs.categories, key, cats)
    for key, col in numbers.items():
        dict.__setitem__(attrs.numbers, key, np.array(col, dtype=np.float64))
    attrs._observed = obs_us
    attrs._fresh = fresh

    # links, in networkx's order
    order, indptr, nbr, eid = link_order(ia, ib, n)
    link_ids = lids.to_numpy(dtype=object)[order]
    lstate = np.asarray(_link_state(lids, ls), dtype=object)[order]
    medium = ld["medium"].astype(object).where(ld["medium"].notna() & (ld["medium"] != ""), "fiber")
    roots = np.flatnonzero((labels["kind"] == "core").to_numpy(dtype=bool)).astype(np.int64)
    csr_nodes = node_ids.tolist()
    csr = CSRGraph(
        nodes=csr_nodes,
        links=link_ids.tolist(),
        node_index=PositionIndex(csr_nodes),
        eu=np.minimum(ia, ib)[order],
        ev=np.maximum(ia, ib)[order],
        indptr=indptr,
        nbr=nbr,
        eid=eid,
        node_up=node_up,
        link_up=lstate != "down",
        roots=roots,
        weight=w,
        weight_is_int=bool(np.all(w == np.rint(w))) if n else True,
        read_node=read,
    )
    csr.graph = {"as_of": as_of, "newest_observed": newest, "power_feeds": _power_feeds(ps)}
    csr._attrs = attrs
    csr.__dict__["link_medium"] = medium.astype(str).to_numpy(dtype=object)[order]  # cached
    link, names = group_srlg_codes(ld["srlg"])
    at_link = np.empty(m, np.int64)
    at_link[order] = np.arange(m, dtype=np.int64)
    csr._srlg_groups = _srlg_groups_flat(at_link[link], names)
    return csr


def _srlg_groups_flat(link: np.ndarray, names: np.ndarray) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """:attr:`CSRGraph.srlg_groups` from ``(link index, group name)`` pairs (any order)."""
    o = np.lexsort((np.arange(len(link)), link))  # along the links, each link's groups in order
    link, names = link[o], names[o]
    codes, uniques = pd.factorize(names, use_na_sentinel=False)  # first-appearance order
    order = np.argsort(codes, kind="stable")
    codes, link = codes[order], link[order]
    keep = np.ones(len(link), bool)
    keep[1:] = (codes[1:] != codes[:-1]) | (link[1:] != link[:-1])
    codes, link = codes[keep], link[keep].astype(np.int64)
    ptr = np.zeros(len(uniques) + 1, np.int64)
    np.cumsum(np.bincount(codes, minlength=len(uniques)), out=ptr[1:])
    ptr.flags.writeable = False
    link.flags.writeable = False
    return list(uniques), ptr, link
