"""The analysis snapshot: everything the exporter and the reports read, computed in one go.

:func:`compute_snapshot` is pure (graph in, :class:`Snapshot` out); storing and reading it back
is :mod:`resilience.store.snapshots`. The snapshot's shape (:class:`Snapshot`, the frames' columns
and :data:`AGGREGATE_METRICS`) is defined once, in :mod:`resilience.topology.snapshot`, from
which the snapshot tables of :mod:`resilience.store.tables` derive (the four frames,
``elements``, ``srlgs``, ``nodes_out`` and ``aggregates``, are described there).

Example
-------
>>> import networkx as nx
>>> G = nx.MultiGraph([("C", "B", "L1")]); G.nodes["C"]["kind"] = "core"
>>> G.nodes["B"].update(kind="base_station", subscribers=10)
>>> s = compute_snapshot(G)
>>> s.served_subscribers, s.elements["element_id"].tolist()
(10, ['C', 'L1'])
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from resilience.analysis.blast import BlastArrays, _depth_kernel, blast_arrays
from resilience.analysis.coverage import coverage_warnings, warn_coverage
from resilience.analysis.forecast import DEFAULT_HORIZONS, death_hours
from resilience.analysis.outage_causes import cause_arrays, upstream_ids
from resilience.analysis.srlg import srlg_blast_radius
from resilience.analysis.traversal import DFSResult, root_indices, whole_counts, widest_out_times
from resilience.topology.compiled import CSRGraph, to_csr
from resilience.topology.model import CAUSES
from resilience.topology.snapshot import (
    AGGREGATE_COLUMNS,
    AGGREGATE_METRICS,
    ELEMENT_COLUMNS,
    NODES_OUT_COLUMNS,
    SRLG_COLUMNS,
    Snapshot,
)

__all__ = [
    "Snapshot",
    "compute_snapshot",
    "elements_frame",
    "srlg_frame",
    "nodes_out_frame",
    "aggregates_frame",
    "AGGREGATE_METRICS",
    "ELEMENT_COLUMNS",
    "SRLG_COLUMNS",
    "NODES_OUT_COLUMNS",
    "AGGREGATE_COLUMNS",
]

# The snapshot's shape (Snapshot, its frames and AGGREGATE_METRICS) is defined once, in the
# domain vocabulary (resilience.topology.snapshot); these names are re-exported from here.


def _categorical(values: np.ndarray) -> pd.Categorical:
    """Strings as a Categorical with sorted categories (groupby then sorts like the strings)."""
    codes, uniq = pd.factorize(np.asarray(values, dtype=object), sort=True)
    return pd.Categorical.from_codes(codes, np.asarray(uniq, dtype=object))


def _label(csr: CSRGraph, key: str, idx: np.ndarray | None = None, missing: str = "") -> pd.Categorical:
    """A node label (of the nodes ``idx``, default all) as a Categorical; ``""`` -> ``missing``."""
    a = csr.attrs
    cats, codes = a.categories[key], a.codes[key]
    if missing and len(cats) and cats[0] == "":
        names = np.asarray([missing, *cats[1:].tolist()], dtype=object)
        uniq = np.asarray(sorted(set(names.tolist())), dtype=object)
        codes = np.searchsorted(uniq, names)[codes]
        cats = uniq
    return pd.Categorical.from_codes(codes if idx is None else codes[idx], cats)


def _strings(values: pd.Series) -> pd.Series:
    """A Categorical column as plain strings (taking from the few categories, not re-parsing
    every value)."""
    cat = values.array
    if not isinstance(cat, pd.Categorical):
        return values.astype(str)
    names = pd.array(np.asarray(cat.categories, dtype=object), dtype="str")
    return pd.Series(names.take(cat.codes), index=values.index, name=values.name)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as strings: the frames as the store gives them back."""
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = _strings(df[c])
    return df


def _node_frame(csr: CSRGraph) -> pd.DataFrame:
    """Labels (Categorical), state, subscribers and location of every node, in node order."""
    a = csr.attrs
    return pd.DataFrame(
        {
            "kind": _label(csr, "kind"),
            "operator": _label(csr, "operator"),
            "prefecture": _label(csr, "prefecture"),
            "municipality": _label(csr, "municipality"),
            "state": _label(csr, "state", missing="unknown"),
            "subscribers": whole_counts(csr.weight),
            "lat": a.numbers["lat"],
            "lon": a.numbers["lon"],
        },
        copy=False,
    )


