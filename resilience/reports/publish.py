"""The scheduled report's I/O: the store and earlier files in, the report's files out.

:mod:`resilience.reports.report` builds the HTML from data alone; this module gathers that data
and writes the result:

- :func:`load_report_inputs` reads the snapshot, the one before it, the outage history and the
  sites' places through the store's named reads (:mod:`resilience.store.snapshots`,
  :func:`resilience.store.repo.site_locations`);
- :func:`read_report_record` reads the record an earlier report embeds ("since the previous
  report"), :func:`read_restoration_plan` the restoration plan filed for the snapshot;
- :func:`write_report` puts them together and writes ``report-YYYYmmddTHHMM.html`` and
  ``latest.html`` atomically.

The example is :func:`write_report`'s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from resilience.files import write_text_atomic
from resilience.reports.report import (
    CAUSES,
    RECORD_HEAD_CHARS,
    NoSnapshot,
    build_report,
    previous_report_snapshot,
    report_record,
)

__all__ = ["load_report_inputs", "outage_history", "read_report_record", "read_restoration_plan",
           "write_report"]


def read_report_record(path: str | Path) -> dict[str, Any] | None:
    """The record a report embeds (its snapshot and the previous one it compared with), or
    ``None`` for a missing file or one without a record.

    Example
    -------
    >>> read_report_record("/nonexistent/latest.html") is None
    True
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.read(RECORD_HEAD_CHARS)
    except OSError:
        return None
    return report_record(head)


def read_restoration_plan(snapshot_id: int, directory: str | Path | None = None) -> dict | None:
    """The restoration plan filed for ``snapshot_id`` (``var/restoration/restoration-<id>.json``
    of the settings' home, or ``directory``); ``None`` when there is none or it is unreadable.

    >>> import tempfile
    >>> read_restoration_plan(3, tempfile.mkdtemp()) is None
    True
    """
    if directory is None:
        from resilience.settings import load_settings

        directory = load_settings().path("var/restoration")
    path = Path(directory) / f"restoration-{int(snapshot_id)}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_report_inputs(
    engine: Engine, *, snapshot_id: int | None = None, history_limit: int = 500
) -> dict[str, Any]:
    """Read everything :func:`~resilience.reports.report.build_report` needs: snapshot,
    previous, history, sites.

    The snapshots come from :func:`resilience.store.snapshots.latest_snapshot` (or
    :func:`~resilience.store.snapshots.read_snapshot` for ``snapshot_id``); the previous one is
    the complete snapshot with the next lower id; the history is one row per complete snapshot
    up to this one (``as_of``, ``sites_out``, ``subscribers_out``, ``served_ratio`` and the sites
    out per cause), from the snapshots' totals and one grouped count of their out nodes.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    snapshot_id : int, optional
        Report on this snapshot; default the latest complete one.
    history_limit : int
        At most this many snapshots (the latest) in the outage-over-time history.

    Returns
    -------
    dict
        Keyword arguments for :func:`~resilience.reports.report.build_report`: ``snapshot``,
        ``previous``, ``history``, ``sites``.

    Raises
    ------
    NoSnapshot
        When there is no complete snapshot (or none with ``snapshot_id``).

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> load_report_inputs(engine)
    Traceback (most recent call last):
    ...
    resilience.reports.report.NoSnapshot: no complete analysis snapshot in the database; run `resilience analyze` first
    """
    from resilience.store.repo import site_locations
    from resilience.store.snapshots import (
        latest_snapshot,
        nodes_out_by_cause,
        previous_complete_snapshot_id,
        read_snapshot,
        snapshot_totals_history,
    )

    snap = latest_snapshot(engine) if snapshot_id is None else read_snapshot(engine, snapshot_id)
    if snap is None or getattr(snap, "status", "complete") != "complete":
        raise NoSnapshot(
            "no complete analysis snapshot in the database; run `resilience analyze` first"
            if snapshot_id is None else f"no complete analysis snapshot with id {snapshot_id}"
        )
    with engine.connect() as conn:
        prev_id = previous_complete_snapshot_id(conn, snap.id)
        hist_rows = snapshot_totals_history(conn, up_to=snap.id, limit=history_limit)
        by_cause = nodes_out_by_cause(conn, [int(r["id"]) for r in hist_rows])
        sites = site_locations(conn)
    previous = read_snapshot(engine, int(prev_id)) if prev_id is not None else None
    return {"snapshot": snap, "previous": previous, "history": outage_history(hist_rows, by_cause),
            "sites": sites}


