"""Snapshot sources: read the bounded view of the latest snapshot, cache it, survive DB outages.

Two layers, both plain callables so tests can inject an in-memory fake:

- :class:`DatabaseSource` turns the latest complete snapshot into the exporter's view through an
  injected :class:`~resilience.store.reader.StoreReader` (the store's named, bounded reads:
  aggregates, top N, grouped outages, capped site list); it writes no query itself. The heavy
  part runs once per snapshot id; later calls cost one indexed read of the latest id.
- :class:`CachedSource` wraps any ``() -> ExporterSnapshot | None`` callable with a short TTL and
  a single-flight lock (concurrent scrapes cause one fetch), keeps the last good snapshot when
  the fetch raises, and reports the source's health (one readable line) for the exporter's own
  metrics and ``/healthz``.

A SQLite store is opened with :func:`~resilience.store.reader.reader_engine` (re-exported
here): it never creates the file, and on every refresh the store reader compares the file's
identity (device, inode) with the one it read before, so a database deleted and restored from a
copy, or replaced by another file, is reopened and re-read instead of served from the old
file's still-open handle.

Example
-------
>>> from datetime import UTC, datetime
>>> from resilience.exporter.model import ExporterSnapshot
>>> from resilience.exporter.source import CachedSource
>>> snap = ExporterSnapshot(id=7, as_of=datetime.now(UTC), created_at=datetime.now(UTC))
>>> src = CachedSource(lambda: snap, ttl=5.0)
>>> st = src.state()
>>> st.snapshot.id, st.up
(7, True)
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from resilience.analysis.outages import root_outages
from resilience.errors import ResilienceError, StoreError
from resilience.exporter.model import (
    Aggregate,
    Element,
    ExporterSnapshot,
    IngestCounts,
    OutageGroup,
    SharedRiskGroup,
    SiteOut,
    fold_labels,
)
from resilience.exporter.plans import PlanFiles
from resilience.store.engine import display_url, store_error
from resilience.store.reader import SnapshotReads, StoreReader, reader_engine, sqlite_file
from resilience.timestamps import as_utc

__all__ = ["SourceState", "CachedSource", "DatabaseSource", "view_of", "RestorationPlanFiles",
           "MAX_INGEST_RULES", "sqlite_file", "reader_engine", "one_line"]

log = logging.getLogger(__name__)

MAX_INGEST_RULES = 200  # (kind, rule, field) label sets kept; the rest are summed as rule="other"


def one_line(exc: BaseException) -> str:
    """A readable one-line description of a failed read: no SQL, no traceback, no driver URL.

    Example
    -------
    >>> one_line(ValueError("bad\\n[SQL: SELECT 1]"))
    'ValueError: bad'
    >>> one_line(StoreError("sqlite:///r.db", "missing"))
    'database sqlite:///r.db is missing'
    """
    if isinstance(exc, ResilienceError):
        msg = str(exc)
    else:
        if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
            exc = exc.orig
        first = (str(exc).strip().splitlines() or [""])[0].strip()
        msg = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return " ".join(msg.split())[:300]


def _aware(ts: datetime | None) -> datetime:
    """The time in UTC; the epoch for a missing one (the metrics need a number)."""
    return as_utc(ts) or datetime.fromtimestamp(0, UTC)


@dataclass(frozen=True)
class SourceState:
    """What the last fetch left: the snapshot being served and the source's health.

    Attributes
    ----------
    snapshot
        The last good snapshot (``None`` before the first successful fetch).
    up
        Whether the last fetch succeeded.
    last_success
        Unix time of the last successful fetch (0 if none).
    last_error
        The last fetch error as one readable line (empty if the last fetch succeeded).
    fetch_seconds
        Duration of the last fetch.
    errors
        Failed fetches since start.
    """

    snapshot: ExporterSnapshot | None
    up: bool
    last_success: float
    last_error: str
    fetch_seconds: float
    errors: int


class CachedSource:
    """A snapshot callable behind a TTL cache that keeps the last good value on errors.

    Parameters
    ----------
    fetch
        Returns the latest :class:`ExporterSnapshot` (or ``None`` if there is none yet); may raise.
    ttl
        Seconds a fetched value is reused. Concurrent callers wait for one in-flight fetch.
    clock
        Monotonic clock (injectable for tests).

    Example
    -------
    >>> calls = []
    >>> src = CachedSource(lambda: calls.append(1), ttl=60)
    >>> _ = src.state(); _ = src.state(); len(calls)
    1
    """

    def __init__(
        self,
        fetch: Callable[[], ExporterSnapshot | None],
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.ttl = float(ttl)
        self._clock = clock
        self._lock = threading.Lock()
        self._fetched_at: float | None = None
        self._state = SourceState(None, False, 0.0, "not fetched yet", 0.0, 0)

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self.ttl

    def state(self) -> SourceState:
        """The current state, fetching first if the cached one is older than ``ttl``.

        While one caller refreshes, the others get the current state at once (stale while
        revalidating); only before the first snapshot do they wait for the fetch.
        """
        if self._stale():
            if self._state.snapshot is not None:
                if self._lock.acquire(blocking=False):
                    try:
                        if self._stale():
                            self._refresh()
                    finally:
                        self._lock.release()
            else:
                with self._lock:
                    if self._stale():  # another thread may have refreshed while we waited
                        self._refresh()
        return self._state

    def _refresh(self) -> None:
        start = time.perf_counter()
        prev = self._state
        try:
            snap = self._fetch()
        except Exception as exc:  # noqa: BLE001 - any DB/driver error: keep serving the last snapshot
            self._state = SourceState(
                prev.snapshot, False, prev.last_success, one_line(exc),
                time.perf_counter() - start, prev.errors + 1,
            )
        else:
            self._state = SourceState(snap, True, time.time(), "", time.perf_counter() - start, prev.errors)
        self._fetched_at = self._clock()

    def __call__(self) -> ExporterSnapshot | None:
        """The snapshot being served (the last good one)."""
        return self.state().snapshot


def _core_nodes(aggregates: Iterable[Aggregate]) -> int:
    """Core nodes: the ``cores`` aggregate, or (snapshots written before it) the ``nodes``
    aggregate's nodes of kind core (it covers the whole inventory)."""
    aggregates = tuple(aggregates)
    cores = [a.value for a in aggregates if a.metric == "cores"]
    if cores:
        return int(sum(cores))
    return int(sum(a.value for a in aggregates if a.metric == "nodes" and a.kind == "core"))


