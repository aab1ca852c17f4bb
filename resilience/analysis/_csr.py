"""Compressed sparse row (CSR) view of the network graph and the compiled kernels over it.

Every analysis converts the networkx graph once with :func:`to_csr` and then works on flat numpy
arrays with numba-compiled, iterative (non-recursive) kernels:

- :func:`dfs_lowpoint`   one depth-first search from a virtual root joined to every root (core):
  discovery times, low points, DFS parents, subtree sizes and weights. Node and link blast radii,
  articulation points, bridges and SPOF depth all follow from it in linear time.
- :func:`served_mask`    breadth-first search from the roots over the elements left up
  (what-if scenarios, shared-risk groups, forecast horizons).
- :func:`widest_out_times`  for each node the time it goes out when sites die at given times
  (a max-min "widest path" from the roots, heap based).
- :func:`upstream_bfs`   the nearest down element upstream of every unserved node.

Indices: nodes are ``0..n-1`` in ``G``'s node order, links ``0..m-1`` in ``G.edges(keys=True)``
order. Self-loops are kept in the link list (so every link has a row) but not in the adjacency.

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph()
>>> G.add_node("C", kind="core", subscribers=0); G.add_node("B", subscribers=10)
>>> _ = G.add_edge("C", "B", key="L1")
>>> csr = to_csr(G)
>>> csr.n, csr.m, csr.roots.tolist(), served_mask(csr).tolist()
(2, 1, [0], [True, True])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain, compress
from operator import itemgetter, methodcaller
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from numba import njit

from resilience.topology.index import adjacency_structure

__all__ = [
    "CSRGraph",
    "to_csr",
    "resolve_roots",
    "whole_counts",
    "dfs_lowpoint",
    "served_mask",
    "widest_out_times",
    "upstream_bfs",
    "DFSResult",
    "NodeAttributes",
    "NODE_LABELS",
    "NODE_NUMBERS",
]


#: Node attributes held as category codes (``""`` = missing) and as floats (NaN = missing).
NODE_LABELS: tuple[str, ...] = (
    "kind", "operator", "prefecture", "municipality", "power_feed", "state", "power",
)
NODE_NUMBERS: tuple[str, ...] = ("lat", "lon", "battery_hours", "battery_remaining_min")
_NO_TIME = np.iinfo(np.int64).min  # pandas' NaT as int64

#: Graphs with fewer nodes plus links than this run the search kernels as plain Python: loading
#: a compiled kernel from numba's cache costs more than the whole search on a small network (a
#: one-shot command on a few sites). Same source, same answers (tests/analysis/test_arrays_first.py).
SMALL_GRAPH = 2_000


def _kernel(compiled: Any, csr: Any) -> Any:
    """``compiled`` (a numba kernel), or its Python function for a graph below
    :data:`SMALL_GRAPH` elements."""
    return compiled.py_func if csr.n + csr.m < SMALL_GRAPH else compiled


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
        (:func:`resilience.topology.index.attribute_reader`, faster on large graphs).

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
        (:mod:`resilience.live`) that updates the state of a few elements calls this instead of
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


def whole_counts(x: np.ndarray) -> np.ndarray:
    """Whole-number sums (subscribers) as int64, refusing any that does not fit instead of
    wrapping around to a negative number.

    Subscriber sums are float64 in the kernels: exact while below 2**53 (9 x 10**15, e.g. nine
    million sites at the documented maximum of 10**9 subscribers each).

    Parameters
    ----------
    x : float array

    Returns
    -------
    int64 array

    Raises
    ------
    OverflowError
        A value is beyond the int64 range (or not finite).

    Examples
    --------
    >>> whole_counts(np.array([1e9 * 1e6, 2.0])).tolist()
    [1000000000000000, 2]
    >>> whole_counts(np.array([1e30]))
    Traceback (most recent call last):
    ...
    OverflowError: a subscriber sum (1e+30) does not fit in 64 bits: check the subscriber counts
    """
    r = np.rint(np.asarray(x, dtype=np.float64))
    bad = ~(np.abs(r) < 2.0**63)
    if bad.any():
        raise OverflowError(f"a subscriber sum ({r[bad][0]:g}) does not fit in 64 bits: "
                            "check the subscriber counts")
    return r.astype(np.int64)


def resolve_roots(csr: CSRGraph, roots: Iterable[Any] | None) -> np.ndarray:
    """Root indices from ids (``None``: the ``core`` nodes); unknown ids raise ``KeyError``.

    >>> G = nx.MultiGraph([("a", "b", "x")])
    >>> resolve_roots(to_csr(G), ["b"]).tolist()
    [1]
    """
    if roots is None:
        return csr.roots
    out = [csr.node_index[r] for r in roots]
    return np.unique(np.asarray(out, dtype=np.int64))


@dataclass
class DFSResult:
    """Output of :func:`dfs_lowpoint` (arrays of length n; -1 = not reached).

    ``parent`` is -2 for a node hanging directly off the virtual root, ``pedge`` the link index
    to the parent (-1 for none), ``order`` the nodes in discovery order (``count`` of them).
    """

    disc: np.ndarray
    low: np.ndarray
    parent: np.ndarray
    pedge: np.ndarray
    size: np.ndarray
    wsum: np.ndarray
    order: np.ndarray
    count: int

    @property
    def served(self) -> np.ndarray:
        """Nodes reached from the roots."""
        return self.disc >= 0


@njit(cache=True)
def _dfs_kernel(indptr, nbr, eid, node_ok, link_ok, roots, w):  # pragma: no cover - compiled
    n = indptr.shape[0] - 1
    disc = np.full(n, -1, np.int64)
    low = np.zeros(n, np.int64)
    parent = np.full(n, -1, np.int64)
    pedge = np.full(n, -1, np.int64)
    size = np.zeros(n, np.int64)
    wsum = np.zeros(n, np.float64)
    order = np.empty(n, np.int64)
    it = np.empty(n, np.int64)
    stack = np.empty(n, np.int64)
    is_root = np.zeros(n, np.bool_)
    for r in roots:
        is_root[r] = True
    t = 1  # the virtual root has discovery time 0
    cnt = 0
    for r in roots:
        if not node_ok[r] or disc[r] != -1:
            continue
        disc[r] = t
        low[r] = t
        t += 1
        parent[r] = -2
        order[cnt] = r
        cnt += 1
        it[r] = indptr[r]
        sp = 0
        stack[0] = r
        while sp >= 0:
            v = stack[sp]
            if it[v] < indptr[v + 1]:
                k = it[v]
                it[v] += 1
                e = eid[k]
                if e == pedge[v] or not link_ok[e]:
                    continue
                u = nbr[k]
                if not node_ok[u]:
                    continue
                if disc[u] == -1:
                    parent[u] = v
                    pedge[u] = e
                    disc[u] = t
                    # a root found below another root keeps its virtual link to the root: back edge
                    low[u] = 0 if is_root[u] else t
                    t += 1
                    order[cnt] = u
                    cnt += 1
                    it[u] = indptr[u]
                    sp += 1
                    stack[sp] = u
                elif disc[u] < low[v]:
                    low[v] = disc[u]
            else:
                sp -= 1
                size[v] += 1
                wsum[v] += w[v]
                if sp >= 0:
                    p = stack[sp]
                    size[p] += size[v]
                    wsum[p] += wsum[v]
                    if low[v] < low[p]:
                        low[p] = low[v]
    return disc, low, parent, pedge, size, wsum, order, cnt


def dfs_lowpoint(
    csr: CSRGraph,
    *,
    roots: np.ndarray | None = None,
    node_ok: np.ndarray | None = None,
    link_ok: np.ndarray | None = None,
) -> DFSResult:
    """Iterative DFS from a virtual root joined to every root, over elements that are ok.

    Parameters
    ----------
    csr : CSRGraph
    roots : int array, optional
        Root node indices (default ``csr.roots``).
    node_ok, link_ok : bool arrays, optional
        Elements that carry traffic (default ``csr.node_up`` / ``csr.link_up``).

    Returns
    -------
    DFSResult

    Notes
    -----
    O(n + m) time and memory; a child ``c`` of ``p`` with ``low[c] >= disc[p]`` hangs on ``p``
    alone (``p`` is an articulation point for it), with ``low[c] > disc[p]`` the link between them
    is a bridge. Parallel links are back edges, so never bridges.

    Examples
    --------
    >>> G = nx.MultiGraph([("c", "a", "1"), ("a", "b", "2")]); G.nodes["c"]["kind"] = "core"
    >>> r = dfs_lowpoint(to_csr(G, weight=None))
    >>> r.size.tolist(), r.low.tolist()
    ([3, 2, 1], [1, 2, 3])
    """
    res = _kernel(_dfs_kernel, csr)(
        csr.indptr,
        csr.nbr,
        csr.eid,
        csr.node_up if node_ok is None else node_ok,
        csr.link_up if link_ok is None else link_ok,
        csr.roots if roots is None else roots,
        csr.weight,
    )
    return DFSResult(*res)


@njit(cache=True)
def bfs_into(indptr, nbr, eid, node_ok, link_ok, roots, seen, queue):  # pragma: no cover
    """Mark in ``seen`` (all False on entry) every node reached from ``roots`` over usable nodes
    and links; ``queue`` is scratch space of length n. Compiled; callable from other kernels."""
    head = 0
    tail = 0
    for r in roots:
        if node_ok[r] and not seen[r]:
            seen[r] = True
            queue[tail] = r
            tail += 1
    while head < tail:
        v = queue[head]
        head += 1
        for k in range(indptr[v], indptr[v + 1]):
            u = nbr[k]
            if seen[u] or not node_ok[u] or not link_ok[eid[k]]:
                continue
            seen[u] = True
            queue[tail] = u
            tail += 1


@njit(cache=True)
def _bfs_kernel(indptr, nbr, eid, node_ok, link_ok, roots):  # pragma: no cover - compiled
    n = indptr.shape[0] - 1
    seen = np.zeros(n, np.bool_)
    bfs_into(indptr, nbr, eid, node_ok, link_ok, roots, seen, np.empty(n, np.int64))
    return seen


def served_mask(
    csr: CSRGraph,
    *,
    roots: np.ndarray | None = None,
    node_ok: np.ndarray | None = None,
    link_ok: np.ndarray | None = None,
) -> np.ndarray:
    """Nodes with a path to some root over elements that are ok (BFS, O(n + m)).

    >>> G = nx.MultiGraph([("c", "a", "1"), ("b", "d", "2")]); G.nodes["c"]["kind"] = "core"
    >>> served_mask(to_csr(G)).tolist()
    [True, True, False, False]
    """
    if csr.n + csr.m < SMALL_GRAPH:  # plain Python (see SMALL_GRAPH)
        seen = np.zeros(csr.n, np.bool_)
        bfs_into.py_func(csr.indptr, csr.nbr, csr.eid, csr.node_up if node_ok is None else node_ok,
                         csr.link_up if link_ok is None else link_ok,
                         csr.roots if roots is None else roots, seen, np.empty(csr.n, np.int64))
        return seen
    return _bfs_kernel(
        csr.indptr,
        csr.nbr,
        csr.eid,
        csr.node_up if node_ok is None else node_ok,
        csr.link_up if link_ok is None else link_ok,
        csr.roots if roots is None else roots,
    )


@njit(cache=True)
def _widest_kernel(indptr, nbr, eid, death, link_ok, roots):  # pragma: no cover - compiled
    # out[v] = max over root paths of min(death of nodes on the path): the time v goes out.
    n = indptr.shape[0] - 1
    out = np.zeros(n, np.float64)
    done = np.zeros(n, np.bool_)
    cap = n + indptr[n] + 1
    hk = np.empty(cap, np.float64)  # max-heap keys
    hv = np.empty(cap, np.int64)
    size = 0
    for r in roots:
        if death[r] > out[r]:
            out[r] = death[r]
            # push
            i = size
            size += 1
            hk[i] = death[r]
            hv[i] = r
            while i > 0:
                p = (i - 1) // 2
                if hk[p] >= hk[i]:
                    break
                hk[p], hk[i] = hk[i], hk[p]
                hv[p], hv[i] = hv[i], hv[p]
                i = p
    while size > 0:
        key = hk[0]
        v = hv[0]
        size -= 1
        hk[0] = hk[size]
        hv[0] = hv[size]
        i = 0
        while True:
            lft = 2 * i + 1
            if lft >= size:
                break
            c = lft
            if lft + 1 < size and hk[lft + 1] > hk[lft]:
                c = lft + 1
            if hk[i] >= hk[c]:
                break
            hk[c], hk[i] = hk[i], hk[c]
            hv[c], hv[i] = hv[i], hv[c]
            i = c
        if done[v] or key < out[v]:
            continue
        done[v] = True
        for k in range(indptr[v], indptr[v + 1]):
            if not link_ok[eid[k]]:
                continue
            u = nbr[k]
            if done[u]:
                continue
            cand = key if key < death[u] else death[u]
            if cand > out[u]:
                out[u] = cand
                i = size
                size += 1
                hk[i] = cand
                hv[i] = u
                while i > 0:
                    p = (i - 1) // 2
                    if hk[p] >= hk[i]:
                        break
                    hk[p], hk[i] = hk[i], hk[p]
                    hv[p], hv[i] = hv[i], hv[p]
                    i = p
    return out


def widest_out_times(
    csr: CSRGraph,
    death: np.ndarray,
    *,
    roots: np.ndarray | None = None,
    link_ok: np.ndarray | None = None,
) -> np.ndarray:
    """When each node goes out, given when each node itself dies.

    ``death[v]`` is the time node v stops carrying traffic (0: already down, ``inf``: never).
    A node is served at time t while some root path has every node alive at t, so its out time is
    the widest (max-min) path value from the roots; 0 means out now.

    Notes
    -----
    Dijkstra-like with a binary max-heap: O((n + m) log n).

    Examples
    --------
    >>> G = nx.MultiGraph([("c", "a", "1"), ("a", "b", "2")]); G.nodes["c"]["kind"] = "core"
    >>> widest_out_times(to_csr(G), np.array([np.inf, 3.0, 6.0])).tolist()
    [inf, 3.0, 3.0]
    """
    return _kernel(_widest_kernel, csr)(
        csr.indptr,
        csr.nbr,
        csr.eid,
        np.asarray(death, dtype=np.float64),
        csr.link_up if link_ok is None else link_ok,
        csr.roots if roots is None else roots,
    )


@njit(cache=True)
def _upstream_kernel(indptr, nbr, eid, served, node_down, link_down, sources):  # pragma: no cover
    # BFS over the physical graph (all elements) from the served nodes and the roots; each
    # unserved node learns the last down element on its BFS path before it.
    n = indptr.shape[0] - 1
    up_type = np.zeros(n, np.int8)  # 0 none, 1 node, 2 link
    up_idx = np.full(n, -1, np.int64)
    seen = np.zeros(n, np.bool_)
    queue = np.empty(n, np.int64)
    head = 0
    tail = 0
    for v in sources:
        if not seen[v]:
            seen[v] = True
            queue[tail] = v
            tail += 1
    while head < tail:
        v = queue[head]
        head += 1
        for k in range(indptr[v], indptr[v + 1]):
            u = nbr[k]
            if seen[u]:
                continue
            seen[u] = True
            e = eid[k]
            if link_down[e]:
                up_type[u] = 2
                up_idx[u] = e
            elif node_down[v] and not served[v]:
                up_type[u] = 1
                up_idx[u] = v
            else:
                up_type[u] = up_type[v]
                up_idx[u] = up_idx[v]
            queue[tail] = u
            tail += 1
    return up_type, up_idx


def upstream_bfs(
    csr: CSRGraph, served: np.ndarray, *, roots: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest down element upstream of each node (type 0 none / 1 node / 2 link, index).

    BFS over all elements from the served nodes (and the roots, even when down): the last down
    element crossed on the way to an unserved node explains why it is cut off. O(n + m).

    >>> G = nx.MultiGraph([("c", "a", "1"), ("a", "b", "2")]); G.nodes["c"]["kind"] = "core"
    >>> G.nodes["a"]["state"] = "down"; c = to_csr(G)
    >>> [x.tolist() for x in upstream_bfs(c, served_mask(c))]
    [[0, 0, 1], [-1, -1, 1]]
    """
    roots = csr.roots if roots is None else roots
    start = served.copy()
    start[roots] = True
    sources = np.nonzero(start)[0].astype(np.int64)
    return _kernel(_upstream_kernel, csr)(
        csr.indptr, csr.nbr, csr.eid, served, ~csr.node_up, ~csr.link_up, sources
    )
