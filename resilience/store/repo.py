"""Repository functions: bulk writes of validated feed rows and reads of the current state.

Bulk rows go through a temporary staging table (``COPY`` on PostgreSQL, ``executemany`` on
SQLite), then one set-based statement each updates the current-state table and appends
transitions to history. Callers own the transaction: everything one feed file does happens in
the ``Connection`` they pass, so a file is stored whole or not at all.

Every status ingest stamps the current-state rows it writes with the next value of the change
sequence (``status_seq``), so a long-running reader re-reads only what changed
(:func:`load_state_changes`) instead of the whole state (:func:`load_state`).

Example
-------
>>> from resilience.store.engine import make_engine, migrate
>>> engine = make_engine("sqlite://"); migrate(engine)
>>> with engine.connect() as conn:
...     load_state(conn)["nodes"].shape[0]
0
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Float, Integer, String, func, select, text

from resilience.store import tables as t

__all__ = [
    "known_ids",
    "feed_file_record",
    "record_feed_file",
    "add_quarantine",
    "upsert_nodes",
    "upsert_links",
    "apply_status",
    "load_state",
    "status_seq",
    "load_state_changes",
    "bulk_insert",
    "feed_marks",
    "STATUS_TABLES",
]

_stage_counter = itertools.count()


def known_ids(conn: Connection, table: str) -> pd.Index:
    """All ids of ``nodes`` or ``links`` (for reference checks)."""
    key = {"nodes": "node_id", "links": "link_id"}[table]
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(f"SELECT {key} FROM {table}")
        return pd.Index([r[0] for r in cur.fetchall()], dtype=object)
    finally:
        cur.close()


def feed_file_record(conn: Connection, sha256: str) -> dict | None:
    """The archive record of a file already ingested, or ``None``."""
    row = conn.execute(select(t.feed_files).where(t.feed_files.c.sha256 == sha256)).mappings().first()
    return dict(row) if row else None


def record_feed_file(conn: Connection, *, sha256: str, path: str, kind: str, rows: int,
                     accepted: int, quarantined: int) -> None:
    """Archive the file's sha256 and counts (a second delivery of the same bytes is a no-op)."""
    conn.execute(t.feed_files.insert().values(
        sha256=sha256, path=path, kind=kind, rows=rows, accepted=accepted,
        quarantined=quarantined, ingested_at=datetime.now(UTC)))


def add_quarantine(conn: Connection, *, sha256: str, path: str, kind: str, rejects: Sequence) -> None:
    """Store rejected rows with file, line, field, value and the rule broken."""
    if not rejects:
        return
    now = datetime.now(UTC)
    conn.execute(t.quarantine.insert(), [
        {"file_sha256": sha256, "path": path, "kind": kind, "line": r.line, "field": r.field,
         "value": None if r.value is None else str(r.value)[:1000], "rule": r.rule,
         "reason": r.reason, "created_at": now}
        for r in rejects
    ])


# --- staging ---------------------------------------------------------------------------------

def _ts_column(s: pd.Series, dialect: str, raw: pd.Series | None = None) -> list:
    """Aware timestamps as each database takes them in bulk: integer microseconds since the
    epoch on SQLite (see :class:`resilience.store.tables.Timestamp`), ISO 8601 text with its
    offset on PostgreSQL (the validated text as given, when there is one)."""
    if dialect == "sqlite":
        us = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]").astype(np.int64)
        return pd.Series(us, index=s.index).astype(object).where(s.notna(), None).tolist()
    if raw is not None:
        return raw.astype(object).where(s.notna(), None).tolist()
    return s.dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z").astype(object).where(s.notna(), None).tolist()


def _column_values(s: pd.Series, dialect: str, raw: pd.Series | None = None) -> list:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return _ts_column(s, dialect, raw)
    if s.dtype.kind == "f":
        return s.astype(object).where(s.notna(), None).tolist()
    if s.dtype.kind in "biu":
        return s.astype(np.int64).tolist()
    return s.astype(object).where(s.notna(), None).tolist()


