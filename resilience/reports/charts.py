"""Inline SVG charts for the report: bar chart, stacked area over time, map of sites.

Hand-written SVG with no external references (no ``xmlns`` URL, no fonts, no images), so a report
renders offline. Every text that may come from a feed goes through
:func:`resilience.reports.escape.html_text`; the functions return :class:`markupsafe.Markup` so
Jinja2 templates (autoescape on) insert them as they are.

Example
-------
>>> svg = bar_chart(["1 h", "3 h"], [10, 30], title="Sites out")
>>> svg.startswith("<svg") and "3 h" in svg
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from markupsafe import Markup

from resilience.reports.escape import html_text

__all__ = ["CAUSE_COLORS", "SERVED_COLOR", "fmt_int", "bar_chart", "stacked_area", "site_map", "hour_chart",
           "histogram", "lines_chart", "STRATEGY_COLORS"]

# Okabe-Ito palette (readable for colour-blind readers).
CAUSE_COLORS: dict[str, str] = {
    "power": "#E69F00",
    "backhaul": "#0072B2",
    "power+backhaul": "#D55E00",
    "equipment": "#CC79A7",
    "unknown": "#8C8C8C",
}
SERVED_COLOR = "#7FB89A"
_INK = "#1f2933"
_GRID = "#d9dee3"
_FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif"


def fmt_int(value: float | int | None) -> str:
    """Thousands-separated integer text; ``-`` for a missing value.

    Example
    -------
    >>> fmt_int(1234567.2)
    '1,234,567'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{round(value):,}"


def _nice_max(value: float, ticks: int = 4) -> float:
    """A round axis maximum at or above ``value`` that splits into ``ticks`` round steps."""
    if value <= 0:
        return float(ticks)
    raw = value / ticks
    exp = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if exp <= 1 else (1, 2, 2.5, 5, 10)  # no 2.5 steps on small counts
    step = next(m * exp for m in steps if m * exp >= raw)
    if value >= ticks:  # counts: whole-number steps
        step = max(step, 1.0)
    return step * ticks


def _compact(value: float) -> str:
    """Short axis label: 1.2k, 3M."""
    v = abs(value)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            s = f"{value / div:.1f}".rstrip("0").rstrip(".")
            return s + suffix
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _open(width: int, height: int, label: str) -> list[str]:
    return [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{html_text(label)}" style="{_FONT};max-width:{width}px">'
    ]