def _group(r) -> SharedRiskGroup:
    """A shared-risk group row (table or frame); hidden means a non-empty hidden part."""
    hidden_nodes = int(getattr(r, "hidden_nodes", 0) or 0)
    return SharedRiskGroup(str(r.srlg), int(r.links), int(r.nodes_lost), int(r.subscribers_lost),
                           hidden_nodes > 0, hidden_nodes, int(getattr(r, "hidden_subscribers", 0) or 0))


def view_of(snap, top_n: int = 50, max_sites_out: int = 2000,
            ingest: IngestCounts | None = None,
            label_limits: Mapping[str, int] | None = None) -> ExporterSnapshot:
    """The exporter view of an in-memory :class:`resilience.topology.snapshot.Snapshot`.

    The same view :class:`DatabaseSource` reads with bounded queries (labels folded by
    :func:`~resilience.exporter.model.fold_labels` with ``label_limits``); use it to serve a
    snapshot that was just computed, or ``CachedSource(lambda: view_of(latest_snapshot(engine)))``.

    Example
    -------
    >>> import networkx as nx
    >>> from resilience.analysis.snapshot import compute_snapshot
    >>> G = nx.MultiGraph([("C", "B", "L1")]); G.nodes["C"]["kind"] = "core"
    >>> G.nodes["B"]["subscribers"] = 4
    >>> v = view_of(compute_snapshot(G))
    >>> [(e.element_id, e.subscribers_lost) for e in v.elements]
    [('C', 4), ('L1', 4)]
    """
    el = snap.elements.sort_values(
        ["subscribers_lost", "nodes_lost", "element_type", "element_id"],
        ascending=[False, False, True, True], kind="stable").head(top_n)
    elements = tuple(
        Element(r.element_type, str(r.element_id), int(r.nodes_lost), int(r.subscribers_lost),
                r.kind or "", r.operator or "", r.prefecture or "", r.municipality or "")
        for r in el.itertuples(index=False))
    sg = snap.srlgs[snap.srlgs["nodes_lost"] > 0].sort_values(
        ["subscribers_lost", "nodes_lost", "srlg"], ascending=[False, False, True], kind="stable").head(top_n)
    srlgs = tuple(_group(r) for r in sg.itertuples(index=False))
    out = snap.nodes_out
    groups: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for r in out.itertuples(index=False):
        g = groups[(r.cause, bool(r.root_cause), r.operator or "", r.prefecture or "", r.municipality or "")]
        g[0] += 1
        g[1] += int(r.subscribers or 0)
    outages = tuple(OutageGroup(*k, n, subs) for k, (n, subs) in groups.items())
    root_of, roots = root_outages(
        ((r.node_id, None if r.upstream is None or r.upstream != r.upstream else r.upstream,
          r.root_cause, r.subscribers) for r in out.itertuples(index=False)),
        limit=max_sites_out)
    ordered = out.assign(_rc=out["root_cause"].astype(bool)).sort_values(
        ["_rc", "subscribers", "node_id"], ascending=[False, False, True], kind="stable").head(max_sites_out)
    sites = tuple(
        SiteOut(str(r.node_id), r.cause, bool(r.root_cause),
                "" if r.upstream is None or r.upstream != r.upstream else str(r.upstream),
                r.kind or "", r.operator or "", r.prefecture or "", r.municipality or "",
                int(r.subscribers or 0), None if r.lat != r.lat else r.lat,
                None if r.lon != r.lon else r.lon, root_of.get(str(r.node_id), str(r.node_id)))
        for r in ordered.itertuples(index=False))
    aggregates = tuple(
        Aggregate(metric=r.metric, value=float(r.value), operator=r.operator or "",
                  prefecture=r.prefecture or "", municipality=r.municipality or "", kind=r.kind or "",
                  state=r.state or "", cause=r.cause or "", horizon_hours=float(r.horizon_hours or 0.0))
        for r in snap.aggregates.itertuples(index=False))
    return fold_labels(ExporterSnapshot(
        id=int(snap.id or 0), as_of=_aware(snap.as_of), created_at=_aware(snap.created_at),
        duration_seconds=snap.duration_seconds, total_nodes=int(snap.total_nodes),
        total_subscribers=int(snap.total_subscribers), served_nodes=int(snap.served_nodes),
        served_subscribers=int(snap.served_subscribers), aggregates=aggregates, elements=elements,
        srlgs=srlgs, outages=outages, sites_out=sites, sites_out_total=len(out), roots=roots,
        ingest=ingest or IngestCounts(), core_nodes=_core_nodes(aggregates),
    ), label_limits)