def _stage(conn: Connection, frame: pd.DataFrame, types: dict[str, str]) -> str:
    """Copy ``frame[list(types)]`` into a new temporary table; return its name."""
    dialect = conn.dialect.name
    name = f"stage_{next(_stage_counter)}"
    cols = list(types)
    if dialect == "postgresql":
        ddl = ", ".join(f"{c} {types[c].replace('REAL', 'DOUBLE PRECISION').replace('TS', 'TIMESTAMPTZ')}" for c in cols)
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({ddl}) ON COMMIT DROP")
    else:
        ddl = ", ".join(f"{c} {types[c].replace('TS', 'BIGINT')}" for c in cols)
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({ddl})")
    _copy_rows(conn, name, frame, cols)
    return name


def _copy_rows(conn: Connection, table: str, frame: pd.DataFrame, cols: list[str]) -> None:
    """Append ``frame[cols]`` to ``table``: COPY on PostgreSQL, executemany on SQLite, values
    converted column-wise (never per cell in Python)."""
    dialect = conn.dialect.name
    columns = [_column_values(frame[c], dialect, frame.get(f"{c}_raw")) for c in cols]
    rows = zip(*columns, strict=True)
    driver = conn.connection.driver_connection
    if dialect == "postgresql":
        with driver.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
    else:
        cur = driver.cursor()
        cur.executemany(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows
        )
        cur.close()


def bulk_insert(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """Insert every row of ``frame`` (its columns named as the table's) into ``table``."""
    if len(frame):
        _copy_rows(conn, table, frame, list(frame.columns))


def _drop(conn: Connection, name: str) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")


def _upsert(conn: Connection, table: str, key: str, frame: pd.DataFrame, types: dict[str, str],
            where: str = "") -> None:
    stage = _stage(conn, frame, types)
    cols = list(types)
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != key)
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {stage} WHERE true "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates} {where}"
    )
    _drop(conn, stage)


_NODE_TYPES = {"node_id": "TEXT", "kind": "TEXT", "operator": "TEXT", "name": "TEXT", "lat": "REAL",
               "lon": "REAL", "prefecture": "TEXT", "municipality": "TEXT", "subscribers": "BIGINT",
               "battery_hours": "REAL", "power_feed": "TEXT"}
_LINK_TYPES = {"link_id": "TEXT", "a": "TEXT", "b": "TEXT", "medium": "TEXT",
               "capacity_mbps": "REAL", "srlg": "TEXT"}


def upsert_nodes(conn: Connection, good: pd.DataFrame) -> None:
    """Insert or update inventory nodes (validated, typed rows)."""
    if good.empty:
        return
    f = good.copy()
    for c in ("name", "prefecture", "municipality", "power_feed"):
        f[c] = f[c].fillna("")
    f["subscribers"] = f["subscribers"].astype(np.int64)
    _upsert(conn, "nodes", "node_id", f, _NODE_TYPES)


def upsert_links(conn: Connection, good: pd.DataFrame) -> None:
    """Insert or update inventory links (validated, typed rows)."""
    if good.empty:
        return
    f = good.copy()
    f["srlg"] = f["srlg"].fillna("")
    _upsert(conn, "links", "link_id", f, _LINK_TYPES)


_STATUS = {
    # kind: (current table, history table, key, value columns with types, columns compared)
    "node_status": ("node_status", "node_status_history", "node_id",
                    {"state": "TEXT", "power": "TEXT", "battery_remaining_min": "REAL"},
                    ("state", "power")),
    "link_status": ("link_status", "link_status_history", "link_id", {"state": "TEXT"}, ("state",)),
    "power_status": ("power_status", "power_status_history", "power_feed",
                     {"state": "TEXT", "expected_restore_at": "TS"}, ("state",)),
}


