"""A network model kept in memory between analyses, for the seconds-level path.

The Airflow pipeline analyses in short-lived tasks: each loads the whole state and builds the
model. A long-running process (``resilience watch``) instead keeps the model: when only status
feeds arrived it reads the current state and updates the graph in place
(:func:`resilience.topology.graph.update_state`), reusing the compiled index; when the inventory
changed it rebuilds. The analysis and the snapshot it stores are the same as
:func:`resilience.api.analyze`'s.

Example
-------
>>> import tempfile
>>> from resilience import api
>>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
>>> live = LiveModel(url)
>>> live.refresh()
'rebuilt'
>>> live.refresh()
'unchanged'
"""

from __future__ import annotations

from datetime import timedelta

import networkx as nx

from resilience import api
from resilience.settings import load_settings

__all__ = ["LiveModel"]


class LiveModel:
    """The current network model of one store, refreshed incrementally.

    Parameters
    ----------
    db_url : str, optional
        The store (default: settings / ``RESILIENCE_DB_URL``).
    """

    def __init__(self, db_url: str | None = None) -> None:
        self.db_url = api.resolve_db_url(db_url)
        self.G: nx.MultiGraph | None = None
        self._marks: tuple | None = None

    def refresh(self) -> str:
        """Bring the model up to date: ``'rebuilt'``, ``'updated'`` or ``'unchanged'``."""
        from resilience.store.repo import STATUS_TABLES, feed_marks, load_state
        from resilience.topology.graph import update_state

        api.ensure_schema(self.db_url)
        s = load_settings()
        stale = timedelta(minutes=s.stale_after_minutes)
        with api.engine(self.db_url).connect() as conn:
            marks = feed_marks(conn)
            if self.G is not None and marks == self._marks:
                return "unchanged"
            if self.G is None or self._marks is None or marks[0] != self._marks[0]:
                self.G, self._marks = api.load_graph(db_url=self.db_url), marks
                return "rebuilt"
            state = load_state(conn, STATUS_TABLES)
        update_state(self.G, state["node_status"], state["link_status"], state["power_status"],
                     stale_after=stale)
        self._marks = marks
        return "updated"

    def analyze(self, *, top_n: int | None = None) -> int:
        """Refresh, compute the snapshot and store it (one transaction); return its id."""
        from resilience.analysis.snapshot import compute_snapshot
        from resilience.store.snapshots import write_snapshot

        self.refresh()
        s = load_settings()
        snap = compute_snapshot(self.G, top_n=top_n or s.top_n, hours=s.forecast_hours,
                                stale_after=timedelta(minutes=s.stale_after_minutes))
        return write_snapshot(api.engine(self.db_url), snap, keep=s.snapshots_kept)
