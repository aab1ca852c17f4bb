"""The store and the network it holds: database URL, engine, schema, state, graph, model.

The lowest room of the facade (:mod:`resilience.api`): every other operation reads the store
through these. Heavy libraries are imported inside the functions that need them.

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

import functools
import inspect
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from resilience.settings import load_settings

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd
    from sqlalchemy import Engine

    from resilience.topology.compiled import CSRGraph

__all__ = [
    "engine", "ensure_schema", "init", "load_graph", "load_model", "load_state", "resolve_db_url",
    "status", "store_guard", "warn_graph_coverage", "warn_model_coverage",
]


def store_guard(fn: Callable) -> Callable:
    """Turn a database that is read-only, full or unreachable into
    :class:`resilience.errors.StoreError` naming it (other errors pass through unchanged)."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            from resilience.store.engine import store_error

            url = sig.bind_partial(*args, **kwargs).arguments.get("db_url")
            err = store_error(exc, resolve_db_url(url))
            if err is None:
                raise
            raise err from exc

    return wrapper


def resolve_db_url(db_url: str | None = None) -> str:
    """``db_url`` if given, else the configured URL, else ``sqlite:///<home>/var/resilience.db``."""
    return db_url or load_settings().resolved_db_url()


def engine(db_url: str | None = None) -> Engine:
    """The process-wide engine for the database."""
    from resilience.store.engine import engine_for

    return engine_for(resolve_db_url(db_url))


@store_guard
def init(db_url: str | None = None) -> str:
    """Create or upgrade the schema (Alembic migrations); return the database URL."""
    from resilience.store.engine import migrate

    url = resolve_db_url(db_url)
    migrate(engine(url))
    _schema_ready.add(url)
    return url


_schema_ready: set[str] = set()


def ensure_schema(db_url: str | None) -> None:
    """Migrate once per database and process (the operations below call it on every use)."""
    if resolve_db_url(db_url) not in _schema_ready:
        init(db_url)



@store_guard
def load_state(*, db_url: str | None = None) -> dict[str, pd.DataFrame]:
    """Inventory and current state tables as DataFrames."""
    from resilience.store.repo import load_state as _load

    with engine(db_url).connect() as conn:
        return _load(conn)


@store_guard
def load_graph(*, db_url: str | None = None, as_of: datetime | None = None) -> nx.MultiGraph:
    """The current network model (see :func:`resilience.topology.build_graph`)."""
    from resilience.topology.graph import build_graph

    ensure_schema(db_url)
    s = load_settings()
    state = load_state(db_url=db_url)
    return build_graph(
        state["nodes"], state["links"], state["node_status"], state["link_status"],
        state["power_status"], as_of=as_of, stale_after=timedelta(minutes=s.stale_after_minutes),
    )


def _inventory_cache_dir(eng: Engine) -> str | None:
    """Where :func:`load_model` keeps the inventory cache
    (:mod:`resilience.store.inventory_cache`): ``<database file>.cache`` beside an SQLite
    file store; ``None`` (no cache) for PostgreSQL and in-memory SQLite.

    >>> from sqlalchemy import create_engine
    >>> _inventory_cache_dir(create_engine("sqlite:////data/r.db")), _inventory_cache_dir(create_engine("sqlite://"))
    ('/data/r.db.cache', None)
    """
    url = eng.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
            or url.database.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return f"{url.database}.cache"


