"""The compiled network model: flat arrays (CSR) of the graph and its states, and the two ways
to build them.

Every analysis works on a :class:`CSRGraph`: node and link order, endpoints, adjacency rows,
element states, weights and the node attributes it reads, as numpy arrays. It is built either

- from a networkx graph with :func:`to_csr` (the planners' model; the structure is the graph's
  cached adjacency, :func:`adjacency_structure`, and the states are read from its dicts on every
  call), or
- straight from the store's columns with :func:`compile_network` (the pipeline's hot path: no
  networkx object). The result equals ``to_csr(build_graph(...))`` element for element: the
  same node order, the same link order (networkx's ``G.edges(keys=True)`` order, reproduced),
  the same neighbour order in every adjacency row, the same attribute values. It carries the
  graph attributes (``as_of``, ``newest_observed``, ``power_feeds``) in :attr:`CSRGraph.graph`,
  so :func:`resilience.analysis.snapshot.compute_snapshot` runs on it directly. It is two
  halves: :func:`compile_inventory` (a :class:`CompiledInventory`: everything that depends on
  the nodes and links alone, which an SQLite store keeps on disk between processes) and
  :func:`compile_status` (the state joined onto it).

The searches over it (served, DFS low points, out times) are in
:mod:`resilience.analysis.traversal`. networkx stays the model for planners' scripts:
:func:`resilience.topology.graph.build_graph` (and :func:`resilience.api.load_graph`) still return
one.

Indices: nodes are ``0..n-1`` in ``G``'s node order, links ``0..m-1`` in ``G.edges(keys=True)``
order. Self-loops are kept in the link list (so every link has a row) but not in the adjacency.

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph()
>>> G.add_node("C", kind="core", subscribers=0); G.add_node("B", subscribers=10)
>>> _ = G.add_edge("C", "B", key="L1")
>>> csr = to_csr(G)
>>> csr.n, csr.m, csr.roots.tolist(), csr.weight.tolist()
(2, 1, [0], [0.0, 10.0])
>>> m = compile_network(
...     [{"node_id": "C1", "kind": "core", "subscribers": 0},
...      {"node_id": "B1", "kind": "base_station", "subscribers": 100}],
...     [{"link_id": "L1", "a": "C1", "b": "B1", "medium": "fiber", "srlg": "R1;R2"}],
... )
>>> m.nodes, m.links, m.roots.tolist(), m.weight.tolist(), m.srlg_groups[0]
(['C1', 'B1'], ['L1'], [0], [0.0, 100.0], ['R1', 'R2'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from itertools import chain, compress
from operator import itemgetter, methodcaller
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from resilience.timestamps import as_utc
from resilience.topology._adjacency import (
    PositionIndex,
    adjacency_structure,
    attribute_reader,
    invalidate_csr,
)
from resilience.topology.graph import (
    _NODE_TEXT,
    _as_of,
    _frame,
    _newest,
    _power_feeds,
    _utc_times,
)
from resilience.topology.model import split_srlg

__all__ = [
    "CSRGraph",
    "NodeAttributes",
    "NODE_LABELS",
    "NODE_NUMBERS",
    "to_csr",
    "compile_network",
    "compile_inventory",
    "compile_status",
    "CompiledInventory",
    "link_order",
    "group_srlg_codes",
    "adjacency_structure",
    "invalidate_csr",
    "attribute_reader",
    "PositionIndex",
]


#: Node attributes held as category codes (``""`` = missing) and as floats (NaN = missing).
NODE_LABELS: tuple[str, ...] = (
    "kind", "operator", "prefecture", "municipality", "power_feed", "state", "power",
)
NODE_NUMBERS: tuple[str, ...] = ("lat", "lon", "battery_hours", "battery_remaining_min")
_NO_TIME = np.iinfo(np.int64).min  # pandas' NaT as int64


def _label_codes(values: list) -> tuple[np.ndarray, np.ndarray]:
    """Codes into sorted string categories; ``None`` is ``""``."""
    arr = np.asarray(values, dtype=object) if values else np.empty(0, dtype=object)
    try:
        codes, uniq = pd.factorize(arr, sort=True)
        uniq = np.asarray(uniq, dtype=object)
        if not all(isinstance(u, str) for u in uniq):
            raise TypeError
    except TypeError:  # mixed types: compare as text
        arr = np.array(["" if v is None else str(v) for v in values], dtype=object)
        codes, uniq = pd.factorize(arr, sort=True)
        uniq = np.asarray(uniq, dtype=object)
    codes = codes.astype(np.int64)
    missing = codes < 0
    if missing.any():
        if not (len(uniq) and uniq[0] == ""):
            uniq = np.concatenate([np.array([""], dtype=object), uniq])
            codes += 1
        codes[missing] = 0
    return codes, uniq


def _numbers(values: list) -> np.ndarray:
    try:
        return np.array(values, dtype=np.float64)  # None -> NaN
    except (TypeError, ValueError):
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(np.float64)


def _times_us(values: list) -> np.ndarray:
    """Aware datetimes as int64 microseconds since the epoch (``_NO_TIME`` for none)."""
    if not values:
        return np.empty(0, dtype=np.int64)
    t = pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce", format="mixed")
    return t.dt.tz_convert(None).to_numpy(dtype="datetime64[us]").view(np.int64).copy()


class _Columns(dict):
    """A dict that reads a missing column on first access."""

    def __init__(self, load: Any) -> None:
        super().__init__()
        self._load = load

    def __missing__(self, key: str) -> np.ndarray:
        self[key] = value = self._load(key)
        return value


class NodeAttributes:
    """The node attributes the analyses read, as arrays in node order (see :attr:`CSRGraph.attrs`).

    Labels (:data:`NODE_LABELS`) are codes into sorted categories; numbers (:data:`NODE_NUMBERS`)
    are floats; ``observed_us`` is the status time in microseconds since the epoch and ``fresh``
    the ``fresh`` flag. Each is read from the node dicts on first use (one pass per attribute),
    so an analysis pays only for what it reads; :meth:`update` keeps the read ones current.

    Parameters
    ----------
    node_data : list of dict
        The graph's node dicts, in node order.
    read : callable, optional
        ``read(key)`` -> object array of one attribute in node order
        (:func:`attribute_reader`, faster on large graphs).

    Example
    -------
    >>> a = NodeAttributes([{"operator": "KDDI", "lat": 37.4}, {"operator": "docomo"}])
    >>> a.label("operator").tolist(), a.numbers["lat"].tolist(), a.is_("operator", "KDDI").tolist()
    (['KDDI', 'docomo'], [37.4, nan], [True, False])
    """

    def __init__(self, node_data: list[dict[str, Any]], read: Any = None) -> None:
        self._data = node_data
        self._read = read
        self.categories: dict[str, np.ndarray] = _Columns(self._load_categories)
        self.codes: dict[str, np.ndarray] = _Columns(self._load_codes)
        self.numbers: dict[str, np.ndarray] = _Columns(lambda k: _numbers(self._raw(k)))
        self._observed: np.ndarray | None = None
        self._fresh: np.ndarray | None = None

    def _raw(self, key: str) -> list:
        if self._read is not None:  # the graph's reader: dicts visited in memory order
            return self._read(key).tolist()
        return list(map(methodcaller("get", key), self._data))

    def _load_codes(self, key: str) -> np.ndarray:
        codes, cats = _label_codes(self._raw(key))
        dict.__setitem__(self.categories, key, cats)
        return codes

    def _load_categories(self, key: str) -> np.ndarray:
        self.codes[key]  # reads both
        return dict.__getitem__(self.categories, key)

    @property
    def observed_us(self) -> np.ndarray:
        """Status times (int64 microseconds since the epoch; ``_NO_TIME`` when none)."""
        if self._observed is None:
            self._observed = _times_us(self._raw("observed_at"))
        return self._observed

    @property
    def fresh(self) -> np.ndarray:
        """The ``fresh`` flags."""
        if self._fresh is None:
            self._fresh = np.fromiter(map(bool, self._raw("fresh")), bool, len(self._data))
        return self._fresh

    def update(self, idx: np.ndarray, data: list[dict[str, Any]]) -> None:
        """Set the attributes already read of nodes ``idx`` from their dicts ``data``."""
        for k in list(self.codes):
            vals = ["" if (v := d.get(k)) is None else str(v) for d in data]
            cats = self.categories[k]
            new = sorted(set(vals).difference(cats.tolist()))
            if new:  # a value never seen: widen the categories, keep them sorted
                merged = np.asarray(sorted([*cats.tolist(), *new]), dtype=object)
                self.codes[k] = np.searchsorted(merged, cats)[self.codes[k]]
                dict.__setitem__(self.categories, k, merged)
                cats = merged
            self.codes[k][idx] = np.searchsorted(cats, np.asarray(vals, dtype=object))
        for k in list(self.numbers):
            self.numbers[k][idx] = _numbers([d.get(k) for d in data])
        if self._observed is not None:
            self._observed[idx] = _times_us([d.get("observed_at") for d in data])
        if self._fresh is not None:
            self._fresh[idx] = [bool(d.get("fresh")) for d in data]

    def label(self, key: str) -> np.ndarray:
        """The values of a label as an object array (``""`` = missing)."""
        return self.categories[key][self.codes[key]]

    def is_(self, key: str, value: str) -> np.ndarray:
        """Mask of the nodes whose label ``key`` equals ``value``."""
        hit = np.nonzero(self.categories[key] == value)[0]
        return self.codes[key] == hit[0] if len(hit) else np.zeros(len(self.codes[key]), bool)

    def is_in(self, key: str, values: Iterable[str]) -> np.ndarray:
        """Mask of the nodes whose label ``key`` is one of ``values``."""
        hit = np.isin(self.categories[key], np.asarray(list(values), dtype=object))
        return hit[self.codes[key]]

    def fresh_at(self, as_of: Any, stale_after: Any) -> np.ndarray:
        """Nodes whose status was observed within ``stale_after`` of ``as_of`` (aware datetime,
        timedelta); ``as_of`` ``None``: no node is fresh."""
        if as_of is None:
            return np.zeros(len(self.observed_us), bool)
        now = pd.Timestamp(as_of).value // 1000  # .value is in nanoseconds whatever the unit
        stale = pd.Timedelta(stale_after).value // 1000
        return (self.observed_us != _NO_TIME) & (now - self.observed_us <= stale)


@dataclass
class CSRGraph:
    """Flat-array view of a network graph (see :func:`to_csr`).

    Attributes
    ----------
    nodes : list of str
        Node ids; position = node index.
    links : list of str
        Link ids (edge keys); position = link index.
    node_index : Mapping
        Node id to index (a read-only mapping, built on first use) (``link_index``, built on first use, does the same for links).
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
    srlg_groups : tuple
        The same grouping as flat arrays ``(names, ptr, links)`` (built on first use).
    graph : dict
        Graph attributes (``as_of``, ``newest_observed``, ``power_feeds``) of a model compiled
        straight from columns (:func:`resilience.topology.compiled.compile_network`), which the
        analyses read where they would read ``G.graph``; empty for :func:`to_csr`.
    """

    nodes: list[str]
    links: list[Any]
    node_index: Mapping[str, int]
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
    node_data: list[dict[str, Any]] = field(default_factory=list, repr=False)
    read_node: Any = field(default=None, repr=False)
    read_link: Any = field(default=None, repr=False)
    graph: dict[str, Any] = field(default_factory=dict, repr=False)
    _attrs: NodeAttributes | None = field(default=None, repr=False)
    _link_index: dict[Any, int] | None = field(default=None, repr=False)
    _srlg_links: dict[str, np.ndarray] | None = field(default=None, repr=False)
    _srlg_groups: tuple[list[Any], np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def m(self) -> int:
        """Number of links."""
        return len(self.links)

    @property
    def attrs(self) -> NodeAttributes:
        """The node attributes the analyses read, as arrays (read from the graph on first use)."""
        if self._attrs is None:
            self._attrs = NodeAttributes(self.node_data, read=self.read_node)
        return self._attrs

    def reread(self, nodes: Iterable[int] = (), links: Iterable[int] = ()) -> None:
        """Re-read the state of some nodes and links after the graph's dicts changed in place.

        The view is otherwise a picture of the graph when it was made: a long-running model
        (:mod:`resilience.api.live`) that updates the state of a few elements calls this instead of
        converting the whole graph again. Inventory attributes (kind, weights, labels) and the
        structure are not re-read.

        >>> G = nx.MultiGraph([("c", "a", "1")]); G.nodes["c"]["kind"] = "core"
        >>> c = to_csr(G); G.nodes["a"]["state"] = "down"; c.reread(nodes=[1])
        >>> c.node_up.tolist(), c.attrs.label("state").tolist()
        ([True, False], ['', 'down'])
        """
        idx = np.asarray(list(nodes), dtype=np.int64)
        if len(idx) > self.n // 5:  # most nodes changed (statuses went stale): read them all
            self.node_up[:] = [d.get("state") != "down" for d in self.node_data]
            self._attrs = None
        elif len(idx):
            data = [self.node_data[i] for i in idx]
            self.node_up[idx] = [d.get("state") != "down" for d in data]
            if self._attrs is not None:
                self._attrs.update(idx, data)
        lidx = np.asarray(list(links), dtype=np.int64)
        if len(lidx):
            self.link_up[lidx] = [self.link_data[i].get("state") != "down" for i in lidx]

    @cached_property
    def node_ids(self) -> np.ndarray:
        """Node ids as an object array (fast to index with many positions)."""
        return np.asarray(self.nodes, dtype=object)

    @cached_property
    def link_medium(self) -> np.ndarray:
        """Each link's medium (``""`` when missing) as an object array (inventory: read once)."""
        out = np.empty(self.m, dtype=object)
        out[:] = [str(m or "") for m in self.read_link("medium").tolist()]
        return out

    @cached_property
    def link_ids(self) -> np.ndarray:
        """Link ids as an object array."""
        out = np.empty(len(self.links), dtype=object)
        out[:] = self.links
        return out

    @property
    def link_index(self) -> dict[Any, int]:
        """Link id to index."""
        if self._link_index is None:
            self._link_index = {k: i for i, k in enumerate(self.links)}
        return self._link_index

    @property
    def srlg_links(self) -> dict[str, np.ndarray]:
        """Shared-risk group id to the indices of its links (sorted, unique; read-only views of
        :attr:`srlg_groups`), groups in first-appearance order."""
        if self._srlg_links is None:
            names, ptr, links = self.srlg_groups
            bounds = zip(names, ptr[:-1].tolist(), ptr[1:].tolist(), strict=True)
            self._srlg_links = {g: links[a:b] for g, a, b in bounds}
        return self._srlg_links

    @property
    def srlg_groups(self) -> tuple[list[Any], np.ndarray, np.ndarray]:
        """Shared-risk groups as flat arrays ``(names, ptr, links)``.

        Group ``i`` is ``names[i]``, its link indices ``links[ptr[i]:ptr[i + 1]]`` (sorted,
        unique, non-empty); groups in order of first appearance along the links (a link's
        ``srlg`` tuple read left to right). ``ptr`` and ``links`` are read-only int64 arrays.

        >>> G = nx.MultiGraph()
        >>> G.add_edges_from([("a", "b", "x", {"srlg": ("R2", "R1")}), ("a", "c", "y"),
        ...                   ("b", "c", "z", {"srlg": ("R1",)})])
        ['x', 'y', 'z']
        >>> names, ptr, links = to_csr(G).srlg_groups
        >>> names, ptr.tolist(), links.tolist()
        (['R2', 'R1'], [0, 1, 3], [0, 0, 2])
        """
        if self._srlg_groups is None:
            self._srlg_groups = _group_srlgs(self.link_data)
        return self._srlg_groups


