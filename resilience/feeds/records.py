"""The records every feed reader produces: a file read into strings (:class:`RawFeed`) and a
row refused on the way (:class:`Reject`).

Both readers (:mod:`resilience.feeds.readers` for CSV and JSON Lines,
:mod:`resilience.feeds.graphml` for GraphML inventories) build these, validation
(:mod:`resilience.feeds.validate`) adds to the rejects and ingest
(:mod:`resilience.feeds.ingest`) stores them; so they live here, below all of them.

Example
-------
>>> import numpy as np, pandas as pd
>>> raw = RawFeed("power.csv", "ab12", "power_status", "csv", "utf-8",
...               pd.DataFrame({"state": ["off"]}), np.array([2]),
...               rejects=[Reject(3, None, None, "structure", "truncated last line")])
>>> raw.rows_read
2
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["RawFeed", "Reject"]


@dataclass(frozen=True)
class Reject:
    """A row refused before validation (structure), or by a validation rule."""

    line: int
    field: str | None
    value: str | None
    rule: str
    reason: str


@dataclass
class RawFeed:
    """A feed file read into strings.

    ``frame`` holds one row per data row (all values ``str``, missing = ``""``) and ``lines`` the
    1-based line number of each row in the file. ``rejects`` are rows that could not be split into
    fields; ``rows_read = len(frame) + len(rejects)``.
    """

    path: str
    sha256: str
    kind: str
    format: str  # csv | jsonl | graphml
    encoding: str
    frame: pd.DataFrame
    lines: np.ndarray
    rejects: list[Reject] = field(default_factory=list)
    graph_links: pd.DataFrame | None = None  # GraphML: the links part
    graph_link_lines: np.ndarray | None = None

    @property
    def rows_read(self) -> int:
        extra = 0 if self.graph_links is None else len(self.graph_links)
        return len(self.frame) + extra + len(self.rejects)