def _y_grid(x0: float, x1: float, top: float, plot_h: float, vmax: float) -> list[str]:
    """Five horizontal grid lines from 0 to ``vmax`` with their value labels left of ``x0``."""
    out = []
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_GRID}"/>')
        out.append(
            f'<text x="{x0 - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#52606d">'
            f"{_compact(vmax * i / 4)}</text>"
        )
    return out


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str = "",
    secondary: Sequence[float] | None = None,
    secondary_label: str = "",
    color: str = "#D55E00",
    width: int = 560,
    height: int = 260,
) -> Markup:
    """Vertical bars with value labels; ``secondary`` values are printed under each bar.

    Parameters
    ----------
    labels, values : sequences of equal length
        Category labels (escaped) and bar heights.
    title : str
        Accessible label of the chart.
    secondary, secondary_label : optional
        A second number per bar shown as text (e.g. subscribers under a site count).

    Example
    -------
    >>> "<rect" in bar_chart(["a"], [1])
    True
    """
    left, right, top, bottom = 48, 12, 22, 58 if secondary is not None else 40
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = _nice_max(max([float(v) for v in values], default=0.0))
    out = _open(width, height, title)
    out += _y_grid(left, width - right, top, plot_h, vmax)
    n = max(len(values), 1)
    slot = plot_w / n
    bw = min(64.0, slot * 0.6)
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * float(v) / vmax
        x = left + slot * i + (slot - bw) / 2
        y = top + plot_h - h
        cx = x + bw / 2
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{max(h, 0.5):.1f}" '
            f'fill="{color}" rx="2"><title>{html_text(lab)}: {fmt_int(v)}</title></rect>'
        )
        out.append(
            f'<text x="{cx:.1f}" y="{y - 5:.1f}" font-size="12" font-weight="600" '
            f'text-anchor="middle" fill="{_INK}">{fmt_int(v)}</text>'
        )
        out.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 17:.1f}" font-size="12" text-anchor="middle" '
            f'fill="{_INK}">{html_text(lab)}</text>'
        )
        if secondary is not None:
            out.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 34:.1f}" font-size="11" '
                f'text-anchor="middle" fill="#52606d">{fmt_int(secondary[i])}</text>'
            )
    if secondary is not None and secondary_label:
        out.append(
            f'<text x="{left - 6}" y="{top + plot_h + 34:.1f}" font-size="11" text-anchor="end" '
            f'fill="#52606d">{html_text(secondary_label)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def stacked_area(
    times: Sequence[datetime],
    series: Mapping[str, Sequence[float]],
    *,
    title: str = "",
    colors: Mapping[str, str] | None = None,
    width: int = 760,
    height: int = 280,
) -> Markup:
    """Stacked areas over time (one band per key of ``series``, in order), with a legend.

    A single point in time is drawn as a stacked bar.

    Example
    -------
    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2024, 1, 1)
    >>> "<path" in stacked_area([t0, t0 + timedelta(hours=1)], {"power": [1, 2]})
    True
    """
    colors = colors or CAUSE_COLORS
    left, right, top, bottom = 52, 16, 34, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(times)
    keys = [k for k in series if any(float(v) > 0 for v in series[k])] or list(series)[:1]
    totals = [sum(float(series[k][i]) for k in keys) for i in range(n)]
    vmax = _nice_max(max(totals, default=0.0))
    out = _open(width, height, title)
    # legend
    lx = left
    for k in keys:
        out.append(f'<rect x="{lx}" y="8" width="12" height="12" rx="2" fill="{colors.get(k, "#999")}"/>')
        out.append(f'<text x="{lx + 17}" y="18" font-size="12" fill="{_INK}">{html_text(k)}</text>')
        lx += 30 + 7 * len(str(k))
    out += _y_grid(left, width - right, top, plot_h, vmax)
    if n == 0:
        out.append("</svg>")
        return Markup("".join(out))
    t0 = times[0].timestamp()
    span = max(times[-1].timestamp() - t0, 1.0)

    def xpos(i: int) -> float:
        if n == 1:
            return left + plot_w / 2
        return left + plot_w * (times[i].timestamp() - t0) / span

    def ypos(v: float) -> float:
        return top + plot_h - plot_h * v / vmax

    base = [0.0] * n
    for k in keys:
        upper = [base[i] + float(series[k][i]) for i in range(n)]
        color = colors.get(k, "#999")
        if n == 1:
            x = xpos(0) - 20
            out.append(
                f'<rect x="{x:.1f}" y="{ypos(upper[0]):.1f}" width="40" '
                f'height="{ypos(base[0]) - ypos(upper[0]):.1f}" fill="{color}"/>'
            )
        else:
            pts = [f"{xpos(i):.1f},{ypos(upper[i]):.1f}" for i in range(n)]
            pts += [f"{xpos(i):.1f},{ypos(base[i]):.1f}" for i in reversed(range(n))]
            out.append(
                f'<path d="M{" L".join(pts)} Z" fill="{color}" fill-opacity="0.85" '
                f'stroke="{color}" stroke-width="0.5"><title>{html_text(k)}</title></path>'
            )
        base = upper
    # total line and peak marker
    if n > 1:
        line = " L".join(f"{xpos(i):.1f},{ypos(totals[i]):.1f}" for i in range(n))
        out.append(f'<path d="M{line}" fill="none" stroke="{_INK}" stroke-width="1.4"/>')
    peak = max(range(n), key=lambda i: totals[i])
    px, py = xpos(peak), ypos(totals[peak])
    out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{_INK}"/>')
    anchor = "end" if px > left + plot_w * 0.8 else ("start" if px < left + plot_w * 0.2 else "middle")
    out.append(
        f'<text x="{px + (-6 if anchor == "end" else 0):.1f}" y="{max(py - 8, top - 4):.1f}" '
        f'font-size="12" font-weight="600" text-anchor="{anchor}" fill="{_INK}" stroke="#ffffff" '
        f'stroke-width="3" paint-order="stroke">peak {fmt_int(totals[peak])}</text>'
    )
    # time axis: round local times, at most about eight ticks
    if n > 1:
        steps = (600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400,
                 14 * 86400, 30 * 86400)
        step = next((st for st in steps if span / st <= 8), steps[-1])
        offset = times[0].utcoffset().total_seconds() if times[0].utcoffset() else 0.0
        tick = math.ceil((t0 + offset) / step) * step - offset
        multi_day = times[-1].date() != times[0].date()
        while tick <= times[-1].timestamp() + 1e-6:
            x = left + plot_w * (tick - t0) / span
            lt = datetime.fromtimestamp(tick, times[0].tzinfo)
            edge = "end" if x > width - right - 35 else ("start" if x < left + 20 else "middle")
            fmt = ("%m-%d" if step >= 86400 else "%m-%d %H:%M") if multi_day else "%H:%M"
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="#9aa5b1"/>')
            out.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 17:.1f}" font-size="11" '
                f'text-anchor="{edge}" fill="#52606d">{lt.strftime(fmt)}</text>'
            )
            tick += step
    else:
        out.append(
            f'<text x="{xpos(0):.1f}" y="{top + plot_h + 17:.1f}" font-size="11" '
            f'text-anchor="middle" fill="#52606d">{times[0].strftime("%Y-%m-%d %H:%M")}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def site_map(
    points: Sequence[tuple[float, float, str, str]],
    *,
    labels: Sequence[tuple[float, float, str]] = (),
    title: str = "",
    colors: Mapping[str, str] | None = None,
    width: int = 760,
    height: int = 560,
    cell: float = 2.0,
) -> Markup:
    """Sites as dots on an equirectangular projection fitted to their extent (no tiles).

    Parameters
    ----------
    points : sequence of (lat, lon, state, tooltip)
        ``state`` picks the colour (``served`` or a cause); ``served`` dots are drawn first and
        small, outages on top. Dots of the same state falling in one ``cell``-pixel square are
        drawn once, so the SVG stays small for very large networks.
    labels : sequence of (lat, lon, text)
        Place names (escaped), e.g. municipalities at the centre of their sites.

    Example
    -------
    >>> svg = site_map([(37.39, 136.90, "power", "Wajima 1"), (36.56, 136.65, "served", "C")])
    >>> svg.count("<circle") >= 2
    True
    """
    colors = {"served": SERVED_COLOR, **(colors or CAUSE_COLORS)}
    pts = [
        p for p in points
        if p[0] is not None and p[1] is not None and math.isfinite(p[0]) and math.isfinite(p[1])
    ]
    out = _open(width, height, title)
    out.append(f'<rect width="{width}" height="{height}" fill="#f3f6f8" rx="6"/>')
    if not pts:
        out.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="14" '
            f'fill="#52606d">no site coordinates</text></svg>'
        )
        return Markup("".join(out))
    lats = [p[0] for p in pts]
    lons = [p[1] for p in pts]
    lat0 = (min(lats) + max(lats)) / 2
    kx = math.cos(math.radians(lat0))
    pad = 28
    span_x = max((max(lons) - min(lons)) * kx, 1e-3)
    span_y = max(max(lats) - min(lats), 1e-3)
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad - 40) / span_y)
    ox = (width - span_x * scale) / 2
    oy = (height - 44 - span_y * scale) / 2 + 40

    lon_min, lat_max = min(lons), max(lats)

    def proj(lat: float, lon: float) -> tuple[float, float]:
        return ox + (lon - lon_min) * kx * scale, oy + (lat_max - lat) * scale

    # graticule every 0.1, 0.2, 0.5 or 1 degree
    step = next(s for s in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if span_y / s <= 8)
    g = math.ceil(min(lats) / step) * step
    while g <= max(lats):
        _, y = proj(g, min(lons))
        out.append(f'<line x1="0" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e7eb"/>')
        out.append(f'<text x="4" y="{y - 3:.1f}" font-size="10" fill="#9aa5b1">{g:.2f}°N</text>')
        g += step
    g = math.ceil(min(lons) / step) * step
    while g <= max(lons):
        x, _ = proj(min(lats), g)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="40" y2="{height}" stroke="#e2e7eb"/>')
        out.append(f'<text x="{x + 3:.1f}" y="{height - 4}" font-size="10" fill="#9aa5b1">{g:.2f}°E</text>')
        g += step

    order = ["served", *[k for k in colors if k != "served"]]
    rank = {k: i for i, k in enumerate(order)}
    seen: set[tuple[str, int, int]] = set()
    counts: dict[str, int] = {}
    for lat, lon, st, tip in sorted(pts, key=lambda p: rank.get(p[2], len(order))):
        counts[st] = counts.get(st, 0) + 1
        x, y = proj(lat, lon)
        key = (st, int(x // cell), int(y // cell))
        if key in seen:
            continue
        seen.add(key)
        r = 2.2 if st == "served" else 3.6
        stroke = "" if st == "served" else ' stroke="#ffffff" stroke-width="0.6"'
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colors.get(st, "#999")}"{stroke}>'
            f"<title>{html_text(tip)}</title></circle>"
        )
    placed: list[tuple[float, float, float, float]] = []
    for lat, lon, text in labels:
        x, y = proj(lat, lon)
        w = 7.0 * len(str(text))
        box = (x - w / 2, y - 21, x + w / 2, y - 6)
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
            continue  # would overlap a label already placed (labels come largest first)
        placed.append(box)
        out.append(
            f'<text x="{x:.1f}" y="{y - 8:.1f}" font-size="12" font-weight="600" text-anchor="middle" '
            f'fill="{_INK}" stroke="#ffffff" stroke-width="3" paint-order="stroke">{html_text(text)}</text>'
        )
    # legend, wrapped to the width
    lx, ly = 10.0, 13.0
    for st in order:
        if st not in counts:
            continue
        text = f"{st} ({fmt_int(counts[st])})"
        w = 26 + 7.6 * len(text)
        if lx + w > width - 6 and lx > 10:
            lx, ly = 10.0, ly + 18
        out.append(f'<circle cx="{lx + 6:.0f}" cy="{ly:.0f}" r="5" fill="{colors.get(st, "#999")}"/>')
        out.append(
            f'<text x="{lx + 15:.0f}" y="{ly + 4:.0f}" font-size="12" fill="{_INK}">'
            f"{html_text(text)}</text>"
        )
        lx += w
    out.append("</svg>")
    return Markup("".join(out))


