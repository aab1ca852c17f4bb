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

import functools
import inspect
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from resilience.settings import load_settings

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd
    from sqlalchemy import Engine

    from resilience.analysis._csr import CSRGraph
    from resilience.analysis.snapshot import Snapshot
    from resilience.feeds.ingest import IngestResult

__all__ = [
    "resolve_db_url", "engine", "init", "ensure_schema", "ingest", "load_state", "load_graph", "load_model", "analyze", "spof",
    "scenario_from_options", "whatif", "forecast", "replay", "report", "archive_dir",
    "quarantine_list", "quarantine_retry", "set_kind", "inventory_history",
    "status", "restore", "harden",
]


def _store_guard(fn: Callable) -> Callable:
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


@_store_guard
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


@_store_guard
def ingest(
    paths: Iterable[str | Path],
    *,
    db_url: str | None = None,
    graphml_cores: tuple[str, ...] = (),
    on_file: Callable[[IngestResult], None] | None = None,
    force: bool = False,
    namespace: str | None = None,
    allow_redefine: bool = False,
) -> list[IngestResult]:
    """Ingest feed files (kind detected from the header) in dependency order.

    ``force`` re-reads files already ingested; ``namespace`` names a GraphML file's ids;
    ``allow_redefine`` lets a file take over elements of another source (docs/recovery.md).
    Raises :class:`resilience.errors.BadInput` before storing anything if a file cannot be read
    (and, for that file, when it would redefine another source's elements).
    """
    from resilience.feeds.ingest import ingest_paths

    settings = load_settings()
    eng = engine(db_url)
    ensure_schema(db_url)
    return ingest_paths(
        eng,
        paths,
        archive_dir=archive_dir(db_url),
        graphml_cores=graphml_cores,
        future_tolerance=timedelta(minutes=settings.future_tolerance_minutes),
        on_file=on_file,
        force=force,
        namespace=namespace,
        allow_redefine=allow_redefine,
    )


def archive_dir(db_url: str | None = None) -> Path:
    """Where ingested feed files are archived: beside a SQLite database file
    (``<its folder>/archive``), else ``RESILIENCE_HOME/var/archive`` (PostgreSQL).

    >>> str(archive_dir("sqlite:////srv/noc/r.db"))
    '/srv/noc/archive'
    """
    from resilience.feeds.ingest import archive_dir_for

    return archive_dir_for(resolve_db_url(db_url), load_settings().path("var/archive"))


@_store_guard
def quarantine_list(
    *, db_url: str | None = None, file: str | None = None, rule: str | None = None, status: str = "open"
) -> list[dict]:
    """Quarantined rows ``{"id", "file", "line", "field", "value", "rule", "reason", "status"}``
    (``status``: open, resolved or all; ``file``: path, file name or sha256 prefix; ``rule``:
    rule name or words of the reason)."""
    from resilience.store.repo import list_quarantine

    ensure_schema(db_url)
    with engine(db_url).connect() as conn:
        df = list_quarantine(conn, file=file, rule=rule, status=status)
    return [
        {"id": int(r["id"]), "file": r["path"], "line": None if _isna(r["line"]) else int(r["line"]),
         "field": r["field"], "value": r["value"], "rule": r["rule"], "reason": r["reason"],
         "status": r["status"]}
        for r in df.to_dict("records")
    ]


def _isna(value) -> bool:
    """``None`` or NaN (a nullable integer column read through pandas)."""
    return value is None or value != value


@_store_guard
def quarantine_retry(
    *, db_url: str | None = None, file: str | None = None, rule: str | None = None
) -> dict:
    """Validate the open quarantined rows again against the current store and store those that
    pass (see :func:`resilience.feeds.ingest.retry_quarantine`); returns
    ``{"retried", "stored", "still_quarantined"}``."""
    from resilience.feeds.ingest import retry_quarantine

    ensure_schema(db_url)
    s = load_settings()
    return retry_quarantine(engine(db_url), file=file, rule=rule,
                            future_tolerance=timedelta(minutes=s.future_tolerance_minutes)).as_dict()