def apply_status(conn: Connection, kind: str, good: pd.DataFrame, sha256: str) -> None:
    """Apply a status feed: transitions to history, newest row per element to current state.

    A row identical (same state, same power) to the state before it adds no history row; a
    row older than the stored current state goes to history only. The current-state rows
    inserted or updated get ``seq`` = the next value of the change sequence (taken in the
    caller's transaction: a rolled-back ingest leaves the counter as it was); rows older than
    the stored state keep theirs. See :func:`load_state_changes`.
    """
    if good.empty:
        return
    current, history, key, values, compared = _STATUS[kind]
    f = good.sort_values([key, "observed_at"], kind="stable").reset_index(drop=True)
    same_key = f[key].eq(f[key].shift())
    changed = pd.Series(False, index=f.index)
    for c in compared:
        changed |= f[c].ne(f[c].shift())
    f["first_in_file"] = (~same_key).astype(np.int64)
    f["last_in_file"] = (~f[key].eq(f[key].shift(-1))).astype(np.int64)
    f["changed"] = (same_key & changed).astype(np.int64)
    types = {key: "TEXT", "observed_at": "TS", **values,
             "first_in_file": "INTEGER", "last_in_file": "INTEGER", "changed": "INTEGER"}
    stage = _stage(conn, f, types)
    vcols = ["observed_at", *values]
    differs = " OR ".join(f"c.{c} <> s.{c}" for c in compared)
    conn.execute(text(
        f"INSERT INTO {history} ({key}, {', '.join(vcols)}, file_sha256) "
        f"SELECT s.{key}, {', '.join('s.' + c for c in vcols)}, :sha "
        f"FROM {stage} s LEFT JOIN {current} c ON c.{key} = s.{key} "
        f"WHERE (s.first_in_file = 1 AND (c.{key} IS NULL OR {differs})) OR s.changed = 1"
    ), {"sha": sha256})
    seq = _next_seq(conn)
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*vcols, "seq"))
    conn.execute(text(
        f"INSERT INTO {current} ({key}, {', '.join(vcols)}, seq) "
        f"SELECT {key}, {', '.join(vcols)}, :seq FROM {stage} WHERE last_in_file = 1 "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates} "
        f"WHERE excluded.observed_at >= {current}.observed_at"
    ), {"seq": seq})
    _drop(conn, stage)


def _next_seq(conn: Connection) -> int:
    """Take the next value of the change sequence in the caller's transaction.

    On PostgreSQL the UPDATE takes the row lock on ``status_seq`` (id 1) and keeps it until the
    transaction ends: a concurrent status ingest waits here until this one has committed (or
    rolled back), then, at READ COMMITTED, re-reads the committed value and takes the next one.
    So values are handed out in commit order: once a reader sees the counter at ``n``, every
    transaction that took a value <= ``n`` has committed (and its rows are visible). Taken just
    before the current-state upsert, so staging and the history insert of concurrent ingests
    still overlap; only the upsert and commit are serialised. On SQLite the ingest holds the
    database write lock from ``BEGIN IMMEDIATE`` anyway, so the same holds trivially.
    """
    return conn.execute(
        text("UPDATE status_seq SET value = value + 1 WHERE id = 1 RETURNING value")
    ).scalar_one()


# Bookkeeping columns not returned by the readers (the frames hold the feed's columns only).
_HIDDEN = frozenset({"seq"})
_PARAM = {"sqlite": "?", "postgresql": "%s"}  # the drivers' parameter markers


def _read_table(conn: Connection, name: str, where: str = "", params: tuple = ()) -> pd.DataFrame:
    """Rows of ``name`` (all, or those matching ``where``, a condition with ``?`` for each of
    ``params``), with dtypes from the schema whatever the rows: text ``str``, floats
    ``float64``, integers ``int64``, times ``datetime64[us, UTC]`` (also when empty or all
    null, so a few rows read and the whole table read have the same dtypes)."""
    table = t.metadata.tables[name]
    columns = [c for c in table.columns if c.name not in _HIDDEN]
    cols = [c.name for c in columns]
    sql = f"SELECT {', '.join(cols)} FROM {name}"  # identifiers only
    if where:
        sql += " WHERE " + where.replace("?", _PARAM[conn.dialect.name])
    cur = conn.connection.driver_connection.cursor()
    try:
        if params:
            cur.execute(sql, params)
        else:
            cur.execute(sql)
        df = pd.DataFrame.from_records(cur.fetchall(), columns=cols)
    finally:
        cur.close()
    for c in columns:
        if isinstance(c.type, t.Timestamp):
            if conn.dialect.name == "sqlite":  # integer microseconds since the epoch
                s = pd.to_datetime(pd.to_numeric(df[c.name]), unit="us", utc=True)
            else:
                s = pd.to_datetime(df[c.name], utc=True)
            df[c.name] = s.astype("datetime64[us, UTC]")
        elif isinstance(c.type, Float):
            df[c.name] = df[c.name].astype(np.float64)
        elif isinstance(c.type, Integer) and not c.nullable:
            df[c.name] = df[c.name].astype(np.int64)
        elif isinstance(c.type, String) and not c.nullable:
            df[c.name] = df[c.name].astype("str")
    return df


