"""Repository functions: bulk writes of validated feed rows and reads of the current state.

Bulk rows go through a temporary staging table (``COPY`` on PostgreSQL, ``executemany`` on
SQLite), then one set-based statement each updates the current-state table and appends
transitions to history. Callers own the transaction: everything one feed file does happens in
the ``Connection`` they pass, so a file is stored whole or not at all.

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
from sqlalchemy import Connection, func, select, text

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
    row older than the stored current state goes to history only.
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
    updates = ", ".join(f"{c} = excluded.{c}" for c in vcols)
    conn.exec_driver_sql(
        f"INSERT INTO {current} ({key}, {', '.join(vcols)}) "
        f"SELECT {key}, {', '.join(vcols)} FROM {stage} WHERE last_in_file = 1 "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates} "
        f"WHERE excluded.observed_at >= {current}.observed_at"
    )
    _drop(conn, stage)


def _read_table(conn: Connection, name: str) -> pd.DataFrame:
    table = t.metadata.tables[name]
    cols = [c.name for c in table.columns]
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(f"SELECT {', '.join(cols)} FROM {name}")  # identifiers only
        df = pd.DataFrame.from_records(cur.fetchall(), columns=cols)
    finally:
        cur.close()
    for c in table.columns:
        if isinstance(c.type, t.Timestamp):
            if conn.dialect.name == "sqlite":  # integer microseconds since the epoch
                df[c.name] = pd.to_datetime(pd.to_numeric(df[c.name]), unit="us", utc=True)
            else:
                df[c.name] = pd.to_datetime(df[c.name], utc=True)
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


def feed_marks(conn: Connection) -> tuple[tuple, tuple]:
    """Marks that change when the inventory, or anything at all, was ingested:
    ``(inventory_mark, any_mark)`` from the feed archive."""
    inv = conn.execute(
        select(func.count(), func.max(t.feed_files.c.ingested_at)).where(
            t.feed_files.c.kind.in_(("nodes", "links", "graphml")))
    ).one()
    anything = conn.execute(select(func.count(), func.max(t.feed_files.c.ingested_at))).one()
    return tuple(inv), tuple(anything)
