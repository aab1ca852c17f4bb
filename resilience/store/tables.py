"""SQLAlchemy tables: current state, transitions-only history, feed archive, quarantine, snapshots.

Current-state tables (``node_status``, ``link_status``, ``power_status``) hold one row per
element; the ``*_history`` tables get a row only when a state actually changes, so a national
feed every five minutes stays small. Each current-state row carries ``seq``, the value of the
one-row counter ``status_seq`` taken by the status ingest that last wrote it, so a long-running
reader can fetch only the rows changed since its last read
(:func:`resilience.store.repo.load_state_changes`). Snapshot tables are keyed by
``snapshot_id``, derive their columns from :mod:`resilience.topology.snapshot` and are written in
one transaction; readers take the latest row of ``snapshots``
with ``status = 'complete'``.

Example
-------
>>> from resilience.store.tables import metadata
>>> sorted(metadata.tables)[:3]
['feed_files', 'inventory_changes', 'link_status']
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    event,
)

from resilience.topology.snapshot import (
    AGGREGATES,
    ELEMENTS,
    NODES_OUT,
    REQUIRED,
    SRLGS,
    FrameColumn,
    SnapshotFrame,
)

__all__ = [
    "metadata",
    "feed_files",
    "nodes",
    "links",
    "node_status",
    "node_status_history",
    "link_status",
    "link_status_history",
    "power_status",
    "power_status_history",
    "status_seq",
    "quarantine",
    "inventory_changes",
    "snapshots",
    "snapshot_elements",
    "snapshot_srlgs",
    "snapshot_nodes_out",
    "snapshot_aggregates",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)



class Timestamp(TypeDecorator):
    """An aware UTC instant: ``timestamptz`` on PostgreSQL, integer microseconds since the epoch
    on SQLite (compact, compared as numbers, written in bulk without string formatting).

    >>> Timestamp().process_bind_param(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), _SQLITE)
    1000000
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware times only")
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class _SqliteDialect:
    name = "sqlite"


_SQLITE = _SqliteDialect()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TS = Timestamp()

feed_files = Table(
    "feed_files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("path", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("ingested_at", TS, nullable=False),
)