def _group_srlgs(link_data: list[dict[str, Any]]) -> tuple[list[Any], np.ndarray, np.ndarray]:
    # C-level passes over the links (their srlg tuples, the tuples' lengths, the group ids of
    # the links that have any); grouping and ordering in numpy/pandas.
    try:  # the graph contract: every link has an srlg tuple
        srlg = list(map(itemgetter("srlg"), link_data))
        count = np.fromiter(map(len, srlg), np.int64, len(srlg))
    except (KeyError, TypeError):  # hand-built graphs: missing or None
        srlg = [s or () for s in map(methodcaller("get", "srlg"), link_data)]
        count = np.fromiter(map(len, srlg), np.int64, len(srlg))
    link = np.repeat(np.arange(len(srlg), dtype=np.int64), count)  # ascending link indices
    flat = np.fromiter(chain.from_iterable(compress(srlg, count > 0)), object, int(count.sum()))
    codes, uniques = pd.factorize(flat, use_na_sentinel=False)  # first-appearance order
    order = np.argsort(codes, kind="stable")  # by group; links stay ascending within a group
    codes, link = codes[order], link[order]
    keep = np.ones(len(link), bool)  # drop a group listed twice on the same link
    keep[1:] = (codes[1:] != codes[:-1]) | (link[1:] != link[:-1])
    codes, link = codes[keep], link[keep]
    ptr = np.zeros(len(uniques) + 1, np.int64)
    np.cumsum(np.bincount(codes, minlength=len(uniques)), out=ptr[1:])
    ptr.flags.writeable = False
    link.flags.writeable = False
    return list(uniques), ptr, link


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
    n = len(nodes)
    ndata = list(G._node.values())  # same order as list(G)
    # G's own dicts, read in memory order on every call: states are never taken from a cache
    read_node, read_link = structure["read_node"], structure["read_link"]
    node_up = np.asarray(read_node("state") != "down", dtype=bool)
    is_core = np.asarray(read_node("kind") == "core", dtype=bool)
    if weight is None:
        w = np.ones(n, dtype=np.float64)
    else:
        raw = read_node(weight, 0)
        try:
            w = raw.astype(np.float64)
        except (TypeError, ValueError):
            w = np.fromiter((float(x or 0) for x in raw), np.float64, n)
        w = np.nan_to_num(w, nan=0.0)
    w_int = bool(np.all(w == np.rint(w))) if n else True
    link_up = np.asarray(read_link("state") != "down", dtype=bool)
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
        node_data=ndata,
        read_node=read_node,
        read_link=read_link,
    )