def _agg(metric: str, df: pd.DataFrame, value: str | None) -> pd.DataFrame:
    labels = list(AGGREGATE_METRICS[metric][0])
    if len(df) == 0 and labels:
        return pd.DataFrame(columns=AGGREGATE_COLUMNS)
    if labels:
        g = df.groupby(labels, sort=True, dropna=False, observed=True)
        s = g.size() if value is None else g[value].sum()
        out = s.rename("value").reset_index()
        for c in labels:  # categorical group keys back to plain strings
            out[c] = _strings(out[c])
    else:
        out = pd.DataFrame({"value": [len(df) if value is None else df[value].sum()]})
    out["metric"] = metric
    for c in AGGREGATE_COLUMNS:
        if c not in out:
            out[c] = 0.0 if c == "horizon_hours" else ""
    out["value"] = out["value"].astype(float)
    return out[AGGREGATE_COLUMNS]


def compute_snapshot(
    G: nx.MultiGraph,
    *,
    top_n: int = 50,
    hours: Sequence[float] = DEFAULT_HORIZONS,
    roots: Iterable[Any] | None = None,
    stale_after: timedelta | None = None,
    csr: CSRGraph | None = None,
) -> Snapshot:
    """Blast radii, SPOFs, shared-risk groups, causes and forecast of the current state.

    Parameters
    ----------
    G : networkx.MultiGraph or CSRGraph
        The network with its current state (:func:`~resilience.topology.graph.build_graph`), or
        the compiled model built straight from the store's columns
        (:func:`~resilience.topology.compiled.compile_network`: the pipeline's hot path, no
        networkx object; its ``graph`` attribute stands for ``G.graph``).
    top_n : int
        How many of the largest SPOFs go to ``summary['top_elements']`` (all SPOFs are in
        ``elements``).
    hours : sequence of float
        Forecast horizons.
    roots : iterable of node ids, optional
        Default: the ``core`` nodes.
    stale_after : timedelta, optional
        Freshness for the ``unknown`` cause (default: the nodes' ``fresh`` attribute).
    csr : CSRGraph, optional
        Reused ``to_csr(G)``.

    Returns
    -------
    Snapshot

    Notes
    -----
    O((n + m) log n) plus one BFS per shared-risk group that contains a DFS tree link. One DFS
    (:func:`~resilience.analysis.blast.blast_arrays`) feeds the frames, each built by its own
    function: :func:`elements_frame`, :func:`srlg_frame`, :func:`nodes_out_frame`, then
    :func:`aggregates_frame` over them.

    Examples
    --------
    >>> G = nx.MultiGraph([("C", "A", "L1"), ("A", "B", "L2")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["B"]["subscribers"] = 5
    >>> s = compute_snapshot(G, hours=[1])
    >>> s.summary["node_spofs"], s.summary["link_spofs"], s.summary["single_homed_nodes"]
    (2, 2, 2)
    """
    t0 = time.perf_counter()
    created = datetime.now(UTC)
    if isinstance(G, CSRGraph):  # the arrays-first model: it is its own view
        csr = G
    csr = csr if csr is not None else to_csr(G)
    r = root_indices(csr, roots)
    b = blast_arrays(csr, roots=r)
    d = b.dfs
    served = d.served
    nodes = _node_frame(csr)

    elements = elements_frame(csr, b)
    is_root = np.zeros(csr.n, bool)
    is_root[r] = True
    depth, _, _ = _depth_kernel(d.order, d.count, d.parent, d.pedge, d.disc, d.low, is_root)
    single_homed = served & (depth > 0)  # depth 0: not single-homed (the groups' hidden parts)
    srlgs = srlg_frame(G, csr, roots, dfs=d, depth=depth)
    nodes_out = nodes_out_frame(G, csr, r, stale_after, served=served, subscribers=nodes["subscribers"])
    out_t = widest_out_times(csr, death_hours(G, csr=csr), roots=r)
    aggregates = aggregates_frame(nodes, elements, srlgs, nodes_out, served=served,
                                  single_homed=single_homed, cores=len(r), out_t=out_t, hours=hours)

    warnings = coverage_warnings(total_nodes=csr.n, cores=len(r), served_nodes=int(served.sum()))
    warn_coverage(warnings)
    sub_int = whole_counts(csr.weight)  # each site <= 10**9 (feeds): int64 sums cannot overflow
    summary = _summary(elements, srlgs, nodes_out, b, single_homed=single_homed, sub_int=sub_int,
                       cores=len(r), warnings=warnings, forecast=_forecast(csr, out_t, hours),
                       top_n=top_n)
    as_of = G.graph.get("as_of") or created
    return Snapshot(
        as_of=as_of,
        created_at=created,
        total_nodes=csr.n,
        total_subscribers=int(sub_int.sum()),
        served_nodes=int(served.sum()),
        served_subscribers=int(sub_int[served].sum()),
        duration_seconds=time.perf_counter() - t0,
        summary=summary,
        elements=_plain(elements),
        srlgs=srlgs.reset_index(drop=True),
        nodes_out=_plain(nodes_out.reset_index(drop=True)),
        aggregates=aggregates,
    )


