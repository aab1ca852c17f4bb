"""Status changes written straight into a compiled model's arrays (no networkx object).

:func:`apply_state_changes` is the arrays-first twin of
:func:`resilience.topology.graph.update_state` with ``changes_only=True`` followed by
:meth:`resilience.topology.compiled.CSRGraph.reread`: given the current-state rows changed since
the last read (:func:`resilience.store.repo.load_state_changes`) it brings a
:class:`~resilience.topology.compiled.CSRGraph` (from
:func:`~resilience.topology.compiled.compile_network`) to the state that compiling the whole
store again would give: node ``state``, ``power``, ``battery_remaining_min``, observation time
and ``fresh`` flag (every node's, when ``as_of`` moved), link states, and the graph attributes
``as_of``, ``newest_observed`` and ``power_feeds``. ``resilience watch``
(:class:`resilience.api.live.LiveModel`) keeps its model this way.

Example
-------
>>> from resilience.topology.compiled import compile_network
>>> m = compile_network([{"node_id": "C1", "kind": "core"}, {"node_id": "B1"}],
...                     [{"link_id": "L1", "a": "C1", "b": "B1"}])
>>> u = apply_state_changes(m, [{"node_id": "B1", "observed_at": "2024-01-01T16:10:00+09:00",
...                              "state": "down", "power": "none"}])
>>> u.nodes.tolist(), m.node_up.tolist(), m.attrs.label("power").tolist()
([1], [True, False], ['', 'none'])
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from resilience.topology.compiled import _NO_TIME, _times_us
from resilience.topology.graph import (
    StateUpdate,
    _as_of,
    _frame,
    _link_state,
    _newest,
    _node_state,
    _positions,
    _power_feeds,
)

if TYPE_CHECKING:
    from resilience.topology.compiled import CSRGraph, NodeAttributes

__all__ = ["apply_state_changes"]

_STATE_READ = ("state", "power", "battery_remaining_min", "observed_at", "fresh")


def apply_state_changes(
    model: CSRGraph,
    node_status: Any = None,
    link_status: Any = None,
    power_status: Any = None,
    *,
    as_of: datetime | None = None,
    stale_after: timedelta = timedelta(minutes=30),
) -> StateUpdate:
    """Write changed status rows into a compiled model, in place.

    Parameters
    ----------
    model : CSRGraph
        A compiled model (:func:`~resilience.topology.compiled.compile_network`; a
        :func:`~resilience.topology.compiled.to_csr` view works too, but its graph's dicts are
        not written: the arrays become the model's state).
    node_status, link_status, power_status : DataFrame or iterable of dict, optional
        The rows that changed (:func:`resilience.store.repo.load_state_changes`); the last row
        of an element wins, ids the model does not hold are skipped.
    as_of : datetime, optional
        Default: the newest observation in the rows or the model's ``newest_observed``.
    stale_after : timedelta
        A node's status older than this at ``as_of`` is not ``fresh`` (as in
        :func:`~resilience.topology.compiled.compile_network`).

    Returns
    -------
    StateUpdate
        The nodes and links whose state changed (the same as
        :func:`~resilience.topology.graph.update_state` with ``changes_only`` on the graph).

    Notes
    -----
    The result equals compiling the store again (tested against
    :func:`resilience.api.analyze`'s snapshots). Cost: the changed rows plus one vectorised
    pass over the nodes' observation times when ``as_of`` moved; structure and inventory
    attributes are not touched (compile again when the inventory changes).

    Examples
    --------
    >>> from resilience.topology.compiled import compile_network
    >>> m = compile_network([{"node_id": "C1", "kind": "core"}, {"node_id": "B1"}],
    ...                     [{"link_id": "L1", "a": "C1", "b": "B1"}])
    >>> u = apply_state_changes(m, link_status=[{"link_id": "L1", "state": "down",
    ...                                          "observed_at": "2024-01-01T16:15:00+09:00"}])
    >>> u.links.tolist(), m.link_up.tolist(), str(m.graph["as_of"])
    ([0], [False], '2024-01-01 07:15:00+00:00')
    """
    ns = _frame(node_status, ("node_id", "observed_at", "state", "power", "battery_remaining_min"))
    ls = _frame(link_status, ("link_id", "observed_at", "state"))
    ps = _frame(power_status, ("power_feed", "observed_at", "state", "expected_restore_at"))
    g, a = model.graph, model.attrs
    before = g.get("as_of")
    newest = _newest(ns, ls, ps)
    seen = [t for t in (g.get("newest_observed"), newest) if t is not None]
    newest = max(seen) if seen else None
    as_of = _as_of(as_of, newest)

    # nodes: the arrays the analyses read (loaded first, so the rest keep their values)
    ids, where = _positions(ns["node_id"], model.node_index)
    new = _node_state(ids.reset_index(drop=True), ns, as_of, stale_after)
    old = _node_values(a, where)
    _set_labels(a, "state", where, new["state"])
    _set_labels(a, "power", where, new["power"])
    a.numbers["battery_remaining_min"][where] = np.array(new["battery_remaining_min"], dtype=np.float64)
    a.observed_us[where] = _times_us(new["observed_at"])
    fresh = a.fresh
    fresh[where] = np.asarray(new["fresh"], dtype=bool)
    model.node_up[where] = _labels_at(a, "state", where) != "down"
    changed = _differ(old, _node_values(a, where))
    nodes_changed = where[changed]
    if as_of != before:  # time moved on: every other node's freshness follows it
        cutoff = pd.Timestamp(as_of).value // 1000 - pd.Timedelta(stale_after).value // 1000
        now = (a.observed_us != _NO_TIME) & (a.observed_us >= cutoff)
        now[where] = fresh[where]
        flip = np.flatnonzero(now != fresh)
        fresh[flip] = now[flip]
        nodes_changed = np.union1d(nodes_changed, flip)

    # links
    lids, lwhere = _positions(ls["link_id"], model.link_index)
    up = np.asarray(_link_state(lids.reset_index(drop=True), ls), dtype=object) != "down"
    link_changed = lwhere[model.link_up[lwhere] != up]
    model.link_up[lwhere] = up

    g["as_of"] = as_of
    g["newest_observed"] = newest
    g["power_feeds"] = {**(g.get("power_feeds") or {}), **_power_feeds(ps)}
    if not getattr(model.read_node, "_reads_arrays", False):
        model.read_node = _array_reader(model, model.read_node)
    return StateUpdate(np.unique(nodes_changed).astype(np.int64), np.sort(link_changed).astype(np.int64))


def _node_values(a: NodeAttributes, idx: np.ndarray) -> list[np.ndarray]:
    return [_labels_at(a, "state", idx), _labels_at(a, "power", idx),
            a.numbers["battery_remaining_min"][idx], a.observed_us[idx], a.fresh[idx]]


def _labels_at(a: NodeAttributes, key: str, idx: np.ndarray) -> np.ndarray:
    """Label ``key`` of the nodes ``idx`` (a copy; not the whole column)."""
    return a.categories[key][a.codes[key][idx]]


def _differ(old: list[np.ndarray], new: list[np.ndarray]) -> np.ndarray:
    """Rows where any of the columns differ (NaN equals NaN)."""
    out = np.zeros(len(old[0]), bool)
    for x, y in zip(old, new, strict=True):
        same = x == y
        if x.dtype.kind == "f":
            same |= np.isnan(x) & np.isnan(y)
        out |= ~same
    return out


def _set_labels(a: NodeAttributes, key: str, idx: np.ndarray, values: list) -> None:
    """Set label ``key`` of nodes ``idx`` (``None`` -> ``""``), widening the sorted categories
    with values never seen."""
    codes, cats = a.codes[key], a.categories[key]
    vals = np.asarray(["" if v is None else str(v) for v in values], dtype=object)
    fresh = sorted(set(vals.tolist()).difference(cats.tolist()))
    if fresh:
        merged = np.asarray(sorted([*cats.tolist(), *fresh]), dtype=object)
        codes = np.searchsorted(merged, cats)[codes]
        dict.__setitem__(a.codes, key, codes)
        dict.__setitem__(a.categories, key, merged)
        cats = merged
    codes[idx] = np.searchsorted(cats, vals)


def _array_reader(model: CSRGraph, base: Any) -> Any:
    """``read_node`` of a model whose state lives in its arrays: the state keys from them,
    everything else from ``base`` (inventory)."""
    a = model.attrs

    def read(key: str, default: Any = None) -> np.ndarray:
        if key not in _STATE_READ:
            return base(key, default)
        if key in ("state", "power"):
            col = a.label(key).copy()
            col[col == ""] = None
        elif key == "battery_remaining_min":
            num = a.numbers[key]
            col = num.astype(object)
            col[np.isnan(num)] = None
        elif key == "fresh":
            col = a.fresh.astype(object)
        else:
            has = a.observed_us != _NO_TIME
            col = np.full(model.n, None, dtype=object)
            col[has] = list(pd.to_datetime(a.observed_us[has], unit="us", utc=True))
        return col

    read._reads_arrays = True  # type: ignore[attr-defined]
    return read
