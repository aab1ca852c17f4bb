"""Ingest feed files: read, validate, store accepted rows and quarantine the rest, per file in
one transaction; a file already ingested (same sha256, under any name) changes nothing unless
it is re-read on purpose (``force``).

Every inventory element has a *source* (``feed:<operator>`` for CSV and JSON Lines inventory,
``graphml:<namespace>/<network>`` for a GraphML import). A delivery from another source that
would redefine an element is refused with :class:`~resilience.errors.BadInput` naming the file,
line and field (nothing of the file is stored), unless ``allow_redefine`` (then the result
counts it in ``redefined`` and ``inventory_changes`` records it). A re-delivery from the same
source updates the element (normal operations); every changed field is recorded.

Quarantined rows keep their whole record; :func:`retry_quarantine` runs them through the same
validation and store path again (see docs/recovery.md).

Example
-------
>>> import tempfile, pathlib
>>> from resilience.store.engine import make_engine, migrate
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "nodes.csv").write_text(
...     "node_id,kind,operator,name,lat,lon,prefecture,municipality,subscribers,battery_hours,power_feed\\n"
...     "C1,core,docomo,Core,36.5,136.6,Ishikawa,Kanazawa,0,inf,F0\\n"
...     "B1,base_station,docomo,BS,37.4,136.9,Ishikawa,Wajima,-5,6,F1\\n")
>>> engine = make_engine("sqlite://"); migrate(engine)
>>> r = ingest_file(engine, d / "nodes.csv", archive_dir=d / "archive")
>>> r.kind, r.rows, r.accepted, r.quarantined, r.already_ingested
('nodes', 2, 1, 1, False)
>>> ingest_file(engine, d / "nodes.csv").already_ingested
True
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from resilience.errors import BadInput
from resilience.feeds.readers import FEED_KINDS, read_feed, sha256_of
from resilience.feeds.records import RawFeed, Reject
from resilience.feeds.validate import (
    ValidationContext,
    id_set,
    positions_in,
    preload_great_expectations,
    validate_rows,
)
from resilience.store import repo

__all__ = [
    "IngestResult",
    "RetryResult",
    "ingest_file",
    "ingest_paths",
    "order_for_ingest",
    "quarantine_frame",
    "retry_quarantine",
    "set_kind",
    "archive_dir_for",
    "read_any",
]

#: The parts of a file that are validated and stored: nodes, links, and the status kinds.
ROW_KINDS = ("nodes", "links", "power_status", "node_status", "link_status")


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file. ``accepted + quarantined == rows`` always.

    ``redefined``: elements of another source this file took over (``allow_redefine``);
    ``roles_changed``: nodes made cores by ``--core`` on a GraphML file already ingested.
    """

    path: str
    kind: str
    rows: int
    accepted: int
    quarantined: int
    already_ingested: bool
    sha256: str = ""
    redefined: int = 0
    roles_changed: int = 0

    def as_dict(self) -> dict:
        """The public JSON shape (``resilience ingest --format json``)."""
        d = asdict(self)
        d.pop("sha256")
        return d


@dataclass(frozen=True)
class RetryResult:
    """What a quarantine retry did: ``retried == stored + still_quarantined``."""

    retried: int
    stored: int
    still_quarantined: int

    def as_dict(self) -> dict:
        """The public JSON shape (``resilience quarantine retry --format json``)."""
        return asdict(self)


def archive_dir_for(db_url: str, default: str | Path) -> Path:
    """Where archived feed files go: beside a SQLite database file (``<its folder>/archive``),
    else (PostgreSQL, in-memory SQLite) ``default`` (``RESILIENCE_HOME/var/archive``).

    >>> str(archive_dir_for("sqlite:////data/r.db", "/home/var/archive"))
    '/data/archive'
    >>> str(archive_dir_for("postgresql+psycopg://u@h/db", "/home/var/archive"))
    '/home/var/archive'
    """
    if db_url.startswith("sqlite"):
        path = db_url.split("sqlite:///", 1)[-1].split("?", 1)[0]
        if path.startswith("file:"):
            path = path[len("file:"):]
        if path and path != ":memory:" and "://" not in path:
            return Path(path).resolve().parent / "archive"
    return Path(default)