def elements_frame(csr: CSRGraph, b: BlastArrays) -> pd.DataFrame:
    """The ``elements`` frame: every single point of failure, largest first.

    Nodes whose blast radius holds another node, links whose radius holds any node; a link is
    located (operator, prefecture, municipality) at the node below it in the DFS tree, and its
    ``kind`` is its medium.

    Parameters
    ----------
    csr : CSRGraph
    b : BlastArrays
        :func:`~resilience.analysis.blast.blast_arrays` of ``csr``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ELEMENT_COLUMNS` (labels as Categoricals), ordered by
        ``subscribers_lost`` then ``nodes_lost`` descending.

    Examples
    --------
    >>> G = nx.MultiGraph([("C", "A", "L1"), ("A", "B", "L2")]); G.nodes["C"]["kind"] = "core"
    >>> c = to_csr(G, weight=None)
    >>> elements_frame(c, blast_arrays(c))[["element_id", "nodes_lost"]].values.tolist()
    [['C', 3], ['A', 2], ['L1', 2], ['L2', 1]]
    """
    d = b.dfs
    a = csr.attrs
    n_idx = np.nonzero(b.node_spof)[0]
    l_idx = np.nonzero(b.link_spof)[0]
    child = np.full(csr.m, -1, np.int64)
    has_p = d.pedge >= 0
    child[d.pedge[has_p]] = np.nonzero(has_p)[0]
    at = np.concatenate([n_idx, child[l_idx]])  # the node whose location each row takes
    elements = pd.DataFrame(
        {
            "element_type": _categorical(np.repeat(np.array(["node", "link"], dtype=object),
                                                   [len(n_idx), len(l_idx)])),
            "element_id": np.concatenate([csr.node_ids[n_idx], csr.link_ids[l_idx]]),
            "nodes_lost": np.concatenate([b.node_lost[n_idx], b.link_lost[l_idx]]),
            "subscribers_lost": whole_counts(
                np.concatenate([b.node_wlost[n_idx], b.link_wlost[l_idx]])
            ),
            "kind": _categorical(np.concatenate([a.label("kind")[n_idx],
                                                 csr.link_medium[l_idx]])),
            **{c: _label(csr, c, at) for c in ("operator", "prefecture", "municipality")},
        }
    )
    return elements.sort_values(
        ["subscribers_lost", "nodes_lost"], ascending=False, kind="stable"
    ).reset_index(drop=True)[ELEMENT_COLUMNS]