@_store_guard
def set_kind(
    node_ids: Iterable[str], kind: str, *, db_url: str | None = None, namespace: str | None = None
) -> list[dict]:
    """Change the role of stored nodes (e.g. make GraphML nodes cores) without re-delivering a
    file; each change is recorded in the inventory history. Returns
    ``[{"node_id", "old_kind", "new_kind"}]`` for the nodes that changed.

    Raises :class:`resilience.errors.BadInput` for an unknown kind or node (nothing changed).
    """
    from resilience.feeds.ingest import set_kind as _set_kind

    ensure_schema(db_url)
    changed = _set_kind(engine(db_url), list(node_ids), kind, namespace=namespace)
    return [{"node_id": i, "old_kind": old, "new_kind": kind} for i, old in changed]


@_store_guard
def inventory_history(*, db_url: str | None = None, element_id: str | None = None) -> list[dict]:
    """Recorded inventory changes (of one element, or all), oldest first:
    ``{"element_type", "element_id", "field", "old_value", "new_value", "source", "origin",
    "changed_at"}``."""
    from resilience.store.repo import inventory_changes

    ensure_schema(db_url)
    with engine(db_url).connect() as conn:
        df = inventory_changes(conn, element_id)
    cols = ["element_type", "element_id", "field", "old_value", "new_value", "source", "origin", "changed_at"]
    return [{c: (r[c].isoformat() if c == "changed_at" else r[c]) for c in cols} for r in df.to_dict("records")]


@_store_guard
def load_state(*, db_url: str | None = None) -> dict[str, pd.DataFrame]:
    """Inventory and current state tables as DataFrames."""
    from resilience.store.repo import load_state as _load

    with engine(db_url).connect() as conn:
        return _load(conn)


@_store_guard
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


@_store_guard
def load_model(*, db_url: str | None = None, as_of: datetime | None = None) -> CSRGraph:
    """The current network as the pipeline holds it: columns and CSR arrays compiled straight
    from the store (:func:`resilience.topology.compiled.compile_network`), no networkx object.
    Every snapshot analysis runs on it; :func:`load_graph` gives the same network as networkx.

    Example
    -------
    >>> import tempfile
    >>> url = init(f"sqlite:///{tempfile.mkdtemp()}/r.db")
    >>> m = load_model(db_url=url)
    >>> m.n, m.m, sorted(m.graph)
    (0, 0, ['as_of', 'newest_observed', 'power_feeds'])
    """
    from resilience.topology.compiled import compile_network

    ensure_schema(db_url)
    s = load_settings()
    state = load_state(db_url=db_url)
    return compile_network(
        state["nodes"], state["links"], state["node_status"], state["link_status"],
        state["power_status"], as_of=as_of, stale_after=timedelta(minutes=s.stale_after_minutes),
    )


def _hours(hours: Iterable[float] | None) -> tuple[float, ...]:
    return tuple(hours) if hours else load_settings().forecast_hours


@_store_guard
def analyze(
    *, db_url: str | None = None, as_of: datetime | None = None, top_n: int | None = None
) -> int:
    """Compute the analysis snapshot of the current state and store it in one transaction.

    Returns the new snapshot id. Readers see the previous snapshot until this one commits.
    """
    return _analyze(db_url, as_of, top_n).id


def _analyze(db_url: str | None, as_of: datetime | None, top_n: int | None) -> Snapshot:
    """:func:`analyze`, returning the stored snapshot itself (its ``id`` set)."""
    from resilience.analysis.snapshot import compute_snapshot
    from resilience.pipeline import change_mark
    from resilience.store.snapshots import write_snapshot

    s = load_settings()
    ensure_schema(db_url)
    with engine(db_url).connect() as conn:  # read before the state: the snapshot holds at least this
        mark = change_mark(conn)
    model = load_model(db_url=db_url, as_of=as_of)  # arrays first: no networkx object
    snap = compute_snapshot(
        model, top_n=top_n or s.top_n, hours=s.forecast_hours,
        stale_after=timedelta(minutes=s.stale_after_minutes),
    )
    snap.summary["change_mark"] = mark  # one snapshot per change: resilience.pipeline.analyze_once
    write_snapshot(engine(db_url), snap, keep=s.snapshots_kept)
    return snap