def _archive(raw_path: Path, sha256: str, archive_dir: Path | None) -> None:
    if archive_dir is None:
        return
    dest = archive_dir / sha256[:2] / (sha256 + raw_path.suffix.lower())
    if dest.exists():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + f".{os.getpid()}.tmp")
    shutil.copyfile(raw_path, tmp)
    os.replace(tmp, dest)


def read_any(path: str | Path, *, graphml_cores: tuple[str, ...] = (),
             namespace: str | None = None) -> RawFeed:
    """:func:`~resilience.feeds.readers.read_feed`, with the GraphML ``namespace`` applied."""
    if namespace is None:
        return read_feed(path, graphml_cores=graphml_cores)
    from resilience.feeds.graphml import check_namespace, read_graphml

    check_namespace(namespace)
    raw = read_feed(path)
    if raw.format != "graphml":
        return raw
    data = Path(path).read_bytes()
    return read_graphml(data, raw.path, sha256_of(data), raw.encoding, cores=graphml_cores,
                        namespace=namespace)


def _context(future_tolerance: timedelta, now: datetime | None = None) -> ValidationContext:
    ctx = ValidationContext(future_tolerance=future_tolerance)
    if now is not None:
        ctx.now = now
    return ctx


def _parts(raw: RawFeed) -> list[tuple[str, pd.DataFrame, np.ndarray]]:
    """(row kind, rows, lines) of each part of a file, in store order."""
    if raw.kind == "graphml":
        return [("nodes", raw.frame, raw.lines), ("links", raw.graph_links, raw.graph_link_lines)]
    return [(raw.kind, raw.frame, raw.lines)]


def _new_sources(row_kind: str, frame: pd.DataFrame, good: pd.DataFrame,
                 owners: pd.DataFrame | None, owner_ids: Any = None) -> np.ndarray:
    """The source each good row claims: the file's (GraphML), else ``feed:<operator>`` (links:
    the operator of their end ``a``, from ``owners``: the stored nodes' operators by id)."""
    pos = good["_line"].to_numpy()
    if "source" in frame:
        return frame["source"].to_numpy(dtype=object)[pos]
    if row_kind == "nodes":
        return ("feed:" + good["operator"].astype(str)).to_numpy(dtype=object)
    # Per operator, not per link: a few distinct operators among a million nodes.
    codes, operators = pd.factorize(owners["operator"].to_numpy(dtype=object))
    sources = np.array(["feed:" + str(o) for o in operators] + ["feed:"], dtype=object)
    at = positions_in(good["a"], owners.index if owner_ids is None else owner_ids)
    return sources[np.where(at >= 0, codes[at], len(operators))]


