"""Change marks and the snapshot look-ups that keep one analysis snapshot per change.

A *change mark* moves whenever anything a snapshot reads was stored (feed files archived, the
status change sequence, inventory changes such as ``set-kind``). Every snapshot writer stores
the mark it read (before reading the state) in the snapshot's ``summary['change_mark']``;
:func:`snapshot_at_mark` then tells a second writer that the change it was told about is in a
snapshot already, and :func:`snapshot_at` finds the snapshot a pipeline run wrote for its time.

Example
-------
>>> from datetime import datetime, UTC
>>> from resilience.store.engine import make_engine, migrate
>>> eng = make_engine("sqlite://"); migrate(eng)
>>> with eng.connect() as conn:
...     change_mark(conn), snapshot_at_mark(conn, [0, None, 0, 0]), snapshot_at(conn, datetime.now(UTC))
([0, None, 0, 0], None, None)
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from resilience.store import tables as t
from resilience.store.repo import feed_marks, status_seq
from resilience.timestamps import as_utc

__all__ = ["change_mark", "snapshot_at", "snapshot_at_mark"]


def change_mark(conn: Connection) -> list[Any]:
    """The store's change mark: ``[feed files archived, newest archive time, status change
    sequence, newest inventory change id]``.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> eng = make_engine("sqlite://"); migrate(eng)
    >>> with eng.connect() as conn:
    ...     change_mark(conn)
    [0, None, 0, 0]
    """
    files, last = feed_marks(conn)[1]
    inv = conn.execute(select(func.coalesce(func.max(t.inventory_changes.c.id), 0))).scalar_one()
    return [int(files or 0), None if last is None else as_utc(last).isoformat(), status_seq(conn), int(inv)]


def snapshot_at_mark(conn: Connection, mark: list[Any], *, look_back: int = 5) -> int | None:
    """The newest complete snapshot written at change mark ``mark``, if any of the last
    ``look_back`` is.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> eng = make_engine("sqlite://"); migrate(eng)
    >>> with eng.connect() as conn:
    ...     snapshot_at_mark(conn, [0, None, 0, 0]) is None
    True
    """
    s = t.snapshots
    rows = conn.execute(select(s.c.id, s.c.summary_json).where(s.c.status == "complete")
                        .order_by(s.c.id.desc()).limit(look_back)).all()
    for sid, summary in rows:
        try:
            got = json.loads(summary or "{}").get("change_mark")
        except ValueError:
            continue
        if got == mark:
            return int(sid)
    return None


def snapshot_at(conn: Connection, as_of: datetime, *, tolerance_s: float = 0.001) -> int | None:
    """The id of a complete snapshot taken for ``as_of`` (within ``tolerance_s``), if any.

    Notes
    -----
    Compares in Python after normalising to UTC (SQLite keeps no offset), over the snapshots
    whose ``as_of`` lies in a one-day window around ``as_of``: O(snapshots in that window).

    Example
    -------
    >>> from datetime import UTC
    >>> from resilience.store.engine import make_engine, migrate
    >>> eng = make_engine("sqlite://"); migrate(eng)
    >>> with eng.connect() as conn:
    ...     snapshot_at(conn, datetime(2024, 1, 1, tzinfo=UTC)) is None
    True
    """
    want = as_utc(as_of)
    s = t.snapshots
    day = timedelta(days=1)
    q = (select(s.c.id, s.c.as_of).where(s.c.status == "complete")
         .where(s.c.as_of >= want - day, s.c.as_of <= want + day).order_by(s.c.id))
    for sid, got in conn.execute(q):
        if abs((as_utc(got) - want).total_seconds()) <= tolerance_s:
            return int(sid)
    return None