def srlg_frame(
    G: nx.MultiGraph,
    csr: CSRGraph,
    roots: Iterable[Any] | None,
    *,
    dfs: DFSResult | None = None,
    depth: np.ndarray | None = None,
) -> pd.DataFrame:
    """The ``srlgs`` frame: every shared-risk group's blast radius and hidden part.

    :func:`~resilience.analysis.srlg.srlg_blast_radius` (``dfs`` and ``depth`` passed on) in
    the snapshot's columns (:data:`SRLG_COLUMNS`), largest first.

    Examples
    --------
    >>> G = nx.MultiGraph(); G.add_node("C", kind="core")
    >>> _ = G.add_edge("C", "A", "L1", srlg=("R1",)); _ = G.add_edge("C", "A", "L2", srlg=("R1",))
    >>> srlg_frame(G, to_csr(G), None)[["srlg", "nodes_lost", "hidden"]].values.tolist()
    [['R1', 1, True]]
    """
    return srlg_blast_radius(G, roots=roots, csr=csr, dfs=dfs, depth=depth)[SRLG_COLUMNS]


def nodes_out_frame(
    G: nx.MultiGraph,
    csr: CSRGraph,
    roots: np.ndarray,
    stale_after: timedelta | None,
    *,
    served: np.ndarray,
    subscribers: pd.Series,
) -> pd.DataFrame:
    """The ``nodes_out`` frame: every out node with its cause, root-cause flag and upstream.

    Parameters
    ----------
    G, csr
        The network and its compiled view.
    roots : int array
        Root indices (:func:`~resilience.analysis.traversal.root_indices`).
    stale_after : timedelta or None
        As in :func:`compute_snapshot`.
    served : bool array
        The nodes served now.
    subscribers : pandas.Series
        Every node's subscribers (whole numbers), in node order.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`NODES_OUT_COLUMNS` (labels as Categoricals), in node order.

    Examples
    --------
    >>> from resilience.analysis.traversal import served_mask
    >>> G = nx.MultiGraph([("C", "A", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["A"].update(state="down", power="none", fresh=True); c = to_csr(G)
    >>> subs = pd.Series(whole_counts(c.weight))
    >>> f = nodes_out_frame(G, c, c.roots, None, served=served_mask(c), subscribers=subs)
    >>> f[["node_id", "cause", "root_cause"]].values.tolist()
    [['A', 'power', True]]
    """
    a = csr.attrs
    out_idx, cause, root, up_type, up_idx = cause_arrays(G, csr, roots, stale_after, served=served)
    return pd.DataFrame(
        {
            "node_id": csr.node_ids[out_idx],
            "cause": np.asarray(CAUSES, dtype=object)[cause],
            "root_cause": root,
            "upstream": pd.Series(upstream_ids(csr, up_type, up_idx), dtype=object),
            **{c: _label(csr, c, out_idx) for c in ("kind", "operator", "prefecture", "municipality")},
            "subscribers": subscribers.to_numpy()[out_idx],
            "lat": a.numbers["lat"][out_idx],
            "lon": a.numbers["lon"][out_idx],
        }
    )[NODES_OUT_COLUMNS]


def _cuts_others(elements: pd.DataFrame) -> np.ndarray:
    """SPOFs that cut other sites: a link cutting exactly one node is that site's own access
    link; every node SPOF and every other link cuts others."""
    return (elements["element_type"] == "node").to_numpy() | (elements["nodes_lost"].to_numpy() > 1)