def _claim(conn, row_kind: str, frame: pd.DataFrame, lines: np.ndarray, good: pd.DataFrame, *,
           path: str, allow_redefine: bool, refuse: bool,
           owners: pd.DataFrame | None = None, owner_ids: Any = None
           ) -> tuple[pd.DataFrame, list[Reject], int]:
    """Attach each good inventory row's source and check it against the stored element's
    (``owners``, links: the stored nodes' operators by id, read by the caller; ``owner_ids``:
    their ids as :func:`~resilience.feeds.validate.id_set` gives them).

    Returns the rows to store, the rows refused (only when not ``refuse``: a retry keeps them in
    quarantine) and how many elements of another source are taken over.
    """
    key = "node_id" if row_kind == "nodes" else "link_id"
    good = good.copy()
    cols = ["source", "kind"] if row_kind == "nodes" else ["source"]
    current = repo.current_values(conn, row_kind, cols)
    ids = good[key].to_numpy(dtype=object)
    old = current["source"].reindex(ids).to_numpy(dtype=object)
    known = pd.notna(old)
    new = _new_sources(row_kind, frame, good, owners, owner_ids)
    good["source"] = new
    if row_kind == "nodes" and "kind_given" in frame:
        # A GraphML node without a kind keeps the role it has (set by --core or set-kind).
        defaulted = frame["kind_given"].to_numpy(dtype=object)[good["_line"].to_numpy()] == "0"
        stored = current["kind"].reindex(ids).to_numpy(dtype=object)
        keep = defaulted & known
        good.loc[keep, "kind"] = stored[keep]
    conflict = known & (old != "") & (old != new)
    if not conflict.any() or allow_redefine:
        return good, [], int(conflict.sum())
    element = "node" if row_kind == "nodes" else "link"
    if refuse:
        i = int(np.flatnonzero(conflict)[0])
        raise BadInput(
            path,
            f"{element} '{ids[i]}' is defined by {old[i]}; this file ({new[i]}) would redefine it "
            f"({int(conflict.sum())} such elements): use another --namespace, or --allow-redefine "
            "to take them over",
            line=int(lines[int(good['_line'].iat[i])]), field=key)
    rejects = [
        Reject(int(good["_line"].iat[i]), key, str(ids[i]), "source_owns_element",
               f"{element} is defined by {old[i]}; {new[i]} may not redefine it "
               "(re-ingest with --allow-redefine to take it over)")
        for i in np.flatnonzero(conflict)
    ]
    return good[~conflict].reset_index(drop=True), rejects, 0


@dataclass
class _Stored:
    accepted: int
    rejects: list[Reject]  # ``line`` = the row's position in the part
    redefined: int


def _store_part(conn, row_kind: str, frame: pd.DataFrame, lines: np.ndarray, ctx: ValidationContext, *,
                sha256: str, path: str, origin: str, allow_redefine: bool, refuse: bool,
                skip_existing: bool) -> _Stored:
    """Validate and store one part of a file (the one path for ingest and quarantine retry)."""
    frame = frame.reset_index(drop=True)
    owners = owner_ids = None
    if row_kind == "links":  # one read of the nodes: the ids checked and their operators
        owners = repo.current_values(conn, "nodes", ["operator"])
        ctx.known_nodes = owner_ids = id_set(owners.index)  # converted once for both lookups
    elif row_kind == "node_status":
        ctx.known_nodes = repo.known_ids(conn, "nodes")
    elif row_kind == "link_status":
        ctx.known_links = repo.known_ids(conn, "links")
    v = validate_rows(row_kind, frame, np.arange(len(frame), dtype=np.int64), ctx)
    rejects, good, redefined = list(v.rejects), v.good, 0
    if row_kind in ("nodes", "links"):
        if len(good):
            good, refused, redefined = _claim(conn, row_kind, frame, lines, good, path=path,
                                              allow_redefine=allow_redefine, refuse=refuse,
                                              owners=owners, owner_ids=owner_ids)
            rejects += refused
        upsert = repo.upsert_nodes if row_kind == "nodes" else repo.upsert_links
        upsert(conn, good, origin=origin, sha256=sha256)
    else:
        repo.apply_status(conn, row_kind, good, sha256, skip_existing=skip_existing)
    return _Stored(len(good), rejects, redefined)


def _record(frame: pd.DataFrame, pos: int) -> str:
    return json.dumps({str(k): str(v) for k, v in frame.iloc[pos].items()}, ensure_ascii=False)