def hour_chart(
    hours: Sequence[float],
    values: Sequence[float],
    *,
    title: str = "",
    label: str = "sites out",
    secondary: Sequence[float] | None = None,
    secondary_label: str = "",
    color: str = "#E69F00",
    width: int = 760,
    height: int = 280,
) -> Markup:
    """A filled step line over hours from now (a power outage played forward).

    Parameters
    ----------
    hours, values : sequences of equal length
        Hours since the start (ascending) and the value from that hour on.
    title, label : str
        Accessible label of the chart and the legend text of ``values``.
    secondary, secondary_label : optional
        A second series drawn as a dashed line on its own right-hand axis (e.g. subscribers).

    Example
    -------
    >>> svg = hour_chart([0, 1, 2], [0, 3, 5], title="Sites out")
    >>> svg.startswith("<svg") and "<path" in svg
    True
    """
    left, right, top, bottom = 52, 60 if secondary is not None else 16, 34, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(hours)
    vmax = _nice_max(max([float(v) for v in values], default=0.0))
    out = _open(width, height, title)
    out.append(f'<rect x="{left}" y="8" width="12" height="12" rx="2" fill="{color}"/>')
    out.append(f'<text x="{left + 17}" y="18" font-size="12" fill="{_INK}">{html_text(label)}</text>')
    if secondary is not None:
        lx = left + 40 + 7 * len(label)
        out.append(f'<line x1="{lx}" x2="{lx + 16}" y1="14" y2="14" stroke="{_INK}" stroke-width="1.6" '
                   'stroke-dasharray="4 3"/>')
        out.append(f'<text x="{lx + 21}" y="18" font-size="12" fill="{_INK}">'
                   f"{html_text(secondary_label)} (right axis)</text>")
    out += _y_grid(left, width - right, top, plot_h, vmax)
    if n == 0:
        out.append("</svg>")
        return Markup("".join(out))
    h_end = max(float(hours[-1]), 1.0)

    def xpos(h: float) -> float:
        return left + plot_w * float(h) / h_end

    def ypos(v: float, top_v: float) -> float:
        return top + plot_h - plot_h * float(v) / top_v

    pts: list[str] = []
    for i in range(n):
        x = xpos(hours[i])
        if i:
            pts.append(f"{x:.1f},{ypos(values[i - 1], vmax):.1f}")
        pts.append(f"{x:.1f},{ypos(values[i], vmax):.1f}")
    base = f"{xpos(hours[-1]):.1f},{top + plot_h:.1f} {xpos(hours[0]):.1f},{top + plot_h:.1f}"
    out.append(f'<path d="M{" L".join(pts)} L{base.replace(" ", " L")} Z" fill="{color}" '
               f'fill-opacity="0.55" stroke="{color}" stroke-width="1.6">'
               f"<title>{html_text(label)}</title></path>")
    if secondary is not None:
        smax = _nice_max(max([float(v) for v in secondary], default=0.0))
        spts: list[str] = []
        for i in range(n):
            x = xpos(hours[i])
            if i:
                spts.append(f"{x:.1f},{ypos(secondary[i - 1], smax):.1f}")
            spts.append(f"{x:.1f},{ypos(secondary[i], smax):.1f}")
        out.append(f'<path d="M{" L".join(spts)}" fill="none" stroke="{_INK}" stroke-width="1.6" '
                   f'stroke-dasharray="4 3"><title>{html_text(secondary_label)}</title></path>')
        for k in range(5):
            v = smax * k / 4
            y = ypos(v, smax)
            out.append(f'<text x="{width - right + 6}" y="{y + 4:.1f}" font-size="11" '
                       f'fill="#52606d">{_compact(v)}</text>')
    # hour ticks: about eight, on round steps
    step = next((s for s in (1, 2, 3, 6, 12, 24, 48, 72, 168, 336) if h_end / s <= 10), 720)
    t = 0.0
    while t <= h_end + 1e-9:
        x = xpos(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
                   'stroke="#9aa5b1"/>')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 17:.1f}" font-size="11" text-anchor="middle" '
                   f'fill="#52606d">{t:g} h</text>')
        t += step
    out.append("</svg>")
    return Markup("".join(out))