class DatabaseSource:
    """Read the bounded exporter view of the latest complete snapshot from the store.

    Parameters
    ----------
    store
        The store's reader (:class:`~resilience.store.reader.StoreReader`, or anything with its
        ``file_identity()`` and ``reading()``), or a SQLAlchemy engine to wrap in one (SQLite or
        PostgreSQL; for a SQLite file use :func:`reader_engine`, which never creates the file).
    top_n
        Elements and shared-risk groups exported per snapshot (by subscribers lost).
    max_sites_out
        Cap on per-site series of out sites (root causes first, then by subscribers).
    label_limits
        Distinct values kept per bounded label (``operator``, ``prefecture``, ``municipality``,
        ``kind``); the rest fold into ``other`` (:func:`~resilience.exporter.model.fold_labels`).

    Notes
    -----
    Per snapshot: one aggregate read, two ``ORDER BY ... LIMIT`` reads, one ``GROUP BY`` over
    the out nodes, one lean read of (node, upstream) of out nodes for root outages, one capped
    read of out sites (the reads of :class:`~resilience.store.reader.SnapshotReads`). Unlike
    :func:`resilience.store.snapshots.latest_snapshot` (the reference this view is tested
    against) it never materialises every SPOF element: O(top_n + label sets + out nodes) per
    snapshot instead of O(network). Per call otherwise: the identity of the database (a
    ``stat`` of the SQLite file, the database's oid on PostgreSQL), the latest-id lookup and a
    ``count``/``max`` over ``feed_files`` (re-reading the ingest counters only when a file was
    added). The view is re-read when the database's identity, the latest snapshot's id or its
    creation time changes, so a store re-created with a new snapshot 1 is read again. Errors
    are raised as :class:`~resilience.errors.StoreError` (one readable line).

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> DatabaseSource(engine)() is None
    True
    """

    def __init__(self, store: StoreReader | Engine, top_n: int = 50, max_sites_out: int = 2000,
                 label_limits: Mapping[str, int] | None = None) -> None:
        self.store = StoreReader(store) if isinstance(store, Engine) else store
        self.top_n = int(top_n)
        self.max_sites_out = int(max_sites_out)
        self.label_limits = dict(label_limits) if label_limits else None
        self._snap: ExporterSnapshot | None = None
        self._snap_key: tuple | None = None
        self._ingest_key: tuple | None = None
        self._ingest = IngestCounts()

    @property
    def engine(self) -> Engine:
        """The store's engine."""
        return self.store.engine

    @property
    def path(self) -> Path | None:
        """The SQLite file read (``None`` on PostgreSQL or in-memory SQLite)."""
        return self.store.path

    @property
    def reopened(self) -> int:
        """Times the database file was found replaced and reopened."""
        return self.store.reopened

    def __call__(self) -> ExporterSnapshot | None:
        try:
            return self._read()
        except sa_exc.DBAPIError as exc:
            url = display_url(self.engine.url.render_as_string(hide_password=False))
            err = store_error(exc, url) or StoreError(url, "unreadable", one_line(exc))
            raise err from exc

    def _read(self) -> ExporterSnapshot | None:
        ident = self.store.file_identity()
        with self.store.reading() as reads:
            if ident is None:
                ident = reads.database_identity()
            row = reads.latest_snapshot_row()
            ingest = self._read_ingest(reads, ident)
            if row is None:
                return None
            key = (ident, row["id"], str(row["created_at"]))
            if self._snap is None or self._snap_key != key:
                self._snap = self._read_snapshot(reads, row)
                self._snap_key = key
        if self._snap.ingest is not ingest:
            self._snap = replace(self._snap, ingest=ingest)
        return self._snap

    # --- ingest counters -------------------------------------------------------------------

    def _read_ingest(self, reads: SnapshotReads, ident: object) -> IngestCounts:
        key, qkey = reads.ingest_marks()
        if (ident, key, qkey) == self._ingest_key:
            return self._ingest
        files: dict[str, int] = {}
        accepted: dict[str, int] = {}
        for kind, n, acc in reads.files_by_kind():
            files[kind] = int(n)
            accepted[kind] = int(acc)
        rows = sorted(reads.quarantined_by_rule(), key=lambda r: (-r[3], r[0], r[1], r[2] or ""))
        quarantined: dict[tuple[str, str], int] = {}
        for i, (kind, rule, field_, n) in enumerate(rows):
            k = (kind, f"{rule}:{field_}" if field_ else rule) if i < MAX_INGEST_RULES else (kind, "other")
            quarantined[k] = quarantined.get(k, 0) + int(n)
        last = key[1]
        if isinstance(last, str):  # SQLite may hand back text for aggregate results
            last = datetime.fromisoformat(last)
        self._ingest = IngestCounts(
            files=files, rows_accepted=accepted, rows_quarantined=quarantined,
            last_ingest_timestamp=_aware(last).timestamp() if last is not None else None,
        )
        self._ingest_key = (ident, key, qkey)
        return self._ingest

    # --- snapshot ----------------------------------------------------------------------------

    def _read_snapshot(self, reads: SnapshotReads, row) -> ExporterSnapshot:
        sid = row["id"]
        aggregates = tuple(
            Aggregate(metric=r.metric, value=float(r.value), operator=r.operator or "",
                      prefecture=r.prefecture or "", municipality=r.municipality or "",
                      kind=r.kind or "", state=r.state or "", cause=r.cause or "",
                      horizon_hours=float(r.horizon_hours or 0.0))
            for r in reads.aggregates(sid)
        )
        elements = tuple(
            Element(r.element_type, str(r.element_id), int(r.nodes_lost), int(r.subscribers_lost),
                    r.kind or "", r.operator or "", r.prefecture or "", r.municipality or "")
            for r in reads.top_elements(sid, self.top_n)
        )
        srlgs = tuple(_group(r) for r in reads.top_shared_risk_groups(sid, self.top_n))
        outages = tuple(
            OutageGroup(r[0], bool(r[1]), r[2] or "", r[3] or "", r[4] or "", int(r[5]), int(r[6] or 0))
            for r in reads.outages_by_place(sid)
        )
        root_of, roots = root_outages(
            reads.outage_upstreams(sid),
            limit=self.max_sites_out,
        )
        sites_out = tuple(
            SiteOut(str(r.node_id), r.cause, bool(r.root_cause), r.upstream or "", r.kind or "",
                    r.operator or "", r.prefecture or "", r.municipality or "", int(r.subscribers or 0),
                    r.lat, r.lon, root_of.get(str(r.node_id), str(r.node_id)))
            for r in reads.sites_out(sid, self.max_sites_out)
        )
        return fold_labels(ExporterSnapshot(
            id=int(sid), as_of=_aware(row["as_of"]), created_at=_aware(row["created_at"]),
            duration_seconds=row["duration_seconds"],
            total_nodes=int(row["total_nodes"]), total_subscribers=int(row["total_subscribers"]),
            served_nodes=int(row["served_nodes"]), served_subscribers=int(row["served_subscribers"]),
            aggregates=aggregates, elements=elements, srlgs=srlgs,
            outages=outages, sites_out=sites_out, sites_out_total=sum(g.nodes for g in outages),
            roots=roots,
            ingest=self._ingest, core_nodes=_core_nodes(aggregates),
        ), self.label_limits)


class RestorationPlanFiles(PlanFiles):
    """The newest restoration plan (``var/restoration/restoration-<id>.json``, written by the
    ``resilience_restore`` DAG), for :class:`~resilience.exporter.collectors.RestorationCollector`.

    Example
    -------
    >>> RestorationPlanFiles("/nonexistent")() is None
    True
    """

    prefix = "restoration"