def ingest_file(
    engine: Engine,
    path: str | Path,
    *,
    archive_dir: str | Path | None = None,
    graphml_cores: tuple[str, ...] = (),
    future_tolerance: timedelta = timedelta(minutes=10),
    raw: RawFeed | None = None,
    force: bool = False,
    namespace: str | None = None,
    allow_redefine: bool = False,
    now: datetime | None = None,
) -> IngestResult:
    """Ingest one feed file in one transaction (``raw``: the file already read by :func:`read_any`).

    Parameters
    ----------
    force : bool
        Re-read a file already ingested (same sha256) on purpose: its rows go through
        validation and the store again (transitions already in history are not repeated) and
        its earlier open quarantine rows are marked resolved ("superseded"); what still fails
        is quarantined again.
    namespace : str, optional
        GraphML: the namespace of the ids (default: the network's name or the file stem).
    allow_redefine : bool
        Let this file take over elements another source defined (counted in ``redefined``).
    now : datetime, optional
        The moment the rows' times are checked against (default: the clock).

    Raises
    ------
    BadInput
        The file cannot be read at all, or it would redefine another source's elements
        (nothing is stored).
    """
    path = Path(path)
    raw = raw or read_any(path, graphml_cores=graphml_cores, namespace=namespace)
    name = str(path)
    with engine.connect() as conn:
        done = repo.feed_file_record(conn, raw.sha256)
    if done and not force:
        roles = _apply_cores(engine, raw, graphml_cores) if raw.kind == "graphml" and graphml_cores else 0
        return IngestResult(name, done["kind"], done["rows"], done["accepted"], done["quarantined"],
                            True, raw.sha256, roles_changed=roles)
    ctx = _context(future_tolerance, now)
    if any(len(frame) >= ctx.gx_min_rows for _, frame, _ in _parts(raw)):
        preload_great_expectations()  # overlaps the archive copy and the parsing of values
    _archive(path, raw.sha256, Path(archive_dir) if archive_dir else None)
    try:
        with engine.begin() as conn:
            # Take the write lock first: concurrent ingests queue (busy_timeout) instead of
            # failing with "database is locked" when a stale read snapshot tries to write.
            repo.lock_for_writing(conn)
            done = repo.feed_file_record(conn, raw.sha256)  # another worker may just have won
            if done and not force:
                return IngestResult(name, done["kind"], done["rows"], done["accepted"],
                                    done["quarantined"], True, raw.sha256)
            if done:
                repo.supersede_quarantine(conn, raw.sha256, "superseded by a deliberate re-ingest (ingest --force)")
            rejects = list(raw.rejects)
            records: list[str | None] = [None] * len(rejects)
            row_kinds: list[str | None] = [None] * len(rejects)
            accepted = redefined = 0
            for row_kind, frame, lines in _parts(raw):
                st = _store_part(conn, row_kind, frame, lines, ctx, sha256=raw.sha256, path=name,
                                 origin="ingest", allow_redefine=allow_redefine, refuse=True,
                                 skip_existing=force)
                accepted += st.accepted
                redefined += st.redefined
                frame = frame.reset_index(drop=True)
                for r in st.rejects:
                    rejects.append(replace(r, line=int(lines[r.line])))
                    records.append(_record(frame, r.line))
                    row_kinds.append(row_kind)
            rows = raw.rows_read
            if accepted + len(rejects) != rows:  # the ledger must balance; never drop a row
                raise AssertionError(f"{name}: {accepted} accepted + {len(rejects)} quarantined != {rows} rows")
            repo.add_quarantine(conn, sha256=raw.sha256, path=name, kind=raw.kind, rejects=rejects,
                                records=records, row_kinds=row_kinds)
            repo.record_feed_file(conn, sha256=raw.sha256, path=name, kind=raw.kind, rows=rows,
                                  accepted=accepted, quarantined=len(rejects), replace=force)
    except IntegrityError:
        # Another worker stored the same bytes (under any name) while we were at it: its
        # transaction won the feed_files primary key; ours rolled back whole. Not an error.
        with engine.connect() as conn:
            done = repo.feed_file_record(conn, raw.sha256)
        if not done:
            raise
        return IngestResult(name, done["kind"], done["rows"], done["accepted"], done["quarantined"],
                            True, raw.sha256)
    return IngestResult(name, raw.kind, rows, accepted, len(rejects), False, raw.sha256,
                        redefined=redefined)


