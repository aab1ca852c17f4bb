"""The scheduled HTML report for managers: one self-contained file, charts inline, works offline.

Two layers:

- this module is pure: snapshot data in, HTML text out (:func:`build_report`; no file, network
  or database).
- :mod:`resilience.reports.publish` is the I/O around it: :func:`~resilience.reports.publish.write_report`
  reads the latest snapshot, the one before it and the history of snapshots through the store's
  named reads, the earlier report and the restoration plan from their files, and writes
  ``report-YYYYmmddTHHMM.html`` (the snapshot time, UTC) and a copy ``latest.html``.

Sections, in reading order: summary (served ratio, sites and subscribers out, change since the
previous report), sites down per municipality by operator and cause (the shape of the
ministry's daily damage reports), top single points of failure, hidden single points of
failure from shared-risk groups, battery forecast, outage over time, map of sites by state.

Every name that comes from a feed is escaped: Jinja2 autoescape in the template, and
:func:`resilience.reports.escape.html_text` inside the SVG charts. Text cells also go through
:func:`resilience.reports.escape.csv_safe` so that a table copied into a spreadsheet cannot
carry a formula. The report holds no script and no external URL.

Example
-------
>>> import pandas as pd
>>> from datetime import datetime, UTC
>>> snap = SnapshotView(id=1, as_of=datetime(2024, 1, 3, tzinfo=UTC), total_nodes=10,
...                     total_subscribers=1000, served_nodes=8, served_subscribers=900)
>>> html = build_report(snap)
>>> "90.0%" in html and "<script" not in html
True
"""

from __future__ import annotations

import html as html_lib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from resilience.analysis.coverage import coverage_warnings
from resilience.errors import ResilienceError
from resilience.reports import charts
from resilience.reports.escape import csv_safe
from resilience.topology.model import CAUSES
from resilience.topology.snapshot import AGGREGATES, ELEMENTS, NODES_OUT, SRLGS

__all__ = [
    "CAUSES",
    "NoSnapshot",
    "SnapshotView",
    "as_view",
    "build_report",
    "previous_report_snapshot",
    "report_record",
    "RECORD_HEAD_CHARS",
]

_CAUSE_HEAD = {
    "power": "Pwr",
    "backhaul": "BH",
    "power+backhaul": "Both",
    "equipment": "Eq",
    "unknown": "?",
}
# Aggregate metrics of the battery forecast (resilience.topology.snapshot.AGGREGATE_METRICS).
_FORECAST_NODES = ("forecast_nodes_out",)
_FORECAST_SUBS = ("forecast_subscribers_out",)

# The frames' columns: the snapshot's one definition (resilience.topology.snapshot).
_ELEMENT_COLS = ELEMENTS.names
_SRLG_COLS = SRLGS.names
_OUT_COLS = NODES_OUT.names
_AGG_COLS = AGGREGATES.names


class NoSnapshot(ResilienceError):
    """There is no complete analysis snapshot to report on (run ``resilience analyze``)."""


@dataclass
class SnapshotView:
    """What the report needs of one analysis snapshot (the ``snapshot*`` tables of one id).

    Parameters
    ----------
    id, as_of, total_nodes, total_subscribers, served_nodes, served_subscribers
        The ``snapshots`` row.
    summary : dict
        ``summary_json`` decoded.
    elements, srlgs, nodes_out, aggregates : pandas.DataFrame
        Rows of ``snapshot_elements``, ``snapshot_srlgs``, ``snapshot_nodes_out`` and
        ``snapshot_aggregates`` for this snapshot (the frames of
        :mod:`resilience.topology.snapshot`); empty frames when not given.

    Example
    -------
    >>> from datetime import datetime, UTC
    >>> v = SnapshotView(id=1, as_of=datetime(2024, 1, 1, tzinfo=UTC), total_nodes=4,
    ...                  total_subscribers=100, served_nodes=3, served_subscribers=75)
    >>> v.sites_out, v.subscribers_out, v.served_ratio
    (1, 25, 0.75)
    """

    id: int
    as_of: datetime
    total_nodes: int
    total_subscribers: int
    served_nodes: int
    served_subscribers: int
    summary: dict[str, Any] = field(default_factory=dict)
    elements: pd.DataFrame = field(default_factory=ELEMENTS.empty)
    srlgs: pd.DataFrame = field(default_factory=SRLGS.empty)
    nodes_out: pd.DataFrame = field(default_factory=NODES_OUT.empty)
    aggregates: pd.DataFrame = field(default_factory=AGGREGATES.empty)
    created_at: datetime | None = None

    @property
    def sites_out(self) -> int:
        """Nodes not served (down, or cut off from every core)."""
        return int(self.total_nodes) - int(self.served_nodes)

    @property
    def subscribers_out(self) -> int:
        """Subscribers of the nodes not served."""
        return int(self.total_subscribers) - int(self.served_subscribers)

    @property
    def served_ratio(self) -> float:
        """Share of subscribers served (1.0 for a network without subscribers)."""
        total = int(self.total_subscribers)
        return int(self.served_subscribers) / total if total else 1.0

    @property
    def sites_served_ratio(self) -> float:
        """Share of sites served."""
        total = int(self.total_nodes)
        return int(self.served_nodes) / total if total else 1.0


