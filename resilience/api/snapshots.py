"""Analysis snapshots: the one writer that ``resilience analyze``, the analysis DAG, ``resilience
watch`` and ``resilience replay`` share, and the rule of one snapshot per change.

- :func:`analyze`: compute the snapshot of the current state and store it (one transaction);
- :func:`analyze_once`: the pipeline's step: one snapshot per ``as_of`` and per change, deferring
  to a running ``resilience watch`` (:func:`watch_alive`);
- :func:`store_snapshot`: compute and store the snapshot of a model in hand (the watch's
  in-memory model, :class:`resilience.api.live.LiveModel`, or the store's);
- :func:`replay`: feed files in time order through ingest and analysis.

Example
-------
>>> import tempfile
>>> from datetime import datetime, UTC
>>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
>>> a = analyze_once(datetime(2024, 1, 1, tzinfo=UTC), db_url=url)
>>> analyze_once(datetime(2024, 1, 1, 0, 5, tzinfo=UTC), db_url=url) == a  # nothing changed
True
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resilience.api.feeds import archive_dir
from resilience.api.state import engine, ensure_schema, load_model, resolve_db_url, store_guard
from resilience.settings import load_settings

if TYPE_CHECKING:
    import networkx as nx

    from resilience.analysis.snapshot import Snapshot
    from resilience.topology.compiled import CSRGraph

__all__ = [
    "analyze", "analyze_once", "change_mark", "covering_snapshot", "find_snapshot",
    "latest_outage", "replay", "store_snapshot", "watch_alive", "watch_heartbeat",
]


@store_guard
def latest_outage(db_url: str | None = None) -> dict[str, Any]:
    """The newest snapshot's id and how many sites it has out (the restore DAG's first step).

    Returns
    -------
    dict
        ``{"snapshot_id": int | None, "nodes_out": int}`` (``None`` and 0 before any analysis).

    Example
    -------
    >>> import tempfile
    >>> latest_outage(f"sqlite:///{tempfile.mkdtemp()}/r.db")
    {'snapshot_id': None, 'nodes_out': 0}
    """
    from resilience.store.snapshots import latest_snapshot

    ensure_schema(db_url)
    snap = latest_snapshot(engine(db_url))
    if snap is None:
        return {"snapshot_id": None, "nodes_out": 0}
    return {"snapshot_id": int(snap.id), "nodes_out": int((snap.summary or {}).get("nodes_out", 0))}


def change_mark(db_url: str | None = None) -> list[Any]:
    """The store's change mark (:func:`resilience.store.marks.change_mark`): it moves whenever
    anything that a snapshot reads was stored.

    Every snapshot writer stores the mark it read (before reading the state) in the snapshot's
    ``summary['change_mark']``, so that a second writer can tell that the change it was told
    about is in a snapshot already (:func:`covering_snapshot`).

    Example
    -------
    >>> import tempfile
    >>> change_mark(f"sqlite:///{tempfile.mkdtemp()}/r.db")
    [0, None, 0, 0]
    """
    from resilience.store.marks import change_mark as mark_of

    ensure_schema(db_url)
    with engine(db_url).connect() as conn:
        return mark_of(conn)


def find_snapshot(as_of: datetime, *, db_url: str | None = None, tolerance_s: float = 0.001) -> int | None:
    """The id of a complete snapshot taken for ``as_of`` (within ``tolerance_s``), if any
    (:func:`resilience.store.marks.snapshot_at`).

    Example
    -------
    >>> import tempfile
    >>> from datetime import datetime, UTC
    >>> find_snapshot(datetime(2024, 1, 1, tzinfo=UTC), db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db") is None
    True
    """
    from resilience.store.marks import snapshot_at

    ensure_schema(db_url)
    with engine(db_url).connect() as conn:
        return snapshot_at(conn, as_of, tolerance_s=tolerance_s)


def covering_snapshot(mark: list[Any], *, db_url: str | None = None, look_back: int = 5) -> int | None:
    """The newest complete snapshot written at change mark ``mark`` (see :func:`change_mark`), if
    any of the last ``look_back`` is.

    Example
    -------
    >>> import tempfile
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
    >>> covering_snapshot([0, None, 0, 0], db_url=url) is None
    True
    """
    from resilience.store.marks import snapshot_at_mark

    ensure_schema(db_url)
    with engine(db_url).connect() as conn:
        return snapshot_at_mark(conn, mark, look_back=look_back)


def _heartbeat_path(db_url: str | None) -> Path:
    import hashlib

    s = load_settings()
    key = hashlib.sha256(resolve_db_url(db_url).encode()).hexdigest()[:16]
    return s.path(s.run_dir) / f"watch-{key}.alive"


def watch_heartbeat(db_url: str | None = None) -> None:
    """Mark a ``resilience watch`` of this store as alive (``<run_dir>/watch-<store>.alive``,
    settings ``run_dir``; the watch calls it on every check). Never raises: the watch runs on
    without it.

    Example
    -------
    >>> import tempfile
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
    >>> watch_heartbeat(url); watch_alive(url)
    True
    """
    path = _heartbeat_path(db_url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{os.getpid()}\n", encoding="utf-8")
    except OSError:
        pass


def watch_alive(db_url: str | None = None, *, within_s: float = 60.0) -> bool:
    """Whether a ``resilience watch`` of this store checked for changes within ``within_s``.

    Example
    -------
    >>> watch_alive("sqlite:////nonexistent/r.db")
    False
    """
    import time

    try:
        return time.time() - _heartbeat_path(db_url).stat().st_mtime <= within_s
    except OSError:
        return False


def store_snapshot(
    model: nx.MultiGraph | CSRGraph,
    mark: list[Any],
    *,
    db_url: str | None = None,
    top_n: int | None = None,
    csr: CSRGraph | None = None,
    previous: Snapshot | None = None,
) -> Snapshot:
    """Compute the snapshot of ``model`` and store it in one transaction, filed under the change
    mark ``mark`` read before the model's state (:func:`change_mark`); return it (``id`` set).

    ``previous``, a snapshot this process stored before, spares reading the stored elements to
    find the unchanged ones (:func:`resilience.store.snapshots.write_snapshot`).

    ``model`` is the store's compiled model (:func:`resilience.api.load_model`) or a networkx
    graph with its compiled view ``csr`` (the watch's in-memory model). Settings give
    ``top_n`` (unless given), the forecast hours, the staleness and the snapshots kept.

    Example
    -------
    >>> import tempfile
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
    >>> mark = change_mark(url)
    >>> store_snapshot(load_model(db_url=url), mark, db_url=url).summary["change_mark"] == mark
    True
    """
    from resilience.analysis.snapshot import compute_snapshot
    from resilience.store.snapshots import write_snapshot

    s = load_settings()
    snap = compute_snapshot(model, top_n=top_n or s.top_n, hours=s.forecast_hours,
                            stale_after=timedelta(minutes=s.stale_after_minutes), csr=csr)
    snap.summary["change_mark"] = mark  # one snapshot per change: analyze_once
    before = None if previous is None or previous.id is None else (previous.id, previous.elements)
    write_snapshot(engine(db_url), snap, keep=s.snapshots_kept, previous=before)
    return snap


def _analyze(db_url: str | None, as_of: datetime | None, top_n: int | None) -> Snapshot:
    """:func:`analyze`, returning the stored snapshot itself (its ``id`` set)."""
    mark = change_mark(db_url)  # read before the state: the snapshot holds at least this
    model = load_model(db_url=db_url, as_of=as_of)  # arrays first: no networkx object
    return store_snapshot(model, mark, db_url=db_url, top_n=top_n)


@store_guard
def analyze(
    *, db_url: str | None = None, as_of: datetime | None = None, top_n: int | None = None
) -> int:
    """Compute the analysis snapshot of the current state and store it in one transaction.

    Returns the new snapshot id. Readers see the previous snapshot until this one commits.

    Example
    -------
    >>> import tempfile
    >>> analyze(db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db")
    1
    """
    return _analyze(db_url, as_of, top_n).id


def analyze_once(
    as_of: datetime, *, db_url: str | None = None, wait_for_watch_s: float | None = None,
    poll_s: float = 0.5,
) -> int:
    """The analysis snapshot of the pipeline run at ``as_of``; return its id. One snapshot per change.

    In order:

    1. a snapshot this run wrote already (keyed by the run's time: Airflow's logical date, or the
       time the asset event queued the run) is returned: re-running the run adds nothing;
    2. a snapshot of the current change mark (:func:`change_mark`) is returned, whoever wrote it;
    3. while a ``resilience watch`` of this store is alive (:func:`watch_alive`) the pipeline
       **defers to it**: it waits up to ``wait_for_watch_s`` (settings
       ``watch_wait_seconds``, default 60) for the watch's snapshot of this change and returns it;
    4. otherwise (no watch, or it did not deliver) it writes the snapshot itself, in one
       transaction (a try that fails half-way leaves nothing behind).

    The watch does the same from its side (:meth:`resilience.api.live.LiveModel.analyze` writes
    nothing when a snapshot of the change exists), so each change is stored once and the
    48-snapshot history holds 48 different states.

    Example
    -------
    >>> import tempfile
    >>> from datetime import datetime, UTC
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
    >>> a = analyze_once(datetime(2024, 1, 1, tzinfo=UTC), db_url=url)
    >>> analyze_once(datetime(2024, 1, 1, 0, 5, tzinfo=UTC), db_url=url) == a  # nothing changed
    True
    """
    import time

    from resilience.timestamps import as_utc

    ensure_schema(db_url)
    as_of = as_utc(as_of)
    found = find_snapshot(as_of, db_url=db_url)
    if found is not None:
        return found
    mark = change_mark(db_url)
    found = covering_snapshot(mark, db_url=db_url)
    if found is not None:
        return found
    if watch_alive(db_url):
        wait = wait_for_watch_s
        if wait is None:
            wait = float(getattr(load_settings(), "watch_wait_seconds", 60.0))
        end = time.monotonic() + wait
        while time.monotonic() < end:
            time.sleep(poll_s)
            found = covering_snapshot(mark, db_url=db_url)
            if found is not None:
                return found
    return int(analyze(db_url=db_url, as_of=as_of))


@store_guard
def replay(
    directory: str | Path,
    *,
    db_url: str | None = None,
    step: timedelta | None = None,
    on_step: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Replay a folder of time-stamped feed files (``resilience sample noto-2024``).

    Files are ingested in name order through the same code as the pipeline; the state is
    analysed at each feed time (or every ``step``) and one row per step is returned:
    ``{"at", "sites_down", "by_cause", "subscribers_out"}`` where ``sites_down`` counts base
    stations out (the ministry's measure) and ``by_cause`` splits them by cause.

    Example
    -------
    >>> import tempfile
    >>> from resilience.errors import BadInput
    >>> try:
    ...     replay(tempfile.mkdtemp(), db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db")
    ... except BadInput as exc:
    ...     print(exc.message)
    no time-stamped feed files (names like 0100_2024-01-01T1610+0900_status.csv)
    """
    from resilience.feeds.ingest import ingest_file
    from resilience.feeds.readers import read_feed
    from resilience.sample.replay import replay_schedule

    ensure_schema(db_url)
    eng = engine(db_url)
    rows = []
    for at, files in replay_schedule(directory, step=step):
        for f in files:
            ingest_file(eng, f, raw=read_feed(f), archive_dir=archive_dir(db_url))
        out = _analyze(db_url, at, None).nodes_out
        bs = out[out["kind"] == "base_station"]
        row = {
            "at": at.isoformat(),
            "sites_down": int(len(bs)),
            "by_cause": {str(k): int(v) for k, v in bs["cause"].value_counts().sort_index().items()},
            "subscribers_out": int(out["subscribers"].sum()),
        }
        rows.append(row)
        if on_step:
            on_step(row)
    return rows