STATUS_TABLES = ("node_status", "link_status", "power_status")


def load_state(conn: Connection, tables: tuple[str, ...] = ("nodes", "links", *STATUS_TABLES)) -> dict[str, pd.DataFrame]:
    """Inventory and current state as DataFrames (default: nodes, links, node_status,
    link_status, power_status; ``tables=STATUS_TABLES`` for the state alone). Time columns are
    aware UTC timestamps.

    Rows are fetched through the driver's cursor and times converted column-wise: at a million
    sites, per-row type conversion would dominate the analysis.
    """
    return {name: _read_table(conn, name) for name in tables}


def status_seq(conn: Connection) -> int:
    """The change sequence: the value taken by the latest committed status ingest (0 on a
    fresh store).

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.connect() as conn:
    ...     status_seq(conn)
    0
    """
    return int(conn.execute(select(t.status_seq.c.value).where(t.status_seq.c.id == 1)).scalar_one())


def load_state_changes(conn: Connection, since: int) -> tuple[int, dict[str, pd.DataFrame]]:
    """The current-state rows written since the change-sequence value ``since``.

    Parameters
    ----------
    conn : Connection
        A connection to the store.
    since : int
        The ``mark`` this function returned last time; ``-1`` for every row (a full read with
        its mark: rows written before the change sequence existed have ``seq`` 0).

    Returns
    -------
    mark : int
        The change sequence, read before the rows: pass it as ``since`` next time.
    frames : dict of str to pandas.DataFrame
        For each of :data:`STATUS_TABLES`, the rows with ``seq > since``, with the columns and
        dtypes :func:`load_state` gives for that table (times aware UTC).

    Notes
    -----
    No committed change is missed. The counter is read first; a status ingest takes its value
    under a row lock on the counter held until it commits (see :func:`apply_status`), so when
    the counter reads ``mark`` every ingest with a value <= ``mark`` has committed, and the
    rows read afterwards include all of their rows. An ingest that commits after the counter
    is read has a value > ``mark``; its rows may be returned now (if committed before the rows
    are read) and are returned again next time: applying a current-state row twice is harmless
    (the row is the element's whole current state, not a delta). A row not returned has not
    changed, or was changed by an ingest with a value > ``mark``, returned next time.

    To start from a full read without this function, read :func:`status_seq` *before*
    :func:`load_state` and use it as the first ``since``.

    Example
    -------
    >>> import tempfile, pathlib
    >>> from resilience.feeds.ingest import ingest_file
    >>> from resilience.sample.known import KNOWN_NODES_CSV
    >>> from resilience.store.engine import make_engine, migrate
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "nodes.csv").write_text(KNOWN_NODES_CSV)
    >>> _ = (d / "status.csv").write_text("observed_at,node_id,state,power,battery_remaining_min\\n"
    ...     "2024-01-01T16:00:00+09:00,B1,up,grid,\\n2024-01-01T16:00:00+09:00,B2,down,none,0\\n")
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> _ = ingest_file(engine, d / "nodes.csv"); _ = ingest_file(engine, d / "status.csv")
    >>> with engine.connect() as conn:
    ...     mark, frames = load_state_changes(conn, 0)
    ...     mark, sorted(frames["node_status"]["node_id"]), load_state_changes(conn, mark)[1]["node_status"].shape[0]
    (1, ['B1', 'B2'], 0)
    """
    mark = status_seq(conn)  # first: see the Notes
    frames = {name: _read_table(conn, name, "seq > ?", (int(since),)) for name in STATUS_TABLES}
    return mark, frames


def feed_marks(conn: Connection) -> tuple[tuple, tuple]:
    """Marks that change when the inventory, or anything at all, was ingested:
    ``(inventory_mark, any_mark)`` from the feed archive."""
    inv = conn.execute(
        select(func.count(), func.max(t.feed_files.c.ingested_at)).where(
            t.feed_files.c.kind.in_(("nodes", "links", "graphml")))
    ).one()
    anything = conn.execute(select(func.count(), func.max(t.feed_files.c.ingested_at))).one()
    return tuple(inv), tuple(anything)