def _apply_cores(engine: Engine, raw: RawFeed, cores: Sequence[str]) -> int:
    """``--core`` on a GraphML file already ingested: make those nodes cores (a role change,
    recorded like ``resilience inventory set-kind``); return how many changed."""
    ids = set(raw.frame["node_id"])
    ns = next(iter(ids)).split(":", 1)[0] if ids else ""
    wanted = [f"{ns}:{c}" if f"{ns}:{c}" in ids else c for c in cores]
    wanted = [c for c in wanted if c in ids]
    with engine.begin() as conn:
        return len(repo.set_kind(conn, wanted, "core", origin="ingest --core"))


def set_kind(engine: Engine, node_ids: Sequence[str], kind: str, *,
             namespace: str | None = None) -> list[tuple[str, str]]:
    """Change the role (kind) of stored nodes without re-delivering a file.

    An id is a stored node id; with ``namespace`` also ``<id>`` of that namespace; an id that
    is not stored but ends exactly one stored ``<namespace>:<id>`` means that node. Each change
    is recorded in ``inventory_changes`` (origin ``set-kind``). Returns ``(node_id, old kind)``
    of each node that changed.

    Raises
    ------
    BadInput
        ``kind`` is not a known kind, an id matches no stored node, or several (give the
        namespace). Nothing is changed then.

    Example
    -------
    >>> import tempfile, pathlib
    >>> from resilience.store.engine import make_engine, migrate
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "net.graphml"
    >>> _ = p.write_text('<graphml><graph><node id="0"/><node id="1"/><edge source="0" target="1"/></graph></graphml>')
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> _ = ingest_file(engine, p)
    >>> set_kind(engine, ["0"], "core")
    [('net:0', 'aggregation')]
    """
    from resilience.topology.model import NODE_KINDS

    if kind not in NODE_KINDS:
        raise BadInput("kind", f"'{kind}' is not one of {', '.join(NODE_KINDS)}", field="kind")
    if not node_ids:
        raise BadInput("ids", "no node id given", field="node_id")
    with engine.begin() as conn:
        repo.lock_for_writing(conn)
        resolved = []
        for raw_id in node_ids:
            cands = [raw_id] + ([f"{namespace}:{raw_id}"] if namespace else [])
            found = repo.node_ids_among(conn, cands)
            if not found and not namespace:
                found = repo.node_ids_in_any_namespace(conn, raw_id, limit=5)
            if not found:
                raise BadInput("ids", f"unknown node '{raw_id}'", field="node_id")
            if len(found) > 1:
                raise BadInput("ids", f"node '{raw_id}' is ambiguous ({', '.join(found)}): give the "
                                      "full id or --namespace", field="node_id")
            resolved.append(found[0])
        return repo.set_kind(conn, resolved, kind)