def histogram(
    values: Sequence[float],
    *,
    bins: int = 20,
    title: str = "",
    unit: str = "",
    marks: Mapping[str, float] | None = None,
    color: str = "#0072B2",
    width: int = 760,
    height: int = 280,
) -> Markup:
    """How often each range of ``values`` occurred (e.g. subscribers lost per Monte Carlo run).

    Parameters
    ----------
    values : sequence of float
        One value per run.
    bins : int
        At most this many equal-width bars (fewer when the values take fewer distinct values).
    unit : str
        Axis text under the bars.
    marks : mapping, optional
        Labelled vertical lines, e.g. ``{"mean": 812.0, "p95": 1900.0}``.

    Example
    -------
    >>> svg = histogram([1, 2, 2, 3, 9], bins=4, marks={"mean": 3.4})
    >>> svg.count("<rect") >= 4 and "mean" in svg
    True
    """
    left, right, top, bottom = 52, 16, 30, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    vals = [float(v) for v in values if v == v]
    out = _open(width, height, title)
    if not vals:
        out.append("</svg>")
        return Markup("".join(out))
    lo, hi = min(vals), max(vals)
    distinct = len(set(vals))
    nb = max(1, min(bins, distinct))
    span = (hi - lo) or 1.0
    counts = [0] * nb
    for v in vals:
        counts[min(int((v - lo) / span * nb), nb - 1)] += 1
    vmax = _nice_max(max(counts))
    out += _y_grid(left, width - right, top, plot_h, vmax)
    bw = plot_w / nb
    for i, c in enumerate(counts):
        a, b = lo + span * i / nb, lo + span * (i + 1) / nb
        h = plot_h * c / vmax
        out.append(
            f'<rect x="{left + bw * i + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(bw - 2, 1):.1f}" '
            f'height="{max(h, 0.5):.1f}" fill="{color}" rx="1"><title>{fmt_int(a)}–{fmt_int(b)}: '
            f"{c} of {len(vals)} runs</title></rect>"
        )
    for i in range(0, nb + 1, max(1, nb // 5)):
        x = left + bw * i
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 16:.1f}" font-size="11" text-anchor="middle" '
                   f'fill="#52606d">{_compact(lo + span * i / nb)}</text>')
    if unit:
        out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" font-size="12" '
                   f'text-anchor="middle" fill="{_INK}">{html_text(unit)}</text>')
    for k, (name, v) in enumerate((marks or {}).items()):
        x = left + plot_w * (float(v) - lo) / span
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="{_INK}" '
                   'stroke-width="1.4" stroke-dasharray="3 3"/>')
        out.append(f'<text x="{x + 4:.1f}" y="{top + 12 + 14 * k:.1f}" font-size="12" font-weight="600" '
                   f'fill="{_INK}" stroke="#ffffff" stroke-width="3" paint-order="stroke">'
                   f"{html_text(name)} {fmt_int(v)}</text>")
    out.append("</svg>")
    return Markup("".join(out))


