"""Pipeline steps the Airflow DAGs call (the library side; this module imports nothing from Airflow).

Each DAG task is a few lines calling one of these, so every step can be run and tested without
Airflow. Steps are idempotent: running one again with the same key changes nothing.

- :func:`analyze_once`: one analysis snapshot per ``as_of`` (a re-run returns the same id);
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

__all__ = [
    "analyze_once",
    "export_operator",
    "find_snapshot",
    "render_whatif_html",
    "report_for",
    "run_whatif",
    "scenario_from_params",
    "snapshot_operators",
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


def analyze_once(as_of: datetime, *, db_url: str | None = None) -> int:
    """Take the analysis snapshot for ``as_of`` unless one exists; return its id.

    A pipeline run keys its snapshot by its own time (Airflow: the logical date, or the time the
    asset event queued the run), so running it again returns the snapshot it wrote the first
    time instead of adding a duplicate. The snapshot itself is written in one transaction by
    :func:`resilience.api.analyze`: a try that fails half-way leaves nothing behind.
    """
    from resilience import api

    api.ensure_schema(db_url)
    as_of = _utc(as_of)
    found = find_snapshot(as_of, db_url=db_url)
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


def _atomic_write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


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
    return str(_atomic_write(path, json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True)))


def report_for(day: date, *, out_dir: str | Path, db_url: str | None = None) -> str:
    """Write the report of ``day`` into ``<out_dir>/<day>/`` (same day: same folder and file)."""
    from resilience import api

    folder = Path(out_dir) / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    return str(api.report(db_url=db_url, out_dir=folder))


def _ids(value: Any, name: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.replace(";", ",").split(",")
    if not isinstance(value, list | tuple):
        raise BadInput(name, "expected a list of ids")
    return [str(v).strip() for v in value if str(v).strip()]


def scenario_from_params(params: Mapping[str, Any], *, scenarios_dir: str | Path) -> dict[str, Any]:
    """The what-if scenario (the dict :func:`resilience.api.whatif` takes) from planner Params.

    One kind of damage per what-if (as the CLI); a scenario file may combine several.

    Parameters
    ----------
    params : mapping
        ``failures`` (ids of nodes or links), ``srlg`` (shared-risk group ids),
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


_WHATIF_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What-if: {{ title }}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#f4f4f4}
.lost{color:#b00}</style></head><body>
<h1>What-if: {{ title }}</h1>
<p>Run {{ run_id }} &middot; {{ created }}</p>
<h2>Scenario</h2><pre>{{ scenario_json }}</pre>
{% if compare %}<h2>Baseline and scenario</h2>
<table><tr><th>measure</th><th>baseline</th><th>scenario</th></tr>
{% for k, b, s in compare %}<tr><td>{{ k }}</td><td>{{ b }}</td><td>{{ s }}</td></tr>{% endfor %}
</table>{% endif %}
{% if lost %}<h2 class="lost">Lost</h2><table>
{% for k, v in lost %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>{% endif %}
{% for name, rows in lists %}<h2>{{ name }}</h2>{% if rows %}<table>
<tr>{% for c in rows[0] %}<th>{{ c }}</th>{% endfor %}</tr>
{% for r in rows %}<tr>{% for c in rows[0] %}<td>{{ r.get(c, "") }}</td>{% endfor %}</tr>{% endfor %}
</table>{% else %}<p>none</p>{% endif %}{% endfor %}
<h2>Full result</h2><pre>{{ result_json }}</pre>
</body></html>
"""


def _short(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value[:200])) + (f" … ({len(value)} in all)" if len(value) > 200 else "")
    return str(value)


def render_whatif_html(scenario: Mapping[str, Any], result: Mapping[str, Any], *, run_id: str = "") -> str:
    """A self-contained HTML page of a what-if result (baseline, scenario, what is lost).

    Every value is HTML-escaped (ids in feeds are operator-supplied text).
    """
    from jinja2 import Environment

    env = Environment(autoescape=True)
    base, scen = result.get("baseline") or {}, result.get("scenario") or {}
    compare = [(k, base.get(k, ""), scen.get(k, "")) for k in sorted(set(base) | set(scen))
               if not isinstance(base.get(k, scen.get(k)), dict | list)]
    lost = [(k, _short(v)) for k, v in (result.get("lost") or {}).items()]
    lists = [(k.replace("_", " "), [r for r in v if isinstance(r, dict)][:500])
             for k, v in result.items() if isinstance(v, list) and (not v or isinstance(v[0], dict))]
    title = scenario.get("name") or scenario.get("type") or "scenario"
    return env.from_string(_WHATIF_HTML).render(
        title=title, run_id=run_id, created=datetime.now(UTC).isoformat(timespec="seconds"),
        scenario_json=json.dumps(scenario, ensure_ascii=False, indent=1, default=str),
        result_json=json.dumps(result, ensure_ascii=False, indent=1, default=str),
        compare=compare, lost=lost, lists=lists)


def run_whatif(
    scenario: Mapping[str, Any], out_dir: str | Path, *, run_id: str = "", db_url: str | None = None
) -> dict[str, str]:
    """Run a what-if and write ``result.json`` and ``result.html`` into ``out_dir``.

    Returns the two paths. Running it again overwrites the same two files (atomically).
    """
    from resilience import api

    result = api.whatif(dict(scenario), db_url=db_url)
    out = Path(out_dir)
    doc = {"run_id": run_id, "scenario": dict(scenario), "result": result}
    js = _atomic_write(out / "result.json", json.dumps(doc, ensure_ascii=False, indent=1, default=str))
    html = _atomic_write(out / "result.html", render_whatif_html(scenario, result, run_id=run_id))
    return {"json": str(js), "html": str(html)}
