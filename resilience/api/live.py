"""A network model kept in memory between analyses, for the seconds-level path.

The Airflow pipeline analyses in short-lived tasks: each loads the whole state and compiles the
model. A long-running process (``resilience watch``) instead keeps the compiled model
(:func:`resilience.api.load_model`: columns and CSR arrays, no networkx object). When only
status feeds arrived it reads just the current-state rows changed since its last read (the
store's change sequence, :func:`resilience.store.repo.load_state_changes`) and writes them into
the model's arrays (:func:`resilience.topology.state_update.apply_state_changes`); when the
inventory changed it compiles the model again. The analysis and the snapshot
it stores are the same as :func:`resilience.api.analyze`'s: both go through
:func:`resilience.api.snapshots.store_snapshot` (tested).

Example
-------
>>> import tempfile
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

from resilience.api.snapshots import change_mark, covering_snapshot, store_snapshot, watch_heartbeat
from resilience.api.state import engine, ensure_schema, load_model, resolve_db_url
from resilience.settings import load_settings

if TYPE_CHECKING:  # numba and networkx stay out of the CLI's start-up
    from resilience.topology.compiled import CSRGraph
    from resilience.topology.snapshot import Snapshot

__all__ = ["LiveModel"]


class LiveModel:
    """The current network model of one store, refreshed incrementally.

    Parameters
    ----------
    db_url : str, optional
        The store (default: settings / ``RESILIENCE_DB_URL``).
    """

    def __init__(self, db_url: str | None = None) -> None:
        self.db_url = resolve_db_url(db_url)
        self.model: CSRGraph | None = None  # the compiled model, updated in place
        self._inventory: tuple | None = None
        self._seq = 0
        self.reused = False  # the last analyze() found the pipeline's snapshot of this change
        self._stored: Snapshot | None = None  # the last snapshot stored here (its elements are
        # compared with the next one's instead of reading the stored rows back)

    def refresh(self) -> str:
        """Bring the model up to date: ``'rebuilt'``, ``'updated'`` or ``'unchanged'``."""
        from resilience.store.repo import feed_marks, load_state_changes, status_seq
        from resilience.topology.state_update import apply_state_changes

        ensure_schema(self.db_url)
        watch_heartbeat(self.db_url)  # the pipeline defers to a live watch (one snapshot per change)
        stale = timedelta(minutes=load_settings().stale_after_minutes)
        with engine(self.db_url).connect() as conn:
            inventory = feed_marks(conn)[0]
            if self.model is None or inventory != self._inventory:
                # the sequence first: a change committed while the state loads is either in it
                # or read again next time (applying a row twice changes nothing)
                seq = status_seq(conn)
                conn.rollback()
                self.model = None  # the old model goes before the new one is compiled
                self.model = load_model(db_url=self.db_url)
                self.model.node_index.get("")  # the id lookups every update uses, built now
                self.model.link_index  # noqa: B018 - (a property building the link-id dict)
                self._inventory, self._seq = inventory, seq
                return "rebuilt"
            seq, changes = load_state_changes(conn, self._seq)
        if not any(len(f) for f in changes.values()):
            self._seq = seq
            return "unchanged"
        apply_state_changes(self.model, changes["node_status"], changes["link_status"],
                            changes["power_status"], stale_after=stale)
        self._seq = seq
        return "updated"

    def analyze(self, *, top_n: int | None = None) -> int:
        """Refresh, compute the snapshot and store it (one transaction); return its id.

        One snapshot per change: when the latest snapshots already hold the store's current
        change mark (:func:`resilience.api.snapshots.change_mark`: the Airflow pipeline got
        there first), that snapshot's id is returned, nothing is written and ``self.reused`` is
        true. The pipeline defers to a running watch the same way
        (:func:`resilience.api.analyze_once`). The snapshot is written by the same
        :func:`~resilience.api.snapshots.store_snapshot` as :func:`resilience.api.analyze`'s.
        """
        mark = change_mark(self.db_url)  # before the state: it holds at least this
        stored = self._stored
        self.refresh()
        found = covering_snapshot(mark, db_url=self.db_url)
        self.reused = found is not None
        if found is not None:
            return found
        self._stored = store_snapshot(self.model, mark, db_url=self.db_url, top_n=top_n,
                                      previous=stored)
        return self._stored.id