#: Colours of the strategies of a restoration plan (Okabe-Ito: the plan strong, baselines muted).
STRATEGY_COLORS: dict[str, str] = {"planned": "#0072B2", "nearest": "#E69F00", "largest": "#CC79A7",
                                   "fifo": "#56B4E9", "none": "#9aa5b1"}


def lines_chart(
    hours: Sequence[float],
    series: Mapping[str, Sequence[float]],
    *,
    title: str = "",
    colors: Mapping[str, str] | None = None,
    width: int = 760,
    height: int = 280,
) -> Markup:
    """Step lines over hours, one per named series (a restoration plan against its baselines).

    The first series is drawn thick, the others thin and dashed; the y axis starts at the
    lowest value so that the differences show.

    Example
    -------
    >>> svg = lines_chart([0, 1, 2], {"planned": [5, 8, 9], "fifo": [5, 6, 9]}, title="Served")
    >>> svg.startswith("<svg") and svg.count("<path") == 2 and "fifo" in svg
    True
    """
    colors = {**STRATEGY_COLORS, **(colors or {})}
    left, right, top, bottom = 60, 16, 34, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(hours)
    vals = [float(v) for s in series.values() for v in s]
    vmin = min(vals, default=0.0)
    span = _nice_max(max(vals, default=0.0) - vmin) or 1.0
    vmin = max(0.0, vmin - 0.05 * span)
    out = _open(width, height, title)
    lx = left
    for k, name in enumerate(series):
        c = colors.get(name, _INK)
        dash = "" if k == 0 else ' stroke-dasharray="5 3"'
        out.append(f'<line x1="{lx}" x2="{lx + 16}" y1="14" y2="14" stroke="{c}" stroke-width="{3 if k == 0 else 1.8}"{dash}/>')
        out.append(f'<text x="{lx + 21}" y="18" font-size="12" fill="{_INK}">{html_text(name)}</text>')
        lx += 34 + 7 * len(name)
    for k in range(5):
        v = vmin + span * k / 4
        y = top + plot_h - plot_h * k / 4
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_GRID}"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                   f'fill="#52606d">{_compact(v)}</text>')
    if n == 0:
        out.append("</svg>")
        return Markup("".join(out))
    h_end = max(float(hours[-1]), 1.0)

    def xpos(h: float) -> float:
        return left + plot_w * float(h) / h_end

    def ypos(v: float) -> float:
        return top + plot_h - plot_h * (float(v) - vmin) / span

    for k, (name, values) in enumerate(reversed(list(series.items()))):
        first = k == len(series) - 1
        pts: list[str] = []
        for i in range(min(n, len(values))):
            x = xpos(hours[i])
            if i:
                pts.append(f"{x:.1f},{ypos(values[i - 1]):.1f}")
            pts.append(f"{x:.1f},{ypos(values[i]):.1f}")
        dash = "" if first else ' stroke-dasharray="5 3"'
        out.append(f'<path d="M{" L".join(pts)}" fill="none" stroke="{colors.get(name, _INK)}" '
                   f'stroke-width="{3 if first else 1.8}"{dash}><title>{html_text(name)}</title></path>')
    step = next((s for s in (1, 2, 3, 6, 12, 24, 48, 72, 168, 336) if h_end / s <= 10), 720)
    t = 0.0
    while t <= h_end + 1e-9:
        x = xpos(t)
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 17:.1f}" font-size="11" text-anchor="middle" '
                   f'fill="#52606d">{t:g} h</text>')
        t += step
    out.append("</svg>")
    return Markup("".join(out))
