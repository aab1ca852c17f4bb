"""Repository functions: bulk writes of validated feed rows and reads of the current state.

Bulk rows go through a temporary staging table (``COPY`` on PostgreSQL, multi-row ``INSERT``
statements on SQLite: :func:`_insert_rows`), then one set-based statement each updates the
current-state table and appends transitions to history. A first load of ``nodes`` or ``links``
(the table empty) goes straight into the table. Callers own the transaction: everything one
feed file does happens in the ``Connection`` they pass, so a file is stored whole or not at all.

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

import gc
import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy import Connection, Float, Integer, String, bindparam, func, select, text

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
    "load_links_down",
    "status_seq",
    "load_state_changes",
    "bulk_insert",
    "feed_marks",
    "inventory_mark",
    "load_inventory",
    "site_locations",
    "lock_for_writing",
    "node_ids_among",
    "node_ids_in_any_namespace",
    "recent_quarantine",
    "STATUS_TABLES",
    "current_values",
    "set_kind",
    "inventory_changes",
    "list_quarantine",
    "update_quarantine",
    "supersede_quarantine",
]

_stage_counter = itertools.count()


def known_ids(conn: Connection, table: str) -> pd.Index:
    """All ids of ``nodes`` or ``links`` (for reference checks)."""
    key = {"nodes": "node_id", "links": "link_id"}[table]
    return pd.Index(_read_columns(conn, table, [key])[0], dtype=object, copy=False)


def _read_columns(conn: Connection, table: str, cols: list[str]) -> list[np.ndarray]:
    """``cols`` of every row of ``table`` (identifiers checked by the caller), one object
    array each, rows in the same order. On SQLite, text columns that hold no NULL come as one
    ``group_concat`` per column split in Python (half the time of a million fetched tuples);
    a value holding the separator (NUL) shows in the count, and the rows are fetched instead.

    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.connect() as conn:
    ...     [a.tolist() for a in _read_columns(conn, "nodes", ["node_id", "operator"])]
    [[], []]
    """
    by_name = t.metadata.tables[table].columns
    cur = conn.connection.driver_connection.cursor()
    with _gc_paused():  # a million fetched tuples (see _read_table)
        try:
            if conn.dialect.name == "sqlite" and all(
                    isinstance(by_name[c].type, String) and not by_name[c].nullable for c in cols):
                selects = ", ".join(f"group_concat({c}, char(0))" for c in cols)
                try:
                    cur.execute(f"SELECT count(*), {selects} FROM {table}")
                    n, *joined = cur.fetchone()
                except sqlite3.Error:  # longer than SQLite's longest string (1e9 bytes)
                    n, joined = -1, []
                parts = [j.split("\0") if n else [] for j in joined]
                if n >= 0 and all(len(p) == n for p in parts):
                    return [np.array(p, dtype=object) for p in parts]
            cur.execute(f"SELECT {', '.join(cols)} FROM {table}")
            rows = cur.fetchall()
        finally:
            cur.close()
        if len(cols) == 1:
            return [np.array([r[0] for r in rows], dtype=object)]
        values = zip(*rows, strict=True) if rows else [()] * len(cols)
        del rows
        return [np.array(v, dtype=object) for v in values]


def feed_file_record(conn: Connection, sha256: str) -> dict | None:
    """The archive record of a file already ingested, or ``None``."""
    row = conn.execute(select(t.feed_files).where(t.feed_files.c.sha256 == sha256)).mappings().first()
    return dict(row) if row else None


def record_feed_file(conn: Connection, *, sha256: str, path: str, kind: str, rows: int,
                     accepted: int, quarantined: int, replace: bool = False) -> None:
    """Archive the file's sha256 and counts (a second delivery of the same bytes is a no-op);
    ``replace``: a deliberate re-ingest (``ingest --force``) updates the record instead."""
    values = dict(path=path, kind=kind, rows=rows, accepted=accepted, quarantined=quarantined,
                  ingested_at=datetime.now(UTC))
    if replace and feed_file_record(conn, sha256):
        conn.execute(t.feed_files.update().where(t.feed_files.c.sha256 == sha256).values(**values))
        return
    conn.execute(t.feed_files.insert().values(sha256=sha256, **values))


def add_quarantine(conn: Connection, *, sha256: str, path: str, kind: str, rejects: Sequence,
                   records: Sequence[str | None] | None = None,
                   row_kinds: Sequence[str | None] | None = None) -> None:
    """Store rejected rows with file, line, field, value and the rule broken; ``records`` (JSON
    of each row's fields, ``None`` when the row could not be split into fields) and
    ``row_kinds`` (the part of the file: nodes, links, node_status, ...) make them retryable."""
    if not rejects:
        return
    now = datetime.now(UTC)
    records = records if records is not None else [None] * len(rejects)
    row_kinds = row_kinds if row_kinds is not None else [None] * len(rejects)
    conn.execute(t.quarantine.insert(), [
        {"file_sha256": sha256, "path": path, "kind": kind, "line": r.line, "field": r.field,
         "value": None if r.value is None else str(r.value)[:1000], "rule": r.rule,
         "reason": r.reason, "created_at": now, "record": rec, "row_kind": rk, "status": "open",
         "retries": 0}
        for r, rec, rk in zip(rejects, records, row_kinds, strict=True)
    ])


def list_quarantine(conn: Connection, *, file: str | None = None, rule: str | None = None,
                    status: str = "open", limit: int | None = None) -> pd.DataFrame:
    """Quarantined rows, oldest first: ``status`` ``open``, ``resolved`` or ``all``; ``file``
    matches the path as given at ingest, its file name, or a prefix of its sha256; ``rule``
    matches the rule name or words of the reason (case-insensitive)."""
    q = t.quarantine
    stmt = select(q).order_by(q.c.id)
    if status != "all":
        stmt = stmt.where(q.c.status == status)
    if file:
        stmt = stmt.where((q.c.path == file) | q.c.path.like("%/" + _like(file), escape="\\")
                          | q.c.file_sha256.like(_like(file.lower()) + "%", escape="\\"))
    if rule:
        pat = "%" + _like(rule.lower()) + "%"
        stmt = stmt.where((func.lower(q.c.rule) == rule.lower())
                          | func.lower(q.c.reason).like(pat, escape="\\"))
    if limit:
        stmt = stmt.limit(limit)
    res = conn.execute(stmt)
    return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


def _like(text_: str) -> str:
    return text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def update_quarantine(conn: Connection, rows: Sequence[dict], now: datetime | None = None) -> None:
    """After a retry: each of ``rows`` (``id`` plus ``status``, and ``resolution`` or the
    refreshed ``rule, field, value, reason``) gets ``retries + 1`` and ``retried_at``."""
    if not rows:
        return
    now = now or datetime.now(UTC)
    q = t.quarantine
    resolved = [r for r in rows if r["status"] == "resolved"]
    failing = [r for r in rows if r["status"] != "resolved"]
    if resolved:
        conn.execute(
            q.update().where(q.c.id == bindparam("qid")).values(
                status="resolved", resolution=bindparam("resolution"), resolved_at=now,
                retried_at=now, retries=q.c.retries + 1),
            [{"qid": r["id"], "resolution": r["resolution"]} for r in resolved])
    if failing:
        conn.execute(
            q.update().where(q.c.id == bindparam("qid")).values(
                rule=bindparam("rule"), field=bindparam("field"), value=bindparam("value"),
                reason=bindparam("reason"), retried_at=now, retries=q.c.retries + 1),
            [{"qid": r["id"], "rule": r["rule"], "field": r["field"],
              "value": None if r["value"] is None else str(r["value"])[:1000], "reason": r["reason"]}
             for r in failing])


def supersede_quarantine(conn: Connection, sha256: str, resolution: str) -> int:
    """Mark the open quarantine rows of one file resolved (its deliberate re-ingest quarantines
    again what still fails); return how many."""
    q = t.quarantine
    return conn.execute(
        q.update().where((q.c.file_sha256 == sha256) & (q.c.status == "open")).values(
            status="resolved", resolution=resolution, resolved_at=datetime.now(UTC))
    ).rowcount


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
    if s.dtype.kind in "biu":
        return s.astype(np.int64).tolist()
    return s.to_numpy(dtype=object, na_value=None).tolist()  # NaN / NA -> None


_LARGE_TEXT = pa.large_string()


def _copy_column(s: pd.Series, raw: pd.Series | None) -> pa.Array | pa.ChunkedArray | None:
    """One column as an Arrow array for a CSV ``COPY`` on PostgreSQL (values as
    :func:`_column_values` gives them), or ``None`` when it cannot be (values that are not
    text, or a NUL character: :func:`_copy_rows` then writes row by row)."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        text_ = raw if raw is not None else s.dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z")
        values, mask = text_.to_numpy(dtype=object, na_value=None), s.isna().to_numpy()
    elif s.dtype.kind == "f":
        return pa.array(s.to_numpy(dtype=np.float64), from_pandas=True)
    elif s.dtype.kind in "biu":
        return pa.array(s.astype(np.int64).to_numpy())
    else:
        values, mask = s, None
    try:
        out = pa.array(values, type=_LARGE_TEXT, from_pandas=True, mask=mask)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    return None if pc.any(pc.match_substring(out, "\x00")).as_py() else out


