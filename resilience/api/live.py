"""A network model kept in memory between analyses, for the seconds-level path.

The Airflow pipeline analyses in short-lived tasks: each loads the whole state and builds the
model. A long-running process (``resilience watch``) instead keeps the model and its compiled
view (:class:`resilience.analysis.CSRGraph`). When only status feeds arrived it reads just the
current-state rows changed since its last read (the store's change sequence,
:func:`resilience.store.repo.load_state_changes`), writes them into the graph
(:func:`resilience.topology.graph.update_state` with ``changes_only``) and re-reads those
elements into the view; when the inventory changed it rebuilds. The analysis and the snapshot
it stores are the same as :func:`resilience.api.analyze`'s (tested).

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
from typing import TYPE_CHECKING

import networkx as nx

from resilience import api
from resilience.settings import load_settings

if TYPE_CHECKING:  # numba stays out of the CLI's start-up
    from resilience.analysis._csr import CSRGraph

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
        self.csr: CSRGraph | None = None
        self._inventory: tuple | None = None
        self._seq = 0
        self.reused = False  # the last analyze() found the pipeline's snapshot of this change

    def refresh(self) -> str:
        """Bring the model up to date: ``'rebuilt'``, ``'updated'`` or ``'unchanged'``."""
        from resilience.analysis import to_csr
        from resilience.pipeline import watch_heartbeat
        from resilience.store.repo import feed_marks, load_state_changes, status_seq
        from resilience.topology.graph import update_state

        api.ensure_schema(self.db_url)
        watch_heartbeat(self.db_url)  # the pipeline defers to a live watch (one snapshot per change)
        stale = timedelta(minutes=load_settings().stale_after_minutes)
        with api.engine(self.db_url).connect() as conn:
            inventory = feed_marks(conn)[0]
            if self.G is None or inventory != self._inventory:
                # the sequence first: a change committed while the state loads is either in it
                # or read again next time (applying a row twice changes nothing)
                seq = status_seq(conn)
                conn.rollback()
                self.G = api.load_graph(db_url=self.db_url)
                self.csr, self._inventory, self._seq = to_csr(self.G), inventory, seq
                return "rebuilt"
            seq, changes = load_state_changes(conn, self._seq)
        if not any(len(f) for f in changes.values()):
            self._seq = seq
            return "unchanged"
        update = update_state(self.G, changes["node_status"], changes["link_status"],
                              changes["power_status"], stale_after=stale, changes_only=True)
        self.csr.reread(nodes=update.nodes, links=update.links)
        self._seq = seq
        return "updated"

    def analyze(self, *, top_n: int | None = None) -> int:
        """Refresh, compute the snapshot and store it (one transaction); return its id.

        One snapshot per change: when the latest snapshots already hold the store's current
        change mark (:func:`resilience.pipeline.change_mark`: the Airflow pipeline got there
        first), that snapshot's id is returned, nothing is written and ``self.reused`` is true.
        The pipeline defers to a running watch the same way (:func:`resilience.pipeline.analyze_once`).
        """
        from resilience.analysis.snapshot import compute_snapshot
        from resilience.pipeline import change_mark, covering_snapshot
        from resilience.store.snapshots import write_snapshot

        with api.engine(self.db_url).connect() as conn:  # before the state: it holds at least this
            mark = change_mark(conn)
        self.refresh()
        found = covering_snapshot(mark, db_url=self.db_url)
        self.reused = found is not None
        if found is not None:
            return found
        s = load_settings()
        snap = compute_snapshot(self.G, top_n=top_n or s.top_n, hours=s.forecast_hours,
                                stale_after=timedelta(minutes=s.stale_after_minutes), csr=self.csr)
        snap.summary["change_mark"] = mark
        return write_snapshot(api.engine(self.db_url), snap, keep=s.snapshots_kept)
