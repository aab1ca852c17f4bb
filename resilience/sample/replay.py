"""The schedule of a replay folder: which feed files are delivered at which time.

Feed files of a replay carry their time in the name (``0100_2024-01-01T1610+0900_power.csv``);
files without a time (the inventory) are delivered first. Names sort in delivery order.

Example
-------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> for n in ("0000_inventory_nodes.csv", "0100_2024-01-01T1610+0900_power.csv",
...           "0103_2024-01-01T1810+0900_power.csv"):
...     _ = (d / n).write_text("x")
>>> [(at.isoformat(), [f.name for f in fs]) for at, fs in replay_schedule(d, step=timedelta(hours=1))]
... # doctest: +NORMALIZE_WHITESPACE
[('2024-01-01T16:10:00+09:00', ['0000_inventory_nodes.csv', '0100_2024-01-01T1610+0900_power.csv']),
 ('2024-01-01T16:10:00+09:00', []),
 ('2024-01-01T18:10:00+09:00', ['0103_2024-01-01T1810+0900_power.csv'])]
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from resilience.errors import BadInput

__all__ = ["replay_schedule", "parse_step"]

_TIME_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{4}(?:\d{2})?[+-]\d{4})")
_FEED_SUFFIXES = {".csv", ".jsonl", ".ndjson", ".graphml", ".xml"}


def parse_step(text: str) -> timedelta:
    """``30m``, ``1h``, ``6h``, ``1d`` to a timedelta.

    >>> parse_step("6h")
    datetime.timedelta(seconds=21600)
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text or "")
    if not m:
        raise BadInput("--step", f"'{text}' is not a duration like 30m, 1h, 6h or 1d")
    n, unit = float(m.group(1)), m.group(2)
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: n})


def _time_of(name: str) -> datetime | None:
    m = _TIME_IN_NAME.search(name)
    if not m:
        return None
    raw = m.group(1)
    fmt = "%Y-%m-%dT%H%M%S%z" if len(raw.split("T")[1]) == 11 else "%Y-%m-%dT%H%M%z"
    return datetime.strptime(raw, fmt)


def replay_schedule(
    directory: str | Path, *, step: timedelta | None = None
) -> list[tuple[datetime, list[Path]]]:
    """Group the feed files of a replay folder into delivery steps.

    Without ``step`` there is one step per distinct time in the names; with ``step`` there is
    one step every ``step`` from the first time to the last, each holding the files whose time
    has come since the step before. A step's time is that of the newest file delivered by then
    (the state is read as of the last feed, so it is never stale by construction).
    """
    d = Path(directory)
    if not d.is_dir():
        raise BadInput(str(d), "replay folder does not exist")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in _FEED_SUFFIXES)
    timed = [(t, p) for p in files if (t := _time_of(p.name)) is not None]
    untimed = [p for p in files if _time_of(p.name) is None]
    if not timed:
        raise BadInput(str(d), "no time-stamped feed files (names like 0100_2024-01-01T1610+0900_status.csv)")
    times = sorted({t for t, _ in timed})
    if step is None:
        marks = times
    else:
        if step <= timedelta(0):
            raise BadInput("--step", "step must be positive")
        marks, t = [], times[0]
        while t < times[-1]:
            marks.append(t)
            t += step
        if marks[-1] != times[-1]:
            marks.append(times[-1])
    out: list[tuple[datetime, list[Path]]] = []
    pending = sorted(timed, key=lambda tp: (tp[0], tp[1].name))
    i, newest = 0, times[0]
    for k, mark in enumerate(marks):
        batch = list(untimed) if k == 0 else []
        while i < len(pending) and pending[i][0] <= mark:
            batch.append(pending[i][1])
            newest = pending[i][0]
            i += 1
        out.append((newest, batch))
    return out
