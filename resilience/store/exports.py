"""Per-operator extracts of a stored analysis snapshot (what one operator's NOC acts on).

Example
-------
>>> from resilience.store.engine import make_engine, migrate
>>> eng = make_engine("sqlite://"); migrate(eng)
>>> with eng.connect() as conn:
...     operators(conn), operator_extract(conn, 1, "docomo")
([], None)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, select

from resilience.store import tables as t
from resilience.store.snapshots import elements_in
from resilience.timestamps import as_utc

__all__ = ["operator_extract", "operators"]


def operators(conn: Connection) -> list[str]:
    """The operators with any node in the inventory, sorted (the fan-out keys of the exports).

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> eng = make_engine("sqlite://"); migrate(eng)
    >>> with eng.connect() as conn:
    ...     operators(conn)
    []
    """
    ops = conn.execute(select(t.nodes.c.operator).distinct()).scalars().all()
    return sorted(o for o in ops if o)


def _rows(conn: Connection, table: Table, in_snapshot: Any, operator: str, order: list) -> list[dict[str, Any]]:
    """One operator's rows of a snapshot table (those ``in_snapshot``), ``snapshot_id`` (and
    ``until_snapshot_id``) left out, times as ISO text."""
    q = select(table).where(in_snapshot, table.c.operator == operator).order_by(*order)
    out = []
    for row in conn.execute(q).mappings():
        d = {k: v for k, v in row.items() if k not in ("snapshot_id", "until_snapshot_id")}
        out.append({k: (v.isoformat() if isinstance(v, datetime | date) else v) for k, v in d.items()})
    return out


def operator_extract(conn: Connection, snapshot_id: int, operator: str) -> dict[str, Any] | None:
    """One operator's share of snapshot ``snapshot_id``: ``{"snapshot_id", "as_of", "operator",
    "spofs", "nodes_out"}`` (single points of failure, largest blast radius first; nodes out with
    their causes), or ``None`` when there is no such snapshot.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> eng = make_engine("sqlite://"); migrate(eng)
    >>> with eng.connect() as conn:
    ...     operator_extract(conn, 7, "docomo") is None
    True
    """
    snap = conn.execute(select(t.snapshots).where(t.snapshots.c.id == snapshot_id)).mappings().first()
    if snap is None:
        return None
    el, out = t.snapshot_elements, t.snapshot_nodes_out
    return {
        "snapshot_id": snapshot_id,
        "as_of": as_utc(snap["as_of"]).isoformat(),
        "operator": operator,
        "spofs": _rows(conn, el, elements_in(snapshot_id), operator,
                       [el.c.subscribers_lost.desc(), el.c.element_type, el.c.element_id]),
        "nodes_out": _rows(conn, out, out.c.snapshot_id == snapshot_id, operator, [out.c.node_id]),
    }
