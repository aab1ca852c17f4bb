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

A row of ``snapshot_elements`` is stored once for the run of snapshots it stays the same in: it
belongs to every snapshot ``sid`` with ``snapshot_id <= sid`` and (``until_snapshot_id`` NULL or
``> sid``) (:func:`elements_in`). A write closes the open rows that changed or vanished and
inserts only the new and changed ones.

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

import numpy as np
import pandas as pd
from sqlalchemy import (
    Column,
    MetaData,
    String,
    Table,
    and_,
    delete,
    desc,
    func,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.sql.elements import ColumnElement

from resilience.store.repo import _read_table, bulk_insert, indexes_built_after
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
    "elements_in",
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


def elements_in(snapshot_id: int) -> ColumnElement[bool]:
    """The condition on ``snapshot_elements`` rows that belong to snapshot ``snapshot_id``.

    Example
    -------
    >>> print(elements_in(7))  # doctest: +NORMALIZE_WHITESPACE
    snapshot_elements.snapshot_id <= :snapshot_id_1 AND (snapshot_elements.until_snapshot_id IS NULL
    OR snapshot_elements.until_snapshot_id > :until_snapshot_id_1)
    """
    e = snapshot_elements.c
    return and_(e.snapshot_id <= snapshot_id,
                or_(e.until_snapshot_id.is_(None), e.until_snapshot_id > snapshot_id))


_KEY = ["element_type", "element_id"]
# the keys of the open rows a write closes (dropped at the end of the write, or its rollback)
_CLOSED = Table("snapshot_elements_closed", MetaData(), Column("element_type", String(8)),
                Column("element_id", String(128)), prefixes=["TEMPORARY"],
                postgresql_on_commit="DROP")


def _same_rows(old: pd.DataFrame, new: pd.DataFrame) -> np.ndarray | None:
    """For each row of ``old`` then ``new``: is the same row (every column equal, missing values
    equal) in the other frame? ``None`` when an (element_type, element_id) is twice in one.

    Example
    -------
    >>> old = pd.DataFrame({"element_type": ["node", "link"], "element_id": ["A", "A"], "n": [1, 2]})
    >>> new = pd.DataFrame({"element_type": ["link", "node"], "element_id": ["A", "B"], "n": [2, 1]})
    >>> _same_rows(old, new).tolist()
    [False, True, True, False]
    """
    n = len(old)
    key = np.zeros(n + len(new), dtype=np.int64)
    for c in _KEY:  # the key's codes, dense
        codes, uniques = pd.factorize(pd.concat([old[c], new[c]], ignore_index=True), use_na_sentinel=False)
        key = pd.factorize(key * (len(uniques) + 1) + codes)[0]
    if pd.Series(key[:n]).duplicated().any() or pd.Series(key[n:]).duplicated().any():
        return None
    where = np.full(int(key.max(initial=0)) + 1, -1, dtype=np.int64)
    where[key[:n]] = np.arange(n)
    match = where[key[n:]]  # the old row of each new row's key, -1: none
    has = np.flatnonzero(match >= 0)
    equal = np.ones(len(has), dtype=bool)
    for c in old.columns.difference(_KEY):
        a = old[c].take(match[has]).reset_index(drop=True)
        b = new[c].take(has).reset_index(drop=True)
        equal &= ((a == b).fillna(False) | (a.isna() & b.isna())).to_numpy(dtype=bool)
    same_new = np.zeros(len(new), dtype=bool)
    same_new[has[equal]] = True
    same_old = np.zeros(n, dtype=bool)
    same_old[match[has[equal]]] = True
    return np.concatenate([same_old, same_new])


def _write_elements(conn: Connection, sid: int, elements: pd.DataFrame | None,
                    previous: tuple[int, pd.DataFrame] | None) -> None:
    """Store snapshot ``sid``'s elements: close the open rows that changed or vanished (their
    ``until_snapshot_id`` becomes ``sid``), insert the new and changed rows as open ones.

    The open rows are the rows of the newest snapshot before ``sid``: ``previous`` (that
    snapshot's id and elements, as the watch keeps them) when it is still the newest, else read.
    """
    new = _child_frame(elements, ELEMENT_COLUMNS, sid).drop(columns="snapshot_id")
    e = snapshot_elements.c
    newest = conn.execute(select(func.max(snapshots.c.id)).where(snapshots.c.id < sid)).scalar()
    if previous is not None and newest is not None and previous[0] == newest:
        old = _child_frame(previous[1], ELEMENT_COLUMNS, 0).drop(columns="snapshot_id")
    else:
        old = _read_table(conn, snapshot_elements.name, "until_snapshot_id IS NULL")[ELEMENT_COLUMNS]
    same = _same_rows(old, new) if len(old) else None
    if same is not None:  # a row in both (every column equal) stays as it is
        gone, new = old[~same[: len(old)]], new[~same[len(old):]]
        if len(gone):  # one UPDATE driven by the keys, through a temporary table
            _CLOSED.create(conn)
            bulk_insert(conn, _CLOSED.name, gone[_KEY])
            closed = select(_CLOSED.c.element_type, _CLOSED.c.element_id)
            conn.execute(snapshot_elements.update()
                         .where(e.until_snapshot_id.is_(None), tuple_(e.element_type, e.element_id).in_(closed))
                         .values(until_snapshot_id=sid))
            _CLOSED.drop(conn)
    elif len(old):
        conn.execute(snapshot_elements.update().where(e.until_snapshot_id.is_(None))
                     .values(until_snapshot_id=sid))
    new.insert(0, "snapshot_id", sid)
    # The first snapshot into an empty table builds the indexes after its rows. The writer holds
    # the table (PostgreSQL: the lock in write_snapshot; SQLite: the database's write lock).
    empty = len(old) == 0 and conn.execute(select(e.snapshot_id).limit(1)).first() is None
    with indexes_built_after(conn, snapshot_elements, len(new), empty=empty):
        bulk_insert(conn, snapshot_elements.name, new)  # until_snapshot_id NULL: open


def write_snapshot(engine: Engine, snap: Snapshot, *, keep: int = DEFAULT_KEEP,
                   previous: tuple[int, pd.DataFrame] | None = None) -> int:
    """Insert a snapshot and its rows in one transaction; then keep the newest ``keep`` snapshots.

    Element rows that did not change since the newest stored snapshot are not written again.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Tables of :mod:`resilience.store.tables` must exist.
    snap : Snapshot
        From :func:`~resilience.analysis.snapshot.compute_snapshot`.
    keep : int
        Snapshots kept after this one is added (older ones and their rows are deleted).
    previous : tuple of (int, pandas.DataFrame), optional
        The id and ``elements`` of a snapshot this process stored before: when it is still the
        newest, its elements are compared with the new ones instead of reading the stored rows.

    Returns
    -------
    int
        The new ``snapshots.id`` (also set on ``snap.id``).
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # one writer at a time, ids in commit order (SQLite's
            # writer holds the database lock from its insert on)
            conn.execute(text("LOCK TABLE snapshot_elements IN SHARE ROW EXCLUSIVE MODE"))
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
        _write_elements(conn, sid, snap.elements, previous)
        for table, frame in (
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
    if ids:
        for t in _CHILDREN[1:]:
            conn.execute(delete(t).where(t.c.snapshot_id.in_(ids)))
        conn.execute(delete(snapshots).where(snapshots.c.id.in_(ids)))
    # element rows no kept snapshot sees (rows still seen stay, even if their first one is gone)
    oldest = conn.execute(select(func.min(snapshots.c.id))).scalar()
    e = snapshot_elements.c
    gone = delete(snapshot_elements)
    conn.execute(gone if oldest is None else gone.where(e.until_snapshot_id <= oldest))


def _frame(conn: Connection, table: Any, cols: list[str], where: Any, order: Any = None) -> pd.DataFrame:
    q = select(*[table.c[c] for c in cols]).where(where)

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
            ELEMENT_COLUMNS,
            elements_in(sid),
            order=(desc(el.subscribers_lost), desc(el.nodes_lost), el.element_type, el.element_id),
        )
        srlgs = _frame(
            conn,
            snapshot_srlgs,
            SRLG_COLUMNS,
            snapshot_srlgs.c.snapshot_id == sid,
            order=(desc(snapshot_srlgs.c.subscribers_lost), snapshot_srlgs.c.srlg),
        )
        nodes_out = _frame(
            conn, snapshot_nodes_out, NODES_OUT_COLUMNS, snapshot_nodes_out.c.snapshot_id == sid,
            order=(snapshot_nodes_out.c.node_id,)
        )
        aggregates = _frame(conn, snapshot_aggregates, AGGREGATE_COLUMNS,
                            snapshot_aggregates.c.snapshot_id == sid)
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