@_store_guard
def spof(*, db_url: str | None = None, top: int | None = 50, srlg: bool = False) -> pd.DataFrame:
    """Blast radius of every node and link of the current state, largest first.

    Columns ``element_type, id, nodes_lost, subscribers_lost`` then ``name`` (a node's name, a
    link's ends' names) and for links ``a``, ``b``, ``a_name``, ``b_name``
    (:func:`resilience.analysis.names.element_names`); ``top=None`` gives all elements,
    otherwise the ``top`` single points of failure.

    ``srlg=True``: every shared-risk group that cuts anything instead, columns ``srlg``,
    ``links`` (its link ids), ``nodes_lost``, ``subscribers_lost``, ``hidden_nodes``,
    ``hidden_subscribers`` (its hidden part: the nodes it cuts that are not single-homed),
    largest first (``top`` groups unless ``None``).

    ``attrs`` of the frame: ``spofs_cutting_others`` and ``single_homed_sites`` (sites that
    hang on their own access link), over all single points of failure.

    Issues a :class:`resilience.analysis.coverage.CoverageWarning` when the network has no core
    or serves nothing (every blast radius is then 0).
    """
    import pandas as pd

    from resilience.analysis import blast_radius, srlg_blast_radius, to_csr
    from resilience.analysis.coverage import coverage_warnings, warn_coverage
    from resilience.analysis.names import element_names

    G = load_graph(db_url=db_url)
    csr = to_csr(G)
    base = blast_radius(G, csr=csr)
    served = int((base["element_type"].eq("node") & base["nodes_lost"].gt(0)).sum())
    warn_coverage(coverage_warnings(total_nodes=csr.n, cores=len(csr.roots), served_nodes=served))
    if srlg:
        df = srlg_blast_radius(G, csr=csr)
        df = df[df["nodes_lost"] > 0].head(top) if top is not None else df[df["nodes_lost"] > 0]
        links = csr.srlg_links
        df = df.assign(links=[[csr.links[i] for i in links[g]] for g in df["srlg"]])
        cols = ["srlg", "links", "nodes_lost", "subscribers_lost", "hidden_nodes", "hidden_subscribers"]
        return df[cols].reset_index(drop=True)
    df = base.sort_values(["subscribers_lost", "nodes_lost", "element_type", "id"],
                          ascending=[False, False, True, True], kind="stable")
    is_link = df["element_type"] == "link"
    spofs = is_link & (df["nodes_lost"] > 0) | (df["nodes_lost"] > 1)
    own_link = int((is_link & (df["nodes_lost"] == 1)).sum())  # a site's own access link
    if top is not None:
        df = df[spofs].head(top)
    df = df.reset_index(drop=True)
    names = pd.DataFrame(element_names(G, df["element_type"], df["id"]), index=df.index,
                         columns=["name", "a", "b", "a_name", "b_name"])
    out = pd.concat([df, names], axis=1)
    out.attrs.update(spofs_cutting_others=int(spofs.sum()) - own_link, single_homed_sites=own_link)
    return out


