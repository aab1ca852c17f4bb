"""What the exporter reads: a small, bounded view of the latest stored analysis snapshot.

The exporter never loads a whole snapshot. :class:`ExporterSnapshot` holds only rows whose count
is bounded by label sets (aggregates, outage groups), by ``top_n`` (elements, shared-risk groups)
or by an explicit cap (sites out), so the cost of a scrape does not grow with the network.

Example
-------
>>> from datetime import UTC, datetime
>>> from resilience.exporter.model import ExporterSnapshot
>>> snap = ExporterSnapshot(id=1, as_of=datetime(2024, 1, 3, tzinfo=UTC),
...                         created_at=datetime(2024, 1, 3, tzinfo=UTC))
>>> snap.served_ratio
0.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from resilience.analysis.outages import RootOutage
from resilience.errors import BadInput
from resilience.topology.snapshot import AGGREGATES, ELEMENTS, NODES_OUT, SRLGS

__all__ = [
    "BOUNDED_LABELS",
    "DEFAULT_LABEL_LIMITS",
    "OTHER",
    "fold_labels",
    "parse_label_limits",
    "Aggregate",
    "Element",
    "SharedRiskGroup",
    "OutageGroup",
    "SiteOut",
    "RootOutage",
    "IngestCounts",
    "ExporterSnapshot",
    "horizon_label",
]


def horizon_label(hours: float) -> str:
    """The ``horizon`` label value for a forecast horizon in hours.

    Example
    -------
    >>> horizon_label(3.0), horizon_label(0.5)
    ('3h', '0.5h')
    """
    return f"{float(hours):g}h"


# The records of snapshot rows derive their fields from the snapshot's one definition
# (resilience.topology.snapshot): one field per frame column, required ones first.

Aggregate = AGGREGATES.record(
    "Aggregate",
    """One row of ``snapshot_aggregates``: a metric name, its bounded labels and a value.

    Fields: ``metric, value, operator, prefecture, municipality, kind, state, cause,
    horizon_hours`` (labels default to ``""``, ``horizon_hours`` to 0).
    """,
    module=__name__,
)

Element = ELEMENTS.record(
    "Element",
    """One of the top elements (node or link) by blast radius.

    Fields: ``element_type, element_id, nodes_lost, subscribers_lost, kind, operator,
    prefecture, municipality`` (labels default to ``""``).
    """,
    module=__name__,
)

SharedRiskGroup = SRLGS.record(
    "SharedRiskGroup",
    """A shared-risk link group whose failure cuts nodes.

    Fields: ``srlg, links, nodes_lost, subscribers_lost, hidden, hidden_nodes,
    hidden_subscribers``. ``hidden_nodes`` and ``hidden_subscribers`` are its hidden part: the
    nodes of its blast radius that no single element cuts off (not single-homed). The group is a
    hidden SPOF when ``hidden_nodes > 0`` (``hidden``).
    """,
    module=__name__,
)


@dataclass(frozen=True, slots=True)
class OutageGroup:
    """Nodes out, grouped by bounded labels (``root_cause`` says whether they page)."""

    cause: str
    root_cause: bool
    operator: str
    prefecture: str
    municipality: str
    nodes: int
    subscribers: int


SiteOut = NODES_OUT.record(
    "SiteOut",
    """One site that is out (only the first ``max_sites_out`` are exported).

    Fields: ``node_id, cause, root_cause, upstream`` (``""`` when none)``, kind, operator,
    prefecture, municipality, subscribers, lat, lon`` and ``root``, the root-cause element this
    outage depends on (itself if ``root_cause``).
    """,
    module=__name__,
    defaults={"upstream": ""},
    extra=(("root", str, ""),),
)


@dataclass(frozen=True, slots=True)
class IngestCounts:
    """Cumulative ingest counters from ``feed_files`` and ``quarantine``."""

    files: dict[str, int] = field(default_factory=dict)  # feed kind -> files
    rows_accepted: dict[str, int] = field(default_factory=dict)  # feed kind -> rows
    rows_quarantined: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, rule)
    last_ingest_timestamp: float | None = None


@dataclass(frozen=True)
class ExporterSnapshot:
    """The bounded part of one stored snapshot that the collectors turn into metrics.

    Attributes
    ----------
    id, as_of, created_at, duration_seconds
        From the ``snapshots`` row (``as_of`` is the state time the analysis describes).
    total_nodes, total_subscribers, served_nodes, served_subscribers
        Network totals.
    aggregates
        Rows of ``snapshot_aggregates`` (bounded labels).
    elements, srlgs
        The top N by subscribers lost.
    outages
        Out nodes grouped by cause, root cause, operator, prefecture, municipality.
    sites_out, sites_out_total
        Out sites, root causes first then by subscribers, capped; and how many there are.
    roots
        Root outages (root-cause sites and cut links) with the out nodes they explain, capped.
    ingest
        Ingest counters (not part of the snapshot, read alongside it).
    core_nodes
        Nodes of kind ``core`` in the inventory (``None``: not known, e.g. a hand-made view).
    folded
        Per bounded label, how many distinct values were folded into ``other``
        (:func:`fold_labels`).
    """

    id: int
    as_of: datetime
    created_at: datetime
    duration_seconds: float | None = None
    total_nodes: int = 0
    total_subscribers: int = 0
    served_nodes: int = 0
    served_subscribers: int = 0
    aggregates: tuple[Aggregate, ...] = ()
    elements: tuple[Element, ...] = ()
    srlgs: tuple[SharedRiskGroup, ...] = ()
    outages: tuple[OutageGroup, ...] = ()
    sites_out: tuple[SiteOut, ...] = ()
    sites_out_total: int = 0
    roots: tuple[RootOutage, ...] = ()
    ingest: IngestCounts = field(default_factory=IngestCounts)
    core_nodes: int | None = None
    folded: Mapping[str, int] = field(default_factory=dict)

    @property
    def served_ratio(self) -> float:
        """Served subscribers over all subscribers (0 when there are none)."""
        return self.served_subscribers / self.total_subscribers if self.total_subscribers else 0.0

    @property
    def token(self) -> tuple:
        """Identifies the content: the snapshot id and the ingest counters' version."""
        return (self.id, self.ingest.last_ingest_timestamp, sum(self.ingest.files.values()))


