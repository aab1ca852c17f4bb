"""Pipeline steps the Airflow DAGs call (the library side; this module imports nothing from Airflow).

Each DAG task is a few lines calling one of these, so every step can be run and tested without
Airflow. Steps are idempotent: running one again with the same key changes nothing.

- :func:`analyze_once`: one analysis snapshot per ``as_of`` (a re-run returns the same id) and
  one per change: it defers to a running ``resilience watch`` (:func:`covering_snapshot`);
- :func:`snapshot_operators` / :func:`export_operator`: per-operator extracts of a snapshot;
- :func:`report_for`: the daily HTML report at a path keyed by the day;
- :func:`scenario_from_params` / :func:`run_whatif`: what-if Params to a scenario, results as
  JSON and HTML under one folder per run.

Example
-------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> scenario_from_params({"failures": ["A1", " "], "region_km": None}, scenarios_dir=d)
{'type': 'explicit', 'fail': ['A1']}
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from resilience.errors import BadInput
from resilience.files import write_text_atomic

__all__ = [
    "analyze_once",
    "change_mark",
    "check_scenario",
    "covering_snapshot",
    "export_operator",
    "display_timezone",
    "evaluate_whatif",
    "find_snapshot",
    "has_inventory",
    "render_whatif_html",
    "report_for",
    "run_whatif",
    "scenario_from_params",
    "snapshot_operators",
    "watch_alive",
    "watch_heartbeat",
]


def _utc(ts: datetime) -> datetime:
    """A plain aware UTC ``datetime`` (pendulum instants lose their zone in arithmetic)."""
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return datetime(ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second, ts.microsecond, tzinfo=UTC)


def find_snapshot(as_of: datetime, *, db_url: str | None = None, tolerance_s: float = 0.001) -> int | None:
    """The id of a complete snapshot taken for ``as_of`` (within ``tolerance_s``), if any.

    Notes
    -----
    Compares in Python after normalising to UTC (SQLite keeps no offset), over the snapshots
    whose ``as_of`` lies in a one-day window around ``as_of``: O(snapshots in that window).
    """
    from datetime import timedelta

    from sqlalchemy import select

    from resilience import api
    from resilience.store import tables as t

    want = _utc(as_of)
    s = t.snapshots
    day = timedelta(days=1)
    q = (select(s.c.id, s.c.as_of).where(s.c.status == "complete")
         .where(s.c.as_of >= want - day, s.c.as_of <= want + day).order_by(s.c.id))
    with api.engine(db_url).connect() as conn:
        for sid, got in conn.execute(q):
            if abs((_utc(got) - want).total_seconds()) <= tolerance_s:
                return int(sid)
    return None


def change_mark(conn: Any) -> list[Any]:
    """The store's change mark: it moves whenever anything that a snapshot reads was stored
    (feed files archived, the status change sequence, inventory changes such as ``set-kind``).

    Every snapshot writer stores the mark it read (before reading the state) in the snapshot's
    ``summary['change_mark']``, so that a second writer can tell that the change it was told
    about is in a snapshot already (:func:`covering_snapshot`).

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> eng = make_engine("sqlite://"); migrate(eng)
    >>> with eng.connect() as conn:
    ...     change_mark(conn)
    [0, None, 0, 0]
    """
    from sqlalchemy import func, select

    from resilience.store import tables as t
    from resilience.store.repo import feed_marks, status_seq

    files, last = feed_marks(conn)[1]
    inv = conn.execute(select(func.coalesce(func.max(t.inventory_changes.c.id), 0))).scalar_one()
    return [int(files or 0), None if last is None else _utc(last).isoformat(), status_seq(conn), int(inv)]


def covering_snapshot(mark: list[Any], *, db_url: str | None = None, look_back: int = 5) -> int | None:
    """The newest complete snapshot written at change mark ``mark`` (see :func:`change_mark`), if any
    of the last ``look_back`` is.

    Example
    -------
    >>> import tempfile
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
    >>> covering_snapshot([0, None, 0, 0], db_url=url) is None
    True
    """
    from sqlalchemy import select

    from resilience import api
    from resilience.store import tables as t

    api.ensure_schema(db_url)
    s = t.snapshots
    with api.engine(db_url).connect() as conn:
        rows = conn.execute(select(s.c.id, s.c.summary_json).where(s.c.status == "complete")
                            .order_by(s.c.id.desc()).limit(look_back)).all()
    for sid, summary in rows:
        try:
            got = json.loads(summary or "{}").get("change_mark")
        except ValueError:
            continue
        if got == mark:
            return int(sid)
    return None


def _heartbeat_path(db_url: str | None) -> Path:
    import hashlib

    from resilience import api
    from resilience.settings import load_settings

    key = hashlib.sha256(api.resolve_db_url(db_url).encode()).hexdigest()[:16]
    return load_settings().path("var/run") / f"watch-{key}.alive"


def watch_heartbeat(db_url: str | None = None) -> None:
    """Mark a ``resilience watch`` of this store as alive (``var/run/watch-<store>.alive``; the
    watch calls it on every check). Never raises: the watch runs on without it."""
    path = _heartbeat_path(db_url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{os.getpid()}\n", encoding="utf-8")
    except OSError:
        pass


def watch_alive(db_url: str | None = None, *, within_s: float = 60.0) -> bool:
    """Whether a ``resilience watch`` of this store checked for changes within ``within_s``.

    Example
    -------
    >>> watch_alive("sqlite:////nonexistent/r.db")
    False
    """
    import time

    try:
        return time.time() - _heartbeat_path(db_url).stat().st_mtime <= within_s
    except OSError:
        return False


def analyze_once(
    as_of: datetime, *, db_url: str | None = None, wait_for_watch_s: float | None = None,
    poll_s: float = 0.5,
) -> int:
    """The analysis snapshot of the pipeline run at ``as_of``; return its id. One snapshot per change.

    In order:

    1. a snapshot this run wrote already (keyed by the run's time: Airflow's logical date, or the
       time the asset event queued the run) is returned: re-running the run adds nothing;
    2. a snapshot of the current change mark (:func:`change_mark`) is returned, whoever wrote it;
    3. while a ``resilience watch`` of this store is alive (:func:`watch_alive`) the pipeline
       **defers to it**: it waits up to ``wait_for_watch_s`` (settings
       ``watch_wait_seconds``, default 60) for the watch's snapshot of this change and returns it;
    4. otherwise (no watch, or it did not deliver) it writes the snapshot itself, in one
       transaction (a try that fails half-way leaves nothing behind).

    The watch does the same from its side (:meth:`resilience.live.LiveModel.analyze` writes
    nothing when a snapshot of the change exists), so each change is stored once and the
    48-snapshot history holds 48 different states.

    Example
    -------
    >>> import tempfile
    >>> from datetime import datetime, UTC
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
    >>> a = analyze_once(datetime(2024, 1, 1, tzinfo=UTC), db_url=url)
    >>> analyze_once(datetime(2024, 1, 1, 0, 5, tzinfo=UTC), db_url=url) == a  # nothing changed
    True
    """
    import time

    from resilience import api
    from resilience.settings import load_settings

    api.ensure_schema(db_url)
    as_of = _utc(as_of)
    found = find_snapshot(as_of, db_url=db_url)
    if found is not None:
        return found
    with api.engine(db_url).connect() as conn:
        mark = change_mark(conn)
    found = covering_snapshot(mark, db_url=db_url)
    if found is not None:
        return found
    if watch_alive(db_url):
        wait = wait_for_watch_s
        if wait is None:
            wait = float(getattr(load_settings(), "watch_wait_seconds", 60.0))
        end = time.monotonic() + wait
        while time.monotonic() < end:
            time.sleep(poll_s)
            found = covering_snapshot(mark, db_url=db_url)
            if found is not None:
                return found
    return int(api.analyze(db_url=db_url, as_of=as_of))


def snapshot_operators(snapshot_id: int, *, db_url: str | None = None) -> list[str]:
    """The operators with any node in the inventory, sorted (the fan-out keys of the exports)."""
    from sqlalchemy import select

    from resilience import api
    from resilience.store import tables as t

    with api.engine(db_url).connect() as conn:
        ops = conn.execute(select(t.nodes.c.operator).distinct()).scalars().all()
    return sorted(o for o in ops if o)



def _rows(conn, table, snapshot_id: int, operator: str, order) -> list[dict[str, Any]]:
    from sqlalchemy import select

    q = select(table).where(table.c.snapshot_id == snapshot_id, table.c.operator == operator).order_by(*order)
    out = []
    for row in conn.execute(q).mappings():
        d = {k: v for k, v in row.items() if k != "snapshot_id"}
        out.append({k: (v.isoformat() if isinstance(v, datetime | date) else v) for k, v in d.items()})
    return out


def export_operator(
    snapshot_id: int, operator: str, out_dir: str | Path, *, db_url: str | None = None
) -> str:
    """Write one operator's share of a snapshot to ``<out_dir>/<snapshot_id>/<operator>.json``.

    The file holds the operator's single points of failure (largest blast radius first) and its
    nodes that are out with their causes: what that operator's NOC acts on. Rewriting it gives
    the same file.
    """
    from sqlalchemy import select

    from resilience import api
    from resilience.feeds.inbox import inside
    from resilience.store import tables as t

    with api.engine(db_url).connect() as conn:
        snap = conn.execute(select(t.snapshots).where(t.snapshots.c.id == snapshot_id)).mappings().first()
        if snap is None:
            raise BadInput(f"snapshot {snapshot_id}", "no such snapshot")
        el, out = t.snapshot_elements, t.snapshot_nodes_out
        doc = {
            "snapshot_id": snapshot_id,
            "as_of": _utc(snap["as_of"]).isoformat(),
            "operator": operator,
            "spofs": _rows(conn, el, snapshot_id, operator, [el.c.subscribers_lost.desc(), el.c.element_id]),
            "nodes_out": _rows(conn, out, snapshot_id, operator, [out.c.node_id]),
        }
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in operator) or "_"
    path = inside(Path(out_dir), f"{snapshot_id}/{safe}.json")
    return str(write_text_atomic(path, json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True)))


def has_inventory(*, db_url: str | None = None) -> bool:
    """Whether the store holds any node (a report of an empty network says nothing).

    Example
    -------
    >>> import tempfile
    >>> has_inventory(db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db")
    False
    """
    from sqlalchemy import select

    from resilience import api
    from resilience.store import tables as t

    api.ensure_schema(db_url)
    with api.engine(db_url).connect() as conn:
        return conn.execute(select(t.nodes.c.node_id).limit(1)).first() is not None


def report_for(day: date, *, out_dir: str | Path, db_url: str | None = None) -> str:
    """Write the report of ``day`` into ``<out_dir>/<day>/`` (same day: same folder and file).

    "Since the previous report" compares with the snapshot of the report written last before
    it: this day's earlier report, or the latest report of an earlier day.

    Example
    -------
    >>> import tempfile, datetime
    >>> from resilience.reports import NoSnapshot
    >>> try:
    ...     report_for(datetime.date(2024, 1, 3), out_dir=tempfile.mkdtemp(),
    ...                db_url=f"sqlite:///{tempfile.mkdtemp()}/r.db")
    ... except NoSnapshot:
    ...     print("nothing analysed yet")
    nothing analysed yet
    """
    from resilience import api
    from resilience.reports import write_report
    from resilience.settings import load_settings

    root = Path(out_dir)
    folder = root / day.isoformat()
    earlier = sorted(p for p in root.glob("*/latest.html") if p.parent.name < day.isoformat())
    previous = [*earlier[-1:], folder / "latest.html"]
    api.ensure_schema(db_url)
    folder.mkdir(parents=True, exist_ok=True)
    return str(write_report(api.engine(db_url), folder, previous_reports=previous,
                            tz=display_timezone(load_settings())))


def _ids(value: Any, name: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.replace(";", ",").split(",")
    if not isinstance(value, list | tuple):
        raise BadInput(name, "expected a list of ids")
    return [str(v).strip() for v in value if str(v).strip()]


#: The ``damage`` Param (what fails) and the Params each kind uses.
DAMAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "failures": ("failures",),
    "srlg": ("srlg",),
    "region": ("region_lat", "region_lon", "region_km"),
    "power_outage": ("power_outage_target", "power_outage_hours"),
    "scenario_file": ("scenario_file",),
}
_DAMAGE_TITLE = {"failures": "failed nodes or links", "srlg": "shared-risk groups",
                 "region": "a region", "power_outage": "a power outage", "scenario_file": "a scenario file"}


def _filled(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple):
        return any(str(v).strip() for v in value)
    return value is not None


def _check_damage_kind(params: Mapping[str, Any]) -> None:
    """With a ``damage`` Param (the form's "What fails"), its fields must be filled and the
    fields of every other kind empty: one kind of damage per run."""
    kind = params.get("damage")
    if kind in (None, ""):
        return
    if kind not in DAMAGE_FIELDS:
        raise BadInput("damage", f"{kind!r} is not one of {', '.join(DAMAGE_FIELDS)}")
    if not any(_filled(params.get(f)) for f in DAMAGE_FIELDS[kind]):
        raise BadInput("damage", f"you chose {_DAMAGE_TITLE[kind]}: fill in "
                                 f"{' and '.join(DAMAGE_FIELDS[kind])}")
    others = [f for k, fs in DAMAGE_FIELDS.items() if k != kind for f in fs if _filled(params.get(f))]
    if others:
        raise BadInput("damage", f"you chose {_DAMAGE_TITLE[kind]}, but {', '.join(others)} "
                                 f"{'is' if len(others) == 1 else 'are'} filled too: one kind of damage "
                                 "per run (empty the other fields, or use a scenario file)")


def scenario_from_params(params: Mapping[str, Any], *, scenarios_dir: str | Path) -> dict[str, Any]:
    """The what-if scenario (the dict :func:`resilience.api.whatif` takes) from planner Params.

    One kind of damage per what-if (as the CLI); a scenario file may combine several.

    Parameters
    ----------
    params : mapping
        ``damage`` (optional: which kind of damage, a key of :data:`DAMAGE_FIELDS`; its fields
        must be filled and the others empty), ``failures`` (ids of nodes or links), ``srlg`` (shared-risk group ids),
        ``region_lat`` / ``region_lon`` / ``region_km`` (all three or none),
        ``power_outage_target`` (a power feed id, or ``all``) with ``power_outage_hours``,
        ``scenario_file`` (a file name under ``scenarios_dir``). Empty values are ignored.
    scenarios_dir : path
        The only folder scenario files are read from.

    Raises
    ------
    BadInput
        Nothing to simulate, a half-filled region or outage, or a scenario file that is missing
        or outside ``scenarios_dir``.
    """
    from resilience import api
    from resilience.feeds.inbox import inside

    _check_damage_kind(params)
    out: dict[str, Any] = {}
    fail = _ids(params.get("failures"), "failures")
    srlg = _ids(params.get("srlg"), "srlg")
    region = [params.get(k) for k in ("region_lat", "region_lon", "region_km")]
    if any(v is not None and v != "" for v in region):
        if any(v is None or v == "" for v in region):
            raise BadInput("region", "give region_lat, region_lon and region_km together")
        lat, lon, km = (float(v) for v in region)
        if not (-90 <= lat <= 90 and -180 <= lon <= 180 and km > 0):
            raise BadInput("region", f"lat {lat}, lon {lon}, km {km} out of range")
        out["region"] = (lat, lon, km)
    target = str(params.get("power_outage_target") or "").strip()
    if target:
        hours = params.get("power_outage_hours")
        if hours is None or hours == "" or float(hours) < 0:
            raise BadInput("power_outage_hours", "give the outage duration in hours (>= 0)")
        out["power_outage"], out["hours"] = target, float(hours)
    name = str(params.get("scenario_file") or "").strip()
    if name:
        try:
            path = inside(Path(scenarios_dir), name)
        except ValueError as exc:
            raise BadInput("scenario_file", str(exc)) from None
        if not path.is_file():
            raise BadInput("scenario_file", f"{name}: no such file in {scenarios_dir}")
        out["scenario_file"] = str(path)
    if not (out or fail or srlg):
        raise BadInput("params", "nothing to simulate: give failures, srlg, a region, a power outage "
                                 "or a scenario file")
    try:
        return api.scenario_from_options(fail=fail, srlg=srlg, **out)
    except ValueError as exc:
        raise BadInput("params", str(exc).replace("--", "")) from None


def _unknown(names: list[str], known: set[str], what: str) -> str | None:
    """``"unknown <what>: X (did you mean Y?)"`` for the names not in ``known``; ``None`` if all are."""
    import difflib

    missing = [n for n in dict.fromkeys(names) if n not in known]
    if not missing:
        return None
    parts = []
    for n in missing[:10]:
        close = difflib.get_close_matches(n, known, n=2, cutoff=0.5) if len(known) <= 200_000 else []
        parts.append(f"{n} (did you mean {' or '.join(close)}?)" if close else n)
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return f"unknown {what}: {', '.join(parts)}{more}"


def check_scenario(scenario: Mapping[str, Any], *, db_url: str | None = None) -> dict[str, Any]:
    """Check every name a scenario refers to against the stored inventory; return the scenario.

    Node and link ids (``explicit``), shared-risk groups (``srlg``), power feeds and
    municipalities (``power_outage``) must exist, so that bad input fails at once (the
    ``validate`` task of the what-if DAG, the plugin's 422) instead of in the simulation.

    Raises
    ------
    BadInput
        Naming each unknown name, with the closest known names as a hint; or an empty network.

    Notes
    -----
    One indexed look-up per id; the groups, feeds and municipalities are read as distinct
    values (O(links) for the groups).

    Example
    -------
    >>> import tempfile
    >>> from resilience import api
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
    >>> _ = api.init(url)
    >>> check_scenario({"type": "srlg", "groups": ["R1"]}, db_url=url)
    Traceback (most recent call last):
    ...
    resilience.errors.BadInput: scenario: the network is empty: ingest an inventory first
    """
    from sqlalchemy import select

    from resilience import api
    from resilience.store import tables as t

    api.ensure_schema(db_url)
    kind = str(scenario.get("type", ""))
    problems: list[str] = []
    with api.engine(db_url).connect() as conn:
        if conn.execute(select(t.nodes.c.node_id).limit(1)).first() is None:
            raise BadInput("scenario", "the network is empty: ingest an inventory first")
        if kind == "explicit":
            ids = [str(x) for x in scenario.get("fail") or []]
            known: set[str] = set()
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                known |= set(conn.execute(select(t.nodes.c.node_id).where(t.nodes.c.node_id.in_(chunk))).scalars())
                known |= set(conn.execute(select(t.links.c.link_id).where(t.links.c.link_id.in_(chunk))).scalars())
            if set(ids) - known:
                every = set(conn.execute(select(t.nodes.c.node_id)).scalars()) | set(
                    conn.execute(select(t.links.c.link_id)).scalars())
                problems.append(_unknown(ids, every, "node or link id(s)"))
        elif kind == "srlg":
            groups: set[str] = set()
            for (value,) in conn.execute(select(t.links.c.srlg).where(t.links.c.srlg != "").distinct()):
                groups.update(g.strip() for g in str(value).split(";") if g.strip())
            problems.append(_unknown([str(g) for g in scenario.get("groups") or []], groups,
                                     "shared-risk group(s)"))
        elif kind == "power_outage":
            feeds = set(conn.execute(select(t.nodes.c.power_feed).distinct()).scalars()) - {""}
            munis = set(conn.execute(select(t.nodes.c.municipality).distinct()).scalars()) - {""}
            problems.append(_unknown([str(a) for a in scenario.get("areas") or []], feeds | munis,
                                     "power feed or municipality"))
            problems.append(_unknown([str(a) for a in scenario.get("feeds") or []], feeds, "power feed(s)"))
            problems.append(_unknown([str(a) for a in scenario.get("municipalities") or []], munis,
                                     "municipality"))
    problems = [p for p in problems if p]
    if problems:
        raise BadInput("scenario", "; ".join(problems))
    return dict(scenario)


def _sites(G) -> Any:
    """The inventory of a graph as the what-if page's ``sites`` frame."""
    import pandas as pd

    from resilience.reports.whatif import SITE_COLUMNS

    rows = [{"node_id": str(n), **{c: d.get(c) for c in SITE_COLUMNS[1:]}} for n, d in G.nodes(data=True)]
    return pd.DataFrame(rows, columns=SITE_COLUMNS)


def _per_run_losses(G, csr, sc, roots, base) -> dict[str, list[float]] | None:
    """The loss of every Monte Carlo run of an earthquake (same seed: the same runs as the
    answer's statistics, which are checked against them; ``None`` when they differ)."""
    import numpy as np

    from resilience.scenarios import earthquake as eq

    try:
        p = sc.probability(G, csr)
        cand = np.nonzero((p > 0) & csr.node_up)[0].astype(np.int64)
        rng = np.random.default_rng(sc.seed)
        lost_n = np.zeros(sc.runs, np.int64)
        lost_w = np.zeros(sc.runs, np.float64)
        batch = max(1, min(sc.runs, int(2e7 // max(len(cand), 1))))
        for start in range(0, sc.runs, batch):
            k = min(batch, sc.runs - start)
            fails = rng.random((k, len(cand))) < p[cand]
            ln, lw, _ = eq._mc_kernel(csr.indptr, csr.nbr, csr.eid, csr.node_up, csr.link_up, roots,
                                      base.dfs.served, csr.weight, cand, fails)
            lost_n[start:start + k], lost_w[start:start + k] = ln, lw
    except Exception:  # the distribution is a view of the answer; the answer stands without it
        return None
    return {"nodes_lost": lost_n.tolist(), "subscribers_lost": lost_w.tolist()}


def evaluate_whatif(scenario: Mapping[str, Any], *, db_url: str | None = None) -> tuple[dict[str, Any], Any]:
    """The what-if answer of :func:`resilience.api.whatif`, plus what the result page shows.

    Added to the answer: ``already_out`` (sites not served even now), ``newly_single_homed``
    (sites served in the scenario that hang on one element there but not now: ``node_id``,
    ``spof_depth``, ``nearest_spof``, ``nearest_spof_name``), and for earthquakes
    ``monte_carlo.per_run`` (sites and subscribers lost in every run).

    Returns
    -------
    (dict, pandas.DataFrame)
        The answer and the inventory (:data:`resilience.reports.whatif.SITE_COLUMNS`).

    Notes
    -----
    One load of the network; the single-homed sites come from one DFS before and one after
    the damage (O(n + m) each).

    Example
    -------
    >>> import tempfile
    >>> from resilience import api
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
    >>> _ = api.init(url)
    >>> evaluate_whatif({"type": "region", "center": {"lat": 37.4, "lon": 136.9}, "radius_km": 1},
    ...                 db_url=url)[0]["lost"]["subscribers"]
    0
    """
    import numpy as np

    from resilience import api
    from resilience.analysis.blast import _depth_kernel
    from resilience.analysis.names import element_names
    from resilience.analysis.traversal import dfs_lowpoint, root_indices
    from resilience.scenarios import run_whatif as _run
    from resilience.scenarios import scenario_from_dict
    from resilience.topology.compiled import to_csr

    sc = scenario_from_dict(dict(scenario))
    G = api.load_graph(db_url=db_url)
    api._warn_coverage(G)
    csr = to_csr(G)
    result = _run(G, sc, csr=csr)
    roots = root_indices(csr, None)
    is_root = np.zeros(csr.n, bool)
    is_root[roots] = True

    def single(node_ok, link_ok):
        d = dfs_lowpoint(csr, roots=roots, node_ok=node_ok, link_ok=link_ok)
        depth, near_t, near_i = _depth_kernel(d.order, d.count, d.parent, d.pedge, d.disc, d.low, is_root)
        return d.served, depth, near_t, near_i

    node_index = {n: i for i, n in enumerate(csr.nodes)}
    link_index = csr.link_index
    dead_n = np.zeros(csr.n, bool)
    dead_n[[node_index[x] for x in result["failed"]["nodes"] if x in node_index]] = True
    dead_l = np.zeros(csr.m, bool)
    dead_l[[link_index[x] for x in result["failed"]["links"] if x in link_index]] = True
    served0, depth0, _, _ = single(csr.node_up, csr.link_up)
    served1, depth1, near_t, near_i = single(csr.node_up & ~dead_n, csr.link_up & ~dead_l)
    new = np.nonzero(served1 & (depth1 > 0) & ~(served0 & (depth0 > 0)) & served0)[0]
    nodes = np.asarray(csr.nodes, dtype=object)
    links = np.asarray(csr.links, dtype=object)
    near = [(("node", nodes[near_i[i]]) if near_t[i] == 1 else ("link", links[near_i[i]])) for i in new]
    near_names = element_names(G, [t for t, _ in near], [x for _, x in near]) if near else []
    result["newly_single_homed"] = [
        {"node_id": nodes[i], "spof_depth": int(depth1[i]), "nearest_spof": x, "nearest_spof_type": t,
         "nearest_spof_name": (f"link {nm['a_name'] or nm['a']} – {nm['b_name'] or nm['b']}" if t == "link"
                               else nm.get("name") or str(x))}
        for i, (t, x), nm in zip(new, near, near_names, strict=True)
    ]
    result["already_out"] = nodes[~served0].tolist()
    mc = result.get("monte_carlo")
    if isinstance(mc, dict):
        from resilience.analysis.blast import blast_arrays

        per_run = _per_run_losses(G, csr, sc, roots, blast_arrays(csr, roots=roots))
        if per_run and abs(float(np.mean(per_run["subscribers_lost"]))
                           - float(mc["subscribers_lost"]["mean"])) <= 1e-6 * max(1.0, mc["subscribers_lost"]["mean"]):
            mc["per_run"] = per_run
    return result, _sites(G)


def render_whatif_html(
    scenario: Mapping[str, Any], result: Mapping[str, Any], *, run_id: str = "", sites: Any = None
) -> str:
    """The what-if result page (:func:`resilience.reports.whatif.build_whatif_page`) in the
    display time zone of the settings (``display_timezone``).

    Every value is HTML-escaped (ids and names in feeds are operator-supplied text).

    Example
    -------
    >>> r = {"baseline": {"served_nodes": 1, "served_subscribers": 5}, "scenario": {"served_nodes": 1,
    ...      "served_subscribers": 5}, "lost": {"nodes": [], "subscribers": 0}, "failed": {"nodes": [], "links": []}}
    >>> "<!DOCTYPE html>" in render_whatif_html({"type": "srlg", "groups": ["R1"]}, r)
    True
    """
    from resilience.reports.whatif import build_whatif_page
    from resilience.settings import load_settings

    return build_whatif_page(scenario, result, sites=sites, run_id=run_id, tz=display_timezone(load_settings()))


def display_timezone(settings: Any) -> str:
    """The configured display time zone (``display_timezone``; default Asia/Tokyo).

    >>> display_timezone(object())
    'Asia/Tokyo'
    """
    return str(getattr(settings, "display_timezone", "") or "Asia/Tokyo")


def run_whatif(
    scenario: Mapping[str, Any], out_dir: str | Path, *, run_id: str = "", db_url: str | None = None
) -> dict[str, str]:
    """Run a what-if and write ``result.json`` and ``result.html`` into ``out_dir``.

    Returns the two paths. Running it again overwrites the same two files (atomically).
    """
    result, sites = evaluate_whatif(scenario, db_url=db_url)
    out = Path(out_dir)
    doc = {"run_id": run_id, "scenario": dict(scenario), "result": result}
    js = write_text_atomic(out / "result.json", json.dumps(doc, ensure_ascii=False, indent=1, default=str))
    page = render_whatif_html(scenario, result, run_id=run_id, sites=sites)
    html = write_text_atomic(out / "result.html", page)
    return {"json": str(js), "html": str(html)}