def scenario_from_options(
    *,
    fail: Iterable[str] = (),
    region: tuple[float, float, float] | None = None,
    power_outage: str | None = None,
    hours: float | None = None,
    srlg: Iterable[str] = (),
    scenario_file: str | Path | None = None,
) -> dict:
    """The scenario dict (as in ``config/scenarios/*.yaml``) for the CLI / DAG options.

    Exactly one kind of damage must be given. The values are checked when the scenario is built
    (:func:`resilience.scenarios.scenario_from_dict`: a NaN radius, latitude 200 or infinite
    hours raise ``ValueError``); a scenario file that is not a YAML scenario raises
    ``ValueError`` naming the file and never quoting it.

    >>> scenario_from_options(fail=["A1"])
    {'type': 'explicit', 'fail': ['A1']}
    """
    parts: list[dict] = []
    fail, srlg = [f for f in fail if f], [g for g in srlg if g]
    if fail:
        parts.append({"type": "explicit", "fail": list(fail)})
    if region:
        lat, lon, km = region
        parts.append({"type": "region", "center": {"lat": lat, "lon": lon}, "radius_km": km})
    if power_outage:
        if hours is None:
            raise ValueError("--power-outage needs --hours")
        parts.append({"type": "power_outage", "areas": [power_outage], "hours": hours})
    if srlg:
        parts.append({"type": "srlg", "groups": list(srlg)})
    if scenario_file:
        from resilience.scenarios import read_scenario_file

        parts.append(read_scenario_file(scenario_file))  # never echoes the file's content
    if not parts:
        raise ValueError("no damage given: use --fail, --region, --power-outage, --srlg or --scenario")
    if len(parts) > 1:
        raise ValueError("give one kind of damage per what-if (or a scenario file)")
    return parts[0]


@_store_guard
def whatif(scenario: dict | str | Path, *, db_url: str | None = None) -> dict:
    """Run a what-if scenario (a dict, or a YAML file path) against the current state.

    Returns ``{"baseline", "scenario", "lost", "new_spofs", ...}`` (see
    :func:`resilience.scenarios.run_whatif`). The stored model is never changed.
    """
    from resilience.scenarios import load_scenario, run_whatif, scenario_from_dict

    sc = scenario_from_dict(scenario) if isinstance(scenario, dict) else load_scenario(scenario)
    G = load_graph(db_url=db_url)
    _warn_coverage(G)
    return run_whatif(G, sc)


def _warn_coverage(G: nx.MultiGraph) -> None:
    """:class:`~resilience.analysis.coverage.CoverageWarning` for a network with no core or
    nothing served (the CLI prints it on stderr)."""
    from resilience.analysis.coverage import coverage_warnings, graph_coverage, warn_coverage

    warn_coverage(coverage_warnings(**graph_coverage(G)))


def _warn_model_coverage(model: CSRGraph) -> None:
    """:func:`_warn_coverage` of a compiled model."""
    from resilience.analysis._csr import served_mask
    from resilience.analysis.coverage import coverage_warnings, warn_coverage

    warn_coverage(coverage_warnings(total_nodes=int(model.n), cores=int(len(model.roots)),
                                    served_nodes=int(served_mask(model, roots=model.roots).sum())))


@_store_guard
def forecast(*, db_url: str | None = None, hours: Iterable[float] | None = None) -> pd.DataFrame:
    """Nodes and subscribers out at each horizon if grid power is not restored."""
    from resilience.analysis import battery_forecast

    G = load_graph(db_url=db_url)
    _warn_coverage(G)
    return battery_forecast(G, hours=_hours(hours))


