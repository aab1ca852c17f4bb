"""The store as a read-only process sees it: bounded reads of the latest snapshot and the
ingest counters, for the Prometheus exporter (and anything else that only watches).

- :func:`reader_engine` opens a store for reading: a SQLite file must exist already (a reader
  never creates one).
- :class:`StoreReader` is the client a reader is given (the way prometheus-pve-exporter's
  collectors are given an API client): it knows the database's identity, so a SQLite file that
  was deleted and restored, or replaced by another file, is noticed and reopened, and
  :meth:`StoreReader.reading` hands out :class:`SnapshotReads`, the named reads over one
  connection.

Every read is bounded: by label sets (aggregates, outages grouped by place and cause), by a
``top_n`` (elements, shared-risk groups) or by an explicit cap (sites out). The only read that
grows with the network is :meth:`SnapshotReads.outage_upstreams`, two short columns of the out
nodes (root outages need every chain).

Rows come back as SQLAlchemy rows: tuples whose fields are also attributes named like the
columns of :mod:`resilience.topology.snapshot` (or as each method says).

Example
-------
>>> from resilience.store.engine import make_engine, migrate
>>> engine = make_engine("sqlite://"); migrate(engine)
>>> store = StoreReader(engine)
>>> with store.reading() as reads:
...     reads.latest_snapshot_row() is None, reads.files_by_kind()
(True, [])
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, Row, desc, event, func, select, text, union_all
from sqlalchemy.engine import make_url

from resilience.errors import BadInput, StoreError
from resilience.store import tables as t
from resilience.store.engine import make_engine

__all__ = ["sqlite_file", "reader_engine", "StoreReader", "SnapshotReads"]


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (``None`` for in-memory SQLite, ``file:`` URIs and other back ends).

    Example
    -------
    >>> sqlite_file("sqlite:////var/lib/r.db"), sqlite_file("sqlite://"), sqlite_file("postgresql://h/db")
    (PosixPath('/var/lib/r.db'), None, None)
    """
    if not url.startswith("sqlite"):
        return None
    db = make_url(url).database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def reader_engine(url: str) -> Engine:
    """An engine for a process that only reads the store: a SQLite file must exist already.

    SQLite would create an empty database on connect to a mistyped path; this engine opens the
    file with ``mode=rw`` (never create), and refuses a missing file up front.

    Raises
    ------
    BadInput
        The SQLite file does not exist or is not a file (the CLI exits 2 with this line).

    Example
    -------
    >>> reader_engine("sqlite:///no/such/dir/r.db")
    Traceback (most recent call last):
    ...
    resilience.errors.BadInput: no/such/dir/r.db: no SQLite database file here (create it with `resilience init`; a reader never creates one)
    """
    path = sqlite_file(url)
    if path is None:
        return make_engine(url)
    if not path.exists():
        raise BadInput(str(path), "no SQLite database file here (create it with `resilience init`; "
                                  "a reader never creates one)")
    if not path.is_file():
        raise BadInput(str(path), "not a file (a SQLite database file is expected)")
    engine = make_engine(url)
    uri = f"file:{quote(str(path.absolute()))}?mode=rw"

    @event.listens_for(engine, "do_connect")
    def _never_create(dialect, conn_rec, cargs, cparams) -> None:  # noqa: ARG001 - event signature
        cargs[:] = [uri]
        cparams["uri"] = True

    return engine


