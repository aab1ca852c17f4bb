"""Ingest feed files: read, validate, store accepted rows and quarantine the rest, per file in
one transaction; a file already ingested (same sha256, under any name) changes nothing.

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

import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from resilience.feeds.readers import FEED_KINDS, RawFeed, read_feed
from resilience.feeds.validate import ValidationContext, validate_rows
from resilience.store import repo

__all__ = ["IngestResult", "ingest_file", "ingest_paths", "order_for_ingest", "quarantine_frame"]


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file. ``accepted + quarantined == rows`` always."""

    path: str
    kind: str
    rows: int
    accepted: int
    quarantined: int
    already_ingested: bool
    sha256: str = ""

    def as_dict(self) -> dict:
        """The public JSON shape (``resilience ingest --format json``)."""
        d = asdict(self)
        d.pop("sha256")
        return d


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


def ingest_file(
    engine: Engine,
    path: str | Path,
    *,
    archive_dir: str | Path | None = None,
    graphml_cores: tuple[str, ...] = (),
    future_tolerance: timedelta = timedelta(minutes=10),
    raw: RawFeed | None = None,
) -> IngestResult:
    """Ingest one feed file in one transaction (``raw``: the file already read by :func:`read_feed`).

    Raises
    ------
    BadInput
        The file cannot be read at all (nothing is stored).
    """
    path = Path(path)
    raw = raw or read_feed(path, graphml_cores=graphml_cores)
    name = str(path)
    with engine.connect() as conn:
        done = repo.feed_file_record(conn, raw.sha256)
    if done:
        return IngestResult(name, done["kind"], done["rows"], done["accepted"], done["quarantined"],
                            True, raw.sha256)
    _archive(path, raw.sha256, Path(archive_dir) if archive_dir else None)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # Take the write lock first: concurrent ingests queue (busy_timeout) instead of
                # failing with "database is locked" when a stale read snapshot tries to write.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            done = repo.feed_file_record(conn, raw.sha256)  # another worker may just have won
            if done:
                return IngestResult(name, done["kind"], done["rows"], done["accepted"],
                                    done["quarantined"], True, raw.sha256)
            ctx = ValidationContext(future_tolerance=future_tolerance)
            rejects = list(raw.rejects)
            accepted = 0
            if raw.kind in ("nodes", "graphml"):
                v = validate_rows("nodes", raw.frame, raw.lines, ctx)
                repo.upsert_nodes(conn, v.good)
                rejects += v.rejects
                accepted += len(v.good)
            if raw.kind == "graphml" or raw.kind == "links":
                frame = raw.graph_links if raw.kind == "graphml" else raw.frame
                lines = raw.graph_link_lines if raw.kind == "graphml" else raw.lines
                ctx.known_nodes = repo.known_ids(conn, "nodes")
                v = validate_rows("links", frame, lines, ctx)
                repo.upsert_links(conn, v.good)
                rejects += v.rejects
                accepted += len(v.good)
            if raw.kind in ("node_status", "link_status", "power_status"):
                if raw.kind == "node_status":
                    ctx.known_nodes = repo.known_ids(conn, "nodes")
                elif raw.kind == "link_status":
                    ctx.known_links = repo.known_ids(conn, "links")
                v = validate_rows(raw.kind, raw.frame, raw.lines, ctx)
                repo.apply_status(conn, raw.kind, v.good, raw.sha256)
                rejects += v.rejects
                accepted += len(v.good)
            rows = raw.rows_read
            if accepted + len(rejects) != rows:  # the ledger must balance; never drop a row
                raise AssertionError(f"{name}: {accepted} accepted + {len(rejects)} quarantined != {rows} rows")
            repo.add_quarantine(conn, sha256=raw.sha256, path=name, kind=raw.kind, rejects=rejects)
            repo.record_feed_file(conn, sha256=raw.sha256, path=name, kind=raw.kind, rows=rows,
                                  accepted=accepted, quarantined=len(rejects))
    except IntegrityError:
        # Another worker stored the same bytes (under any name) while we were at it: its
        # transaction won the feed_files primary key; ours rolled back whole. Not an error.
        with engine.connect() as conn:
            done = repo.feed_file_record(conn, raw.sha256)
        if not done:
            raise
        return IngestResult(name, done["kind"], done["rows"], done["accepted"], done["quarantined"],
                            True, raw.sha256)
    return IngestResult(name, raw.kind, rows, accepted, len(rejects), False, raw.sha256)


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
) -> list[IngestResult]:
    """Read every file first (so an unreadable one stops the run before anything is stored),
    then ingest them in dependency order, one transaction each."""
    raws = [read_feed(p, graphml_cores=graphml_cores) for p in paths]
    results = []
    for raw in order_for_ingest(raws):
        res = ingest_file(engine, raw.path, archive_dir=archive_dir, raw=raw,
                          future_tolerance=future_tolerance)
        results.append(res)
        if on_file:
            on_file(res)
    return results


def quarantine_frame(engine: Engine, limit: int = 1000) -> pd.DataFrame:
    """The latest quarantined rows, newest first."""
    from sqlalchemy import select

    from resilience.store import tables as t

    with engine.connect() as conn:
        res = conn.execute(select(t.quarantine).order_by(t.quarantine.c.id.desc()).limit(limit))
        return pd.DataFrame(res.fetchall(), columns=list(res.keys()))

