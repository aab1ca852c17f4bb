"""The analysis snapshot's shape: the one definition its writers and readers derive from.

A snapshot is one analysis of the network state: a few totals and four frames. This module is
domain vocabulary (like :mod:`resilience.topology.model`): it says what a snapshot holds, not
how it is computed (:func:`resilience.analysis.snapshot.compute_snapshot`) nor how it is stored
(:mod:`resilience.store.snapshots`). Everything that spells the shape derives it from here:

- :class:`Snapshot`, the in-memory snapshot the analysis returns and the store reads back;
- the frames' columns, their types and defaults (:data:`ELEMENTS`, :data:`SRLGS`,
  :data:`NODES_OUT`, :data:`AGGREGATES`; their names as :data:`ELEMENT_COLUMNS`, ...);
- the ``snapshot_*`` tables of :mod:`resilience.store.tables` (columns from :class:`FrameColumn`);
- the exporter's records (:meth:`SnapshotFrame.record`) and the report's
  :class:`~resilience.reports.report.SnapshotView` (empty frames from :meth:`SnapshotFrame.empty`).

The frames:

- ``elements``   (``snapshot_elements``) every single point of failure: nodes whose blast radius
  holds another node, links whose radius holds any node; ``kind`` is the node kind or the link
  medium, the location columns of a link are those of its downstream end.
- ``srlgs``      (``snapshot_srlgs``) every shared-risk group with its blast radius, its hidden
  part (``hidden_nodes``, ``hidden_subscribers``: the nodes it cuts that are not single-homed)
  and the ``hidden`` flag (the hidden part is not empty).
- ``nodes_out``  (``snapshot_nodes_out``) every out node with cause, root cause and upstream.
- ``aggregates`` (``snapshot_aggregates``) long format, one row per (metric, label set); metric
  names and their label sets are in :data:`AGGREGATE_METRICS`; unused labels are ``""`` and
  ``horizon_hours`` is 0 outside forecasts.

Migrations are history: Alembic migration ``0001_initial_schema`` (and the later ones) stay as
they were written, spelling the columns of their day; only the current tables derive from here.

Example
-------
>>> ELEMENT_COLUMNS[:4]
['element_type', 'element_id', 'nodes_lost', 'subscribers_lost']
>>> NODES_OUT["upstream"].nullable, AGGREGATES["kind"].default
(True, '')
>>> list(SRLGS.empty().columns) == SRLG_COLUMNS
True
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, make_dataclass
from datetime import datetime
from typing import Any

import pandas as pd

__all__ = [
    "FrameColumn",
    "SnapshotFrame",
    "Snapshot",
    "ELEMENTS",
    "SRLGS",
    "NODES_OUT",
    "AGGREGATES",
    "SNAPSHOT_FRAMES",
    "ELEMENT_COLUMNS",
    "SRLG_COLUMNS",
    "NODES_OUT_COLUMNS",
    "AGGREGATE_COLUMNS",
    "AGGREGATE_METRICS",
    "REQUIRED",
]

class _Required:
    """The default of a column that every row must give (see :data:`REQUIRED`)."""

    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of a column that every row must give.
REQUIRED: Any = _Required()

#: Python type of each column type.
_PYTHON_TYPES: dict[str, type] = {"str": str, "int32": int, "int64": int, "float": float, "bool": bool}


@dataclass(frozen=True, slots=True)
class FrameColumn:
    """One column of a snapshot frame.

    Attributes
    ----------
    name : str
    dtype : {"str", "int32", "int64", "float", "bool"}
        ``int64`` for counts that can pass 2**31 (subscribers), ``int32`` for node counts.
    length : int or None
        Characters a ``str`` column holds (ids and labels).
    nullable : bool
        The value may be missing (``None``; ``NaN`` for floats).
    default
        The value when none is given (``""`` for an unused label); :data:`REQUIRED`: every row gives it.

    Example
    -------
    >>> FrameColumn("links", "int32").python_type
    <class 'int'>
    """

    name: str
    dtype: str
    length: int | None = None
    nullable: bool = False
    default: Any = REQUIRED

    @property
    def python_type(self) -> Any:
        """The type of one value (``T | None`` when nullable)."""
        t = _PYTHON_TYPES[self.dtype]
        return t | None if self.nullable else t

    @property
    def required(self) -> bool:
        """No default: every row gives it."""
        return self.default is REQUIRED and not self.nullable


@dataclass(frozen=True)
class SnapshotFrame:
    """One frame of the snapshot: its :class:`Snapshot` attribute, its table and its columns.

    Example
    -------
    >>> ELEMENTS.name, ELEMENTS.table, len(ELEMENTS.columns)
    ('elements', 'snapshot_elements', 8)
    """

    name: str
    table: str
    columns: tuple[FrameColumn, ...]

    @property
    def names(self) -> list[str]:
        """The column names, in frame order."""
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> FrameColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def __iter__(self) -> Iterator[FrameColumn]:
        return iter(self.columns)

    def empty(self) -> pd.DataFrame:
        """A frame with these columns and no row.

        Example
        -------
        >>> list(NODES_OUT.empty().columns)[:3]
        ['node_id', 'cause', 'root_cause']
        """
        return pd.DataFrame(columns=self.names)

    def typed(self, df: pd.DataFrame) -> pd.DataFrame:
        """The frame with the column types of the contract (as a database hands values back):
        integers as ``int64``, flags as ``bool``, floats as ``float``, a missing value of a
        nullable text column as ``None``. Changes ``df`` in place and returns it.

        Example
        -------
        >>> df = NODES_OUT.typed(pd.DataFrame([["A", "power", 1, float("nan"), "core", "o", "p",
        ...                                     "m", "12", 37.0, 137.0]], columns=NODES_OUT_COLUMNS))
        >>> df["root_cause"].tolist(), df["upstream"].tolist(), df["subscribers"].tolist()
        ([True], [None], [12])
        """
        for c in self.columns:
            if c.dtype in ("int32", "int64"):
                df[c.name] = df[c.name].astype("int64")
            elif c.dtype == "bool":
                df[c.name] = df[c.name].astype(bool)
            elif c.dtype == "float":
                df[c.name] = df[c.name].astype(float)
            elif c.nullable:
                df[c.name] = pd.Series([None if pd.isna(x) else x for x in df[c.name]],
                                       dtype=object, index=df.index)
        return df

    def record(
        self,
        name: str,
        doc: str,
        *,
        module: str,
        defaults: Mapping[str, Any] | None = None,
        extra: Sequence[tuple[str, Any, Any]] = (),
    ) -> type:
        """A frozen record type (dataclass with slots) with one field per column.

        Fields without a default come first, each group in frame order, so a record can be
        built positionally; ``defaults`` overrides a column's default, ``extra`` adds
        ``(name, type, default)`` fields after the columns.

        Example
        -------
        >>> Group = SRLGS.record("Group", "A shared-risk group.", module=__name__)
        >>> Group("R1", 2, 3, 40, True)
        Group(srlg='R1', links=2, nodes_lost=3, subscribers_lost=40, hidden=True, hidden_nodes=0, hidden_subscribers=0)
        """
        defaults = dict(defaults or {})
        specs = []
        for c in self.columns:
            d = defaults.pop(c.name, None if c.nullable and c.default is REQUIRED else c.default)
            specs.append((c.name, c.python_type, d))
        if defaults:
            raise KeyError(f"not columns of {self.name}: {sorted(defaults)}")
        specs = [s for s in specs if s[2] is REQUIRED] + [s for s in specs if s[2] is not REQUIRED]
        specs += list(extra)
        cls = make_dataclass(
            name,
            [(n, t) if d is REQUIRED else (n, t, field(default=d)) for n, t, d in specs],
            frozen=True,
            slots=True,
        )
        cls.__module__ = module
        cls.__doc__ = doc
        return cls


_ID = 128  # characters of an element id or a free-text label (operator, prefecture, ...)

ELEMENTS = SnapshotFrame("elements", "snapshot_elements", (
    FrameColumn("element_type", "str", 8),  # node | link
    FrameColumn("element_id", "str", _ID),
    FrameColumn("nodes_lost", "int32"),
    FrameColumn("subscribers_lost", "int64"),
    FrameColumn("kind", "str", 32, default=""),  # node kind, or link medium
    FrameColumn("operator", "str", _ID, default=""),
    FrameColumn("prefecture", "str", _ID, default=""),
    FrameColumn("municipality", "str", _ID, default=""),
))

SRLGS = SnapshotFrame("srlgs", "snapshot_srlgs", (
    FrameColumn("srlg", "str", _ID),
    FrameColumn("links", "int32"),
    FrameColumn("nodes_lost", "int32"),
    FrameColumn("subscribers_lost", "int64"),
    FrameColumn("hidden", "bool"),  # hidden_nodes > 0
    # the nodes of its blast radius that no single element cuts off (not single-homed);
    # 0 in snapshots written before the hidden part was counted
    FrameColumn("hidden_nodes", "int32", default=0),
    FrameColumn("hidden_subscribers", "int64", default=0),
))

NODES_OUT = SnapshotFrame("nodes_out", "snapshot_nodes_out", (
    FrameColumn("node_id", "str", _ID),
    FrameColumn("cause", "str", 32),  # power|backhaul|power+backhaul|equipment|unknown
    FrameColumn("root_cause", "bool"),  # False when an upstream outage explains it
    FrameColumn("upstream", "str", _ID, nullable=True),  # nearest upstream element out, if any
    FrameColumn("kind", "str", 32, default=""),
    FrameColumn("operator", "str", _ID, default=""),
    FrameColumn("prefecture", "str", _ID, default=""),
    FrameColumn("municipality", "str", _ID, default=""),
    FrameColumn("subscribers", "int64", default=0),
    FrameColumn("lat", "float", nullable=True),
    FrameColumn("lon", "float", nullable=True),
))

AGGREGATES = SnapshotFrame("aggregates", "snapshot_aggregates", (
    FrameColumn("metric", "str", 64),  # a key of AGGREGATE_METRICS
    FrameColumn("operator", "str", _ID, default=""),
    FrameColumn("prefecture", "str", _ID, default=""),
    FrameColumn("municipality", "str", _ID, default=""),
    FrameColumn("kind", "str", 32, default=""),
    FrameColumn("state", "str", 16, default=""),
    FrameColumn("cause", "str", 32, default=""),
    FrameColumn("horizon_hours", "float", default=0.0),
    FrameColumn("value", "float"),
))

#: The four frames, in the order they are written.
SNAPSHOT_FRAMES = (ELEMENTS, SRLGS, NODES_OUT, AGGREGATES)

ELEMENT_COLUMNS = ELEMENTS.names
SRLG_COLUMNS = SRLGS.names
NODES_OUT_COLUMNS = NODES_OUT.names
AGGREGATE_COLUMNS = AGGREGATES.names

#: Metric name -> (labels used, description). Each metric always uses the same labels, so summing
#: a metric's rows gives its national total (``summary`` holds the totals too).
AGGREGATE_METRICS: dict[str, tuple[tuple[str, ...], str]] = {
    "nodes": (
        ("operator", "prefecture", "kind", "state"),
        "Nodes in the inventory; state is the latest status (up|down|degraded) or 'unknown'.",
    ),
    "subscribers": (
        ("operator", "prefecture", "kind"),
        "Subscribers (people or lines) served by the nodes of the inventory.",
    ),
    "served_nodes": (
        ("operator", "prefecture"),
        "Nodes with a path to a core node over elements that are up.",
    ),
    "served_subscribers": (("operator", "prefecture"), "Subscribers of the served nodes."),
    "nodes_out": (
        ("operator", "prefecture", "municipality", "cause"),
        "Nodes that are out (down or not served) by cause "
        "(power|backhaul|power+backhaul|equipment|unknown).",
    ),
    "subscribers_out": (
        ("operator", "prefecture", "municipality", "cause"),
        "Subscribers of the out nodes, by cause.",
    ),
    "root_cause_nodes_out": (
        ("operator", "prefecture", "cause"),
        "Out nodes that are root causes (no upstream outage explains them): what to alert on.",
    ),
    "single_homed_nodes": (
        ("operator", "prefecture", "municipality"),
        "Served nodes with at least one single point of failure between them and the core.",
    ),
    "single_homed_subscribers": (
        ("operator", "prefecture", "municipality"),
        "Subscribers of the single-homed nodes.",
    ),
    "articulation_points": (
        ("operator", "prefecture", "kind"),
        "Nodes that are single points of failure (their failure cuts another served node).",
    ),
    "bridges": (
        ("operator", "prefecture", "kind"),
        "Links that are single points of failure (kind = medium; location of the downstream end).",
    ),
    "hidden_srlgs": (
        (),
        "Shared-risk groups with a hidden part: they cut nodes that no single element cuts off.",
    ),
    "spofs_cutting_others": (
        ("operator", "prefecture"),
        "Single points of failure that cut sites other than their own (every node SPOF, and "
        "links cutting more than one node).",
    ),
    "single_homed_sites": (
        ("operator", "prefecture"),
        "Sites that hang on their own access link alone (a link SPOF cutting only that site).",
    ),
    "cores": ((), "Core nodes (roots of the analysis); 0 means every blast radius is 0."),
    "srlgs_cutting": ((), "Shared-risk groups whose failure cuts at least one served node."),
    "forecast_nodes_out": (
        ("operator", "prefecture", "horizon_hours"),
        "Nodes out at the horizon if grid power is not restored (batteries, upstream sites).",
    ),
    "forecast_subscribers_out": (
        ("operator", "prefecture", "horizon_hours"),
        "Subscribers of the nodes out at the horizon if grid power is not restored.",
    ),
}


@dataclass
class Snapshot:
    """One analysis of the network state (see the module docstring for the frames).

    Attributes
    ----------
    as_of : datetime
        The state's time (``G.graph['as_of']``).
    created_at : datetime
        When it was computed.
    total_nodes, total_subscribers, served_nodes, served_subscribers : int
    duration_seconds : float
        Computation time.
    summary : dict
        JSON-ready totals: ``nodes_out``, ``subscribers_out``, ``nodes_out_by_cause``,
        ``root_causes``, ``node_spofs``, ``link_spofs``, ``spofs_cutting_others`` (node SPOFs
        and links cutting more than one node), ``single_homed_sites`` (sites hanging on their
        own access link: links cutting exactly one node), ``single_homed_nodes``,
        ``single_homed_subscribers``, ``srlgs``, ``hidden_srlgs``, ``cores``, ``warnings``
        (one-line :func:`~resilience.analysis.coverage.coverage_warnings`), ``forecast`` (list
        of ``{horizon_hours, nodes_out, subscribers_out}``), ``top_elements`` (the ``top_n``
        largest SPOFs as dicts of ``elements`` rows), ``top_n``.
    elements, srlgs, nodes_out, aggregates : pandas.DataFrame
        The frames :data:`ELEMENTS`, :data:`SRLGS`, :data:`NODES_OUT`, :data:`AGGREGATES`.
    id : int or None
        ``snapshots.id`` once stored.
    status : str

    Example
    -------
    >>> from datetime import UTC, datetime
    >>> t = datetime(2024, 1, 3, tzinfo=UTC)
    >>> s = Snapshot(t, t, 2, 10, 2, 10, 0.0, {}, *(f.empty() for f in SNAPSHOT_FRAMES))
    >>> s.status, len(s.nodes_out)
    ('complete', 0)
    """

    as_of: datetime
    created_at: datetime
    total_nodes: int
    total_subscribers: int
    served_nodes: int
    served_subscribers: int
    duration_seconds: float
    summary: dict[str, Any]
    elements: pd.DataFrame
    srlgs: pd.DataFrame
    nodes_out: pd.DataFrame
    aggregates: pd.DataFrame
    id: int | None = None
    status: str = "complete"
    extra: dict[str, Any] = field(default_factory=dict)