class SnapshotReads:
    """The named reads of a watching process, over one connection (from
    :meth:`StoreReader.reading`).

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> with engine.connect() as conn:
    ...     SnapshotReads(conn).ingest_marks()
    ((0, None), (0, None))
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def database_identity(self) -> Any:
        """The database's identity on a server (PostgreSQL: its oid, which changes when it is
        dropped and created again); ``None`` on SQLite (a file's identity is
        :meth:`StoreReader.file_identity`)."""
        if self.conn.dialect.name != "postgresql":
            return None
        return self.conn.execute(text(
            "SELECT oid FROM pg_database WHERE datname = current_database()")).scalar()

    def latest_snapshot_row(self) -> Mapping[str, Any] | None:
        """The ``snapshots`` row of the latest complete snapshot (its totals, times and id)."""
        s = t.snapshots
        return self.conn.execute(
            select(s).where(s.c.status == "complete").order_by(desc(s.c.id)).limit(1)
        ).mappings().first()

    # --- ingest counters -------------------------------------------------------------------

    def ingest_marks(self) -> tuple[tuple, tuple]:
        """Marks that change when a file is ingested or a row quarantined:
        ``((files, last ingested_at), (quarantine rows, last quarantine id))``."""
        ff, q = t.feed_files, t.quarantine
        files = tuple(self.conn.execute(select(func.count(), func.max(ff.c.ingested_at))).one())
        quarantined = tuple(self.conn.execute(select(func.count(), func.max(q.c.id))).one())
        return files, quarantined

    def files_by_kind(self) -> list[Row]:
        """Ingested feed files per kind: rows ``(kind, files, rows_accepted)``."""
        ff = t.feed_files
        return list(self.conn.execute(
            select(ff.c.kind, func.count().label("files"),
                   func.coalesce(func.sum(ff.c.accepted), 0).label("rows_accepted"))
            .group_by(ff.c.kind)))

    def quarantined_by_rule(self) -> list[Row]:
        """Quarantined rows per feed kind, rule and field: rows ``(kind, rule, field, rows)``."""
        q = t.quarantine
        return list(self.conn.execute(
            select(q.c.kind, q.c.rule, q.c.field, func.count().label("rows"))
            .group_by(q.c.kind, q.c.rule, q.c.field)))

    # --- the snapshot, bounded ---------------------------------------------------------------

    def aggregates(self, snapshot_id: int) -> list[Row]:
        """The snapshot's aggregates (every row: their count is bounded by the label sets)."""
        a = t.snapshot_aggregates
        return list(self.conn.execute(select(a).where(a.c.snapshot_id == snapshot_id)))

    def top_elements(self, snapshot_id: int, n: int) -> list[Row]:
        """The ``n`` single points of failure with the largest blast radius (subscribers, then
        nodes lost; ties by type and id)."""
        e = t.snapshot_elements
        cols = [c for c in e.c if c.name != "until_snapshot_id"]

        def order(c: Any) -> tuple:
            return desc(c.subscribers_lost), desc(c.nodes_lost), c.element_type, c.element_id

        # the rows still open, then those closed after it (none for the newest snapshot): each
        # part read in the order of the index (until_snapshot_id, subscribers_lost), n at most
        parts = [select(*cols).where(e.c.snapshot_id <= snapshot_id, part).order_by(*order(e.c))
                 .limit(n).subquery()
                 for part in (e.c.until_snapshot_id.is_(None), e.c.until_snapshot_id > snapshot_id)]
        both = union_all(*(select(p) for p in parts)).subquery()
        return list(self.conn.execute(select(both).order_by(*order(both.c)).limit(n)))

    def top_shared_risk_groups(self, snapshot_id: int, n: int) -> list[Row]:
        """The ``n`` shared-risk groups that cut the most (only groups that cut any node)."""
        s = t.snapshot_srlgs
        return list(self.conn.execute(
            select(s).where(s.c.snapshot_id == snapshot_id, s.c.nodes_lost > 0)
            .order_by(desc(s.c.subscribers_lost), desc(s.c.nodes_lost), s.c.srlg).limit(n)))

    def outages_by_place(self, snapshot_id: int) -> list[Row]:
        """Out nodes counted per cause, root cause, operator, prefecture and municipality:
        rows ``(cause, root_cause, operator, prefecture, municipality, nodes, subscribers)``."""
        o = t.snapshot_nodes_out
        keys = (o.c.cause, o.c.root_cause, o.c.operator, o.c.prefecture, o.c.municipality)
        return list(self.conn.execute(
            select(*keys, func.count().label("nodes"), func.sum(o.c.subscribers).label("subscribers"))
            .where(o.c.snapshot_id == snapshot_id).group_by(*keys)))

    def outage_upstreams(self, snapshot_id: int) -> list[Row]:
        """Every out node with the upstream element it waits for: rows ``(node_id, upstream,
        root_cause, subscribers)``."""
        o = t.snapshot_nodes_out
        return list(self.conn.execute(
            select(o.c.node_id, o.c.upstream, o.c.root_cause, o.c.subscribers)
            .where(o.c.snapshot_id == snapshot_id)))

    def sites_out(self, snapshot_id: int, limit: int) -> list[Row]:
        """At most ``limit`` out sites: root causes first, then by subscribers, then by id."""
        o = t.snapshot_nodes_out
        return list(self.conn.execute(
            select(o).where(o.c.snapshot_id == snapshot_id)
            .order_by(desc(o.c.root_cause), desc(o.c.subscribers), o.c.node_id).limit(limit)))


class StoreReader:
    """The store, for a process that only reads it (the exporter's injected client).

    Parameters
    ----------
    engine
        SQLAlchemy engine of the store (SQLite or PostgreSQL); for a SQLite file use
        :func:`reader_engine`, which never creates the file.

    Attributes
    ----------
    path
        The SQLite file (``None`` on PostgreSQL or in-memory SQLite).
    reopened
        Times the database file was found replaced and the engine's connections dropped.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> store = StoreReader(engine)
    >>> store.path is None, store.file_identity()
    (True, None)
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.path = sqlite_file(engine.url.render_as_string(hide_password=False))
        self.reopened = 0
        self._identity: object = None

    def file_identity(self) -> tuple[int, int] | None:
        """(device, inode) of the SQLite file (``None`` when there is no file); when the file was
        replaced since the last call, pooled connections (still on the old file) are dropped.

        Raises
        ------
        StoreError
            The file is missing (deleted or moved).
        """
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise StoreError(str(self.path), "missing (deleted or moved; serving the last snapshot)") from None
        ident = (st.st_dev, st.st_ino)
        if self._identity is not None and ident != self._identity:
            self.engine.dispose()  # pooled connections still read the old file
            self.reopened += 1
        self._identity = ident
        return ident

    @contextmanager
    def reading(self) -> Iterator[SnapshotReads]:
        """The named reads over one connection, closed on leaving the block."""
        with self.engine.connect() as conn:
            yield SnapshotReads(conn)