def retry_quarantine(
    engine: Engine,
    *,
    file: str | None = None,
    rule: str | None = None,
    future_tolerance: timedelta = timedelta(minutes=10),
    now: datetime | None = None,
) -> RetryResult:
    """Run the open quarantined rows (all, or of one ``file`` / ``rule``) through validation and
    the store again, in one transaction, against the current inventory.

    Rows are retried part by part (inventory before the status that refers to it) through the
    same code as :func:`ingest_file` (history rules included; a transition already in history
    is not repeated). A row that now passes is stored and its quarantine row marked
    ``resolved`` (when, and how); a row that still fails stays ``open`` with its reason
    refreshed. Rows that could not be split into fields have no record and stay open: fix the
    file and re-ingest it with ``force``.

    Example
    -------
    >>> import tempfile, pathlib
    >>> from resilience.sample.known import KNOWN_NODES_CSV
    >>> from resilience.store.engine import make_engine, migrate
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "status.csv").write_text("observed_at,node_id,state,power,battery_remaining_min\\n"
    ...                                   "2024-01-01T16:00:00+09:00,B1,down,none,0\\n")
    >>> _ = (d / "nodes.csv").write_text(KNOWN_NODES_CSV)
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> ingest_file(engine, d / "status.csv").quarantined   # status before its node arrived
    1
    >>> _ = ingest_file(engine, d / "nodes.csv")
    >>> retry_quarantine(engine).as_dict()
    {'retried': 1, 'stored': 1, 'still_quarantined': 0}
    """
    from datetime import UTC

    moment = now or datetime.now(UTC)
    with engine.begin() as conn:
        repo.lock_for_writing(conn)
        rows = repo.list_quarantine(conn, file=file, rule=rule, status="open")
        if rows.empty:
            return RetryResult(0, 0, 0)
        updates: list[dict] = []
        keep = lambda r: {"id": int(r["id"]), "status": "open", "rule": r["rule"],  # noqa: E731
                          "field": r["field"], "value": r["value"], "reason": r["reason"]}
        no_record = rows["record"].isna() | rows["row_kind"].isna()
        updates += [keep(r) for _, r in rows[no_record].iterrows()]
        todo = rows[~no_record].copy()
        todo["_order"] = todo["row_kind"].map({k: i for i, k in enumerate(ROW_KINDS)}).fillna(len(ROW_KINDS))
        stored = 0
        groups = todo.groupby(["_order", "row_kind", "file_sha256", "path"], sort=True, dropna=False)
        for (_, row_kind, sha, path), g in groups:
            g = g.sort_values("id")
            frame = pd.DataFrame([json.loads(x) for x in g["record"]]).fillna("").astype(str)
            lines = g["line"].fillna(0).astype(np.int64).to_numpy()
            st = _store_part(conn, row_kind, frame, lines, _context(future_tolerance, moment),
                             sha256=sha, path=path, origin="retry", allow_redefine=False,
                             refuse=False, skip_existing=True)
            failed = {r.line: r for r in st.rejects}
            for pos, qid in enumerate(g["id"]):
                r = failed.get(pos)
                if r is None:
                    updates.append({"id": int(qid), "status": "resolved",
                                    "resolution": "stored by quarantine retry"})
                else:
                    updates.append({"id": int(qid), "status": "open", "rule": r.rule, "field": r.field,
                                    "value": r.value, "reason": r.reason})
            stored += st.accepted
        repo.update_quarantine(conn, updates, moment)
    return RetryResult(len(rows), stored, len(rows) - stored)


def order_for_ingest(raws: Iterable[RawFeed]) -> list[RawFeed]:
    """Inventory before the state that refers to it; within a kind, the order given."""
    raws = list(raws)
    return sorted(raws, key=lambda r: FEED_KINDS.index(r.kind))


def ingest_paths(
    engine: Engine,
    paths: Iterable[str | Path],
    *,
    archive_dir: str | Path | None = None,
    graphml_cores: tuple[str, ...] = (),
    future_tolerance: timedelta = timedelta(minutes=10),
    on_file: Callable[[IngestResult], None] | None = None,
    force: bool = False,
    namespace: str | None = None,
    allow_redefine: bool = False,
) -> list[IngestResult]:
    """Read every file first (so an unreadable one stops the run before anything is stored),
    then ingest them in dependency order, one transaction each.

    ``namespace`` names the ids of one GraphML file (two GraphML files in one call with one
    namespace are refused: give each its own). ``force`` and ``allow_redefine``: see
    :func:`ingest_file`.
    """
    raws = [read_any(p, graphml_cores=graphml_cores, namespace=namespace) for p in paths]
    graphml = [r for r in raws if r.kind == "graphml"]
    if namespace is not None and len(graphml) > 1:
        raise BadInput(graphml[1].path, f"--namespace {namespace} given for {len(graphml)} GraphML files: "
                                        "ingest each with its own namespace", field="namespace")
    results = []
    for raw in order_for_ingest(raws):
        res = ingest_file(engine, raw.path, archive_dir=archive_dir, raw=raw, graphml_cores=graphml_cores,
                          future_tolerance=future_tolerance, force=force, allow_redefine=allow_redefine)
        results.append(res)
        if on_file:
            on_file(res)
    return results


def quarantine_frame(engine: Engine, limit: int = 1000) -> pd.DataFrame:
    """The latest quarantined rows, newest first."""
    with engine.connect() as conn:
        return repo.recent_quarantine(conn, limit)