def outage_history(totals: Sequence[Any], by_cause: Sequence[tuple[int, str, int]]) -> pd.DataFrame:
    """The outage-over-time table of the report: one row per snapshot (oldest first) with
    ``snapshot_id, as_of, sites_out, subscribers_out, served_ratio`` and the sites out per cause.

    Parameters
    ----------
    totals
        Rows with ``id, as_of, total_nodes, served_nodes, total_subscribers, served_subscribers``
        (:func:`resilience.store.snapshots.snapshot_totals_history`).
    by_cause
        ``(snapshot_id, cause, nodes)`` (:func:`resilience.store.snapshots.nodes_out_by_cause`).

    Example
    -------
    >>> row = {"id": 1, "as_of": None, "total_nodes": 4, "served_nodes": 3,
    ...        "total_subscribers": 100, "served_subscribers": 75}
    >>> h = outage_history([row], [(1, "power", 1)])
    >>> h[["sites_out", "served_ratio", "power", "backhaul"]].values.tolist()
    [[1.0, 0.75, 1.0, 0.0]]
    """
    history = pd.DataFrame(
        [{"snapshot_id": int(r["id"]), "as_of": r["as_of"],
          "sites_out": int(r["total_nodes"]) - int(r["served_nodes"]),
          "subscribers_out": int(r["total_subscribers"]) - int(r["served_subscribers"]),
          "served_ratio": (int(r["served_subscribers"]) / int(r["total_subscribers"])
                           if int(r["total_subscribers"]) else 1.0)}
         for r in totals],
        columns=["snapshot_id", "as_of", "sites_out", "subscribers_out", "served_ratio"],
    )
    wide = pd.DataFrame(list(by_cause), columns=["snapshot_id", "cause", "n"])
    if len(wide):
        wide = wide.pivot_table(index="snapshot_id", columns="cause", values="n",
                                aggfunc="sum", fill_value=0)
        history = history.merge(wide, left_on="snapshot_id", right_index=True, how="left")
    for c in CAUSES:
        history[c] = history[c].fillna(0).astype(int) if c in history else 0
    return history.sort_values("snapshot_id").reset_index(drop=True)


def write_report(
    engine: Engine,
    out_dir: str | Path,
    *,
    snapshot_id: int | None = None,
    previous_reports: Sequence[str | Path] | None = None,
    **options: Any,
) -> Path:
    """Write the report of the latest (or ``snapshot_id``) snapshot into ``out_dir``.

    "Since the previous report" compares with the snapshot of the previous report: the newest
    older snapshot recorded in ``previous_reports`` (default ``out_dir/latest.html``, the report
    written there last; each report embeds a small record of its snapshot's figures, so the
    comparison works after that snapshot was pruned). With no earlier report the report compares
    with the snapshot before its own and says so ("since the previous snapshot").

    The file is ``report-YYYYmmddTHHMM.html`` named after the snapshot time in UTC (writing the
    same snapshot again replaces it), plus a copy ``latest.html``. Both are written atomically.

    Parameters
    ----------
    engine : sqlalchemy.Engine
    out_dir : str or pathlib.Path
        Created if missing.
    snapshot_id : int, optional
        Default: the latest complete snapshot.
    previous_reports : sequence of paths, optional
        Earlier reports (their ``latest.html``) to compare with; missing files are skipped.
    **options
        Passed to :func:`~resilience.reports.report.build_report` (``title``, ``top_n``, ``tz``,
        ...).

    Returns
    -------
    pathlib.Path
        The dated report file.

    Raises
    ------
    NoSnapshot
        When the database holds no complete snapshot.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> import tempfile
    >>> try:
    ...     write_report(engine, tempfile.mkdtemp())
    ... except NoSnapshot:
    ...     print("nothing to report yet")
    nothing to report yet
    """
    out = Path(out_dir)
    inputs = load_report_inputs(engine, snapshot_id=snapshot_id)
    paths = [out / "latest.html"] if previous_reports is None else list(previous_reports)
    records = [r for r in (read_report_record(p) for p in paths) if r is not None]
    if records:  # "since the previous report": that report's snapshot, not merely the one before
        inputs["previous"] = previous_report_snapshot(records, int(inputs["snapshot"].id))
    if "restoration" not in options:  # the plan the resilience_restore DAG filed for it
        options = {**options, "restoration": read_restoration_plan(int(inputs["snapshot"].id))}
    html = build_report(**inputs, **options)
    out.mkdir(parents=True, exist_ok=True)
    as_of = pd.Timestamp(inputs["snapshot"].as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
    path = out / f"report-{as_of.strftime('%Y%m%dT%H%M')}.html"
    write_text_atomic(path, html)
    write_text_atomic(out / "latest.html", html)
    return path