nodes = Table(
    "nodes",
    metadata,
    Column("node_id", String(128), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("operator", String(128), nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("lat", Float),
    Column("lon", Float),
    Column("prefecture", String(128), nullable=False, default=""),
    Column("municipality", String(128), nullable=False, default=""),
    Column("subscribers", BigInteger, nullable=False, default=0),
    Column("battery_hours", Float, nullable=False, default=0.0),
    Column("power_feed", String(128), nullable=False, default=""),
    # Who defines the node: feed:<operator> (CSV / JSON Lines) or graphml:<namespace>/<network>
    # ('' = unknown: adopted by the next delivery). See docs/recovery.md.
    Column("source", String(200), nullable=False, server_default=""),
)

links = Table(
    "links",
    metadata,
    Column("link_id", String(128), primary_key=True),
    Column("a", String(128), nullable=False),  # no index: no query looks a link up by an end (0007)
    Column("b", String(128), nullable=False),
    Column("medium", String(32), nullable=False),
    Column("capacity_mbps", Float),
    Column("srlg", Text, nullable=False, default=""),  # ';'-separated group ids
    Column("source", String(200), nullable=False, server_default=""),  # as nodes.source
)

node_status = Table(
    "node_status",
    metadata,
    Column("node_id", String(128), primary_key=True),
    Column("observed_at", TS, nullable=False),
    Column("state", String(16), nullable=False),
    Column("power", String(16), nullable=False),
    Column("battery_remaining_min", Float),
    Column("seq", BigInteger, nullable=False, server_default="0", index=True),
)

node_status_history = Table(
    "node_status_history",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("node_id", String(128), nullable=False),
    Column("observed_at", TS, nullable=False),
    Column("state", String(16), nullable=False),
    Column("power", String(16), nullable=False),
    Column("battery_remaining_min", Float),
    Column("file_sha256", String(64)),
    Index("ix_node_status_history_node_time", "node_id", "observed_at"),
)

link_status = Table(
    "link_status",
    metadata,
    Column("link_id", String(128), primary_key=True),
    Column("observed_at", TS, nullable=False),
    Column("state", String(16), nullable=False),
    Column("seq", BigInteger, nullable=False, server_default="0", index=True),
)

link_status_history = Table(
    "link_status_history",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("link_id", String(128), nullable=False),
    Column("observed_at", TS, nullable=False),
    Column("state", String(16), nullable=False),
    Column("file_sha256", String(64)),
    Index("ix_link_status_history_link_time", "link_id", "observed_at"),
)

power_status = Table(
    "power_status",
    metadata,
    Column("power_feed", String(128), primary_key=True),
    Column("observed_at", TS, nullable=False),
    Column("state", String(8), nullable=False),
    Column("expected_restore_at", TS),
    Column("seq", BigInteger, nullable=False, server_default="0", index=True),
)

power_status_history = Table(
    "power_status_history",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("power_feed", String(128), nullable=False),
    Column("observed_at", TS, nullable=False),
    Column("state", String(8), nullable=False),
    Column("expected_restore_at", TS),
    Column("file_sha256", String(64)),
    Index("ix_power_status_history_feed_time", "power_feed", "observed_at"),
)

# The change sequence of the current state: one row (id 1), incremented by every status ingest
# (resilience.store.repo.apply_status) in its own transaction; its value stamps the
# ``seq`` of the current-state rows that ingest wrote.
status_seq = Table(
    "status_seq",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False),
)
# Its one row, also for a schema made with ``metadata.create_all`` (migration 0002 inserts it too).
event.listen(status_seq, "after_create", DDL("INSERT INTO status_seq (id, value) VALUES (1, 0)"))

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("file_sha256", String(64), index=True),
    Column("path", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("line", Integer),  # 1-based line in the file (header is line 1 for CSV)
    Column("field", String(128)),
    Column("value", Text),
    Column("rule", String(128), nullable=False),  # e.g. expect_column_values_to_be_in_set
    Column("reason", Text, nullable=False),
    Column("created_at", TS, nullable=False),
    # The whole record (JSON of the row's fields; NULL when the row could not be split into
    # fields) and the part of the file it came from (nodes, links, node_status, ...), so that
    # `resilience quarantine retry` can validate it again. A row is never deleted: a retry that
    # stores it marks it resolved.
    Column("row_kind", String(32)),
    Column("record", Text),
    Column("status", String(16), nullable=False, server_default="open"),  # open | resolved
    Column("resolved_at", TS),
    Column("resolution", Text),  # how: "stored by quarantine retry", "superseded by ingest --force"
    Column("retries", Integer, nullable=False, server_default="0"),
    Column("retried_at", TS),
    Index("ix_quarantine_status", "status"),
)

# Changes of existing inventory elements, one row per changed field: by a delivery (origin
# ``ingest``), by ``resilience inventory set-kind`` (``set-kind``) or a quarantine retry
# (``retry``). ``source`` is the element's source after the change.
inventory_changes = Table(
    "inventory_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("element_type", String(8), nullable=False),  # node | link
    Column("element_id", String(128), nullable=False),
    Column("field", String(64), nullable=False),
    Column("old_value", Text),
    Column("new_value", Text),
    Column("source", String(200), nullable=False),
    Column("origin", String(32), nullable=False),
    Column("file_sha256", String(64)),
    Column("changed_at", TS, nullable=False),
    Index("ix_inventory_changes_element", "element_type", "element_id"),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", TS, nullable=False),
    Column("as_of", TS, nullable=False),
    Column("status", String(16), nullable=False, default="complete"),
    Column("total_nodes", Integer, nullable=False),
    Column("total_subscribers", BigInteger, nullable=False),
    Column("served_nodes", Integer, nullable=False),
    Column("served_subscribers", BigInteger, nullable=False),
    Column("duration_seconds", Float),
    Column("summary_json", Text, nullable=False, default="{}"),
)

# The snapshot child tables carry no foreign key: their rows are written only by
# resilience.store.snapshots.write_snapshot, in the transaction that inserts their snapshots row,
# and deleted only by its pruning, children first. A foreign key would add a per-row check:
# 2.3 s for the 777k SPOF rows of a 1M-site snapshot on PostgreSQL (the whole COPY takes 0.8 s).

# The snapshot child tables derive from the snapshot's one definition,
# resilience.topology.snapshot (one column per frame column, after ``snapshot_id``):
# snapshot_elements  every node whose blast radius holds another node, every link whose blast
#                    radius holds any node (the single points of failure);
# snapshot_srlgs     every shared-risk group with its blast radius and hidden part;
# snapshot_nodes_out every node that is out (down, or not served) with its cause;
# snapshot_aggregates long-format aggregates with bounded labels, one row per (metric, label
#                    set); metric names in resilience.topology.snapshot.AGGREGATE_METRICS.
_SQL_TYPES = {"int32": Integer, "int64": BigInteger, "float": Float, "bool": Boolean}


def _column(col: FrameColumn, server_default: str | None = None) -> Column:
    """The table column of a snapshot frame column."""
    sql_type = String(col.length) if col.dtype == "str" else _SQL_TYPES[col.dtype]()
    kwargs = {} if col.default is REQUIRED else {"default": col.default}
    return Column(col.name, sql_type, nullable=col.nullable, server_default=server_default, **kwargs)


def _snapshot_table(frame: SnapshotFrame, *indexes: Index,
                    server_defaults: dict[str, str] | None = None) -> Table:
    """The table of a snapshot frame: ``snapshot_id`` (``snapshots.id``, see above), then the
    frame's columns."""
    server_defaults = server_defaults or {}
    return Table(
        frame.table,
        metadata,
        Column("snapshot_id", Integer, nullable=False),
        *(_column(c, server_defaults.get(c.name)) for c in frame.columns),
        *indexes,
    )


def _one_snapshot(context: Any) -> int:
    """``until_snapshot_id`` of a row inserted without one: it belongs to its snapshot only."""
    return int(context.get_current_parameters()["snapshot_id"]) + 1


# A row of snapshot_elements belongs to every snapshot ``sid`` with ``snapshot_id <= sid`` and
# (``until_snapshot_id`` NULL or ``> sid``): an unchanged single point of failure is stored once
# for the snapshots it stays the same in (resilience.store.snapshots.write_snapshot). Open rows
# (NULL) belong to the newest snapshot; at most one open row per (element_type, element_id).
snapshot_elements = _snapshot_table(ELEMENTS)
snapshot_elements.append_column(
    Column("until_snapshot_id", Integer, nullable=True, default=_one_snapshot))
Index("ix_snapshot_elements_until_subs", snapshot_elements.c.until_snapshot_id,
      snapshot_elements.c.subscribers_lost)
Index("ix_snapshot_elements_key", snapshot_elements.c.element_type, snapshot_elements.c.element_id,
      snapshot_elements.c.until_snapshot_id)
# hidden_nodes / hidden_subscribers came with migration 0004: rows older than it read 0.
snapshot_srlgs = _snapshot_table(
    SRLGS, Index("ix_snapshot_srlgs_snap", "snapshot_id"),
    server_defaults={"hidden_nodes": "0", "hidden_subscribers": "0"})
snapshot_nodes_out = _snapshot_table(NODES_OUT, Index("ix_snapshot_nodes_out_snap", "snapshot_id"))
snapshot_aggregates = _snapshot_table(
    AGGREGATES, Index("ix_snapshot_aggregates_snap_metric", "snapshot_id", "metric"))