def _stable_argsort(key: np.ndarray, bound: int) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` of non-negative keys below ``bound``: when
    ``bound * len(key)`` fits in int64 the keys are made distinct (``key * len + position``) and
    sorted by numpy's default sort (several times faster than the stable one on int64); the
    order is the same, ties by position.

    >>> key = np.array([3, 1, 3, 0, 1])
    >>> _stable_argsort(key, 4).tolist(), _stable_argsort(key, 2**62).tolist()
    ([3, 1, 4, 0, 2], [3, 1, 4, 0, 2])
    """
    k = len(key)
    if k < 2 or int(bound) * k >= 2**63:  # Python ints: no overflow in the test
        return np.argsort(key, kind="stable")
    return np.argsort(key * k + np.arange(k, dtype=np.int64))


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
    Three sorts on one int64 key each (:func:`_stable_argsort`): O(m log m), all in numpy.

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
    by_pair = np.argsort(pair)  # each pair's rows together (any order within a pair)
    sp = pair[by_pair]
    start = np.ones(m, bool)
    start[1:] = sp[1:] != sp[:-1]
    firsts = np.flatnonzero(start)
    frow = np.empty(m, np.int64)
    if m:  # the row that first joined the pair: the least row of its group
        frow[by_pair] = np.repeat(np.minimum.reduceat(by_pair, firsts), np.diff(np.append(firsts, m)))
    # sorts on one combined key: ties keep row order (as lexsort's last key would)
    order = _stable_argsort(lo * max(m, 1) + frow, max(n, 1) * max(m, 1))
    eid_of_row = np.empty(m, np.int64)
    eid_of_row[order] = rows
    keep = np.flatnonzero(ia != ib)
    src = np.empty(2 * len(keep), np.int64)  # both ends of each link, rows ascending
    src[0::2], src[1::2] = ia[keep], ib[keep]
    dst = np.empty_like(src)
    dst[0::2], dst[1::2] = ib[keep], ia[keep]
    er = np.repeat(keep, 2)
    adj = _stable_argsort(src * max(m, 1) + frow[er], max(n, 1) * max(m, 1))
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


def _text_codes(values: pd.Series, n: int, where: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes into sorted categories (``""`` = missing) of a text column laid over ``n`` nodes,
    computed in Arrow: row ``i`` at node ``where[i]`` (``i`` when ``where`` is ``None``;
    ``where`` holds distinct nodes),
    ``""`` at the nodes no row covers. The same as ``pandas.factorize(..., sort=True)`` of the
    object column; ``None`` when ``values`` is not Arrow-backed text (factorize objects then).

    >>> codes, cats = _text_codes(pd.Series(["up", "down", None], dtype="str"), 4)
    >>> codes.tolist(), cats.tolist()
    ([2, 1, 0, 0], ['', 'down', 'up'])
    >>> _text_codes(pd.Series(["x"], dtype=object), 1) is None
    True
    """
    dt = values.dtype
    if not (isinstance(dt, pd.StringDtype) and dt.storage == "pyarrow"):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = pc.dictionary_encode(pc.fill_null(arr, ""))
    words = enc.dictionary.to_numpy(zero_copy_only=False)
    order = np.argsort(words, kind="stable")
    rank = np.empty(len(words), np.int64)
    rank[order] = np.arange(len(words), dtype=np.int64)
    codes = rank[enc.indices.to_numpy(zero_copy_only=False)]
    cats = np.asarray(words[order], dtype=object)
    covered = len(codes)  # the rows' nodes are distinct
    if covered == n:
        if where is None:
            return codes, cats
        out = np.empty(n, np.int64)
        out[where] = codes
        return out, cats
    if not (len(cats) and cats[0] == ""):  # "" sorts first
        cats = np.concatenate([np.array([""], dtype=object), cats])
        codes = codes + 1
    out = np.zeros(n, np.int64)
    out[np.arange(len(codes)) if where is None else where] = codes
    return out, cats


def _distinct_prefix(codes: np.ndarray, k: int) -> bool:
    """The first ``k`` first-appearance codes are ``0..k-1``: those ``k`` values are distinct.

    >>> _distinct_prefix(np.array([0, 1, 0, 2]), 2), _distinct_prefix(np.array([0, 0, 1]), 2)
    (True, False)
    """
    return bool(np.array_equal(codes[:k], np.arange(k)))


def _last_rows(codes: np.ndarray, limit: int) -> np.ndarray:
    """Rows (ascending) whose code is in ``0..limit-1``, the last row of each code only
    (``-1``, pandas' code for a missing id, is never a hit).

    >>> _last_rows(np.array([2, 0, 5, 2, 1, -1]), 3).tolist()
    [1, 3, 4]
    """
    hit = np.flatnonzero((codes >= 0) & (codes < limit))
    if len(hit) < 2 or bool(np.all(np.diff(codes[hit]) > 0)):  # no code twice
        return hit
    rev = hit[::-1]
    _, first = np.unique(codes[rev], return_index=True)
    return np.sort(rev[first])


@dataclass
class CompiledInventory:
    """The inventory half of the compiled model: everything that depends on the nodes and links
    alone (node and link order, CSR adjacency, labels, numbers, media, shared-risk groups).

    Built by :func:`compile_inventory`; :func:`compile_status` joins a state onto it. It is
    the part worth keeping between processes: :meth:`to_arrays` and :meth:`from_arrays` give it
    as flat arrays (numpy, and Arrow for text) and back, which the store keeps beside an SQLite
    file (:mod:`resilience.store.inventory_cache`).

    Attributes
    ----------
    n_inv, n : int
        Inventory nodes, and all nodes (the inventory's, then the bare endpoints named only by a
        link).
    node_ids : pyarrow array (n,)
        Node ids in node order (text).
    node_sort : int64 array (n_inv,)
        The inventory nodes in the order of their ids (a store's status rows often come so).
    link_row_ids : pyarrow array (m,)
        Link ids in the inventory's row order (text); ``order`` gives the link order.
    order, eu, ev, indptr, nbr, eid : int64 arrays
        Row of each link index, and the link endpoints and adjacency (see :class:`CSRGraph`).
    codes, categories : dict
        Inventory labels (``kind``, ``operator``, ``prefecture``, ``municipality``,
        ``power_feed``) as codes into sorted categories over the ``n`` nodes.
    names : pyarrow array or object array (n_inv,)
        The ``name`` of each inventory node (``""`` when missing).
    numbers : dict
        ``lat``, ``lon``, ``battery_hours`` as float arrays over the ``n`` nodes.
    subscribers : int64 array (n_inv,)
        Subscribers of each inventory node (0 when missing).
    medium_codes, medium_categories : arrays
        Each link's medium (in link order) as codes into categories.
    srlg_names, srlg_ptr, srlg_links
        :attr:`CSRGraph.srlg_groups`.
    raw : dict
        Labels whose values are not all text, as object arrays over the inventory nodes (the
        graph's dicts hold them as given); empty for a store's inventory. Such an inventory is
        not kept on disk (:meth:`to_arrays` gives ``None``).

    Example
    -------
    >>> inv = compile_inventory([{"node_id": "C", "kind": "core"}, {"node_id": "B"}],
    ...                         [{"link_id": "L", "a": "B", "b": "X"}])
    >>> inv.n_inv, inv.n, inv.node_ids.to_pylist(), inv.eu.tolist(), inv.ev.tolist()
    (2, 3, ['C', 'B', 'X'], [1], [2])
    >>> again = CompiledInventory.from_arrays(inv.to_arrays())
    >>> again.node_ids.equals(inv.node_ids), again.categories["kind"].tolist()
    (True, ['', 'aggregation', 'core'])
    """

    n_inv: int
    n: int
    node_ids: Any
    node_sort: np.ndarray
    link_row_ids: Any
    order: np.ndarray
    eu: np.ndarray
    ev: np.ndarray
    indptr: np.ndarray
    nbr: np.ndarray
    eid: np.ndarray
    codes: dict[str, np.ndarray]
    categories: dict[str, np.ndarray]
    names: Any
    numbers: dict[str, np.ndarray]
    subscribers: np.ndarray
    medium_codes: np.ndarray
    medium_categories: np.ndarray
    srlg_names: list[Any]
    srlg_ptr: np.ndarray
    srlg_links: np.ndarray
    raw: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def m(self) -> int:
        """Number of links."""
        return len(self.order)

    _INT = ("node_sort", "order", "eu", "ev", "indptr", "nbr", "eid", "subscribers", "medium_codes", "srlg_ptr",
            "srlg_links")

    def to_arrays(self) -> dict[str, Any] | None:
        """The inventory as named flat arrays (int64 and float64 numpy arrays, Arrow text
        arrays); ``None`` when it holds values that are not text where text is expected
        (:attr:`raw`), which flat text arrays cannot give back as they were."""
        import pyarrow as pa

        def text(values: Any) -> Any:
            if isinstance(values, pa.Array):
                return values
            arr = pa.array(np.asarray(values, dtype=object), type=pa.large_string(), from_pandas=False)
            if arr.null_count:
                raise TypeError("not text")
            return arr

        if self.raw:
            return None
        try:
            return self._arrays(text)
        except (TypeError, pa.ArrowTypeError, pa.ArrowInvalid):  # names or groups not all text
            return None

    def _arrays(self, text: Any) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in self._INT}
        out["sizes"] = np.array([self.n_inv, self.n], np.int64)
        out["node_ids"] = text(self.node_ids)
        out["link_row_ids"] = text(self.link_row_ids)
        out["names"] = text(self.names)
        out["medium_categories"] = text(self.medium_categories)
        out["srlg_names"] = text(self.srlg_names)
        for key, codes in self.codes.items():
            out[f"codes.{key}"] = codes
            out[f"categories.{key}"] = text(self.categories[key])
        for key, values in self.numbers.items():
            out[f"numbers.{key}"] = values
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any]) -> CompiledInventory:
        """The inventory from :meth:`to_arrays`' arrays (numpy arrays as given, e.g. read-only
        views of a memory-mapped file: :func:`compile_status` copies what the model owns)."""

        def objects(a: Any) -> np.ndarray:
            return np.asarray(a.to_numpy(zero_copy_only=False), dtype=object)

        n_inv, n = (int(x) for x in np.asarray(arrays["sizes"]))
        m = len(arrays["order"])
        lengths = {"node_ids": n, "node_sort": n_inv, "names": n_inv, "subscribers": n_inv, "link_row_ids": m, "eu": m,
                   "ev": m, "medium_codes": m, "indptr": n + 1}
        if any(len(arrays[k]) != size for k, size in lengths.items()):
            raise ValueError("arrays of inconsistent lengths")
        kw: dict[str, Any] = {name: np.asarray(arrays[name], dtype=np.int64) for name in cls._INT}
        kw["codes"] = {k[6:]: np.asarray(v, dtype=np.int64) for k, v in arrays.items() if k.startswith("codes.")}
        kw["categories"] = {k: objects(arrays[f"categories.{k}"]) for k in kw["codes"]}
        kw["numbers"] = {k[8:]: np.asarray(v, dtype=np.float64) for k, v in arrays.items()
                         if k.startswith("numbers.")}
        return cls(n_inv=n_inv, n=n, node_ids=arrays["node_ids"], link_row_ids=arrays["link_row_ids"],
                   names=arrays["names"], medium_categories=objects(arrays["medium_categories"]),
                   srlg_names=arrays["srlg_names"].to_pylist(), **kw)


def _arrow_text(values: Any) -> Any:
    """A column of ids as one Arrow text array (``large_string``): an Arrow-backed ``str``
    column as it is, anything else through ``astype(str)``.

    >>> _arrow_text(pd.Series([1, "a"], dtype=object)).to_pylist()
    ['1', 'a']
    """
    import pyarrow as pa

    s = pd.Series(values).reset_index(drop=True)
    dt = s.dtype
    if isinstance(dt, pd.StringDtype) and dt.storage == "pyarrow" and not s.isna().any():
        arr = pa.array(s.array)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        return arr.cast(pa.large_string())
    if s.dtype == object:
        try:  # text already: no astype pass
            arr = pa.array(s.to_numpy(), type=pa.large_string(), from_pandas=False)
            if not arr.null_count:
                return arr
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            pass
    return pa.array(s.astype(str).to_numpy(dtype=object), type=pa.large_string())


def _positions(keys: Any, values: Any, sort: np.ndarray | None = None) -> np.ndarray:
    """The position in ``keys`` (distinct Arrow text) of each of ``values`` (``-1`` when not
    there); rows listed in ``keys``' own order, or in the order ``sort`` of ``keys`` (e.g.
    sorted by id), skip the hash lookups.

    >>> import pyarrow as pa
    >>> keys = pa.array(["a", "b", "c", "d", "e"], pa.large_string())
    >>> _positions(keys, pd.Series(["b", "x", "a", "e", "b", "c"])).tolist()
    [1, -1, 0, 4, 1, 2]
    >>> _positions(keys, pd.Series(["e"])).tolist(), _positions(keys, pd.Series(["x"])).tolist()
    ([4], [-1])
    >>> _positions(keys, pd.Series(["e", "d", "c", "b", "a"]), sort=np.array([4, 3, 2, 1, 0])).tolist()
    [4, 3, 2, 1, 0]
    """
    import pyarrow.compute as pc

    v = _arrow_text(values)
    if len(v) == len(keys) and v.equals(keys):
        return np.arange(len(keys), dtype=np.int64)
    if sort is not None and len(v) == len(sort) == len(keys) and v.equals(keys.take(sort)):
        return np.asarray(sort, dtype=np.int64).copy()
    if not len(v):
        return np.empty(0, np.int64)
    if 4 * len(v) < len(keys):  # a few rows (e.g. the links down): hash them, not the keys
        hit = np.flatnonzero(pc.is_in(keys, value_set=v).to_numpy(zero_copy_only=False))
        at = pc.index_in(v, value_set=keys.take(hit)).fill_null(-1).to_numpy(zero_copy_only=False)
        at = at.astype(np.int64)
        return np.where(at >= 0, hit[np.maximum(at, 0)] if len(hit) else -1, -1).astype(np.int64)
    return pc.index_in(v, value_set=keys).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _arrow_str(values: pd.Series) -> Any:
    """The Arrow array of an Arrow-backed ``str`` column (``None`` for any other column).

    >>> _arrow_str(pd.Series(["a"], dtype="str")).to_pylist(), _arrow_str(pd.Series(["a"], dtype=object))
    (['a'], None)
    """
    dt = values.dtype
    if not (isinstance(dt, pd.StringDtype) and dt.storage == "pyarrow"):
        return None
    import pyarrow as pa

    arr = pa.array(values.array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _id_codes(ids: pd.Series, a: pd.Series, b: pd.Series, lids: pd.Series) -> tuple[np.ndarray, Any, bool] | None:
    """First-appearance codes of the node ids followed by the link ends interleaved
    (``a[0], b[0], a[1], ...``), the distinct ids in that order (Arrow text) and whether the
    link ids are distinct: ``pandas.factorize`` of the object columns, hashed in Arrow.
    ``None`` when a column has a gap (factorize codes it ``-1``).

    >>> codes, uniq, distinct = _id_codes(pd.Series(["C", "B"]), pd.Series(["B"]), pd.Series(["X"]),
    ...                                   pd.Series(["L", "L"]))
    >>> codes.tolist(), uniq.to_pylist(), distinct
    ([0, 1, 1, 2], ['C', 'B', 'X'], False)
    """
    if any(bool(s.isna().any()) for s in (ids, a, b, lids)):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    n_inv, m = len(ids), len(a)
    # hashed as ids, all a, all b; then the codes of the bare ends (>= n_inv when the ids are
    # distinct) renumbered by first appearance in the interleaved order
    enc = pc.dictionary_encode(pa.concat_arrays([_arrow_text(ids), _arrow_text(a), _arrow_text(b)]))
    whole = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    codes = np.empty(n_inv + 2 * m, np.int64)
    codes[:n_inv] = whole[:n_inv]
    codes[n_inv::2], codes[n_inv + 1::2] = whole[n_inv:n_inv + m], whole[n_inv + m:]
    uniq = enc.dictionary
    if _distinct_prefix(codes, n_inv) and len(uniq) > n_inv:
        ends = codes[n_inv:]
        bare = np.flatnonzero(ends >= n_inv)
        seen, first = np.unique(ends[bare], return_index=True)
        by_first = seen[np.argsort(first)]  # the bare ends' codes in interleaved first appearance
        renumber = np.empty(len(uniq) - n_inv, np.int64)
        renumber[by_first - n_inv] = np.arange(n_inv, len(uniq), dtype=np.int64)
        ends[bare] = renumber[ends[bare] - n_inv]
        uniq = uniq.take(pa.array(np.concatenate([np.arange(n_inv, dtype=np.int64), by_first])))
    lid = _arrow_text(lids)
    ascending = len(lid) < 2 or pc.all(pc.less(lid.slice(0, len(lid) - 1), lid.slice(1))).as_py()
    distinct = ascending or len(pc.unique(lid)) == len(lid)  # ascending: no hashing
    return codes, uniq, distinct


def _medium_codes(medium: pd.Series, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each link's medium (``fiber`` when missing or empty) in link ``order``, as
    first-appearance codes and their categories (``pandas.factorize``; in Arrow for Arrow text).

    >>> codes, cats = _medium_codes(pd.Series(["radio", None, "", "copper"], dtype="str"), np.array([3, 2, 1, 0]))
    >>> codes.tolist(), cats.tolist()
    ([0, 1, 1, 2], ['copper', 'fiber', 'radio'])
    """
    arr = _arrow_str(medium)
    if arr is None:
        fill = medium.astype(object).where(medium.notna() & (medium != ""), "fiber")
        codes, cats = pd.factorize(fill.astype(str).to_numpy(dtype=object)[order])
        return codes.astype(np.int64), np.asarray(cats, dtype=object)
    import pyarrow as pa
    import pyarrow.compute as pc

    fiber = pa.scalar("fiber", arr.type)
    arr = pc.fill_null(arr, fiber)
    enc = pc.dictionary_encode(pc.if_else(pc.equal(arr, ""), fiber, arr).take(pa.array(order)))
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, np.asarray(enc.dictionary.to_numpy(zero_copy_only=False), dtype=object)


def compile_inventory(nodes: Any, links: Any) -> CompiledInventory | None:
    """The inventory half of :func:`compile_network` (see :class:`CompiledInventory`).

    Returns ``None`` when a node id or a link id is listed twice (such an inventory goes through
    ``build_graph``, networkx's merge rules).

    Example
    -------
    >>> inv = compile_inventory([{"node_id": "C", "kind": "core"}], [])
    >>> inv.node_ids.to_pylist(), inv.m
    (['C'], 0)
    >>> compile_inventory([{"node_id": "C"}, {"node_id": "C"}], []) is None
    True
    """
    nd = _frame(nodes, ("node_id", "kind", *_NODE_TEXT, "lat", "lon", "subscribers", "battery_hours"))
    ld = _frame(links, ("link_id", "a", "b", "medium", "capacity_mbps", "srlg"))
    ids = nd["node_id"].astype(str).reset_index(drop=True)
    lids = ld["link_id"].astype(str).reset_index(drop=True)
    n_inv, m = len(ids), len(lids)

    # nodes: the inventory's, then endpoints named only by a link, in the order networkx adds
    # them (bare: no attributes). One hash pass over the ids and the interleaved endpoints:
    # codes are in first-appearance order, so the inventory ids are distinct exactly when
    # their codes are 0..n_inv-1.
    ends_a, ends_b = ld["a"].astype(str), ld["b"].astype(str)
    fast = _id_codes(ids, ends_a, ends_b, lids)
    if fast is not None:  # text without gaps: hashed in Arrow
        codes, uniq, lids_distinct = fast
    else:
        ends = np.empty(2 * m, dtype=object)
        ends[0::2] = ends_a.to_numpy(dtype=object)
        ends[1::2] = ends_b.to_numpy(dtype=object)
        codes, uniq = pd.factorize(np.concatenate([ids.to_numpy(dtype=object), ends]))
        lids_distinct = _distinct_prefix(pd.factorize(lids.to_numpy(dtype=object))[0], m)
    if not (_distinct_prefix(codes, n_inv) and lids_distinct):
        return None
    n = int(codes.max()) + 1 if len(codes) else 0
    ia = codes[n_inv::2].astype(np.int64)
    ib = codes[n_inv + 1::2].astype(np.int64)

    def inv_col(values: Any, inv_fill: Any) -> pd.Series:
        """The inventory's values, ``inv_fill`` where missing or empty."""
        v = pd.Series(values).reset_index(drop=True)
        text = v if isinstance(v.dtype, pd.StringDtype) else v.astype(object)  # compared natively
        return v.where(v.notna() & (text != ""), inv_fill)

    def node_col(values: Any, fill: Any) -> pd.Series:
        """A column over every node: inventory values, ``fill`` for the bare nodes."""
        v = pd.Series(values).reset_index(drop=True)
        if n == n_inv:
            return v
        return pd.concat([v, pd.Series([fill] * (n - n_inv), dtype=object)], ignore_index=True)

    inv_text = {"kind": inv_col(nd["kind"], "aggregation"), **{c: inv_col(nd[c], "") for c in _NODE_TEXT}}
    label_codes: dict[str, np.ndarray] = {}
    label_cats: dict[str, np.ndarray] = {}
    raw: dict[str, np.ndarray] = {}
    for key, v in inv_text.items():
        if key == "name":
            continue
        fast = _text_codes(v, n)
        if fast is not None:  # Arrow text: no object column
            lc, cats = fast
        else:
            col = node_col(v, None)
            lc, cats = pd.factorize(col.astype(object).where(col.notna(), ""), sort=True)
            cats = np.asarray(cats, dtype=object)
        if not all(isinstance(c, str) for c in cats):  # mixed types: as _label_codes does
            raw[key] = v.astype(object).where(v.notna(), None).to_numpy(dtype=object)
            full = np.full(n, None, dtype=object)
            full[:n_inv] = raw[key]
            lc, cats = _label_codes(full.tolist())
        label_codes[key] = np.asarray(lc, dtype=np.int64)
        label_cats[key] = cats
    numbers = {
        "lat": pd.to_numeric(node_col(nd["lat"], np.nan), errors="coerce").to_numpy(np.float64),
        "lon": pd.to_numeric(node_col(nd["lon"], np.nan), errors="coerce").to_numpy(np.float64),
        "battery_hours": pd.to_numeric(node_col(pd.to_numeric(nd["battery_hours"], errors="coerce")
                                                .fillna(0.0), np.nan)).to_numpy(np.float64),
    }
    subs = pd.to_numeric(nd["subscribers"], errors="coerce").fillna(0).astype(np.int64).to_numpy()
    names = inv_text["name"]
    if isinstance(names.dtype, pd.StringDtype) and names.dtype.storage == "pyarrow":
        names = _arrow_text(names)  # text kept in Arrow until read
    else:
        names = names.to_numpy(dtype=object)

    # links, in networkx's order
    order, indptr, nbr, eid = link_order(ia, ib, n)
    mcodes, mcats = _medium_codes(ld["medium"], order)
    link, srlg_names = group_srlg_codes(ld["srlg"])
    at_link = np.empty(m, np.int64)
    at_link[order] = np.arange(m, dtype=np.int64)
    sn, sptr, slinks = _srlg_groups_flat(at_link[link], srlg_names)
    node_ids = uniq if fast is not None else _arrow_text(np.asarray(uniq[:n], dtype=object))
    import pyarrow.compute as pc

    node_sort = pc.sort_indices(node_ids.slice(0, n_inv)).to_numpy().astype(np.int64)
    return CompiledInventory(
        n_inv=n_inv, n=n, node_ids=node_ids, node_sort=node_sort, link_row_ids=_arrow_text(lids),
        order=order, eu=np.minimum(ia, ib)[order], ev=np.maximum(ia, ib)[order],
        indptr=indptr, nbr=nbr, eid=eid, codes=label_codes, categories=label_cats, names=names,
        numbers=numbers, subscribers=subs, medium_codes=mcodes.astype(np.int64),
        medium_categories=np.asarray(mcats, dtype=object), srlg_names=sn, srlg_ptr=sptr,
        srlg_links=slinks, raw=raw,
    )


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
    inventory: CompiledInventory | None = None,
    newest_left_out: datetime | None = None,
) -> CSRGraph:
    """The compiled network model straight from inventory and state columns (no networkx).

    Parameters
    ----------
    nodes, links, node_status, link_status, power_status, as_of, stale_after
        As in :func:`resilience.topology.graph.build_graph`.
    weight : str or None
        Node attribute summed as impact (as in :func:`to_csr`).
    inventory : CompiledInventory, optional
        The inventory half already compiled from ``nodes`` and ``links``
        (:func:`compile_inventory`, e.g. kept on disk): only the state is joined onto it.
    newest_left_out : datetime, optional
        The newest observation of status rows left out of the frames because they change
        nothing but the time (links up: :func:`resilience.store.repo.load_links_down`); it
        counts in ``newest_observed`` and the default ``as_of`` as if the rows were given.

    Returns
    -------
    CSRGraph
        Equal to ``to_csr(build_graph(...), weight=weight)``; its ``graph`` holds ``as_of``,
        ``newest_observed`` and ``power_feeds``. It is a picture of the state: it has no
        element dicts, so :meth:`CSRGraph.reread` does not apply (compile again, or use
        :func:`build_graph` and :func:`resilience.topology.graph.update_state`).

    Notes
    -----
    Two halves: :func:`compile_inventory` (O(n + m) vectorised column work plus O(m log m)
    numpy sorts) and :func:`compile_status` (O(n + m) hash look-ups of the status rows' ids in
    Arrow). Inputs with a node id or a link id listed twice go through
    ``to_csr(build_graph(...))`` (networkx's merge rules).

    Examples
    --------
    >>> m = compile_network([{"node_id": "C", "kind": "core"}, {"node_id": "B"}],
    ...                     [{"link_id": "L", "a": "B", "b": "C"}],
    ...                     [{"node_id": "B", "observed_at": "2024-01-01T16:00:00+09:00",
    ...                       "state": "down", "power": "none"}])
    >>> m.node_up.tolist(), m.attrs.label("kind").tolist(), str(m.graph["as_of"])
    ([True, False], ['core', 'aggregation'], '2024-01-01 07:00:00+00:00')
    """
    inv = inventory if inventory is not None else compile_inventory(nodes, links)
    if inv is None:
        from resilience.topology.graph import build_graph

        if newest_left_out is not None:
            raise ValueError("an inventory with an id listed twice needs every status row")
        G = build_graph(nodes, links, node_status, link_status, power_status, as_of=as_of,
                        stale_after=stale_after)
        csr = to_csr(G, weight=weight)
        csr.graph = dict(G.graph)
        return csr
    return compile_status(inv, node_status, link_status, power_status, as_of=as_of,
                          stale_after=stale_after, weight=weight, newest_left_out=newest_left_out)


def compile_status(
    inv: CompiledInventory,
    node_status: Any = None,
    link_status: Any = None,
    power_status: Any = None,
    *,
    as_of: datetime | None = None,
    stale_after: timedelta = timedelta(minutes=30),
    weight: str | None = "subscribers",
    newest_left_out: datetime | None = None,
) -> CSRGraph:
    """The status half of :func:`compile_network`: the state joined onto a compiled inventory
    (parameters as there).

    Status rows of elements not in the inventory are ignored; an element's last row wins.

    Example
    -------
    >>> inv = compile_inventory([{"node_id": "C", "kind": "core"}, {"node_id": "B"}],
    ...                         [{"link_id": "L", "a": "B", "b": "C"}])
    >>> m = compile_status(inv, [{"node_id": "B", "state": "down"}], [{"link_id": "L", "state": "down"}])
    >>> m.node_up.tolist(), m.link_up.tolist(), m.attrs.label("state").tolist()
    ([True, False], [False], ['', 'down'])
    """
    ns = _frame(node_status, ("node_id", "observed_at", "state", "power", "battery_remaining_min"))
    ls = _frame(link_status, ("link_id", "observed_at", "state"))
    ps = _frame(power_status, ("power_feed", "observed_at", "state", "expected_restore_at"))
    n_inv, n, m = inv.n_inv, inv.n, inv.m
    newest = _newest(ns, ls, ps)
    if newest_left_out is not None:
        newest = max(t for t in (newest, as_utc(newest_left_out)) if t is not None)
    as_of = _as_of(as_of, newest)

    # node state from the status rows, in node order (no per-row Python); a node's last row wins
    ns_codes = _positions(inv.node_ids.slice(0, n_inv), ns["node_id"], inv.node_sort)
    keep = _last_rows(ns_codes, n_inv)
    rows = ns.iloc[keep]
    where = ns_codes[keep]
    obs_us = np.full(n, np.iinfo(np.int64).min, np.int64)
    if len(rows) and rows["observed_at"].notna().any():
        t = _utc_times(rows["observed_at"].reset_index(drop=True))
        obs_us[where] = t.dt.tz_convert(None).to_numpy(dtype="datetime64[us]").view(np.int64)
    cutoff = pd.Timestamp(as_of).value // 1000 - pd.Timedelta(stale_after).value // 1000
    fresh = (obs_us != np.iinfo(np.int64).min) & (obs_us >= cutoff)
    has_state = np.zeros(n, bool)
    has_state[where] = True

    def status_col(c: str) -> pd.Series:
        out = pd.Series(np.full(n, None, dtype=object))
        if len(rows):
            out.iloc[where] = rows[c].to_numpy(dtype=object)
        return out

    status_labels = ("state", "power")  # object columns only when read (read_node)
    battery_left = np.full(n, np.nan)
    if len(rows):
        battery_left[where] = pd.to_numeric(rows["battery_remaining_min"].reset_index(drop=True),
                                             errors="coerce").to_numpy(np.float64)
    subs = inv.subscribers

    def read(key: str, default: Any = None) -> np.ndarray:
        """One node attribute as an object array in node order (what the graph's dicts hold)."""
        if key in status_labels:
            col = status_col(key)
            return col.astype(object).where(col.notna(), None).to_numpy(dtype=object)
        if key in inv.raw:
            col = np.empty(n, dtype=object)
            col[:n_inv] = inv.raw[key]
        elif key in inv.codes:
            col = inv.categories[key][inv.codes[key]]
        elif key in inv.numbers or key == "battery_remaining_min":
            num = battery_left if key == "battery_remaining_min" else inv.numbers[key]
            col = np.asarray(num, dtype=object)
            col[np.isnan(num)] = None
        elif key == "subscribers":
            col = np.empty(n, dtype=object)
            col[:n_inv] = subs.tolist()
        elif key == "fresh":
            col = np.asarray(fresh, dtype=object)
        elif key == "observed_at":
            col = np.full(n, None, dtype=object)
            if has_state.any():
                col[has_state] = list(pd.to_datetime(obs_us[has_state], unit="us", utc=True))
        elif key == "name":
            col = np.empty(n, dtype=object)
            names = inv.names
            col[:n_inv] = names if isinstance(names, np.ndarray) else names.to_numpy(zero_copy_only=False)
        else:
            return np.full(n, default, dtype=object)
        if n > n_inv:  # bare nodes hold nothing
            col = np.array(col, dtype=object)
            col[n_inv:] = default
        return col

    if weight is None:
        w = np.ones(n, np.float64)
    elif weight == "subscribers":
        w = np.zeros(n, np.float64)
        w[:n_inv] = subs
    else:
        raw = read(weight, 0)
        try:
            w = raw.astype(np.float64)
        except (TypeError, ValueError):
            w = np.fromiter((float(x or 0) for x in raw), np.float64, n)
        w = np.nan_to_num(w, nan=0.0)

    attrs = NodeAttributes([], read=read)
    for key, codes in inv.codes.items():
        dict.__setitem__(attrs.codes, key, codes.copy())
        dict.__setitem__(attrs.categories, key, inv.categories[key])
    for key in status_labels:
        fast = _text_codes(rows[key], n, where)
        if fast is not None:  # Arrow text: no object column
            lc, cats = fast
        else:
            col = status_col(key)
            lc, cats = pd.factorize(col.astype(object).where(col.notna(), ""), sort=True)
            cats = np.asarray(cats, dtype=object)
        if not all(isinstance(c, str) for c in cats):  # mixed types: as _label_codes does
            lc, cats = _label_codes(read(key).tolist())
        dict.__setitem__(attrs.codes, key, np.asarray(lc, dtype=np.int64))
        dict.__setitem__(attrs.categories, key, cats)
    for key, col in inv.numbers.items():
        dict.__setitem__(attrs.numbers, key, np.array(col, dtype=np.float64))
    dict.__setitem__(attrs.numbers, "battery_remaining_min", battery_left.copy())
    down = np.flatnonzero(attrs.categories["state"] == "down")
    node_up = attrs.codes["state"] != down[0] if len(down) else np.ones(n, bool)
    attrs._observed = obs_us
    attrs._fresh = fresh

    # links: state by row, then in networkx's order
    lrow = _positions(inv.link_row_ids, ls["link_id"])
    lstate = np.full(m, "up", dtype=object)  # no status received: up
    lkeep = _last_rows(lrow, m)
    if len(lkeep):
        lst = ls["state"].iloc[lkeep]
        lstate[lrow[lkeep]] = lst.astype(object).where(lst.notna(), "up").to_numpy(dtype=object)
    order = inv.order
    lstate = lstate[order]
    kind = inv.categories["kind"]
    core = np.flatnonzero(kind == "core")
    roots = (np.flatnonzero(inv.codes["kind"] == core[0]) if len(core) else np.empty(0)).astype(np.int64)
    if "kind" in inv.raw:
        roots = np.flatnonzero(read("kind") == "core").astype(np.int64)
    csr_nodes = inv.node_ids.to_pylist()
    csr = CSRGraph(
        nodes=csr_nodes,
        links=inv.link_row_ids.take(order).to_pylist(),
        node_index=PositionIndex(csr_nodes),
        eu=inv.eu.copy(),
        ev=inv.ev.copy(),
        indptr=inv.indptr.copy(),
        nbr=inv.nbr.copy(),
        eid=inv.eid.copy(),
        node_up=node_up,
        link_up=lstate != "down",
        roots=roots,
        weight=w,
        weight_is_int=bool(np.all(w == np.rint(w))) if n else True,
        read_node=read,
    )
    csr.graph = {"as_of": as_of, "newest_observed": newest, "power_feeds": _power_feeds(ps)}
    csr._attrs = attrs
    csr.__dict__["link_medium"] = inv.medium_categories[inv.medium_codes]  # cached
    ptr, slinks = inv.srlg_ptr.copy(), inv.srlg_links.copy()
    ptr.flags.writeable = False
    slinks.flags.writeable = False
    csr._srlg_groups = (list(inv.srlg_names), ptr, slinks)
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
