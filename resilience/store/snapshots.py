"""Store analysis snapshots (one transaction each) and read the latest one back.

Readers (the Prometheus exporter, the HTML reports, the CLI) call :func:`latest_snapshot` and get
the same :class:`~resilience.topology.snapshot.Snapshot` that :func:`write_snapshot` stored:

- scalar fields from the ``snapshots`` row (``id``, ``as_of``, ``created_at`` as aware UTC
  datetimes, totals, ``duration_seconds``, ``status``) and ``summary`` parsed from
  ``summary_json``;
- ``elements``, ``srlgs``, ``nodes_out``, ``aggregates`` DataFrames with exactly the columns
  ``ELEMENT_COLUMNS``, ``SRLG_COLUMNS``, ``NODES_OUT_COLUMNS``, ``AGGREGATE_COLUMNS`` and the
  column types of :mod:`resilience.topology.snapshot` (``elements`` ordered by
  ``subscribers_lost`` descending).

A snapshot is written in one transaction, so readers keep seeing the previous one until it
commits; older snapshots beyond ``keep`` are pruned in the same transaction.

Example
-------
>>> import networkx as nx
>>> from sqlalchemy import create_engine
>>> from resilience.store.tables import metadata
>>> from resilience.analysis.snapshot import compute_snapshot
>>> engine = create_engine("sqlite://"); metadata.create_all(engine)
>>> G = nx.MultiGraph([("C", "B", "L1")]); G.nodes["C"]["kind"] = "core"
>>> sid = write_snapshot(engine, compute_snapshot(G))
>>> latest_snapshot(engine).id == sid
True
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import delete, desc, func, select
from sqlalchemy.engine import Connection, Engine, RowMapping

from resilience.store.repo import bulk_insert
from resilience.store.tables import (
    snapshot_aggregates,
    snapshot_elements,
    snapshot_nodes_out,
    snapshot_srlgs,
    snapshots,
)
from resilience.timestamps import as_utc
from resilience.topology.snapshot import (
    AGGREGATE_COLUMNS,
    AGGREGATES,
    ELEMENT_COLUMNS,
    ELEMENTS,
    NODES_OUT,
    NODES_OUT_COLUMNS,
    SRLG_COLUMNS,
    SRLGS,
    Snapshot,
)

__all__ = [
    "write_snapshot",
    "latest_snapshot",
    "read_snapshot",
    "previous_complete_snapshot_id",
    "snapshot_totals_history",
    "nodes_out_by_cause",
    "DEFAULT_KEEP",
]

DEFAULT_KEEP = 48
_CHILDREN = (snapshot_elements, snapshot_srlgs, snapshot_nodes_out, snapshot_aggregates)


def _child_frame(df: pd.DataFrame | None, columns: list[str], sid: int) -> pd.DataFrame:
    """A snapshot child table's rows: ``snapshot_id`` first, the table's own columns after."""
    if df is None or len(df) == 0:
        return pd.DataFrame(columns=["snapshot_id", *columns])
    out = df[list(columns)].copy()
    for c in out.columns:
        if out[c].dtype == bool:
            out[c] = out[c].astype(bool)
    out.insert(0, "snapshot_id", sid)
    return out


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, datetime):
        return o.isoformat()
    return str(o)


def write_snapshot(engine: Engine, snap: Snapshot, *, keep: int = DEFAULT_KEEP) -> int:
    """Insert a snapshot and its rows in one transaction; then keep the newest ``keep`` snapshots.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Tables of :mod:`resilience.store.tables` must exist.
    snap : Snapshot
        From :func:`~resilience.analysis.snapshot.compute_snapshot`.
    keep : int
        Snapshots kept after this one is added (older ones and their rows are deleted).

    Returns
    -------
    int
        The new ``snapshots.id`` (also set on ``snap.id``).
    """
    with engine.begin() as conn:
        res = conn.execute(
            snapshots.insert().values(
                created_at=snap.created_at,
                as_of=snap.as_of,
                status="complete",
                total_nodes=int(snap.total_nodes),
                total_subscribers=int(snap.total_subscribers),
                served_nodes=int(snap.served_nodes),
                served_subscribers=int(snap.served_subscribers),
                duration_seconds=float(snap.duration_seconds),
                summary_json=json.dumps(snap.summary, default=_json_default),
            )
        )
        sid = int(res.inserted_primary_key[0])
        for table, frame in (
            (snapshot_elements, _child_frame(snap.elements, ELEMENT_COLUMNS, sid)),
            (snapshot_srlgs, _child_frame(snap.srlgs, SRLG_COLUMNS, sid)),
            (snapshot_nodes_out, _child_frame(snap.nodes_out, NODES_OUT_COLUMNS, sid)),
            (snapshot_aggregates, _child_frame(snap.aggregates, AGGREGATE_COLUMNS, sid)),
        ):
            bulk_insert(conn, table.name, frame)
    snap.id = sid
    snap.status = "complete"
    # Housekeeping after the commit, in its own transaction: readers get the new snapshot without
    # waiting for old rows to be deleted, and a failed prune loses nothing (the next write retries).
    with engine.begin() as conn:
        _prune(conn, keep)
    return sid


def _prune(conn: Connection, keep: int) -> None:
    ids = [
        r[0]
        for r in conn.execute(select(snapshots.c.id).order_by(desc(snapshots.c.id)).offset(keep))
    ]
    if not ids:
        return
    for t in _CHILDREN:
        conn.execute(delete(t).where(t.c.snapshot_id.in_(ids)))
    conn.execute(delete(snapshots).where(snapshots.c.id.in_(ids)))


def _frame(conn: Connection, table: Any, sid: int, cols: list[str], order: Any = None) -> pd.DataFrame:
    q = select(*[table.c[c] for c in cols]).where(table.c.snapshot_id == sid)
    if order is not None:
        q = q.order_by(*order)
    rows = conn.execute(q).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=cols)


def read_snapshot(engine: Engine, snapshot_id: int) -> Snapshot | None:
    """The stored snapshot with this id (``None`` if absent)."""
    with engine.connect() as conn:
        row = conn.execute(select(snapshots).where(snapshots.c.id == snapshot_id)).mappings().first()
        if row is None:
            return None
        sid = int(row["id"])
        el = snapshot_elements.c
        elements = _frame(
            conn,
            snapshot_elements,
            sid,
            ELEMENT_COLUMNS,
            order=(desc(el.subscribers_lost), desc(el.nodes_lost), el.element_type, el.element_id),
        )
        srlgs = _frame(
            conn,
            snapshot_srlgs,
            sid,
            SRLG_COLUMNS,
            order=(desc(snapshot_srlgs.c.subscribers_lost), snapshot_srlgs.c.srlg),
        )
        nodes_out = _frame(
            conn, snapshot_nodes_out, sid, NODES_OUT_COLUMNS, order=(snapshot_nodes_out.c.node_id,)
        )
        aggregates = _frame(conn, snapshot_aggregates, sid, AGGREGATE_COLUMNS)
    for frame, df in ((ELEMENTS, elements), (SRLGS, srlgs), (NODES_OUT, nodes_out),
                      (AGGREGATES, aggregates)):
        frame.typed(df)  # the contract's column types, whatever the driver handed back
    return Snapshot(
        as_of=as_utc(row["as_of"]),
        created_at=as_utc(row["created_at"]),
        total_nodes=int(row["total_nodes"]),
        total_subscribers=int(row["total_subscribers"]),
        served_nodes=int(row["served_nodes"]),
        served_subscribers=int(row["served_subscribers"]),
        duration_seconds=float(row["duration_seconds"] or 0.0),
        summary=json.loads(row["summary_json"] or "{}"),
        elements=elements,
        srlgs=srlgs,
        nodes_out=nodes_out,
        aggregates=aggregates,
        id=sid,
        status=str(row["status"]),
    )


def latest_snapshot(engine: Engine) -> Snapshot | None:
    """The newest snapshot with ``status = 'complete'``, or ``None`` when there is none yet."""
    with engine.connect() as conn:
        sid = conn.execute(
            select(snapshots.c.id)
            .where(snapshots.c.status == "complete")
            .order_by(desc(snapshots.c.id))
            .limit(1)
        ).scalar()
    return None if sid is None else read_snapshot(engine, int(sid))


# --- the history of snapshots (the report's "since the previous" and "outage over time") -------


def previous_complete_snapshot_id(conn: Connection, before: int) -> int | None:
    """The id of the newest complete snapshot older than snapshot ``before`` (``None``: none).

    Example
    -------
    >>> from datetime import UTC, datetime
    >>> from sqlalchemy import create_engine
    >>> from resilience.store.tables import metadata
    >>> from resilience.topology.snapshot import SNAPSHOT_FRAMES, Snapshot
    >>> engine = create_engine("sqlite://"); metadata.create_all(engine)
    >>> t0 = datetime(2024, 1, 3, tzinfo=UTC)
    >>> sid = write_snapshot(engine, Snapshot(t0, t0, 1, 5, 1, 5, 0.0, {}, *(f.empty() for f in SNAPSHOT_FRAMES)))
    >>> with engine.connect() as conn:
    ...     previous_complete_snapshot_id(conn, sid), previous_complete_snapshot_id(conn, sid + 1) == sid
    (None, True)
    """
    s = snapshots
    found = conn.execute(
        select(func.max(s.c.id)).where(s.c.status == "complete", s.c.id < before)
    ).scalar()
    return None if found is None else int(found)


def snapshot_totals_history(conn: Connection, *, up_to: int, limit: int) -> list[RowMapping]:
    """The totals of the latest ``limit`` complete snapshots up to snapshot ``up_to``, newest
    first: rows with ``id, as_of, total_nodes, served_nodes, total_subscribers,
    served_subscribers``.

    Example
    -------
    >>> from datetime import UTC, datetime
    >>> from sqlalchemy import create_engine
    >>> from resilience.store.tables import metadata
    >>> from resilience.topology.snapshot import SNAPSHOT_FRAMES, Snapshot
    >>> engine = create_engine("sqlite://"); metadata.create_all(engine)
    >>> t0 = datetime(2024, 1, 3, tzinfo=UTC)
    >>> sid = write_snapshot(engine, Snapshot(t0, t0, 1, 5, 1, 5, 0.0, {}, *(f.empty() for f in SNAPSHOT_FRAMES)))
    >>> with engine.connect() as conn:
    ...     [r["id"] == sid for r in snapshot_totals_history(conn, up_to=sid, limit=10)]
    [True]
    """
    s = snapshots
    return list(conn.execute(
        select(s.c.id, s.c.as_of, s.c.total_nodes, s.c.served_nodes, s.c.total_subscribers,
               s.c.served_subscribers)
        .where(s.c.status == "complete", s.c.id <= up_to)
        .order_by(s.c.id.desc()).limit(limit)
    ).mappings().all())


def nodes_out_by_cause(conn: Connection, snapshot_ids: list[int]) -> list[tuple[int, str, int]]:
    """Out nodes counted per snapshot and cause: ``(snapshot_id, cause, nodes)`` for the
    snapshots ``snapshot_ids`` (none asked: no row).

    Example
    -------
    >>> from datetime import UTC, datetime
    >>> from sqlalchemy import create_engine
    >>> from resilience.store.tables import metadata
    >>> from resilience.topology.snapshot import SNAPSHOT_FRAMES, Snapshot
    >>> engine = create_engine("sqlite://"); metadata.create_all(engine)
    >>> t0 = datetime(2024, 1, 3, tzinfo=UTC)
    >>> sid = write_snapshot(engine, Snapshot(t0, t0, 1, 5, 1, 5, 0.0, {}, *(f.empty() for f in SNAPSHOT_FRAMES)))
    >>> with engine.connect() as conn:
    ...     nodes_out_by_cause(conn, [sid])
    []
    """
    if not snapshot_ids:
        return []
    o = snapshot_nodes_out
    return [tuple(r) for r in conn.execute(
        select(o.c.snapshot_id, o.c.cause, func.count())
        .where(o.c.snapshot_id.in_(snapshot_ids))
        .group_by(o.c.snapshot_id, o.c.cause)
    ).fetchall()]