#: Labels whose values come from the inventory's free text and are bounded by folding.
BOUNDED_LABELS = ("operator", "prefecture", "municipality", "kind")
#: Distinct values kept per label by default (docs/metrics.md, "Cardinality"): Japan has 47
#: prefectures and about 1,741 municipalities; kinds are 7 node kinds and 5 link media.
DEFAULT_LABEL_LIMITS: Mapping[str, int] = {"operator": 100, "prefecture": 100, "municipality": 2000,
                                           "kind": 20}
#: The value that every label value beyond its limit becomes.
OTHER = "other"

_SUBSCRIBER_WEIGHT = ("subscribers", "subscribers_out", "single_homed_subscribers")
_NODE_WEIGHT = ("nodes", "nodes_out", "single_homed_nodes")


def parse_label_limits(text: str | Mapping[str, int] | None) -> dict[str, int]:
    """The per-label limits from the ``exporter_label_limits`` setting (``label=n,...``).

    Labels not named keep their default (:data:`DEFAULT_LABEL_LIMITS`).

    Raises
    ------
    BadInput
        An unknown label, or a limit that is not a positive integer.

    Example
    -------
    >>> parse_label_limits("operator=20, municipality=500")["operator"]
    20
    >>> parse_label_limits("")["prefecture"]
    100
    """
    out = dict(DEFAULT_LABEL_LIMITS)
    if not text:
        return out
    items = text.items() if isinstance(text, Mapping) else (
        part.split("=", 1) if "=" in part else (part, "") for part in str(text).split(",") if part.strip())
    for label, raw in items:
        label = str(label).strip()
        if label not in BOUNDED_LABELS:
            raise BadInput("exporter_label_limits", f"unknown label {label!r} (one of {', '.join(BOUNDED_LABELS)})")
        try:
            n = int(str(raw).strip())
        except ValueError:
            n = 0
        if n < 1:
            raise BadInput("exporter_label_limits", f"limit of {label} must be a positive integer, not {raw!r}")
        out[label] = n
    return out