def aggregates_frame(
    nodes: pd.DataFrame,
    elements: pd.DataFrame,
    srlgs: pd.DataFrame,
    nodes_out: pd.DataFrame,
    *,
    served: np.ndarray,
    single_homed: np.ndarray,
    cores: int,
    out_t: np.ndarray,
    hours: Sequence[float],
) -> pd.DataFrame:
    """The ``aggregates`` frame: every metric of :data:`AGGREGATE_METRICS` by its labels.

    Parameters
    ----------
    nodes : pandas.DataFrame
        Labels and subscribers of every node, in node order.
    elements, srlgs, nodes_out : pandas.DataFrame
        The snapshot's other frames (:func:`elements_frame`, :func:`srlg_frame`,
        :func:`nodes_out_frame`).
    served, single_homed : bool arrays
        The nodes served now; the served nodes with a SPOF between them and the core.
    cores : int
        Number of roots.
    out_t : float array
        When each node goes out if grid power does not come back
        (:func:`~resilience.analysis.traversal.widest_out_times`).
    hours : sequence of float
        Forecast horizons.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`AGGREGATE_COLUMNS` (``value`` and ``horizon_hours`` float); a metric whose
        labels have no row adds none.
    """
    cuts_others = _cuts_others(elements)
    frames = [
        _agg("nodes", nodes, None),
        _agg("subscribers", nodes, "subscribers"),
        _agg("served_nodes", nodes[served], None),
        _agg("served_subscribers", nodes[served], "subscribers"),
        _agg("nodes_out", nodes_out, None),
        _agg("subscribers_out", nodes_out, "subscribers"),
        _agg("root_cause_nodes_out", nodes_out[nodes_out["root_cause"]], None),
        _agg("single_homed_nodes", nodes[single_homed], None),
        _agg("single_homed_subscribers", nodes[single_homed], "subscribers"),
        _agg("articulation_points", elements[elements["element_type"] == "node"], None),
        _agg("bridges", elements[elements["element_type"] == "link"], None),
        _agg("hidden_srlgs", srlgs[srlgs["hidden"]], None),
        _agg("srlgs_cutting", srlgs[srlgs["nodes_lost"] > 0], None),
        _agg("spofs_cutting_others", elements[cuts_others], None),
        _agg("single_homed_sites", elements[~cuts_others], None),
        _agg("cores", pd.DataFrame(index=range(cores)), None),
    ]
    for h in hours:
        out = out_t <= float(h)
        sub = nodes[out].assign(horizon_hours=float(h))
        for metric, val in (
            ("forecast_nodes_out", None),
            ("forecast_subscribers_out", "subscribers"),
        ):
            f = _agg(metric, sub, val)
            f["horizon_hours"] = float(h)
            frames.append(f)
    aggregates = pd.concat([f for f in frames if len(f)], ignore_index=True) if frames else None
    if aggregates is None or len(aggregates) == 0:
        aggregates = pd.DataFrame(columns=AGGREGATE_COLUMNS)
    aggregates["horizon_hours"] = aggregates["horizon_hours"].astype(float)
    aggregates["value"] = aggregates["value"].astype(float)
    return aggregates


def _forecast(csr: CSRGraph, out_t: np.ndarray, hours: Sequence[float]) -> list[dict[str, Any]]:
    """``summary['forecast']``: nodes and subscribers out at each horizon."""
    w = csr.weight
    forecast = []
    for h in hours:
        out = out_t <= float(h)
        forecast.append(
            {
                "horizon_hours": float(h),
                "nodes_out": int(out.sum()),
                "subscribers_out": int(round(w[out].sum())),
            }
        )
    return forecast


def _summary(
    elements: pd.DataFrame,
    srlgs: pd.DataFrame,
    nodes_out: pd.DataFrame,
    b: BlastArrays,
    *,
    single_homed: np.ndarray,
    sub_int: np.ndarray,
    cores: int,
    warnings: list,
    forecast: list[dict[str, Any]],
    top_n: int,
) -> dict[str, Any]:
    """The snapshot's ``summary``: headline counts, warnings, forecast and the top SPOFs."""
    cuts_others = _cuts_others(elements)
    by_cause = nodes_out.groupby("cause").size().to_dict() if len(nodes_out) else {}
    return {
        "nodes_out": len(nodes_out),
        "subscribers_out": int(nodes_out["subscribers"].sum()) if len(nodes_out) else 0,
        "nodes_out_by_cause": {str(k): int(v) for k, v in by_cause.items()},
        "root_causes": int(nodes_out["root_cause"].sum()) if len(nodes_out) else 0,
        "node_spofs": int(np.count_nonzero(b.node_spof)),
        "link_spofs": int(np.count_nonzero(b.link_spof)),
        "spofs_cutting_others": int(cuts_others.sum()),
        "single_homed_sites": int((~cuts_others).sum()),
        "single_homed_nodes": int(single_homed.sum()),
        "single_homed_subscribers": int(sub_int[single_homed].sum()),
        "srlgs": len(srlgs),
        "hidden_srlgs": int(srlgs["hidden"].sum()) if len(srlgs) else 0,
        "cores": int(cores),
        "warnings": warnings,
        "forecast": forecast,
        "top_n": int(top_n),
        "top_elements": [
            {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in elements.head(top_n).to_dict("records")
        ],
    }
