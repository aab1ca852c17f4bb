"""Results for people and other systems: the HTML report, and per-operator extracts of a snapshot.

Example
-------
>>> import tempfile
>>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
>>> has_inventory(db_url=url), snapshot_operators(1, db_url=url)
(False, [])
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from resilience.api.state import engine, ensure_schema, store_guard
from resilience.errors import BadInput
from resilience.settings import load_settings

__all__ = ["display_timezone", "export_operator", "has_inventory", "report", "report_for",
           "snapshot_operators"]


def display_timezone(settings: Any = None) -> str:
    """The configured display time zone (settings ``display_timezone``; default Asia/Tokyo).

    >>> display_timezone(object())
    'Asia/Tokyo'
    """
    settings = load_settings() if settings is None else settings
    return str(getattr(settings, "display_timezone", "") or "Asia/Tokyo")


@store_guard
def report(
    *, db_url: str | None = None, out_dir: str | Path | None = None, snapshot_id: int | None = None
) -> Path:
    """Write the HTML report of the latest (or given) snapshot; return its path.

    Raises :class:`resilience.reports.NoSnapshot` when nothing has been analysed yet.

    Example
    -------
    >>> import tempfile
    >>> from resilience.api.state import init
    >>> from resilience.reports import NoSnapshot
    >>> try:
    ...     report(db_url=init(f"sqlite:///{tempfile.mkdtemp()}/r.db"), out_dir=tempfile.mkdtemp())
    ... except NoSnapshot:
    ...     print("nothing analysed yet")
    nothing analysed yet
    """
    from resilience.reports import write_report

    s = load_settings()
    out = Path(out_dir) if out_dir else s.path(s.report_dir)
    return write_report(engine(db_url), out, snapshot_id=snapshot_id, tz=display_timezone(s))


def report_for(day: date, *, out_dir: str | Path, db_url: str | None = None) -> str:
    """Write the report of ``day`` into ``<out_dir>/<day>/`` (same day: same folder and file).

    "Since the previous report" compares with the snapshot of the report written last before
    it: this day's earlier report, or the latest report of an earlier day.

    Example
    -------
    >>> import tempfile, datetime
    >>> from resilience.reports import NoSnapshot
    >>> try:
    ...     report_for(datetime.date(2024, 1, 3), out_dir=tempfile.mkdtemp(),
    ...                db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db")
    ... except NoSnapshot:
    ...     print("nothing analysed yet")
    nothing analysed yet
    """
    from resilience.reports import write_report

    root = Path(out_dir)
    folder = root / day.isoformat()
    earlier = sorted(p for p in root.glob("*/latest.html") if p.parent.name < day.isoformat())
    previous = [*earlier[-1:], folder / "latest.html"]
    ensure_schema(db_url)
    folder.mkdir(parents=True, exist_ok=True)
    return str(write_report(engine(db_url), folder, previous_reports=previous, tz=display_timezone()))


def has_inventory(*, db_url: str | None = None) -> bool:
    """Whether the store holds any node (a report of an empty network says nothing).

    Example
    -------
    >>> import tempfile
    >>> has_inventory(db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db")
    False
    """
    from resilience.store.names import has_inventory as stored

    ensure_schema(db_url)
    with engine(db_url).connect() as conn:
        return stored(conn)


def snapshot_operators(snapshot_id: int, *, db_url: str | None = None) -> list[str]:
    """The operators with any node in the inventory, sorted (the fan-out keys of the exports).

    Example
    -------
    >>> import tempfile
    >>> snapshot_operators(1, db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db")
    []
    """
    from resilience.store.exports import operators

    ensure_schema(db_url)
    with engine(db_url).connect() as conn:
        return operators(conn)


def export_operator(
    snapshot_id: int, operator: str, out_dir: str | Path | None = None, *, db_url: str | None = None
) -> str:
    """Write one operator's share of a snapshot to ``<out_dir>/<snapshot_id>/<operator>.json``
    (default ``out_dir``: settings ``exports_dir``).

    The file holds the operator's single points of failure (largest blast radius first) and its
    nodes that are out with their causes: what that operator's NOC acts on. Rewriting it gives
    the same file.

    Raises :class:`resilience.errors.BadInput` when there is no such snapshot.

    Example
    -------
    >>> import tempfile
    >>> try:
    ...     export_operator(9, "docomo", tempfile.mkdtemp(), db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db")
    ... except BadInput as exc:
    ...     print(exc)
    snapshot 9: no such snapshot
    """
    from resilience.files import inside, write_text_atomic
    from resilience.store.exports import operator_extract

    ensure_schema(db_url)
    with engine(db_url).connect() as conn:
        doc = operator_extract(conn, snapshot_id, operator)
    if doc is None:
        raise BadInput(f"snapshot {snapshot_id}", "no such snapshot")
    s = load_settings()
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in operator) or "_"
    path = inside(Path(out_dir) if out_dir is not None else s.path(s.exports_dir), f"{snapshot_id}/{safe}.json")
    return str(write_text_atomic(path, json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True)))