@_store_guard
def replay(
    directory: str | Path,
    *,
    db_url: str | None = None,
    step: timedelta | None = None,
    on_step: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Replay a folder of time-stamped feed files (``resilience sample noto-2024``).

    Files are ingested in name order through the same code as the pipeline; the state is
    analysed at each feed time (or every ``step``) and one row per step is returned:
    ``{"at", "sites_down", "by_cause", "subscribers_out"}`` where ``sites_down`` counts base
    stations out (the ministry's measure) and ``by_cause`` splits them by cause.
    """
    from resilience.feeds.ingest import ingest_file
    from resilience.feeds.readers import read_feed
    from resilience.sample.replay import replay_schedule
    ensure_schema(db_url)
    eng = engine(db_url)
    rows = []
    for at, files in replay_schedule(directory, step=step):
        for f in files:
            ingest_file(eng, f, raw=read_feed(f), archive_dir=archive_dir(db_url))
        out = _analyze(db_url, at, None).nodes_out
        bs = out[out["kind"] == "base_station"]
        row = {
            "at": at.isoformat(),
            "sites_down": int(len(bs)),
            "by_cause": {str(k): int(v) for k, v in bs["cause"].value_counts().sort_index().items()},
            "subscribers_out": int(out["subscribers"].sum()),
        }
        rows.append(row)
        if on_step:
            on_step(row)
    return rows


@_store_guard
def report(
    *, db_url: str | None = None, out_dir: str | Path | None = None, snapshot_id: int | None = None
) -> Path:
    """Write the HTML report of the latest (or given) snapshot; return its path.

    Raises :class:`resilience.reports.NoSnapshot` when nothing has been analysed yet.
    """
    from resilience.reports import write_report

    s = load_settings()
    out = Path(out_dir) if out_dir else s.path(s.report_dir)
    return write_report(engine(db_url), out, snapshot_id=snapshot_id,
                        tz=getattr(s, "display_timezone", "") or "Asia/Tokyo")


@_store_guard
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


@_store_guard
def restore(
    resources: str | Path | None = None,
    *,
    db_url: str | None = None,
    snapshot_id: int | None = None,
    scenario: dict | str | Path | None = None,
    horizon_h: float = 72.0,
    strategy: str = "planned",
    out_dir: str | Path | None = None,
) -> dict:
    """Plan the restoration of the sites that are out (``resilience restore``).

    ``resources``: a resources YAML file (default ``config/resources/noto-2024.yaml`` of the
    settings' home); ``snapshot_id``: plan from the state at that stored snapshot's time (the
    state tables hold the current state: the snapshot gives the time the freshness is read at
    and the plan is filed under its id); ``scenario``: a what-if scenario (dict or YAML file)
    whose damage is added to the current state (failed nodes need a crew, failed links are
    down). Returns the plan of :func:`resilience.restoration.plan_restoration` plus
    ``snapshot_id`` and ``resources`` (the file); with ``out_dir`` it is also written there as
    ``restoration-<snapshot id or 'current'>.json`` (``path`` in the result).

    Raises :class:`resilience.errors.BadInput` for a bad resources file, scenario, strategy,
    horizon or snapshot id.
    """
    import json

    from resilience.errors import BadInput
    from resilience.restoration import STRATEGIES, load_resources, plan_restoration

    s = load_settings()
    res_path = Path(resources) if resources else s.path("config/resources/noto-2024.yaml")
    if strategy not in STRATEGIES:
        raise BadInput("--strategy", f"must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    if not (0 < horizon_h <= 24 * 365):
        raise BadInput("--horizon", f"must be more than 0 and at most a year of hours, not {horizon_h}")
    try:
        res = load_resources(res_path)
    except ValueError as exc:
        raise BadInput(str(res_path), str(exc).removeprefix(f"{res_path}: ")) from None
    as_of = None
    if snapshot_id is not None:
        from resilience.store.snapshots import read_snapshot

        ensure_schema(db_url)
        snap = read_snapshot(engine(db_url), int(snapshot_id))
        if snap is None:
            raise BadInput("--from-snapshot", f"no snapshot {snapshot_id}")
        as_of = snap.as_of
    failed_nodes = failed_links = None
    G: nx.MultiGraph | None = None
    model = None
    if scenario is None:  # the compiled model of the store: no networkx graph read into arrays
        model = load_model(db_url=db_url, as_of=as_of)
        _warn_model_coverage(model)
    else:
        G = load_graph(db_url=db_url, as_of=as_of)
        _warn_coverage(G)
        from resilience.analysis import to_csr
        from resilience.scenarios import load_scenario, scenario_from_dict

        try:
            sc = scenario_from_dict(scenario) if isinstance(scenario, dict) else load_scenario(scenario)
            model = to_csr(G)
            dmg = sc.damage(G, model)
        except ValueError as exc:
            raise BadInput("--scenario", str(exc)) from None
        failed_nodes, failed_links = dmg.nodes, dmg.links
    try:
        plan = plan_restoration(G, res, horizon_h=horizon_h, strategy=strategy,
                                failed_nodes=failed_nodes, failed_links=failed_links, csr=model)
    except ValueError as exc:
        raise BadInput(str(res_path), str(exc)) from None
    plan["snapshot_id"] = snapshot_id
    plan["resources"] = str(res_path)
    if out_dir is not None:
        from resilience.files import write_text_atomic

        name = f"restoration-{snapshot_id if snapshot_id is not None else 'current'}.json"
        path = write_text_atomic(Path(out_dir) / name, json.dumps(plan, default=str, ensure_ascii=False))
        plan["path"] = str(path)
    return plan


def harden(
    budget: float,
    *,
    measures: str | Path | None = None,
    scenarios: Iterable[str | Path] | None = None,
    runs: int | None = None,
    horizon_h: float | None = None,
    holdout: str | None = None,
    seed: int = 0,
    db_url: str | None = None,
    G: nx.MultiGraph | None = None,
    out_dir: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Plan hardening within ``budget`` (``resilience harden``).

    ``measures``: a catalogue YAML (default ``config/hardening/measures.yaml`` of the settings'
    home); ``scenarios``: scenario or ensemble YAML files (default: every file of
    ``config/scenarios``, skipping those that name elements this network does not have);
    ``runs``: samples in all (default the ensemble's ``runs`` or 200); ``horizon_h``: hours
    counted (default the ensemble's ``horizon_hours`` or 168); ``holdout``: a scenario name
    left out of planning and scored alone; ``G``: plan on this network instead of the stored
    one. Returns :func:`resilience.hardening.plan_hardening`'s result plus ``measures`` and
    ``scenario_files`` (and ``skipped``); with ``out_dir`` it is also written there as
    ``hardening-<budget>.json`` (``path`` in the result).

    Raises :class:`resilience.errors.BadInput` for a bad catalogue, scenario, budget or runs.
    """
    import json

    from resilience.errors import BadInput
    from resilience.hardening import load_catalogue, plan_hardening, read_ensemble

    s = load_settings()
    if not (budget >= 0 and budget < float("inf")):
        raise BadInput("--budget", f"must be a finite amount >= 0, not {budget}")
    m_path = Path(measures) if measures else s.path("config/hardening/measures.yaml")
    try:
        cat = load_catalogue(m_path)
    except ValueError as exc:
        raise BadInput(str(m_path), str(exc).removeprefix(f"{m_path}: ")) from None
    explicit = scenarios is not None
    files = [Path(p) for p in scenarios] if explicit else sorted(s.path("config/scenarios").glob("*.yaml"))
    if not files:
        raise BadInput("--scenarios", "no scenario files")
    if G is None:
        G = load_graph(db_url=db_url)
    from resilience.analysis import to_csr
    from resilience.hardening import build_ensemble

    csr = to_csr(G)
    entries: list[dict] = []
    opts: dict = {}
    skipped: list[str] = []
    for f in files:
        try:
            e, o = read_ensemble(f)
            build_ensemble(G, csr, e, runs=len(e))  # names only what this network has
        except ValueError as exc:
            if explicit:
                raise BadInput(str(f), str(exc).removeprefix(f"{f}: ")) from None
            skipped.append(f"{f.name}: {exc}")
            continue
        entries += e
        opts.update(o)
    if not entries:
        raise BadInput("--scenarios", "no scenario applies to this network: " + "; ".join(skipped))
    runs = int(runs if runs is not None else opts.get("runs", 200))
    if not (1 <= runs <= 100_000):
        raise BadInput("--runs", f"must be from 1 to 100000, not {runs}")
    hz = float(horizon_h if horizon_h is not None else opts.get("horizon_hours", 168))
    try:
        out = plan_hardening(G, cat, entries, budget=float(budget), runs=runs, horizon_h=hz, seed=seed,
                             holdout=holdout, progress=progress)
    except ValueError as exc:
        raise BadInput("--holdout" if holdout and "hold out" in str(exc) else "harden", str(exc)) from None
    out["measures"] = str(m_path)
    out["scenario_files"] = [str(f) for f in files]
    if skipped:
        out["skipped"] = skipped
    if out_dir is not None:
        from resilience.files import write_text_atomic

        path = write_text_atomic(Path(out_dir) / f"hardening-{int(budget)}.json",
                                 json.dumps(out, default=str, ensure_ascii=False))
        out["path"] = str(path)
    return out
