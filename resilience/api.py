"""The operations of the ``resilience`` command as Python functions (the CLI is a thin layer).

Every function takes ``db_url`` (default: settings / ``RESILIENCE_DB_URL`` / SQLite under
``var/``). Heavy libraries are imported inside the functions that need them.

Example
-------
>>> import tempfile
>>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
>>> init(url) == url
True
>>> load_graph(db_url=url).number_of_nodes()
0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from resilience.settings import load_settings

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd
    from sqlalchemy import Engine

    from resilience.feeds.ingest import IngestResult

__all__ = ["resolve_db_url", "engine", "init", "ingest", "load_state", "load_graph"]


def resolve_db_url(db_url: str | None = None) -> str:
    """``db_url`` if given, else the configured URL, else ``sqlite:///<home>/var/resilience.db``."""
    return db_url or load_settings().resolved_db_url()


def engine(db_url: str | None = None) -> Engine:
    """The process-wide engine for the database."""
    from resilience.store.engine import engine_for

    return engine_for(resolve_db_url(db_url))


def init(db_url: str | None = None) -> str:
    """Create or upgrade the schema (Alembic migrations); return the database URL."""
    from resilience.store.engine import migrate

    url = resolve_db_url(db_url)
    migrate(engine(url))
    return url


def ingest(
    paths: Iterable[str | Path],
    *,
    db_url: str | None = None,
    graphml_cores: tuple[str, ...] = (),
    on_file: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Ingest feed files (kind detected from the header) in dependency order.

    Raises :class:`resilience.errors.BadInput` before storing anything if a file cannot be read.
    """
    from resilience.feeds.ingest import ingest_paths

    settings = load_settings()
    eng = engine(db_url)
    init(db_url)
    return ingest_paths(
        eng,
        paths,
        archive_dir=settings.path("var/archive"),
        graphml_cores=graphml_cores,
        future_tolerance=timedelta(minutes=settings.future_tolerance_minutes),
        on_file=on_file,
    )


def load_state(*, db_url: str | None = None) -> dict[str, pd.DataFrame]:
    """Inventory and current state tables as DataFrames."""
    from resilience.store.repo import load_state as _load

    with engine(db_url).connect() as conn:
        return _load(conn)


def load_graph(*, db_url: str | None = None, as_of: datetime | None = None) -> nx.MultiGraph:
    """The current network model (see :func:`resilience.topology.build_graph`)."""
    from resilience.topology.graph import build_graph

    init(db_url)
    s = load_settings()
    state = load_state(db_url=db_url)
    return build_graph(
        state["nodes"], state["links"], state["node_status"], state["link_status"],
        state["power_status"], as_of=as_of, stale_after=timedelta(minutes=s.stale_after_minutes),
    )