@store_guard
def load_model(*, db_url: str | None = None, as_of: datetime | None = None) -> CSRGraph:
    """The current network as the pipeline holds it: columns and CSR arrays compiled straight
    from the store (:func:`resilience.topology.compiled.compile_network`), no networkx object.
    Every snapshot analysis runs on it; :func:`load_graph` gives the same network as networkx.

    On an SQLite file store the compiled inventory (:func:`resilience.topology.compiled.compile_inventory`:
    node and link order, adjacency, labels) is kept beside it (``<file>.cache``,
    :mod:`resilience.store.inventory_cache`), named by the inventory mark and replaced when the
    inventory changes: a fresh process (``resilience analyze``) reads only the status
    tables from the database and joins them onto the kept inventory
    (:func:`resilience.topology.compiled.compile_status`).

    Example
    -------
    >>> import tempfile
    >>> url = init(f"sqlite:///{tempfile.mkdtemp()}/r.db")
    >>> m = load_model(db_url=url)
    >>> m.n, m.m, sorted(m.graph)
    (0, 0, ['as_of', 'newest_observed', 'power_feeds'])
    """
    from resilience.store.inventory_cache import read_arrays, write_arrays
    from resilience.store.repo import inventory_mark, load_inventory, load_links_down
    from resilience.store.repo import load_state as _load
    from resilience.topology.compiled import CompiledInventory, compile_inventory, compile_network

    ensure_schema(db_url)
    s = load_settings()
    eng = engine(db_url)
    cache_dir = _inventory_cache_dir(eng)
    inv: CompiledInventory | None = None
    frames: dict[str, pd.DataFrame] = {"nodes": None, "links": None}
    with eng.connect() as conn:
        mark = inventory_mark(conn) if cache_dir is not None else ""  # first: before the tables
        arrays = read_arrays(cache_dir, mark) if cache_dir is not None else None
        if arrays is not None:
            try:
                inv = CompiledInventory.from_arrays(arrays)
            except (KeyError, ValueError, TypeError, AttributeError):  # another layout: compile
                inv = None
        if inv is None:
            frames = load_inventory(conn)
        state = _load(conn, ("node_status", "power_status"))
        state["link_status"], newest_link = load_links_down(conn)  # links up change nothing
    if inv is None:
        inv = compile_inventory(frames["nodes"], frames["links"])
        kept = inv.to_arrays() if inv is not None and cache_dir is not None else None
        if kept is not None:
            write_arrays(cache_dir, mark, kept)
    if inv is None:  # an id listed twice: networkx's merge rules need every status row
        state = load_state(db_url=db_url)
        frames, newest_link = state, None
    return compile_network(
        frames["nodes"], frames["links"], state["node_status"], state["link_status"],
        state["power_status"], as_of=as_of, stale_after=timedelta(minutes=s.stale_after_minutes),
        inventory=inv, newest_left_out=newest_link,
    )



def warn_graph_coverage(G: nx.MultiGraph) -> None:
    """:class:`~resilience.analysis.coverage.CoverageWarning` for a network with no core or
    nothing served (the CLI prints it on stderr)."""
    from resilience.analysis.coverage import coverage_warnings, graph_coverage, warn_coverage

    warn_coverage(coverage_warnings(**graph_coverage(G)))


def warn_model_coverage(model: CSRGraph) -> None:
    """:func:`warn_graph_coverage` of a compiled model."""
    from resilience.analysis.coverage import coverage_warnings, warn_coverage
    from resilience.analysis.traversal import served_mask

    warn_coverage(coverage_warnings(total_nodes=int(model.n), cores=int(len(model.roots)),
                                    served_nodes=int(served_mask(model, roots=model.roots).sum())))



@store_guard
def status(*, db_url: str | None = None, down: bool = False, now: datetime | None = None) -> dict:
    """The current state of every node and link (``resilience status``).

    Returns ``{"nodes": [{"node_id", "state", "power", "battery_remaining_min",
    "observed_at"}], "links": [{"link_id", "state", "observed_at"}]}`` sorted by id. An element
    with no status, or none fresher than the setting ``stale_after_minutes`` (e.g. a source whose
    heartbeats stopped), has state ``unknown`` (its last observation is kept in ``observed_at``).
    ``down=True``: only nodes down or degraded and links down.

    Example
    -------
    >>> import tempfile
    >>> status(db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db")
    {'nodes': [], 'links': []}
    """
    from datetime import UTC

    import pandas as pd

    ensure_schema(db_url)
    s = load_settings()
    now = now or datetime.now(UTC)
    cutoff = pd.Timestamp(now - timedelta(minutes=s.stale_after_minutes))
    st = load_state(db_url=db_url)

    def rows(inv: pd.DataFrame, cur: pd.DataFrame, key: str, cols: list[str]) -> list[dict]:
        df = inv[[key]].merge(cur, on=key, how="left").sort_values(key, kind="stable")
        out = []
        for r in df.to_dict("records"):
            at = r.get("observed_at")
            fresh = at is not None and not pd.isna(at) and pd.Timestamp(at) >= cutoff
            row = {key: r[key], "state": r["state"] if fresh and isinstance(r.get("state"), str) else "unknown"}
            for c in cols:
                v = r.get(c)
                row[c] = None if v is None or (isinstance(v, float) and v != v) else v
            row["observed_at"] = None if at is None or pd.isna(at) else pd.Timestamp(at).isoformat()
            out.append(row)
        return out

    nodes = rows(st["nodes"], st["node_status"], "node_id", ["power", "battery_remaining_min"])
    links = rows(st["links"], st["link_status"], "link_id", [])
    if down:
        nodes = [n for n in nodes if n["state"] in ("down", "degraded")]
        links = [x for x in links if x["state"] == "down"]
    return {"nodes": nodes, "links": links}


