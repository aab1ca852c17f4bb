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
  so :func:`resilience.analysis.snapshot.compute_snapshot` runs on it directly.

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
    Three stable sorts on one int64 key each: O(m log m), all in numpy.

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
    by_pair = np.argsort(pair, kind="stable")  # each pair's rows together, ascending
    sp = pair[by_pair]
    start = np.ones(m, bool)
    start[1:] = sp[1:] != sp[:-1]
    frow = np.empty(m, np.int64)
    frow[by_pair] = by_pair[start][np.cumsum(start) - 1]  # the row that first joined the pair
    # stable sorts on one combined key: ties keep row order (as lexsort's last key would)
    order = np.argsort(lo * max(m, 1) + frow, kind="stable")
    eid_of_row = np.empty(m, np.int64)
    eid_of_row[order] = rows
    keep = np.flatnonzero(ia != ib)
    src = np.empty(2 * len(keep), np.int64)  # both ends of each link, rows ascending
    src[0::2], src[1::2] = ia[keep], ib[keep]
    dst = np.empty_like(src)
    dst[0::2], dst[1::2] = ib[keep], ia[keep]
    er = np.repeat(keep, 2)
    adj = np.argsort(src * max(m, 1) + frow[er], kind="stable")
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


def _status_codes(ids: np.ndarray, status_ids: np.ndarray) -> np.ndarray:
    """Codes of ``ids`` followed by ``status_ids`` in one first-appearance numbering
    (:func:`pandas.factorize`); status rows listed in ``ids``' order skip the hash lookups.

    >>> _status_codes(np.array(["a", "b"], dtype=object), np.array(["b", "c"], dtype=object)).tolist()
    [0, 1, 1, 2]
    """
    if len(status_ids) == len(ids) and np.array_equal(status_ids, ids):
        codes = pd.factorize(ids)[0]
        return np.concatenate([codes, codes])
    return pd.factorize(np.concatenate([ids, status_ids]))[0]


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
        Node attribute summed as impact (as in :func:`to_csr`).

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
    nd = _frame(nodes, ("node_id", "kind", *_NODE_TEXT, "lat", "lon", "subscribers", "battery_hours"))
    ld = _frame(links, ("link_id", "a", "b", "medium", "capacity_mbps", "srlg"))
    ids = nd["node_id"].astype(str).reset_index(drop=True)
    lids = ld["link_id"].astype(str).reset_index(drop=True)
    ns = _frame(node_status, ("node_id", "observed_at", "state", "power", "battery_remaining_min"))
    ls = _frame(link_status, ("link_id", "observed_at", "state"))
    ps = _frame(power_status, ("power_feed", "observed_at", "state", "expected_restore_at"))
    n_inv, m = len(ids), len(lids)
    ids_o = ids.to_numpy(dtype=object)
    lids_o = lids.to_numpy(dtype=object)

    # nodes: the inventory's, then endpoints named only by a link, in the order networkx adds
    # them (bare: no attributes). One hash pass over the ids, the interleaved endpoints and the
    # status rows' ids: codes are in first-appearance order, so the inventory ids are distinct
    # exactly when their codes are 0..n_inv-1, and a status row names an inventory node exactly
    # when its code is below n_inv (that code is the node's index).
    ends = np.empty(2 * m, dtype=object)
    ends[0::2] = ld["a"].astype(str).to_numpy(dtype=object)
    ends[1::2] = ld["b"].astype(str).to_numpy(dtype=object)
    ns_o = ns["node_id"].astype(str).to_numpy(dtype=object)
    same = len(ns_o) == n_inv and np.array_equal(ns_o, ids_o)  # rows in inventory order: no hash
    codes, uniq = pd.factorize(np.concatenate([ids_o, ends] if same else [ids_o, ends, ns_o]))
    lcodes = _status_codes(lids_o, ls["link_id"].astype(str).to_numpy(dtype=object))
    if not (_distinct_prefix(codes, n_inv) and _distinct_prefix(lcodes, m)):
        from resilience.topology.graph import build_graph

        G = build_graph(nodes, links, node_status, link_status, power_status, as_of=as_of,
                        stale_after=stale_after)
        csr = to_csr(G, weight=weight)
        csr.graph = dict(G.graph)
        return csr
    newest = _newest(ns, ls, ps)
    as_of = _as_of(as_of, newest)
    n = int(codes[:n_inv + 2 * m].max()) + 1 if n_inv + 2 * m else 0  # status-only ids after
    node_ids = np.asarray(uniq[:n], dtype=object)
    ia = codes[n_inv:n_inv + 2 * m:2].astype(np.int64)
    ib = codes[n_inv + 1:n_inv + 2 * m:2].astype(np.int64)

    # node state from the status rows, in node order (no per-row Python); a node's last row wins
    ns_codes = np.arange(n_inv) if same else codes[n_inv + 2 * m:]
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

    def inv_col(values: Any, inv_fill: Any) -> pd.Series:
        """The inventory's values, ``inv_fill`` where missing or empty."""
        v = pd.Series(values).reset_index(drop=True)
        text = v if isinstance(v.dtype, pd.StringDtype) else v.astype(object)  # compared natively
        return v.where(v.notna() & (text != ""), inv_fill)

    def node_col(values: Any, fill: Any, inv_fill: Any = None) -> pd.Series:
        """A column over every node: inventory values, ``fill`` for the bare nodes."""
        v = inv_col(values, inv_fill) if inv_fill is not None else pd.Series(values).reset_index(drop=True)
        if n == n_inv:
            return v
        return pd.concat([v, pd.Series([fill] * (n - n_inv), dtype=object)], ignore_index=True)

    def status_col(c: str) -> pd.Series:
        out = pd.Series(np.full(n, None, dtype=object))
        if len(rows):
            out.iloc[where] = rows[c].to_numpy(dtype=object)
        return out

    inv_text = {"kind": inv_col(nd["kind"], "aggregation"), **{c: inv_col(nd[c], "") for c in _NODE_TEXT}}
    labels: dict[str, pd.Series] = {
        **{c: node_col(v, None) for c, v in inv_text.items()},
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
        fast = _text_codes(rows[key], n, where) if key in ("state", "power") else _text_codes(inv_text[key], n)
        if fast is not None:  # Arrow text: no object column
            lc, cats = fast
        else:
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
    lstate = np.full(m, "up", dtype=object)  # no status received: up
    lkeep = _last_rows(lcodes[m:], m)
    if len(lkeep):
        lst = ls["state"].iloc[lkeep]
        lstate[lcodes[m:][lkeep]] = lst.astype(object).where(lst.notna(), "up").to_numpy(dtype=object)
    lstate = lstate[order]
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
