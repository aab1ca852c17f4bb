"""Helpers shared by the sample generators: the network container, time stamps and CSV output.

Example
-------
>>> from datetime import datetime
>>> iso(datetime(2024, 1, 1, 16, 10, tzinfo=JST))
'2024-01-01T16:10:00+09:00'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from resilience.topology.model import (
    LINK_COLUMNS,
    LINK_STATUS_COLUMNS,
    NODE_COLUMNS,
    NODE_STATUS_COLUMNS,
    POWER_STATUS_COLUMNS,
)

__all__ = ["JST", "SyntheticNetwork", "iso", "iso_array", "write_csv"]

JST = timezone(timedelta(hours=9), "JST")


@dataclass
class SyntheticNetwork:
    """A generated inventory with one status snapshot, as contract-shaped DataFrames.

    Attributes
    ----------
    nodes, links : pandas.DataFrame
        Inventory with the columns of ``NODE_COLUMNS`` / ``LINK_COLUMNS`` (extra columns, such as
        ``name_ja``, may follow the contract columns).
    node_status, link_status, power_status : pandas.DataFrame
        One row per node / link / power feed with the status-feed contract columns.
    observed_at : datetime
        The nominal (aware) time of the status snapshot.
    """

    nodes: pd.DataFrame
    links: pd.DataFrame
    node_status: pd.DataFrame
    link_status: pd.DataFrame
    power_status: pd.DataFrame
    observed_at: datetime

    def check_columns(self) -> None:
        """Raise ``ValueError`` if a frame does not start with its contract columns."""
        for df, cols in (
            (self.nodes, NODE_COLUMNS),
            (self.links, LINK_COLUMNS),
            (self.node_status, NODE_STATUS_COLUMNS),
            (self.link_status, LINK_STATUS_COLUMNS),
            (self.power_status, POWER_STATUS_COLUMNS),
        ):
            if tuple(df.columns[: len(cols)]) != tuple(cols):
                raise ValueError(f"columns {list(df.columns)} do not start with {list(cols)}")


def _offset(tz_time: datetime) -> str:
    off = tz_time.utcoffset()
    if off is None:
        raise ValueError("time stamps must be aware (ISO 8601 with an offset)")
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def iso(t: datetime) -> str:
    """ISO 8601 with seconds and the offset of ``t`` (which must be aware).

    >>> iso(datetime(2024, 6, 1, 9, 0, tzinfo=JST))
    '2024-06-01T09:00:00+09:00'
    """
    _offset(t)  # refuses a naive time
    return t.isoformat(timespec="seconds")


def iso_array(start: datetime, seconds: np.ndarray) -> np.ndarray:
    """ISO 8601 strings for ``start + seconds`` in the offset of ``start`` (vectorised).

    >>> iso_array(datetime(2024, 6, 1, 9, 0, tzinfo=JST), np.array([0, 90])).tolist()
    ['2024-06-01T09:00:00+09:00', '2024-06-01T09:01:30+09:00']
    """
    suffix = _offset(start)
    local = np.datetime64(start.replace(tzinfo=None), "s") + np.asarray(seconds).astype(
        "timedelta64[s]"
    )
    return np.strings.add(np.datetime_as_string(local, unit="s"), suffix)


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as UTF-8 CSV (header, quoting only where needed, ``inf`` as ``inf``).

    Uses Arrow's multi-threaded writer: about ten times faster than ``DataFrame.to_csv``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    pacsv.write_csv(
        table,
        path,
        write_options=pacsv.WriteOptions(quoting_style="needed", batch_size=1 << 16),
    )
    return path
