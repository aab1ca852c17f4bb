"""The what-if result page for planners: one self-contained HTML file in the report's style.

:func:`build_whatif_page` is pure (the scenario, the what-if answer and the inventory in, HTML
text out; :func:`sites_frame` gives its inventory from a graph); :func:`resilience.api.run_whatif`
and ``resilience whatif --html FILE`` write it. What a planner reads, in order: the scenario in words; what is lost (sites, subscribers)
with the served share before and after; the loss by operator and by municipality; the lost
sites by name; a map of the sites that fail, are cut off or become single-homed; the hour-by-hour
timeline of a power outage, or the Monte Carlo distribution of an earthquake; the new single
points of failure and the newly single-homed sites, by name.

Like the daily report it holds no script and no external URL, and every name from a feed is
escaped (Jinja2 autoescape; :func:`resilience.reports.escape.html_text` inside the SVG charts).
Ids are shown only next to names, never as a list of their own.

Example
-------
>>> import pandas as pd
>>> sites = pd.DataFrame({"node_id": ["C", "A"], "name": ["Core", "Wajima 1"],
...     "kind": ["core", "base_station"], "operator": ["docomo", "docomo"],
...     "prefecture": ["Ishikawa"] * 2, "municipality": ["Kanazawa", "Wajima"],
...     "lat": [36.5, 37.4], "lon": [136.6, 136.9], "subscribers": [0, 500]})
>>> result = {"description": {"type": "explicit", "fail": ["L1"], "name": ""},
...     "baseline": {"served_nodes": 2, "served_subscribers": 500},
...     "scenario": {"served_nodes": 1, "served_subscribers": 0},
...     "lost": {"nodes": ["A"], "subscribers": 500}, "failed": {"nodes": [], "links": ["L1"]},
...     "new_spofs_detail": []}
>>> html = build_whatif_page(result["description"], result, sites=sites, run_id="manual__1")
>>> "Wajima 1" in html and "<script" not in html and "500" in html
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from resilience.reports import charts

__all__ = ["SITE_COLUMNS", "build_whatif_page", "describe_scenario", "sites_frame"]

#: Inventory columns the page uses (``sites`` argument of :func:`build_whatif_page`).
SITE_COLUMNS = ["node_id", "name", "kind", "operator", "prefecture", "municipality", "lat", "lon",
                "subscribers"]

#: Map states, drawn in this order (later on top) and their colours (Okabe-Ito).
MAP_COLORS: dict[str, str] = {
    "already out": "#8C8C8C",
    "out in some runs": "#F0E442",
    "out in most runs": "#E69F00",
    "single-homed now": "#0072B2",
    "cut off": "#D55E00",
    "failed": "#6A3D9A",
}

_TIMELINE_HOURS = (0, 1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720)


def sites_frame(G: Any) -> pd.DataFrame:
    """The inventory of a network graph as the page's ``sites`` frame (:data:`SITE_COLUMNS`).

    Example
    -------
    >>> import networkx as nx
    >>> G = nx.MultiGraph(); G.add_node("B1", name="Wajima 1", subscribers=100)
    >>> sites_frame(G)[["node_id", "name", "subscribers"]].values.tolist()
    [['B1', 'Wajima 1', 100]]
    """
    rows = [{"node_id": str(n), **{c: d.get(c) for c in SITE_COLUMNS[1:]}} for n, d in G.nodes(data=True)]
    return pd.DataFrame(rows, columns=SITE_COLUMNS)


def _num(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(v) else v


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def _names_list(items: Sequence[str], limit: int = 8) -> str:
    shown = [str(x) for x in items[:limit]]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def _site_label(node_id: str, names: Mapping[str, str]) -> str:
    name = names.get(str(node_id), "")
    return f"{name} ({node_id})" if name else str(node_id)


def _deg(lat: Any, lon: Any) -> str:
    lat, lon = _num(lat), _num(lon)
    return f"{abs(lat):.3f}°{'N' if lat >= 0 else 'S'}, {abs(lon):.3f}°{'E' if lon >= 0 else 'W'}"


def describe_scenario(scenario: Mapping[str, Any], names: Mapping[str, str] | None = None) -> list[str]:
    """The scenario in sentences a planner reads (names next to ids where known).

    Parameters
    ----------
    scenario : mapping
        A scenario dict (the YAML shape, ``type`` first), e.g. the what-if answer's
        ``description``.
    names : mapping, optional
        Node id to name.

    Returns
    -------
    list of str

    Example
    -------
    >>> describe_scenario({"type": "power_outage", "municipalities": ["Wajima", "Suzu"], "hours": 24})
    ['No grid power in Wajima, Suzu for 24 h: sites there run on their batteries until they are exhausted (generators keep running).']
    >>> describe_scenario({"type": "explicit", "fail": ["B1"]}, {"B1": "Wajima 1"})
    ['These elements fail: Wajima 1 (B1).']
    """
    names = names or {}
    kind = str(scenario.get("type", ""))
    if kind == "explicit":
        fail = [str(x) for x in scenario.get("fail") or []]
        return [f"These elements fail: {_names_list([_site_label(x, names) for x in fail], 20)}."]
    if kind == "srlg":
        groups = [str(x) for x in scenario.get("groups") or []]
        return [f"Shared-risk group{'s' * (len(groups) != 1)} cut: {_names_list(groups, 20)}. "
                "Every link in them (a conduit, a pole line, a bridge, a slope) fails at once."]
    if kind == "region":
        c = scenario.get("center") or {}
        if scenario.get("polygon"):
            return ["Everything inside the drawn area fails (flooding, fire, collapse)."]
        return [f"Everything within {_num(scenario.get('radius_km')):g} km of {_deg(c.get('lat'), c.get('lon'))} "
                "fails (flooding, fire, collapse)."]
    if kind == "power_outage":
        areas = [*(scenario.get("areas") or []), *(scenario.get("feeds") or []),
                 *(scenario.get("municipalities") or [])]
        return [f"No grid power in {_names_list([str(a) for a in areas], 20)} for "
                f"{_num(scenario.get('hours')):g} h: sites there run on their batteries until they "
                "are exhausted (generators keep running)."]
    if kind == "earthquake":
        e = scenario.get("epicentre") or {}
        runs = int(_num(scenario.get("runs")))
        return [f"Earthquake at {_deg(e.get('lat'), e.get('lon'))}, {_num(scenario.get('depth_km')):g} km "
                "deep: each site fails with a probability that falls with its distance "
                f"({scenario.get('fragility', {}).get('measure', 'distance_km')}).",
                f"{runs:,} Monte Carlo runs (seed {scenario.get('seed')}): the average and the bad runs "
                "come first; the tables of lost sites and new single points of failure show the likely "
                "damage (sites with a damage probability of 50% or more)."]
    return [f"Scenario of type {kind or 'unknown'}."]


def _sites_frame(sites: pd.DataFrame | None) -> pd.DataFrame:
    df = pd.DataFrame(columns=SITE_COLUMNS) if sites is None else sites.copy()
    for c in SITE_COLUMNS:
        if c not in df.columns:
            df[c] = None
    df["node_id"] = df["node_id"].astype(str)
    for c in ("name", "kind", "operator", "prefecture", "municipality"):
        df[c] = df[c].fillna("").astype(str)
    df["subscribers"] = pd.to_numeric(df["subscribers"], errors="coerce").fillna(0)
    return df.drop_duplicates("node_id").set_index("node_id", drop=False)


def _rows_of(ids: Sequence[Any], sites: pd.DataFrame) -> pd.DataFrame:
    """Inventory rows of ``ids`` (unknown ids get an empty row so that nothing is dropped)."""
    ids = [str(i) for i in ids]
    known = sites.reindex(ids)
    known["node_id"] = ids
    for c in ("name", "kind", "operator", "prefecture", "municipality"):
        known[c] = known[c].fillna("")
    known["subscribers"] = pd.to_numeric(known["subscribers"], errors="coerce").fillna(0)
    return known.reset_index(drop=True)


def _by_operator(lost: pd.DataFrame, sites: pd.DataFrame) -> list[dict[str, Any]]:
    if not len(lost):
        return []
    noncore = sites[sites["kind"] != "core"]
    total = noncore.groupby("operator").size()
    subs = noncore.groupby("operator")["subscribers"].sum()
    g = lost.groupby("operator").agg(sites=("node_id", "size"), subscribers=("subscribers", "sum"))
    g = g.sort_values(["subscribers", "sites"], ascending=False, kind="stable")
    return [{"operator": op, "sites": int(r.sites), "subscribers": int(r.subscribers),
             "of_sites": int(total.get(op, 0)),
             "share": float(r.subscribers) / float(subs.get(op, 0)) if subs.get(op, 0) else None}
            for op, r in g.iterrows()]


def _by_place(lost: pd.DataFrame, max_rows: int) -> dict[str, Any]:
    """Rows municipality (grouped by prefecture), columns operator: sites lost."""
    if not len(lost):
        return {"operators": [], "groups": [], "totals": None, "more": 0}
    df = lost
    op_tot = df.groupby("operator").size().sort_values(ascending=False, kind="stable")
    ops = list(op_tot.index)
    cnt = df.groupby(["prefecture", "municipality", "operator"]).size()
    subs = df.groupby(["prefecture", "municipality"])["subscribers"].sum()
    place_tot = df.groupby(["prefecture", "municipality"]).size()
    pref_tot = df.groupby("prefecture").size()
    places = sorted(place_tot.index, key=lambda k: (-int(pref_tot[k[0]]), k[0], -int(subs[k]), k[1]))
    groups: list[dict[str, Any]] = []
    for pref, muni in places[:max_rows]:
        if not groups or groups[-1]["prefecture"] != pref:
            groups.append({"prefecture": pref, "rows": []})
        groups[-1]["rows"].append({"municipality": muni,
                                   "cells": [int(cnt.get((pref, muni, op), 0)) for op in ops],
                                   "total": int(place_tot[(pref, muni)]),
                                   "subscribers": int(subs[(pref, muni)])})
    return {"operators": ops, "groups": groups, "more": max(len(places) - max_rows, 0),
            "totals": {"cells": [int(op_tot[o]) for o in ops], "total": int(len(df)),
                       "subscribers": int(df["subscribers"].sum())}}


def _map(sites: pd.DataFrame, states: Mapping[str, str]) -> tuple[Any, dict[str, int]]:
    s = sites.assign(lat=pd.to_numeric(sites["lat"], errors="coerce"),
                     lon=pd.to_numeric(sites["lon"], errors="coerce"))
    s = s[s["lat"].notna() & s["lon"].notna()]
    points = []
    counts: dict[str, int] = {}
    for nid, name, lat, lon, op, muni in zip(s["node_id"], s["name"], s["lat"], s["lon"], s["operator"],
                                             s["municipality"], strict=True):
        st = states.get(nid, "served")
        counts[st] = counts.get(st, 0) + 1
        points.append((float(lat), float(lon), st, f"{name or nid} · {op} · {muni} · {st}"))
    labels = []
    hit = s[s["node_id"].map(lambda n: n in states)]
    src = hit if len(hit) else s
    src = src[src["municipality"] != ""]
    if len(src):
        g = src.groupby("municipality").agg(lat=("lat", "median"), lon=("lon", "median"), n=("lat", "size"))
        labels = [(float(r.lat), float(r.lon), str(m))
                  for m, r in g.sort_values("n", ascending=False).head(12).iterrows()]
    svg = charts.site_map(points, labels=labels, colors=MAP_COLORS,
                          title="Map of sites that fail, are cut off or become single-homed",
                          width=600, height=640)
    return svg, counts


def _map_table(sites: pd.DataFrame, states: Mapping[str, str], limit: int = 25) -> list[dict[str, Any]]:
    """Per municipality: sites, and how many fail, are cut off or become single-homed."""
    s = sites[sites["kind"] != "core"].assign(state=lambda f: f["node_id"].map(lambda n: states.get(n, "served")))
    rows = []
    for muni, g in s.groupby("municipality"):
        c = g["state"].value_counts()
        row = {"municipality": muni, "sites": int(len(g)),
               "failed": int(c.get("failed", 0) + c.get("out in most runs", 0)),
               "cut_off": int(c.get("cut off", 0) + c.get("out in some runs", 0)),
               "single": int(c.get("single-homed now", 0))}
        if row["failed"] or row["cut_off"] or row["single"]:
            rows.append(row)
    rows.sort(key=lambda r: (-(r["failed"] + r["cut_off"]), -r["single"], r["municipality"]))
    return rows[:limit]


def _timeline(rows: Sequence[Mapping[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    if not rows:
        return None, []
    hours = [_num(r.get("hours")) for r in rows]
    sites = [_num(r.get("nodes_out")) for r in rows]
    subs = [_num(r.get("subscribers_out")) for r in rows]
    svg = charts.hour_chart(hours, sites, secondary=subs, label="sites out",
                            secondary_label="subscribers out",
                            title="Sites out hour by hour while grid power is off", width=1120, height=300)
    end = hours[-1]
    keep = {h for h in _TIMELINE_HOURS if h <= end} | {end}
    table = [{"hours": h, "sites": int(s), "subscribers": int(u),
              "batteries": int(_num(r.get("batteries_exhausted")))}
             for h, s, u, r in zip(hours, sites, subs, rows, strict=True) if h in keep]
    return svg, table


def _monte_carlo(mc: Mapping[str, Any], names: Mapping[str, str], sites: pd.DataFrame) -> dict[str, Any]:
    per_run = mc.get("per_run") or {}
    stats = [{"what": label, **{k: _num((mc.get(key) or {}).get(k)) for k in ("mean", "p50", "p95", "max")}}
             for key, label in (("nodes_lost", "Sites lost"), ("subscribers_lost", "Subscribers lost"))]
    hist = None
    if per_run.get("subscribers_lost"):
        s = mc.get("subscribers_lost") or {}
        hist = charts.histogram(per_run["subscribers_lost"], bins=24, unit="subscribers lost in one run",
                                marks={"mean": _num(s.get("mean")), "p95": _num(s.get("p95"))},
                                title="Subscribers lost per Monte Carlo run", width=1120, height=300)
    prob = mc.get("node_out_probability") or {}
    top = sorted(prob.items(), key=lambda kv: -kv[1])[:15]
    likely = [{"site": _site_label(n, names), "operator": sites["operator"].get(str(n), ""),
               "municipality": sites["municipality"].get(str(n), ""), "p": float(p)} for n, p in top]
    return {"runs": int(_num(mc.get("runs"))), "seed": mc.get("seed"), "stats": stats, "hist": hist,
            "likely": likely, "expected_damaged": _num(mc.get("expected_damaged_nodes"))}


def _new_spofs(detail: Sequence[Mapping[str, Any]], sites: pd.DataFrame, names: Mapping[str, str],
               limit: int) -> list[dict[str, Any]]:
    rows = []
    for d in list(detail)[:limit]:
        if d.get("element_type") == "link":
            a, b = str(d.get("a", "")), str(d.get("b", ""))
            what = f"link {d.get('a_name') or a} – {d.get('b_name') or b}"
            where = sites["municipality"].get(a, "")
            op = sites["operator"].get(a, "")
        else:
            nid = str(d.get("id"))
            what = names.get(nid) or d.get("name") or nid
            where, op = sites["municipality"].get(nid, ""), sites["operator"].get(nid, "")
        rows.append({"what": what, "id": str(d.get("id")), "type": d.get("element_type"),
                     "operator": op, "municipality": where, "sites": int(_num(d.get("nodes_lost"))),
                     "subscribers": int(_num(d.get("subscribers_lost")))})
    return rows


def _fmt_time(ts: datetime, zone: ZoneInfo) -> str:
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    local = ts.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def build_whatif_page(
    scenario: Mapping[str, Any],
    result: Mapping[str, Any],
    *,
    sites: pd.DataFrame | None = None,
    run_id: str = "",
    title: str | None = None,
    tz: str = "Asia/Tokyo",
    generated_at: datetime | None = None,
    max_rows: int = 100,
) -> str:
    """Render a what-if answer as one self-contained HTML page in the daily report's style.

    Parameters
    ----------
    scenario : mapping
        The scenario dict as given (the answer's ``description`` is preferred when present).
    result : mapping
        The answer of :func:`resilience.api.whatif`, optionally with ``newly_single_homed`` and
        ``already_out`` (added by :func:`resilience.api.whatif` with ``detail``) and
        ``monte_carlo.per_run`` (the loss of every earthquake run).
    sites : pandas.DataFrame, optional
        The inventory (:data:`SITE_COLUMNS`): names, operators, places and positions.
    run_id, title, tz, generated_at
        The Airflow run (shown in the header), the heading (default: the scenario's name), the
        display time zone and the time printed (default now).
    max_rows : int
        Rows of each long table (lost sites, new single points of failure, municipalities).

    Returns
    -------
    str
        HTML5 text with inline CSS and SVG, no script and no external URL.

    Example
    -------
    >>> r = {"baseline": {"served_nodes": 3, "served_subscribers": 10},
    ...      "scenario": {"served_nodes": 3, "served_subscribers": 10},
    ...      "lost": {"nodes": [], "subscribers": 0}, "failed": {"nodes": [], "links": []}}
    >>> "Nothing is lost" in build_whatif_page({"type": "srlg", "groups": ["R1"]}, r)
    True
    """
    from resilience.reports.report import _env

    zone = ZoneInfo(tz)
    desc = dict(result.get("description") or scenario)
    site = _sites_frame(sites)
    names = {k: v for k, v in zip(site["node_id"], site["name"], strict=True) if v}
    base, after = result.get("baseline") or {}, result.get("scenario") or {}
    lost_ids = [str(x) for x in (result.get("lost") or {}).get("nodes", [])]
    failed = result.get("failed") or {}
    failed_nodes = {str(x) for x in failed.get("nodes", [])}
    lost = _rows_of(lost_ids, site)
    lost["how"] = ["failed" if n in failed_nodes else "cut off" for n in lost["node_id"]]
    single = list(result.get("newly_single_homed") or [])
    states: dict[str, str] = {str(n): "already out" for n in result.get("already_out") or []}
    states.update({str(d["node_id"]): "single-homed now" for d in single})
    states.update({n: h for n, h in zip(lost["node_id"], lost["how"], strict=True)})
    base_subs, base_sites = _num(base.get("served_subscribers")), _num(base.get("served_nodes"))
    lost_subs = _num((result.get("lost") or {}).get("subscribers"))
    spof_rows = _new_spofs(result.get("new_spofs_detail") or [], site, names, max_rows)
    single_rows = sorted(
        ({"site": _site_label(d["node_id"], names), "operator": site["operator"].get(str(d["node_id"]), ""),
          "municipality": site["municipality"].get(str(d["node_id"]), ""),
          "subscribers": int(_num(site["subscribers"].get(str(d["node_id"]), 0))),
          "hangs_on": d.get("nearest_spof_name") or d.get("nearest_spof") or "",
          "depth": int(_num(d.get("spof_depth")))} for d in single),
        key=lambda r: (-r["subscribers"], r["site"]))
    lost_rows = lost.sort_values(["subscribers", "name"], ascending=[False, True], kind="stable")
    mc = result.get("monte_carlo")
    if mc:  # an earthquake: colour the sites by how often they are out over the runs
        for n, p in (mc.get("node_out_probability") or {}).items():
            if str(n) not in states or states[str(n)] == "single-homed now":
                states[str(n)] = "out in most runs" if p >= 0.5 else ("out in some runs" if p >= 0.2 else
                                                                      states.get(str(n), "served"))
    map_svg, map_counts = _map(site, states) if len(site) else (None, {})
    timeline_svg, timeline = _timeline(result.get("timeline") or [])
    kind = str(desc.get("type", ""))
    heading = title or desc.get("name") or scenario.get("name") or {
        "explicit": "Elements fail", "srlg": "Shared-risk groups cut", "region": "Region lost",
        "power_outage": "Power outage", "earthquake": "Earthquake"}.get(kind, "What-if")
    return _env().get_template("whatif.html.j2").render(
        title=f"What-if: {heading}",
        run_id=run_id,
        sentences=describe_scenario(desc, names),
        kind=kind,
        quake=bool(mc),
        card={
            "sites_lost": len(lost_ids), "base_sites": int(base_sites),
            "subs_lost": lost_subs, "base_subs": base_subs,
            "share_lost": lost_subs / base_subs if base_subs else 0.0,
            "subs_after": _num(after.get("served_subscribers")),
            "sites_after": int(_num(after.get("served_nodes"))),
            "failed_nodes": len(failed_nodes), "failed_links": len(failed.get("links", [])),
            "cut_off": int((lost["how"] == "cut off").sum()),
            "new_spofs": len(result.get("new_spofs_detail") or result.get("new_spofs") or []),
            "single_homed": len(single),
            "already_out": len(result.get("already_out") or []),
            "mc": ({k: _num((mc.get(k) or {}).get(s)) for k in ("nodes_lost", "subscribers_lost")
                    for s in ("mean",)} | {"p95_sites": _num((mc.get("nodes_lost") or {}).get("p95")),
                                           "p95_subs": _num((mc.get("subscribers_lost") or {}).get("p95"))}
                   if mc else None),
        },
        by_operator=_by_operator(lost, site),
        by_place=_by_place(lost, max_rows),
        lost_rows=[{"site": _site_label(r.node_id, names), "operator": r.operator, "municipality": r.municipality,
                    "kind": r.kind.replace("_", " "), "subscribers": int(r.subscribers), "how": r.how}
                   for r in lost_rows.head(max_rows).itertuples()],
        lost_more=max(len(lost_rows) - max_rows, 0),
        map_svg=map_svg,
        map_table=_map_table(site, states) if len(site) else [],
        map_counts=[{"state": k, "n": map_counts[k], "color": MAP_COLORS.get(k, charts.SERVED_COLOR)}
                    for k in ("failed", "cut off", "single-homed now", "already out", "served") if k in map_counts],
        timeline_svg=timeline_svg,
        timeline=timeline,
        mc=_monte_carlo(mc, names, site) if mc else None,
        new_spofs=spof_rows,
        new_spofs_total=len(result.get("new_spofs_detail") or []),
        single_rows=single_rows[:max_rows],
        single_total=len(single_rows),
        generated_at=_fmt_time(generated_at or datetime.now(UTC), zone),
        tz=tz,
    )