class _CopyStream:
    """A writable file for Arrow's CSV writer that hands each block to a ``COPY``."""

    def __init__(self, copy: Any) -> None:
        self.copy, self.closed = copy, False

    def write(self, data: Any) -> int:
        self.copy.write(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


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
    driver = conn.connection.driver_connection
    if dialect == "postgresql" and len(frame) and driver.info.encoding == "utf-8":
        # Arrow writes the CSV (every text quoted, NULL unquoted empty) in blocks while the
        # server parses the ones before: no Python object per value
        arrays = [_copy_column(frame[c], frame.get(f"{c}_raw")) for c in cols]
        if all(a is not None for a in arrays):
            data = pa.table(dict(zip(cols, arrays, strict=True)))
            with driver.cursor() as cur, cur.copy(
                    f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT csv)") as cp:
                pa_csv.write_csv(data, pa.PythonFile(_CopyStream(cp), mode="w"),
                                 pa_csv.WriteOptions(include_header=False, batch_size=16_384))
            return
    columns = [_column_values(frame[c], dialect, frame.get(f"{c}_raw")) for c in cols]
    if dialect == "postgresql":
        with driver.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
            for row in zip(*columns, strict=True):
                cp.write_row(row)
    else:
        _insert_rows(driver, table, cols, columns)


_ROWS_PER_INSERT = 500  # rows of one multi-row INSERT on SQLite (fewer if columns are many)


def _insert_rows(driver: sqlite3.Connection, table: str, cols: list[str], columns: list[list]) -> None:
    """Insert the rows whose values ``columns`` holds column by column, in order, into ``table``
    of an SQLite database: ``INSERT … VALUES (…), (…), …`` of up to ``_ROWS_PER_INSERT`` rows
    per statement, its parameters laid out by slicing each column into place.

    One statement per row (``executemany``) pays the driver's per-row step, reset and
    parameter-tuple work a million times: a multi-row statement did the same inserts in
    0.74 s instead of 1.36 s for 1M rows of six columns. The same values, types and row
    order reach the table either way, and the caller's transaction holds all or none of them.

    Example
    -------
    >>> import sqlite3
    >>> db = sqlite3.connect(":memory:"); _ = db.execute("CREATE TABLE t (a TEXT, b REAL)")
    >>> _insert_rows(db, "t", ["a", "b"], [["x", "y", None], [1.5, None, 2.0]])
    >>> db.execute("SELECT a, b FROM t ORDER BY rowid").fetchall()
    [('x', 1.5), ('y', None), (None, 2.0)]
    """
    width = len(cols)
    n = len(columns[0]) if columns else 0
    if any(len(c) != n for c in columns):
        raise ValueError(f"columns of unequal length for {table}: {[len(c) for c in columns]}")
    per = max(1, min(_ROWS_PER_INSERT, driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    head = f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
    row = f"({', '.join('?' * width)})"
    cur = driver.cursor()
    try:
        flat: list = []
        statement = ""
        for start in range(0, n, per):
            k = min(per, n - start)  # per, but for the last statement
            if len(flat) != width * k:  # identifiers and placeholders only
                flat, statement = [None] * (width * k), head + ", ".join([row] * k)
            for j, column in enumerate(columns):
                flat[j::width] = column[start:start + k]
            cur.execute(statement, flat)
    finally:
        cur.close()


def bulk_insert(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """Insert every row of ``frame`` (its columns named as the table's) into ``table``."""
    if len(frame):
        _copy_rows(conn, table, frame, list(frame.columns))


def _drop(conn: Connection, name: str) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")


def _upsert(conn: Connection, table: str, key: str, frame: pd.DataFrame, types: dict[str, str],
            where: str = "", origin: str = "ingest", sha256: str | None = None) -> None:
    cols = list(types)
    # A first load (the table empty) changes no stored element: no change to record.
    first = _empty_for_load(conn, table)
    if first and frame[key].is_unique and not (table == "links" and frame["source"].isna().any()):
        # distinct new keys into an empty table: straight in, no staging table
        with indexes_built_after(conn, t.metadata.tables[table], len(frame), empty=True):
            _copy_rows(conn, table, frame, cols)
        return
    stage = _stage(conn, frame, types)
    if table == "links":  # a CSV / JSON Lines link belongs to the source of its end a
        if frame["source"].isna().any():  # (ingest gives every row its source already)
            conn.exec_driver_sql(
                f"UPDATE {stage} SET source = COALESCE((SELECT 'feed:' || n.operator FROM nodes n "
                f"WHERE n.node_id = {stage}.a), '') WHERE source IS NULL")
    if not first:
        _record_changes(conn, table, key, stage, cols, origin, sha256)
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != key)
    # distinct new keys into an empty table: a plain insert (PostgreSQL's ON CONFLICT path
    # costs a speculative insertion per row)
    upsert = "" if first and frame[key].is_unique else f"ON CONFLICT ({key}) DO UPDATE SET {updates} {where}"
    with indexes_built_after(conn, t.metadata.tables[table], len(frame), empty=first):
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {stage} WHERE true {upsert}"
        )
    _drop(conn, stage)


_REBUILD_FROM = 10_000  # rows loaded into an empty table from which its indexes are rebuilt


@contextmanager
def indexes_built_after(conn: Connection, table: Any, rows: int, *, empty: bool) -> Iterator[None]:
    """Around a load of ``rows`` rows into ``table``: when the table is ``empty`` (and stays so
    for other writers: the caller holds it) and the load is large, its indexes are dropped and
    built once after the rows, by sorting, rather than entry by entry in random key order (2.0 s
    instead of 4.4 s for 770k snapshot rows on SQLite). All in the caller's transaction.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.begin() as conn, indexes_built_after(conn, t.snapshot_elements, 0, empty=True):
    ...     pass  # a small load keeps the indexes as they are
    >>> sorted(ix.name for ix in t.snapshot_elements.indexes) == sorted(
    ...     i["name"] for i in __import__("sqlalchemy").inspect(engine).get_indexes("snapshot_elements"))
    True
    """
    rebuild = list(table.indexes) if empty and rows >= _REBUILD_FROM else []
    for ix in rebuild:
        ix.drop(conn)
    yield
    for ix in rebuild:
        ix.create(conn)


def _empty_for_load(conn: Connection, table: str) -> bool:
    """Is ``table`` empty, and stays so for other writers until this transaction ends? On
    PostgreSQL an empty table is locked against other writers (SHARE ROW EXCLUSIVE; readers
    go on), then looked at again; SQLite's writer holds the database lock already."""
    empty = f"SELECT 1 FROM {table} LIMIT 1"
    if conn.exec_driver_sql(empty).first() is not None:
        return False
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        return conn.exec_driver_sql(empty).first() is None
    return True


_NODE_TYPES = {"node_id": "TEXT", "kind": "TEXT", "operator": "TEXT", "name": "TEXT", "lat": "REAL",
               "lon": "REAL", "prefecture": "TEXT", "municipality": "TEXT", "subscribers": "BIGINT",
               "battery_hours": "REAL", "power_feed": "TEXT", "source": "TEXT"}
_LINK_TYPES = {"link_id": "TEXT", "a": "TEXT", "b": "TEXT", "medium": "TEXT",
               "capacity_mbps": "REAL", "srlg": "TEXT", "source": "TEXT"}


def upsert_nodes(conn: Connection, good: pd.DataFrame, *, origin: str = "ingest",
                 sha256: str | None = None) -> None:
    """Insert or update inventory nodes (validated, typed rows; ``source`` defaults to
    ``feed:<operator>``). Every changed field of an existing node is recorded in
    ``inventory_changes`` (``origin``, ``sha256``: what made the change)."""
    if good.empty:
        return
    f = good.copy()
    for c in ("name", "prefecture", "municipality", "power_feed"):
        f[c] = f[c].fillna("")
    f["subscribers"] = f["subscribers"].astype(np.int64)
    if "source" not in f:
        f["source"] = "feed:" + f["operator"].astype(str)
    _upsert(conn, "nodes", "node_id", f, _NODE_TYPES, origin=origin, sha256=sha256)


def upsert_links(conn: Connection, good: pd.DataFrame, *, origin: str = "ingest",
                 sha256: str | None = None) -> None:
    """Insert or update inventory links (validated, typed rows; ``source`` defaults to
    ``feed:<operator of end a>``); changes recorded as for :func:`upsert_nodes`."""
    if good.empty:
        return
    f = good.copy()
    f["srlg"] = f["srlg"].fillna("")
    if "source" not in f:
        f["source"] = None
    _upsert(conn, "links", "link_id", f, _LINK_TYPES, origin=origin, sha256=sha256)


def current_values(conn: Connection, table: str, columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` of every ``nodes`` or ``links`` row, indexed by id (all text, object dtype).

    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.connect() as conn:
    ...     current_values(conn, "nodes", ["operator"]).shape
    (0, 1)
    """
    key = {"nodes": "node_id", "links": "link_id"}[table]
    allowed = {c.name for c in t.metadata.tables[table].columns}
    if not set(columns) <= allowed:
        raise ValueError(f"unknown columns of {table}: {sorted(set(columns) - allowed)}")
    cols = list(columns)
    values = _read_columns(conn, table, [key, *cols])  # identifiers checked above
    # object columns, the ids an object index (as known_ids gives them: its hash table
    # serves validation's reference checks too)
    index = pd.Index(values[0], dtype=object, name=key, copy=False)
    return pd.DataFrame({c: pd.Series(v, index=index, dtype=object, copy=False)
                         for c, v in zip(cols, values[1:], strict=True)}, index=index, columns=cols)


def _record_changes(conn: Connection, table: str, key: str, stage: str, cols: list[str],
                    origin: str, sha256: str | None) -> None:
    """One ``inventory_changes`` row per field of an existing element that ``stage`` changes."""
    distinct = "IS DISTINCT FROM" if conn.dialect.name == "postgresql" else "IS NOT"
    fields = [c for c in cols if c != key]
    changed = f"chg_{next(_stage_counter)}"
    on_commit = "ON COMMIT DROP" if conn.dialect.name == "postgresql" else ""
    pairs = ", ".join(f"CAST(c.{f} AS TEXT) AS old_{f}, CAST(s.{f} AS TEXT) AS new_{f}" for f in fields)
    differs = " OR ".join(f"s.{f} {distinct} c.{f}" for f in fields)
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {changed} {on_commit} AS SELECT s.{key} AS element_id, "
        f"s.source AS element_source, {pairs} FROM {stage} s JOIN {table} c ON c.{key} = s.{key} "
        f"WHERE {differs}"
    )
    selects = " UNION ALL ".join(
        f"SELECT element_id, '{f}' AS field, old_{f} AS old_value, new_{f} AS new_value, element_source "
        f"FROM {changed} WHERE old_{f} {distinct} new_{f}" for f in fields
    )
    conn.execute(
        text(f"INSERT INTO inventory_changes (element_type, element_id, field, old_value, new_value, "
             f"source, origin, file_sha256, changed_at) SELECT :element, element_id, field, old_value, "
             f"new_value, COALESCE(element_source, ''), :origin, :sha, :now FROM ({selects}) ch")
        .bindparams(bindparam("now", type_=t.TS)),
        {"element": {"nodes": "node", "links": "link"}[table], "origin": origin, "sha": sha256,
         "now": datetime.now(UTC)},
    )
    _drop(conn, changed)


def set_kind(conn: Connection, node_ids: Sequence[str], kind: str, *, origin: str = "set-kind") -> list[tuple[str, str]]:
    """Change the role (kind) of existing nodes; return ``(node_id, old kind)`` for each node
    whose kind changed (each change is recorded in ``inventory_changes``). The caller checks
    that ``kind`` is a known kind and the nodes exist.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> import pandas as pd
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.begin() as conn:
    ...     upsert_nodes(conn, pd.DataFrame({"node_id": ["n:0"], "kind": ["aggregation"], "operator": ["x"],
    ...         "name": [""], "lat": [None], "lon": [None], "prefecture": [""], "municipality": [""],
    ...         "subscribers": [0], "battery_hours": [0.0], "power_feed": [""]}))
    ...     set_kind(conn, ["n:0"], "core"), set_kind(conn, ["n:0"], "core")
    ([('n:0', 'aggregation')], [])
    """
    n = t.nodes
    old = dict(conn.execute(select(n.c.node_id, n.c.kind).where(n.c.node_id.in_(list(node_ids)))).all())
    changed = [(i, old[i]) for i in dict.fromkeys(node_ids) if i in old and old[i] != kind]
    if not changed:
        return []
    ids = [i for i, _ in changed]
    sources = dict(conn.execute(select(n.c.node_id, n.c.source).where(n.c.node_id.in_(ids))).all())
    conn.execute(n.update().where(n.c.node_id.in_(ids)).values(kind=kind))
    now = datetime.now(UTC)
    conn.execute(t.inventory_changes.insert(), [
        {"element_type": "node", "element_id": i, "field": "kind", "old_value": o, "new_value": kind,
         "source": sources.get(i, ""), "origin": origin, "file_sha256": None, "changed_at": now}
        for i, o in changed
    ])
    return changed


def inventory_changes(conn: Connection, element_id: str | None = None) -> pd.DataFrame:
    """The recorded inventory changes (of one element, or all), oldest first."""
    c = t.inventory_changes
    stmt = select(c).order_by(c.c.id)
    if element_id is not None:
        stmt = stmt.where(c.c.element_id == element_id)
    res = conn.execute(stmt)
    return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


_STATUS = {
    # kind: (current table, history table, key, value columns with types, columns compared)
    "node_status": ("node_status", "node_status_history", "node_id",
                    {"state": "TEXT", "power": "TEXT", "battery_remaining_min": "REAL"},
                    ("state", "power")),
    "link_status": ("link_status", "link_status_history", "link_id", {"state": "TEXT"}, ("state",)),
    "power_status": ("power_status", "power_status_history", "power_feed",
                     {"state": "TEXT", "expected_restore_at": "TS"}, ("state",)),
}


def apply_status(conn: Connection, kind: str, good: pd.DataFrame, sha256: str, *,
                 skip_existing: bool = False) -> None:
    """Apply a status feed: transitions to history, newest row per element to current state.

    A row identical (same state, same power) to the state before it adds no history row; a
    row older than the stored current state goes to history only. The current-state rows
    inserted or updated get ``seq`` = the next value of the change sequence (taken in the
    caller's transaction: a rolled-back ingest leaves the counter as it was); rows older than
    the stored state keep theirs. See :func:`load_state_changes`. ``skip_existing`` (a file
    re-read on purpose, or quarantined rows retried): a transition already in history with the
    same element and time is not added again.
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
    dedupe = (f" AND NOT EXISTS (SELECT 1 FROM {history} h WHERE h.{key} = s.{key} "
              f"AND h.observed_at = s.observed_at)") if skip_existing else ""
    conn.execute(text(
        f"INSERT INTO {history} ({key}, {', '.join(vcols)}, file_sha256) "
        f"SELECT s.{key}, {', '.join('s.' + c for c in vcols)}, :sha "
        f"FROM {stage} s LEFT JOIN {current} c ON c.{key} = s.{key} "
        f"WHERE ((s.first_in_file = 1 AND (c.{key} IS NULL OR {differs})) OR s.changed = 1){dedupe}"
    ), {"sha": sha256})
    seq = _next_seq(conn)
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*vcols, "seq"))
    # After _next_seq: concurrent status ingests wait for this one's commit (see there), so an
    # empty current-state table stays empty but for this insert (one row per key): plain insert.
    first = conn.exec_driver_sql(f"SELECT 1 FROM {current} LIMIT 1").first() is None
    upsert = "" if first else (f"ON CONFLICT ({key}) DO UPDATE SET {updates} "
                               f"WHERE excluded.observed_at >= {current}.observed_at")
    conn.execute(text(
        f"INSERT INTO {current} ({key}, {', '.join(vcols)}, seq) "
        f"SELECT {key}, {', '.join(vcols)}, :seq FROM {stage} WHERE last_in_file = 1 {upsert}"
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
_HIDDEN = frozenset({"seq", "source"})
_PARAM = {"sqlite": "?", "postgresql": "%s"}  # the drivers' parameter markers


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Cyclic garbage collection off for the block (restored after, if it was on).

    A million fetched rows are a million tuples: each few hundred allocations start a
    collection, and the older generations' collections walk every tuple already fetched. At
    1M sites this doubled the time of ``fetchall`` and of turning rows into columns.

    >>> import gc
    >>> with _gc_paused():
    ...     gc.isenabled()
    False
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _int64_column(values: Sequence) -> tuple[np.ndarray, np.ndarray | None]:
    """Integers (``None`` allowed) as int64 and the mask of the ``None`` (``None`` when none).

    >>> _int64_column((3, None, 5))[0][[0, 2]].tolist(), _int64_column((3, None))[1].tolist()
    ([3, 5], [False, True])
    """
    try:
        return np.array(values, dtype=np.int64), None
    except TypeError:  # a None
        obj = np.array(values, dtype=object)
        missing = np.equal(obj, None)
        obj[missing] = 0
        return obj.astype(np.int64), missing


def _frame_column(column: Any, values: Sequence, dialect: str) -> Any:
    """One column of fetched values with the dtype the schema gives it (see :func:`_read_table`).

    >>> _frame_column(t.nodes.c.lat, (1.5, None), "sqlite").tolist()
    [1.5, nan]
    >>> str(_frame_column(t.node_status.c.observed_at, (0, None), "sqlite").tolist()[0])
    '1970-01-01 00:00:00+00:00'
    """
    typ = column.type
    if isinstance(typ, t.Timestamp):
        if dialect == "sqlite":  # integer microseconds since the epoch
            us, missing = _int64_column(values)
            if missing is not None:
                us[missing] = np.iinfo(np.int64).min  # NaT
            return pd.Series(us.view("datetime64[us]")).dt.tz_localize("UTC")
        return pd.to_datetime(pd.Series(list(values), dtype=object), utc=True).astype("datetime64[us, UTC]")
    if isinstance(typ, Float):
        return np.array(values, dtype=np.float64)  # None -> NaN
    if isinstance(typ, Integer) and not column.nullable:
        return np.array(values, dtype=np.int64)
    if isinstance(typ, String) and not column.nullable:
        try:  # text straight into an Arrow column (pandas' ``str`` dtype)
            import pyarrow as pa

            return pd.array(pa.array(values, type=pa.large_string()), dtype="str")
        except (TypeError, ValueError):  # a value that is not text (e.g. SQLite's loose typing)
            return pd.Series(np.array(values, dtype=object)).astype("str")
    return pd.Series(list(values))  # inferred, as the rows give it


_NAT = np.iinfo(np.int64).min  # pandas' NaT as int64


def _arrow_type(column: Any, dialect: str) -> Any:
    """The Arrow type a column is read into on the fast paths of :func:`_read_table` (``None``:
    a column whose dtype is inferred from its values, read as rows).

    Times are integer microseconds on SQLite (see :class:`resilience.store.tables.Timestamp`)
    and UTC timestamps on PostgreSQL; text ``large_string``; floats and integers 64-bit.

    >>> str(_arrow_type(t.nodes.c.lat, "sqlite")), str(_arrow_type(t.node_status.c.observed_at, "sqlite"))
    ('double', 'int64')
    """
    import pyarrow as pa

    typ = column.type
    if isinstance(typ, t.Timestamp):
        return pa.int64() if dialect == "sqlite" else pa.timestamp("us")
    if isinstance(typ, Float):
        return pa.float64()
    if isinstance(typ, Integer) and not column.nullable:
        return pa.int64()
    if isinstance(typ, String) and not column.nullable:
        return pa.large_string()
    return None


def _arrow_frame_column(column: Any, values: Any) -> Any:
    """One column read as Arrow (of :func:`_arrow_type`) with the dtype :func:`_frame_column`
    gives it.

    >>> import pyarrow as pa
    >>> _arrow_frame_column(t.nodes.c.lat, pa.array([1.5, None])).tolist()
    [1.5, nan]
    >>> str(_arrow_frame_column(t.node_status.c.observed_at, pa.array([0, None])).tolist()[0])
    '1970-01-01 00:00:00+00:00'
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column.type, t.Timestamp):
        us = pc.fill_null(values.cast(pa.int64()), _NAT).to_numpy(zero_copy_only=False)
        return pd.Series(us.view("datetime64[us]")).dt.tz_localize("UTC")
    if pa.types.is_large_string(values.type):
        return pd.array(values, dtype="str")
    return values.to_numpy(zero_copy_only=False)  # floats: null -> NaN


def _rows_to_arrow(rows: list, types: list) -> list | None:
    """Row tuples as one Arrow array per column, of ``types``, in one pass (no per-column
    Python lists); ``None`` when a value does not fit its column's type exactly (e.g. text in
    a float column, which SQLite's loose typing allows): :func:`_frame_column` takes the rows.

    >>> import pyarrow as pa
    >>> [a.to_pylist() for a in _rows_to_arrow([("a", 1.5), ("b", None)], [pa.large_string(), pa.float64()])]
    [['a', 'b'], [1.5, None]]
    >>> _rows_to_arrow([(1, 1.5)], [pa.large_string(), pa.float64()]) is None
    True
    """
    import pyarrow as pa

    struct = pa.struct([pa.field(f"c{i}", typ) for i, typ in enumerate(types)])
    try:
        return pa.array(rows, type=struct).flatten()
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None


def _copy_csv(conn: Connection, columns: list, where: str, params: tuple, types: list) -> list | None:
    """On PostgreSQL (psycopg 3), the columns of :func:`_read_table` through ``COPY ... TO
    STDOUT (FORMAT csv)`` parsed by Arrow: no Python object per value. ``None`` when this
    cannot give exactly what the rows would (another driver or client encoding, floats printed
    short of exact, a value Arrow cannot parse): the rows are fetched then.

    The CSV keeps NULL (unquoted empty) apart from ``''`` (quoted empty); floats are printed
    shortest-exact (``extra_float_digits`` >= 1, PostgreSQL 12+) including ``Infinity`` and
    ``NaN``; times are written as UTC text with microseconds (``to_char``), whatever the
    session's time zone and date style.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    driver = conn.connection.driver_connection
    if not hasattr(driver, "cursor") or getattr(getattr(driver, "info", None), "encoding", "") != "utf-8":
        return None
    cur = driver.cursor()
    try:
        if not hasattr(cur, "copy"):
            return None
        cur.execute("SELECT current_setting('extra_float_digits')::int")
        if cur.fetchone()[0] < 1:
            return None
        exprs = [f"to_char({c.name} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
                 if isinstance(c.type, t.Timestamp) else c.name for c in columns]
        select_ = f"SELECT {', '.join(exprs)} FROM {columns[0].table.name}"  # identifiers only
        if where:
            select_ += " WHERE " + where.replace("?", "%s")
        sql = f"COPY ({select_}) TO STDOUT (FORMAT csv)"
        with cur.copy(sql, params or None) as copy:
            data = b"".join(copy)
    finally:
        cur.close()
    if not data:
        return [pa.array([], type=typ) for typ in types]
    names = [c.name for c in columns]
    try:
        table = pcsv.read_csv(
            pa.py_buffer(data),
            read_options=pcsv.ReadOptions(column_names=names),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types=dict(zip(names, types, strict=True)), null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=False),
        )
    except pa.ArrowException:
        return None
    return [table.column(name).combine_chunks() for name in names]


def _read_table(conn: Connection, name: str, where: str = "", params: tuple = ()) -> pd.DataFrame:
    """Rows of ``name`` (all, or those matching ``where``, a condition with ``?`` for each of
    ``params``), with dtypes from the schema whatever the rows: text ``str``, floats
    ``float64``, integers ``int64``, times ``datetime64[us, UTC]`` (also when empty or all
    null, so a few rows read and the whole table read have the same dtypes).

    On PostgreSQL the columns come through ``COPY`` as CSV parsed by Arrow (:func:`_copy_csv`).
    Otherwise the rows are fetched with garbage collection paused (:func:`_gc_paused`) and
    turned into Arrow columns in one pass (:func:`_rows_to_arrow`); rows whose values do not
    fit the schema's types are turned into columns by :func:`_frame_column`, as they come.
    """
    table = t.metadata.tables[name]
    columns = [c for c in table.columns if c.name not in _HIDDEN]
    cols = [c.name for c in columns]
    dialect = conn.dialect.name
    types = [_arrow_type(c, dialect) for c in columns]
    fast = all(typ is not None for typ in types)
    with _gc_paused():
        arrays = _copy_csv(conn, columns, where, params, types) if fast and dialect == "postgresql" else None
        if arrays is None:
            sql = f"SELECT {', '.join(cols)} FROM {name}"  # identifiers only
            if where:
                sql += " WHERE " + where.replace("?", _PARAM[dialect])
            cur = conn.connection.driver_connection.cursor()
            try:
                if params:
                    cur.execute(sql, params)
                else:
                    cur.execute(sql)
                rows = cur.fetchall()
            finally:
                cur.close()
            arrays = _rows_to_arrow(rows, types) if fast else None
            if arrays is None:
                values = list(zip(*rows, strict=True)) if rows else [()] * len(cols)
            del rows  # before collection resumes: it would walk every row
        data = {}
        if arrays is not None:
            for c, a in zip(columns, arrays, strict=True):
                data[c.name] = _arrow_frame_column(c, a)
            return pd.DataFrame(data, columns=cols)
        for c, v in zip(columns, values, strict=True):
            data[c.name] = _frame_column(c, v, dialect)
        del values
        return pd.DataFrame(data, columns=cols)


STATUS_TABLES = ("node_status", "link_status", "power_status")


def load_state(conn: Connection, tables: tuple[str, ...] = ("nodes", "links", *STATUS_TABLES)
               ) -> dict[str, pd.DataFrame]:
    """Inventory and current state as DataFrames (default: nodes, links, node_status,
    link_status, power_status; ``tables=STATUS_TABLES`` for the state alone). Time columns are
    aware UTC timestamps.

    Rows are fetched through the driver's cursor and times converted column-wise: at a million
    sites, per-row type conversion would dominate the analysis.
    """
    return {name: _read_table(conn, name) for name in tables}


def load_links_down(conn: Connection) -> tuple[pd.DataFrame, datetime | None]:
    """The ``link_status`` rows of the links down, and the newest observation of all its rows.

    A compiled model needs no more of the table (:func:`resilience.api.load_model`): a link
    with no status row, or any state but ``down``, is up; the other rows only move the newest
    observation. At 1M sites most of the 1.4M rows are links up, which this does not fetch.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.connect() as conn:
    ...     down, newest = load_links_down(conn)
    >>> list(down.columns), newest
    (['link_id', 'observed_at', 'state'], None)
    """
    newest = conn.execute(select(func.max(t.link_status.c.observed_at))).scalar_one()
    return _read_table(conn, "link_status", "state = ?", ("down",)), newest


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


_INVENTORY = ("nodes", "links")
_CACHE_FORMAT = 1  # bump when what is kept under a mark changes meaning


def inventory_mark(conn: Connection) -> str:
    """A digest that changes whenever the inventory tables (nodes, links) may have changed.

    It covers the inventory feed files ingested (count, newest, :func:`feed_marks`), the
    recorded inventory changes (count, newest id: every field an upsert or :func:`set_kind`
    changed), the row counts of ``nodes`` and ``links``, their columns and the cache format.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.connect() as conn:
    ...     len(inventory_mark(conn))
    24
    """
    import hashlib

    ch = t.inventory_changes
    changes = conn.execute(select(func.count(), func.max(ch.c.id))).one()
    rows = [conn.execute(select(func.count()).select_from(t.metadata.tables[name])).scalar_one()
            for name in _INVENTORY]
    columns = [[c.name for c in t.metadata.tables[name].columns] for name in _INVENTORY]
    key = repr((_CACHE_FORMAT, feed_marks(conn)[0], tuple(changes), rows, columns))
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def load_inventory(conn: Connection) -> dict[str, pd.DataFrame]:
    """The ``nodes`` and ``links`` frames of :func:`load_state` (what the compiled inventory is
    compiled from; :mod:`resilience.store.inventory_cache` keeps that beside an SQLite store).

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.connect() as conn:
    ...     sorted(load_inventory(conn))
    ['links', 'nodes']
    """
    return {name: _read_table(conn, name) for name in _INVENTORY}


def site_locations(conn: Connection) -> pd.DataFrame:
    """Every node with its name, place and kind, for maps: columns ``node_id, name, lat, lon,
    operator, municipality, kind``.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.connect() as conn:
    ...     list(site_locations(conn).columns)
    ['node_id', 'name', 'lat', 'lon', 'operator', 'municipality', 'kind']
    """
    n = t.nodes
    return pd.DataFrame(
        conn.execute(select(n.c.node_id, n.c.name, n.c.lat, n.c.lon, n.c.operator,
                            n.c.municipality, n.c.kind)).fetchall(),
        columns=["node_id", "name", "lat", "lon", "operator", "municipality", "kind"],
    )


def lock_for_writing(conn: Connection) -> None:
    """Take the database's write lock now, at the start of the transaction (SQLite; PostgreSQL
    locks rows as it writes): concurrent writers queue (busy timeout) instead of failing with
    "database is locked" when a transaction that has read tries to write.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.begin() as conn:
    ...     lock_for_writing(conn)
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def node_ids_among(conn: Connection, ids: Sequence[str]) -> list[str]:
    """Which of ``ids`` are stored nodes.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.connect() as conn:
    ...     node_ids_among(conn, ["B1"])
    []
    """
    n = t.nodes
    return list(conn.execute(select(n.c.node_id).where(n.c.node_id.in_(list(ids)))).scalars().all())


def node_ids_in_any_namespace(conn: Connection, node_id: str, *, limit: int = 5) -> list[str]:
    """Stored nodes whose id is ``node_id`` in some namespace (``<namespace>:<node_id>``, as a
    GraphML import names them), sorted; at most ``limit``.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.connect() as conn:
    ...     node_ids_in_any_namespace(conn, "0")
    []
    """
    n = t.nodes
    return list(conn.execute(
        select(n.c.node_id).where(n.c.node_id.like("%:" + _like(node_id), escape="\\"))
        .order_by(n.c.node_id).limit(limit)
    ).scalars().all())


def recent_quarantine(conn: Connection, limit: int = 1000) -> pd.DataFrame:
    """The latest quarantined rows (every status), newest first, with all their columns.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.connect() as conn:
    ...     len(recent_quarantine(conn))
    0
    """
    q = t.quarantine
    res = conn.execute(select(q).order_by(q.c.id.desc()).limit(limit))
    return pd.DataFrame(res.fetchall(), columns=list(res.keys()))
