"""One reading of a stored or given time: a plain, aware UTC ``datetime``.

Databases without time zones (SQLite) give naive times that were written as UTC; pandas gives
``Timestamp`` / ``NaT``; Airflow gives pendulum instants (which lose their zone in arithmetic);
files give ISO 8601 text. :func:`as_utc` turns each into the same thing, so the store, the
model, the facade and the exporter compare and print times alike.

Example
-------
>>> from datetime import datetime
>>> as_utc("2024-01-01T09:00:00+09:00").isoformat()
'2024-01-01T00:00:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["as_utc"]


def as_utc(ts: Any) -> datetime | None:
    """``ts`` as a plain aware UTC ``datetime`` (``None`` for a missing time).

    Parameters
    ----------
    ts : datetime, pandas.Timestamp, str or None
        A naive time is taken as UTC; an aware one is converted; ``None`` and ``NaT`` give
        ``None``; text is read as ISO 8601.

    Returns
    -------
    datetime or None

    Example
    -------
    >>> from datetime import datetime
    >>> as_utc(datetime(2024, 1, 1, 9)).isoformat(), as_utc(None)
    ('2024-01-01T09:00:00+00:00', None)
    """
    if ts is None or ts != ts:  # None, NaT (NaT != NaT)
        return None
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    if hasattr(ts, "to_pydatetime"):
        ts = ts.to_pydatetime()
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return datetime(ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second, ts.microsecond, tzinfo=UTC)
