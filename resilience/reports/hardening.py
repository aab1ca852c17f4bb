"""The hardening plan page: one self-contained HTML file in the report's style.

:func:`render_hardening` is pure (the result of :func:`resilience.hardening.plan_hardening` in,
HTML text out); ``resilience harden --format html`` and the ``resilience_harden`` DAG write it.
What a decision maker reads, in order: what the budget buys against the baselines; the frontier
(budget to expected subscriber-hours lost: what each extra 100 million yen buys); a map of the
chosen sites by measure; the plan by municipality; the measures one by one.

No script, no external URL; every name is escaped (Jinja2 autoescape and
:func:`resilience.reports.escape.html_text` inside the SVG).

Example
-------
>>> r = {"budget": 1e8, "expected_subscriber_hours_lost": 50.0, "currency": "JPY",
...      "baseline_loss": {"none": 100.0, "uniform": 80.0, "largest": 90.0}, "horizon_h": 168,
...      "samples": 10, "scenarios": ["quake"], "spent": 3e6,
...      "plan": [{"measure": "generator", "type": "generator", "site": "A", "name": "Wajima 1",
...                "kind": "base_station", "operator": "docomo", "municipality": "Wajima",
...                "target": "", "km": 0, "cost": 3e6, "expected_subscriber_hours_saved": 50.0,
...                "lat": 37.4, "lon": 136.9}],
...      "frontier": [{"budget": 0, "expected_subscriber_hours_lost": 100.0},
...                   {"budget": 3e6, "expected_subscriber_hours_lost": 50.0}]}
>>> html = render_hardening(r)
>>> "Wajima 1" in html and "<script" not in html
True
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from resilience.reports import charts
from resilience.reports.escape import html_text

__all__ = ["render_hardening", "frontier_chart", "measure_label", "MEASURE_COLORS"]

#: Map colours by measure type (Okabe-Ito).
MEASURE_COLORS: dict[str, str] = {
    "battery": "#E69F00",
    "generator": "#D55E00",
    "satellite": "#0072B2",
    "second_route": "#009E73",
    "leave_group": "#CC79A7",
}


def frontier_chart(
    points: Sequence[tuple[float, float]],
    *,
    marks: Mapping[str, float] | None = None,
    title: str = "Frontier",
    width: int = 760,
    height: int = 300,
) -> Markup:
    """Expected loss (y, zoomed to the data) against money spent (x) as a step line, with
    ``marks`` (e.g. the baselines at the full budget) as labelled rings at the right end.

    Example
    -------
    >>> svg = frontier_chart([(0, 10), (5, 4)], marks={"uniform": 8})
    >>> svg.startswith("<svg") and "uniform" in svg
    True
    """
    left, right, top, bottom = 64, 110, 20, 40
    pw, ph = width - left - right, height - top - bottom
    xs = [p[0] for p in points] or [0.0]
    ys = [p[1] for p in points] + list((marks or {}).values())
    xmax = max(max(xs), 1.0)
    hi, lo = max(ys or [1.0]), min(ys or [0.0])
    pad = (hi - lo) * 0.08 or max(hi, 1.0) * 0.05
    lo, hi = max(lo - pad, 0.0), hi + pad
    out = charts._open(width, height, title)

    def X(v: float) -> float:
        return left + pw * v / xmax

    def Y(v: float) -> float:
        return top + ph - ph * (v - lo) / (hi - lo)

    for i in range(5):
        v = lo + (hi - lo) * i / 4
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#d9dee3"/>')
        out.append(f'<text x="{left - 6}" y="{Y(v) + 4:.1f}" font-size="11" text-anchor="end" '
                   f'fill="#52606d">{charts._compact(v)}</text>')
        x = xmax * i / 4
        out.append(f'<text x="{X(x):.1f}" y="{top + ph + 16}" font-size="11" text-anchor="middle" '
                   f'fill="#52606d">{charts._compact(x)}</text>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 4}" font-size="11" text-anchor="middle" '
               f'fill="#52606d">money spent</text>')
    if points:
        d = [f"M{X(points[0][0]):.1f},{Y(points[0][1]):.1f}"]
        for x1, y1 in points[1:]:
            d.append(f"H{X(x1):.1f}V{Y(y1):.1f}")
        d.append(f"H{X(xmax):.1f}")
        out.append(f'<path d="{" ".join(d)}" fill="none" stroke="#0072B2" stroke-width="2"/>')
        out.append(f'<circle cx="{X(points[-1][0]):.1f}" cy="{Y(points[-1][1]):.1f}" r="4" fill="#0072B2"/>')
    last_y = -1e9
    for name, v in sorted((marks or {}).items(), key=lambda kv: -kv[1]):  # labels never overlap
        y = max(Y(v), last_y + 13)
        last_y = y
        out.append(f'<circle cx="{X(xmax):.1f}" cy="{Y(v):.1f}" r="4" fill="none" stroke="#52606d"/>')
        out.append(f'<text x="{X(xmax) + 8:.1f}" y="{y + 4:.1f}" font-size="11" fill="#52606d">'
                   f"{html_text(name)} {charts._compact(v)}</text>")
    out.append("</svg>")
    return Markup("".join(out))


#: What a measure of each type is called on the page (the catalogue's ids are for files).
MEASURE_WORDS = {"generator": "permanent generator", "satellite": "satellite backup kit",
                 "second_route": "second backhaul route", "leave_group": "out of its shared-risk group"}


def measure_label(item: Mapping[str, Any]) -> str:
    """A plan item's measure in words: ``battery to 24 h``, ``permanent generator``, ...

    Example
    -------
    >>> measure_label({"measure": "battery_72h", "type": "battery"})
    'battery to 72 h'
    >>> measure_label({"measure": "my_custom_fix", "type": "other"})
    'my custom fix'
    """
    kind, mid = str(item.get("type") or ""), str(item.get("measure") or "")
    if kind == "battery":
        hours = re.search(r"(\d+(?:\.\d+)?)\s*h\b", mid.replace("_", " "))
        return f"battery to {hours.group(1)} h" if hours else "battery upgrade"
    return MEASURE_WORDS.get(kind) or mid.replace("_", " ")


def render_hardening(result: Mapping[str, Any], *, title: str = "Hardening plan",
                     run_id: str = "", max_rows: int = 200, tz: str = "UTC") -> str:
    """The plan page.

    Parameters
    ----------
    result : mapping
        :func:`resilience.hardening.plan_hardening`'s result.
    title, run_id : str
        Heading and the Airflow run shown in the header (if any).
    max_rows : int
        Measures listed one by one at most.
    tz : str
        Time zone the page's time is shown in (``settings.display_timezone``).

    Returns
    -------
    str
        HTML5 text with inline CSS and SVG.

    Example
    -------
    >>> r = {"budget": 0, "expected_subscriber_hours_lost": 0.0, "baseline_loss": {"none": 0.0},
    ...      "plan": [], "frontier": [{"budget": 0, "expected_subscriber_hours_lost": 0.0}]}
    >>> "Nothing to buy" in render_hardening(r)
    True
    """
    from resilience.reports.report import _env, _fmt_time

    plan = [{**p, "label": measure_label(p)} for p in result.get("plan") or []]
    base = dict(result.get("baseline_loss") or {})
    loss = float(result.get("expected_subscriber_hours_lost") or 0.0)
    none = float(base.get("none", loss))
    cur = str(result.get("currency") or "JPY")
    frontier = [(float(f["budget"]), float(f["expected_subscriber_hours_lost"]))
                for f in result.get("frontier") or []]
    marks = {k: float(v) for k, v in base.items()}
    by_place: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"measures": 0, "cost": 0.0, "saved": 0.0, "kinds": defaultdict(int)})
    for p in plan:
        row = by_place[(str(p.get("municipality") or "-"), str(p.get("operator") or "-"))]
        row["measures"] += 1
        row["cost"] += float(p["cost"])
        row["saved"] += float(p["expected_subscriber_hours_saved"])
        row["kinds"][p["label"]] += 1
    places = sorted(({"municipality": k[0], "operator": k[1], "measures": v["measures"], "cost": v["cost"],
                      "saved": v["saved"],
                      "what": ", ".join(f"{n} {m}" for m, n in sorted(v["kinds"].items()))}
                     for k, v in by_place.items()), key=lambda r: (-r["saved"], r["municipality"]))
    pts = [(float(p["lat"]), float(p["lon"]), str(p["type"]), f"{p.get('name') or p['site']}: {p['label']}")
           for p in plan if p.get("lat") is not None and p.get("lon") is not None]
    map_svg = charts.site_map(pts, title="Chosen sites", colors=MEASURE_COLORS) if pts else None
    counts: dict[str, int] = defaultdict(int)
    for p in plan:
        counts[str(p["type"])] += 1
    hundred = []
    if frontier:  # what each 100 million (or tenth of the budget) buys
        step = 1e8 if float(result.get("budget") or 0) >= 3e8 else max(float(result.get("budget") or 0) / 5, 1.0)
        b = 0.0
        while b <= (float(result.get("budget") or 0)) + 1e-6 and len(hundred) < 41:
            at = [y for x, y in frontier if x <= b + 1e-6]
            hundred.append({"budget": b, "loss": at[-1] if at else frontier[0][1]})
            b += step
    holdout = result.get("holdout")
    return _env().get_template("hardening.html.j2").render(
        title=title,
        run_id=run_id,
        generated_at=_fmt_time(datetime.now(UTC), ZoneInfo(tz)),
        currency=cur,
        budget=float(result.get("budget") or 0),
        spent=float(result.get("spent") or sum(float(p["cost"]) for p in plan)),
        loss=loss,
        nothing=none,
        saved=none - loss,
        share=(none - loss) / none if none else 0.0,
        baselines=[{"name": k, "loss": v, "saved": none - v} for k, v in base.items() if k != "none"],
        horizon=result.get("horizon_h"),
        samples=result.get("samples"),
        scenarios=list(result.get("scenarios") or []),
        frontier_svg=frontier_chart(frontier, marks={k: v for k, v in marks.items()},
                                    title="Expected subscriber-hours lost by money spent"),
        hundred=[{**h, "step_saved": (hundred[i - 1]["loss"] - h["loss"]) if i else 0.0}
                 for i, h in enumerate(hundred)],
        map_svg=map_svg,
        legend=[{"type": k, "color": MEASURE_COLORS.get(k, "#8C8C8C"), "count": counts[k]}
                for k in MEASURE_COLORS if counts.get(k)],
        places=places,
        rows=plan[:max_rows],
        n_measures=len(plan),
        more=max(len(plan) - max_rows, 0),
        holdout=holdout,
    )
