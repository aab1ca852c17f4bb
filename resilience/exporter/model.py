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

from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
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


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One row of ``snapshot_aggregates``: a metric name, its bounded labels and a value."""

    metric: str
    value: float
    operator: str = ""
    prefecture: str = ""
    municipality: str = ""
    kind: str = ""
    state: str = ""
    cause: str = ""
    horizon_hours: float = 0.0


@dataclass(frozen=True, slots=True)
class Element:
    """One of the top elements (node or link) by blast radius."""

    element_type: str
    element_id: str
    nodes_lost: int
    subscribers_lost: int
    kind: str = ""
    operator: str = ""
    prefecture: str = ""
    municipality: str = ""


@dataclass(frozen=True, slots=True)
class SharedRiskGroup:
    """A shared-risk link group whose failure cuts nodes."""

    srlg: str
    links: int
    nodes_lost: int
    subscribers_lost: int
    hidden: bool


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


@dataclass(frozen=True, slots=True)
class SiteOut:
    """One site that is out (only the first ``max_sites_out`` are exported)."""

    node_id: str
    cause: str
    root_cause: bool
    upstream: str
    kind: str
    operator: str
    prefecture: str
    municipality: str
    subscribers: int
    lat: float | None = None
    lon: float | None = None
    root: str = ""  # the root-cause element this outage depends on (itself if root_cause)


@dataclass(frozen=True, slots=True)
class RootOutage:
    """A root outage (an out site that is a root cause, or a cut link) and what it explains."""

    root: str
    root_type: str  # node | link
    nodes: int
    subscribers: int


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

    @property
    def served_ratio(self) -> float:
        """Served subscribers over all subscribers (0 when there are none)."""
        return self.served_subscribers / self.total_subscribers if self.total_subscribers else 0.0

    @property
    def token(self) -> tuple:
        """Identifies the content: the snapshot id and the ingest counters' version."""
        return (self.id, self.ingest.last_ingest_timestamp, sum(self.ingest.files.values()))