# --------------------------------------------------------------------------------------------
# pure building
# --------------------------------------------------------------------------------------------


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("resilience.reports", "templates"),
        autoescape=select_autoescape(["html", "j2", "html.j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["n"] = charts.fmt_int
    env.filters["cell"] = _cell
    env.filters["pct"] = _pct
    env.filters["signed"] = _signed
    return env


def _cell(value: object) -> object:
    """A feed name for a table cell: placeholder for empty, spreadsheet formulas neutralised."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return "(unknown)"
    return csv_safe(str(value))


def _pct(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.{digits}f}%"


def _signed(value: float | int | None, unit: str = "") -> str:
    """``+12``, ``−3``, ``±0`` with thousands separators (``unit='pt'`` for ratio points)."""
    if value is None:
        return "-"
    if unit == "pt":
        v = round(100 * float(value), 1)
        body = f"{abs(v):.1f} pt"
    else:
        v = round(float(value))
        body = f"{abs(v):,}"
    if v == 0:
        return "±" + body
    return ("+" if v > 0 else "\u2212") + body


def _fmt_time(ts: datetime | None, tz: ZoneInfo) -> str:
    if ts is None:
        return "-"
    ts = pd.Timestamp(ts).to_pydatetime()
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    local = ts.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def _frame(df: pd.DataFrame | None, cols: Sequence[str]) -> pd.DataFrame:
    if df is None:
        return pd.DataFrame(columns=list(cols))
    df = df.copy()
    for c in cols:
        if c not in df.columns:
            df[c] = None
    return df


def _spof_split(elements: pd.DataFrame) -> dict[str, int]:
    """Single points of failure that cut other sites, and sites that hang on their own access
    link (a link whose blast radius is that one site), as in the snapshot summary.

    >>> _spof_split(pd.DataFrame({"element_type": ["node", "link", "link"], "nodes_lost": [3, 2, 1]}))
    {'spofs_cutting_others': 2, 'single_homed_sites': 1}
    """
    lost = pd.to_numeric(elements["nodes_lost"], errors="coerce").fillna(0)
    others = (elements["element_type"] == "node") | (lost > 1)
    return {"spofs_cutting_others": int(others.sum()), "single_homed_sites": int((~others).sum())}


def _count_or_none(value: Any, measured: Any = None) -> int | None:
    """A stored count, or ``None`` when the row predates it (``measured`` 0 or missing)."""
    gate = value if measured is None else measured
    if gate is None or pd.isna(gate) or int(gate) == 0:
        return None
    return int(value)


def _cause_counts(nodes_out: pd.DataFrame) -> dict[str, int]:
    counts = nodes_out["cause"].fillna("unknown").value_counts() if len(nodes_out) else {}
    return {c: int(counts.get(c, 0)) for c in CAUSES} | {
        str(c): int(v) for c, v in dict(counts).items() if c not in CAUSES
    }


def _damage_table(nodes_out: pd.DataFrame, max_rows: int) -> dict[str, Any]:
    """Rows municipality (grouped by prefecture), columns operator × cause: sites down.

    Only the (operator, cause) columns with at least one site are kept, so the table stays as
    narrow as the ministry's.
    """
    if not len(nodes_out):
        return {"operators": [], "columns": [], "groups": [], "totals": None, "more": 0}
    df = nodes_out.copy()
    for c in ("prefecture", "municipality", "operator"):
        df[c] = df[c].fillna("").astype(str)
    df["cause"] = df["cause"].fillna("unknown").astype(str)
    order = {c: i for i, c in enumerate(CAUSES)}
    op_tot = df.groupby("operator").size().sort_values(ascending=False, kind="stable")
    oc = df.groupby(["operator", "cause"]).size()
    columns = sorted(oc.index, key=lambda k: (list(op_tot.index).index(k[0]),
                                              order.get(k[1], len(order)), k[1]))
    operators = [{"name": op, "span": sum(1 for o, _ in columns if o == op)} for op in op_tot.index]
    cnt = df.groupby(["prefecture", "municipality", "operator", "cause"]).size()
    subs = df.groupby(["prefecture", "municipality"])["subscribers"].sum()
    place_tot = df.groupby(["prefecture", "municipality"]).size()
    pref_tot = df.groupby("prefecture").size()
    places = sorted(place_tot.index, key=lambda k: (-int(pref_tot[k[0]]), k[0],
                                                    -int(place_tot[k]), k[1]))
    groups: list[dict[str, Any]] = []
    for pref, muni in places[:max_rows]:
        if not groups or groups[-1]["prefecture"] != pref:
            groups.append({"prefecture": pref, "rows": []})
        groups[-1]["rows"].append({
            "municipality": muni,
            "cells": [int(cnt.get((pref, muni, op, c), 0)) for op, c in columns],
            "total": int(place_tot[(pref, muni)]), "subscribers": int(subs[(pref, muni)]),
        })
    totals = {"cells": [int(oc[k]) for k in columns], "total": int(len(df)),
              "subscribers": int(df["subscribers"].fillna(0).sum())}
    return {"operators": operators,
            "columns": [{"operator": op, "cause": c, "head": _CAUSE_HEAD.get(c, c),
                         "first": i == 0 or columns[i - 1][0] != op}
                        for i, (op, c) in enumerate(columns)],
            "groups": groups, "totals": totals, "more": max(len(places) - max_rows, 0),
            "single_prefecture": len(pref_tot) == 1}


def _forecast(snapshot: SnapshotView) -> list[dict[str, float]]:
    """Horizon rows ``{hours, nodes, subscribers}``: ``summary['forecast']`` when the snapshot
    has it, else the ``forecast_*`` aggregates summed over their labels (operator, prefecture)."""
    out: dict[float, dict[str, float]] = {}
    for row in snapshot.summary.get("forecast", None) or []:
        h = float(row.get("horizon_hours", 0))
        out[h] = {"hours": h, "nodes": float(row.get("nodes_out", 0)),
                  "subscribers": float(row.get("subscribers_out", 0))}
    agg = snapshot.aggregates
    if not out and len(agg):
        a = agg[pd.to_numeric(agg["horizon_hours"], errors="coerce").fillna(0) > 0]
        for names, key in ((_FORECAST_NODES, "nodes"), (_FORECAST_SUBS, "subscribers")):
            sel = a[a["metric"].isin(names)]
            for h, v in sel.groupby("horizon_hours")["value"].sum().items():
                out.setdefault(float(h), {"hours": float(h)})[key] = float(v)
    return [dict({"nodes": 0.0, "subscribers": 0.0}, **out[h]) for h in sorted(out)]


def _hours_label(h: float) -> str:
    return f"{h:g} h"


def _map_svg(snapshot: SnapshotView, sites: pd.DataFrame | None) -> tuple[Any, int]:
    out = snapshot.nodes_out
    cause_of = dict(zip(out["node_id"].astype(str), out["cause"].fillna("unknown"), strict=True))
    points: list[tuple[float, float, str, str]] = []
    label_src: pd.DataFrame
    if sites is not None and len(sites):
        s = _frame(sites, ["node_id", "name", "lat", "lon", "municipality", "operator", "kind"])
        s = s[pd.to_numeric(s["lat"], errors="coerce").notna()
              & pd.to_numeric(s["lon"], errors="coerce").notna()]
        for nid, name, lat, lon, muni, op in zip(
            s["node_id"].astype(str), s["name"], s["lat"], s["lon"], s["municipality"],
            s["operator"], strict=True,
        ):
            st = cause_of.get(nid, "served")
            tip = f"{name or nid} ({nid}) · {op} · {muni} · {st}"
            points.append((float(lat), float(lon), st, tip))
        label_src = s
        known = set(s["node_id"].astype(str))
    else:
        label_src = out
        known = set()
    o = out[pd.to_numeric(out["lat"], errors="coerce").notna()
            & pd.to_numeric(out["lon"], errors="coerce").notna()]
    for nid, lat, lon, cause, muni, op in zip(o["node_id"].astype(str), o["lat"], o["lon"],
                                              o["cause"].fillna("unknown"), o["municipality"],
                                              o["operator"], strict=True):
        if nid not in known:
            points.append((float(lat), float(lon), str(cause), f"{nid} · {op} · {muni} · {cause}"))
    labels: list[tuple[float, float, str]] = []
    if len(label_src):
        ls = label_src.assign(lat=pd.to_numeric(label_src["lat"], errors="coerce"),
                              lon=pd.to_numeric(label_src["lon"], errors="coerce"))
        ls = ls[ls["lat"].notna() & ls["lon"].notna() & (ls["municipality"].fillna("") != "")]
        g = ls.groupby("municipality").agg(lat=("lat", "median"), lon=("lon", "median"),
                                           n=("lat", "size"))
        g = g.sort_values("n", ascending=False).head(15)
        labels = [(float(r.lat), float(r.lon), str(m)) for m, r in g.iterrows()]
    svg = charts.site_map(points, labels=labels, title="Map of sites by state",
                          width=600, height=720)
    return svg, len(points)


def _by_place(nodes_out: pd.DataFrame, sites: pd.DataFrame | None, limit: int = 25) -> list[dict]:
    """Sites and sites out per municipality, most affected first, with bar segments by cause."""
    if sites is None or not len(sites):
        return []
    tot = sites[sites["kind"].fillna("") != "core"].groupby(sites["municipality"].fillna("")).size()
    out = nodes_out.groupby([nodes_out["municipality"].fillna(""),
                             nodes_out["cause"].fillna("unknown")]).size()
    rows = []
    for muni, n in tot.items():
        per = {c: int(out.get((muni, c), 0)) for c in CAUSES}
        k = sum(per.values())
        rows.append({"municipality": muni, "sites": int(n), "out": k,
                     "out_share": k / n if n else 0.0,
                     "segments": [{"color": charts.CAUSE_COLORS[c], "width": 100 * v / n}
                                  for c, v in per.items() if v and n]})
    rows.sort(key=lambda r: (-r["out_share"], -r["out"], r["municipality"]))
    return rows[:limit]


def _history_chart(history: pd.DataFrame | None, tz: ZoneInfo) -> tuple[Any, dict[str, Any]]:
    if history is None or len(history) == 0:
        return None, {}
    h = history.sort_values("as_of")
    times = [_local(t, tz) for t in h["as_of"]]
    cause_cols = [c for c in CAUSES if c in h.columns]
    if cause_cols and (h[cause_cols].fillna(0).sum(axis=1) > 0).any():
        series = {c: h[c].fillna(0).astype(float).tolist() for c in cause_cols}
        other = (h["sites_out"] - h[cause_cols].fillna(0).sum(axis=1)).clip(lower=0)
        if other.sum() > 0:
            series["unknown"] = [a + b for a, b in zip(series.get("unknown", [0.0] * len(h)),
                                                       other.tolist(), strict=True)]
    else:
        series = {"sites out": h["sites_out"].astype(float).tolist()}
    svg = charts.stacked_area(times, series, title="Sites out over time", width=1120, height=300,
                              colors={**charts.CAUSE_COLORS, "sites out": "#D55E00"})
    peak = h.loc[h["sites_out"].idxmax()]
    info = {"points": len(h), "first": _fmt_time(h["as_of"].iloc[0], tz),
            "last": _fmt_time(h["as_of"].iloc[-1], tz), "peak_sites": int(peak["sites_out"]),
            "peak_at": _fmt_time(peak["as_of"], tz),
            "peak_subscribers": int(peak.get("subscribers_out", 0) or 0)}
    return svg, info


def _restoration(plan: Mapping[str, Any] | None, sites: pd.DataFrame | None, tz: ZoneInfo,
                 max_rows: int = 60) -> dict[str, Any] | None:
    """The "Restoration plan" section: the first ``max_rows`` actions in order with the
    element's name and municipality, the comparison with the baselines, and the served
    subscribers over the horizon against the baselines (chart)."""
    if not plan:
        return None
    names: dict[str, tuple[str, str]] = {}
    if sites is not None and len(sites) and "node_id" in sites:
        nm = sites["name"] if "name" in sites else pd.Series("", index=sites.index)
        mu = sites["municipality"] if "municipality" in sites else pd.Series("", index=sites.index)
        for nid, a, b in zip(sites["node_id"], nm, mu, strict=True):
            names[str(nid)] = ("" if pd.isna(a) else str(a), "" if pd.isna(b) else str(b))

    def when(v: Any) -> str:
        if isinstance(v, int | float):
            return f"+{float(v):g} h"
        try:
            return _fmt_time(datetime.fromisoformat(str(v)), tz)
        except ValueError:
            return str(v)

    acts = list(plan.get("actions") or [])
    rows = []
    for i, a in enumerate(acts[:max_rows]):
        name, muni = names.get(str(a.get("element")), ("", ""))
        rows.append({"n": i + 1, "at": when(a.get("at")), "done_at": when(a.get("done_at")),
                     "resource": a.get("resource", ""), "action": str(a.get("action", "")).replace("_", " "),
                     "element": a.get("element", ""), "name": name, "municipality": muni,
                     "travel_h": a.get("travel_h", 0), "work_h": a.get("work_h", 0),
                     "sites": a.get("sites_restored", 0), "subscribers": a.get("subscribers_restored", 0)})
    curve = plan.get("curve") or []
    hours = [float(c.get("hours", i)) for i, c in enumerate(curve)]
    series = {"planned": [float(c["served_subscribers"]) for c in curve]}
    for name, values in (plan.get("baseline_curves") or {}).items():
        if len(values) == len(hours):
            series[str(name)] = [float(v) for v in values]
    svg = (charts.lines_chart(hours, series, title="Served subscribers: the plan against the baselines")
           if hours else None)
    lost = plan.get("subscriber_hours_lost")
    compare = [{"strategy": "planned", "lost": lost, "ratio": 1.0}] + [
        {"strategy": k, "lost": v, "ratio": (float(lost) / float(v)) if lost is not None and v else None}
        for k, v in (plan.get("baselines") or {}).items()]
    return {"rows": rows, "more": max(0, len(acts) - max_rows), "total": len(acts), "svg": svg,
            "horizon_h": plan.get("horizon_h"), "compare": compare,
            "start": when(plan["start"]) if plan.get("start") else ""}


def _local(ts: Any, tz: ZoneInfo) -> datetime:
    t = pd.Timestamp(ts).to_pydatetime()
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(tz)


def _record(view: SnapshotView, causes: Mapping[str, int] | None) -> dict[str, Any]:
    """What a later report needs of this report's snapshot to say what changed since."""
    if causes is None:
        prev_out = _frame(view.nodes_out, _OUT_COLS)
        causes = _cause_counts(prev_out) if len(prev_out) else dict(view.summary.get("cause_counts") or {})
    as_of = pd.Timestamp(view.as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
    return {"id": int(view.id), "as_of": as_of.isoformat(), "total_nodes": int(view.total_nodes),
            "total_subscribers": int(view.total_subscribers), "served_nodes": int(view.served_nodes),
            "served_subscribers": int(view.served_subscribers),
            "cause_counts": {str(k): int(v) for k, v in causes.items() if v}}


_RECORD = re.compile(r'<meta name="resilience-report" content="([^"]*)">')


#: Characters at the start of a report that hold its record (the ``<meta>`` in ``<head>``).
RECORD_HEAD_CHARS = 16384


def report_record(head: str) -> dict[str, Any] | None:
    """The record a report embeds (its snapshot and the previous one it compared with), from
    the report's first :data:`RECORD_HEAD_CHARS` characters; ``None`` when there is none.

    Example
    -------
    >>> report_record('<meta name="resilience-report" content="{&quot;snapshot&quot;: {&quot;id&quot;: 4}}">')
    {'snapshot': {'id': 4}}
    >>> report_record("<html>no record</html>") is None
    True
    """
    m = _RECORD.search(head)
    if m is None:
        return None
    try:
        rec = json.loads(html_lib.unescape(m.group(1)))
    except ValueError:
        return None
    return rec if isinstance(rec, dict) and isinstance(rec.get("snapshot"), dict) else None


def previous_report_snapshot(records: Sequence[Mapping[str, Any]], current_id: int) -> SnapshotView | None:
    """The snapshot of the previous report: the newest snapshot a report in ``records`` showed
    (or compared with, for a report of this same snapshot written again) that is older than
    ``current_id``.

    Example
    -------
    >>> rec = {"snapshot": {"id": 4, "as_of": "2024-01-03T00:00:00+00:00", "total_nodes": 5,
    ...        "total_subscribers": 9, "served_nodes": 5, "served_subscribers": 9}, "previous": None}
    >>> previous_report_snapshot([rec], 7).id, previous_report_snapshot([rec], 4)
    (4, None)
    """
    best: Mapping[str, Any] | None = None
    for rec in records:
        for cand in (rec.get("snapshot"), rec.get("previous")):
            if isinstance(cand, Mapping) and int(cand.get("id", 0)) < int(current_id):
                if best is None or int(cand["id"]) > int(best["id"]):
                    best = cand
    if best is None:
        return None
    return SnapshotView(
        id=int(best["id"]), as_of=pd.Timestamp(best["as_of"]).to_pydatetime(),
        total_nodes=int(best["total_nodes"]), total_subscribers=int(best["total_subscribers"]),
        served_nodes=int(best["served_nodes"]), served_subscribers=int(best["served_subscribers"]),
        summary={"cause_counts": dict(best.get("cause_counts") or {}), "from_report": True},
    )


def as_view(snapshot: Any) -> SnapshotView:
    """A :class:`SnapshotView` of any object with the snapshot attributes (e.g. the
    :class:`resilience.topology.snapshot.Snapshot` that :func:`resilience.store.snapshots.latest_snapshot`
    returns); a ``SnapshotView`` is returned as it is.

    Example
    -------
    >>> from types import SimpleNamespace
    >>> from datetime import datetime, UTC
    >>> s = SimpleNamespace(id=3, as_of=datetime(2024, 1, 1, tzinfo=UTC), total_nodes=2,
    ...                     total_subscribers=10, served_nodes=2, served_subscribers=10)
    >>> as_view(s).served_ratio
    1.0
    """
    if isinstance(snapshot, SnapshotView):
        return snapshot
    get = snapshot.get if isinstance(snapshot, Mapping) else lambda k, d=None: getattr(snapshot, k, d)
    return SnapshotView(
        id=get("id"), as_of=get("as_of"), created_at=get("created_at"),
        total_nodes=int(get("total_nodes")), total_subscribers=int(get("total_subscribers")),
        served_nodes=int(get("served_nodes")), served_subscribers=int(get("served_subscribers")),
        summary=dict(get("summary") or {}),
        elements=_frame(get("elements"), _ELEMENT_COLS),
        srlgs=_frame(get("srlgs"), _SRLG_COLS),
        nodes_out=_frame(get("nodes_out"), _OUT_COLS),
        aggregates=_frame(get("aggregates"), _AGG_COLS),
    )


def build_report(
    snapshot: SnapshotView | Any,
    previous: SnapshotView | Any | None = None,
    history: pd.DataFrame | None = None,
    *,
    sites: pd.DataFrame | None = None,
    title: str = "Network resilience report",
    top_n: int = 15,
    max_municipalities: int = 200,
    tz: str = "Asia/Tokyo",
    generated_at: datetime | None = None,
    restoration: Mapping[str, Any] | None = None,
) -> str:
    """Render the manager's report of ``snapshot`` as one self-contained HTML document.

    Parameters
    ----------
    snapshot : SnapshotView or resilience.topology.snapshot.Snapshot
        The snapshot reported on (any object with its attributes, see :func:`as_view`).
    previous : same, optional
        The snapshot before it, for "change since the previous report".
    history : pandas.DataFrame, optional
        One row per snapshot, columns ``as_of``, ``sites_out``, ``subscribers_out`` and
        optionally one column per cause (sites out with that cause), for the outage-over-time
        chart (see :func:`load_report_inputs`).
    sites : pandas.DataFrame, optional
        Inventory (``node_id, name, lat, lon, operator, municipality, kind``) for the map: sites
        not in ``snapshot.nodes_out`` are drawn as served. Without it the map shows outages only.
    title, top_n, max_municipalities, tz, generated_at
        Heading, rows of the SPOF tables, rows of the damage table, display time zone, and the
        generation time printed in the footer (default now).
    restoration : dict, optional
        The snapshot's restoration plan (:func:`resilience.api.restore`, the
        ``resilience_restore`` DAG's ``restoration-<id>.json``): the "Restoration plan" section
        (ordered actions with site names, served subscribers against the baselines).

    Returns
    -------
    str
        HTML5 text with inline CSS and SVG, no script and no external URL.

    Example
    -------
    >>> from datetime import datetime, UTC
    >>> s = SnapshotView(id=2, as_of=datetime(2024, 1, 3, tzinfo=UTC), total_nodes=5,
    ...                  total_subscribers=700, served_nodes=2, served_subscribers=200)
    >>> p = SnapshotView(id=1, as_of=datetime(2024, 1, 2, tzinfo=UTC), total_nodes=5,
    ...                  total_subscribers=700, served_nodes=4, served_subscribers=600)
    >>> html = build_report(s, p)
    >>> "+2" in html and "+400" in html
    True
    """
    zone = ZoneInfo(tz)
    snapshot = as_view(snapshot)
    previous = as_view(previous) if previous is not None else None
    elements = _frame(snapshot.elements, _ELEMENT_COLS)
    srlgs = _frame(snapshot.srlgs, _SRLG_COLS)
    nodes_out = _frame(snapshot.nodes_out, _OUT_COLS)
    nodes_out["subscribers"] = pd.to_numeric(nodes_out["subscribers"], errors="coerce").fillna(0)
    snap = SnapshotView(**{**snapshot.__dict__, "elements": elements, "srlgs": srlgs,
                           "nodes_out": nodes_out,
                           "aggregates": _frame(snapshot.aggregates, _AGG_COLS)})

    causes_now = _cause_counts(nodes_out)
    n_out = max(len(nodes_out), 1)
    power_share = (causes_now.get("power", 0) + causes_now.get("power+backhaul", 0)) / n_out
    backhaul_share = (causes_now.get("backhaul", 0) + causes_now.get("power+backhaul", 0)) / n_out
    summary: dict[str, Any] = {
        "as_of": _fmt_time(snap.as_of, zone),
        "served_ratio": snap.served_ratio,
        "sites_served_ratio": snap.sites_served_ratio,
        "sites_out": snap.sites_out,
        "subscribers_out": snap.subscribers_out,
        "total_nodes": int(snap.total_nodes),
        "total_subscribers": int(snap.total_subscribers),
        "root_causes": int(nodes_out["root_cause"].fillna(False).astype(bool).sum()),
        "power_share": power_share if len(nodes_out) else None,
        "backhaul_share": backhaul_share if len(nodes_out) else None,
        "spofs": int(len(elements)),
        "hidden_spofs": int(srlgs["hidden"].fillna(False).astype(bool).sum()),
        **_spof_split(elements),
        # snapshots before the ``cores`` summary key: 0 served nodes still says so
        "warnings": coverage_warnings(total_nodes=int(snap.total_nodes),
                                      cores=int(snap.summary.get("cores", 1)),
                                      served_nodes=int(snap.served_nodes)),
    }
    change = None
    if previous is not None:
        prev_out = _frame(previous.nodes_out, _OUT_COLS)
        causes_prev = _cause_counts(prev_out) if len(prev_out) else None
        if causes_prev is None and previous.summary.get("cause_counts"):  # a previous report's record
            causes_prev = {str(k): int(v) for k, v in previous.summary["cause_counts"].items()}
        change = {
            "basis": "report" if previous.summary.get("from_report") else "snapshot",
            "as_of": _fmt_time(previous.as_of, zone),
            "sites_out": snap.sites_out - previous.sites_out,
            "subscribers_out": snap.subscribers_out - previous.subscribers_out,
            "served_ratio": snap.served_ratio - previous.served_ratio,
            "prev_sites_out": previous.sites_out,
            "prev_subscribers_out": previous.subscribers_out,
            "prev_served_ratio": previous.served_ratio,
        }
        if causes_prev is not None or len(nodes_out):
            causes_prev = causes_prev or {}
            change["causes"] = [
                {"cause": c, "now": causes_now.get(c, 0), "prev": causes_prev.get(c, 0),
                 "delta": causes_now.get(c, 0) - causes_prev.get(c, 0)}
                for c in dict.fromkeys([*causes_now, *causes_prev])
                if causes_now.get(c, 0) or causes_prev.get(c, 0)
            ]
    cause_rows = [{"cause": c, "sites": v, "color": charts.CAUSE_COLORS.get(c, "#999"),
                   "share": v / n_out} for c, v in causes_now.items() if v]

    # single points of failure
    served_subs = max(int(snap.served_subscribers), 1)
    names = {}
    if sites is not None and len(sites) and "name" in sites.columns:
        names = dict(zip(sites["node_id"].astype(str), sites["name"].fillna(""), strict=True))
    el = elements.copy()
    el["subscribers_lost"] = pd.to_numeric(el["subscribers_lost"], errors="coerce").fillna(0)
    el = el.sort_values(["subscribers_lost", "nodes_lost"], ascending=False, kind="stable")
    spofs = [
        {"type": r.element_type, "id": r.element_id,
         "name": names.get(str(r.element_id), "") if r.element_type == "node" else "",
         "kind": r.kind, "operator": r.operator, "municipality": r.municipality,
         "nodes": int(r.nodes_lost), "subscribers": int(r.subscribers_lost),
         "share": float(r.subscribers_lost) / served_subs}
        for r in el.head(top_n).itertuples()
    ]
    hidden = srlgs[srlgs["hidden"].fillna(False).astype(bool)].copy()
    hidden["subscribers_lost"] = pd.to_numeric(hidden["subscribers_lost"], errors="coerce").fillna(0)
    hidden = hidden.sort_values(["subscribers_lost", "nodes_lost"], ascending=False, kind="stable")
    hidden_rows = [
        {"srlg": r.srlg, "links": int(r.links), "nodes": int(r.nodes_lost),
         "subscribers": int(r.subscribers_lost), "share": float(r.subscribers_lost) / served_subs,
         # rows stored before the hidden part was measured hold 0: shown as not known
         "hidden_nodes": _count_or_none(r.hidden_nodes),
         "hidden_subscribers": _count_or_none(r.hidden_subscribers, r.hidden_nodes)}
        for r in hidden.head(top_n).itertuples()
    ]

    # battery forecast
    fc = _forecast(snap)
    forecast_svg = None
    if fc:
        forecast_svg = charts.bar_chart(
            ["now", *[_hours_label(r["hours"]) for r in fc]],
            [snap.sites_out, *[r["nodes"] for r in fc]],
            secondary=[snap.subscribers_out, *[r["subscribers"] for r in fc]],
            secondary_label="subs",
            title="Sites out if grid power is not restored",
        )

    history_svg, history_info = _history_chart(history, zone)
    map_svg, map_points = _map_svg(snap, sites)

    record = {"snapshot": _record(snap, causes_now),
              "previous": _record(previous, None) if previous is not None else None}
    html = _env().get_template("report.html.j2").render(
        record_json=json.dumps(record, separators=(",", ":"), sort_keys=True),
        title=title,
        snapshot_id=snap.id,
        summary=summary,
        change=change,
        cause_rows=cause_rows,
        cause_colors=charts.CAUSE_COLORS,
        damage=_damage_table(nodes_out, max_municipalities),
        spofs=spofs,
        spof_total=int(len(elements)),
        hidden=hidden_rows,
        hidden_total=int(len(hidden)),
        forecast=fc,
        forecast_svg=forecast_svg,
        hours_label=_hours_label,
        history_svg=history_svg,
        history=history_info,
        map_svg=map_svg,
        map_points=map_points,
        by_place=_by_place(nodes_out, sites),
        restoration=_restoration(restoration, sites, zone),
        cause_heads=[{"cause": c, "head": _CAUSE_HEAD[c]} for c in CAUSES],
        generated_at=_fmt_time(generated_at or datetime.now(UTC), zone),
    )
    return html