def _kept(weights: dict[str, list[float]], limit: int) -> set[str] | None:
    """The values to keep (``None``: all of them), ranked by subscribers, then nodes, then name."""
    values = [v for v in weights if v != ""]
    if len(values) <= limit:
        return None
    values.sort(key=lambda v: (-weights[v][0], -weights[v][1], v))
    return set(values[:limit])


def fold_labels(snap: ExporterSnapshot, limits: Mapping[str, int] | None = None) -> ExporterSnapshot:
    """Keep at most ``limits[label]`` distinct values of each bounded label; fold the rest into
    ``"other"`` (rows that become equal are summed) and count the folded values in ``folded``.

    Values are ranked by the subscribers of the rows that carry them (inventory, outages,
    single-homed), then by their nodes, then by name; the empty value (label not used) is always
    kept. Per-element and per-site rows are relabelled the same way, so a dashboard filter on
    ``operator="other"`` finds them.

    Example
    -------
    >>> from datetime import UTC, datetime
    >>> t = datetime(2024, 1, 3, tzinfo=UTC)
    >>> aggs = tuple(Aggregate("subscribers", s, operator=o) for o, s in (("a", 9), ("b", 5), ("c", 1)))
    >>> v = fold_labels(ExporterSnapshot(1, t, t, aggregates=aggs), {"operator": 1})
    >>> [(a.operator, a.value) for a in v.aggregates], v.folded["operator"]
    ([('a', 9), ('other', 6)], 2)
    """
    limits = {**DEFAULT_LABEL_LIMITS, **(limits or {})}
    weights: dict[str, dict[str, list[float]]] = {lab: {} for lab in BOUNDED_LABELS}

    def weigh(row, subs: float, nodes: float) -> None:
        for lab in BOUNDED_LABELS:
            v = getattr(row, lab, None)
            if v is None:  # OutageGroup has no kind
                continue
            w = weights[lab].setdefault(v, [0.0, 0.0])
            w[0] += subs
            w[1] += nodes

    for a in snap.aggregates:
        weigh(a, a.value if a.metric in _SUBSCRIBER_WEIGHT else 0.0, a.value if a.metric in _NODE_WEIGHT else 0.0)
    for g in snap.outages:
        weigh(g, g.subscribers, g.nodes)
    for row in (*snap.elements, *snap.sites_out):
        weigh(row, 0.0, 0.0)
    kept = {lab: _kept(weights[lab], limits[lab]) for lab in BOUNDED_LABELS}
    folded = {lab: 0 if keep is None else sum(1 for v in weights[lab] if v != "" and v not in keep)
              for lab, keep in kept.items()}
    if not any(folded.values()):
        return replace(snap, folded=folded)

    def fold(label: str, value: str) -> str:
        keep = kept[label]
        return value if keep is None or value == "" or value in keep else OTHER

    def relabel(row):
        changes = {lab: OTHER for lab in BOUNDED_LABELS
                   if hasattr(row, lab) and fold(lab, getattr(row, lab)) != getattr(row, lab)}
        return replace(row, **changes) if changes else row

    sums: dict[tuple, float] = {}
    for a in snap.aggregates:  # rows that become equal are summed
        k = (a.metric, fold("operator", a.operator), fold("prefecture", a.prefecture),
             fold("municipality", a.municipality), fold("kind", a.kind), a.state, a.cause, a.horizon_hours)
        sums[k] = sums.get(k, 0) + a.value
    aggregates = tuple(Aggregate(m, v, op, pref, muni, kind, state, cause, h)
                       for (m, op, pref, muni, kind, state, cause, h), v in sums.items())
    counts: dict[tuple, list[int]] = {}
    for g in snap.outages:
        k = (g.cause, g.root_cause, fold("operator", g.operator), fold("prefecture", g.prefecture),
             fold("municipality", g.municipality))
        c = counts.setdefault(k, [0, 0])
        c[0] += g.nodes
        c[1] += g.subscribers
    outages = tuple(OutageGroup(*k, n, subs) for k, (n, subs) in counts.items())
    return replace(snap, aggregates=aggregates, outages=outages,
                   elements=tuple(relabel(e) for e in snap.elements),
                   sites_out=tuple(relabel(s) for s in snap.sites_out), folded=folded)
