"""Report content: sections in order, numbers equal to the snapshot, escaping, no external URL."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pandas as pd
import pytest

from resilience.reports import NoSnapshot, SnapshotView, build_report, write_report
from resilience.reports.charts import fmt_int, site_map, stacked_area
from resilience.reports.escape import html_text
from tests.reports.report_data import FORMULA_SRLG, XSS_MUNI, XSS_OPERATOR, XSS_TITLE, fill_store

SECTIONS = ["summary", "damage", "spofs", "hidden-spofs", "forecast", "history", "map"]


class _Tags(HTMLParser):
    """Collects start tags with their attributes (what a browser would build elements from)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    return p


def _by_id(html: str, id_: str) -> str:
    m = re.search(rf'id="{re.escape(id_)}"[^>]*>(.*?)<', html, re.S)
    assert m, f"no element with id {id_}"
    return m.group(1).strip()


def test_write_report_files_and_sections_in_order(filled, tmp_path):
    engine, written = filled
    path = write_report(engine, tmp_path / "out")
    last = written["snapshots"][-1]["as_of"]
    assert path.name == f"report-{last.strftime('%Y%m%dT%H%M')}.html"
    latest = path.with_name("latest.html")
    html = path.read_text(encoding="utf-8")
    assert latest.read_text(encoding="utf-8") == html
    assert html.startswith("<!DOCTYPE html>")
    positions = [html.index(f'<section id="{s}">') for s in SECTIONS]
    assert positions == sorted(positions), "summary first, then the sections in reading order"
    # writing the same snapshot again replaces the file, nothing else appears
    assert write_report(engine, tmp_path / "out") == path
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, "latest.html"])


def test_summary_numbers_equal_the_snapshot(filled, tmp_path):
    engine, written = filled
    html = write_report(engine, tmp_path).read_text(encoding="utf-8")
    now, prev = written["snapshots"][-1], written["snapshots"][-2]
    assert _by_id(html, "sites-out") == fmt_int(now["sites_out"])
    assert _by_id(html, "subscribers-out") == fmt_int(now["subscribers_out"])
    assert _by_id(html, "served-ratio") == f"{100 * now['served_ratio']:.1f}%"
    assert _by_id(html, "sites-out-change") == f"+{now['sites_out'] - prev['sites_out']:,}"
    assert _by_id(html, "subscribers-out-change") == (
        f"+{now['subscribers_out'] - prev['subscribers_out']:,}"
    )
    # the headline separates SPOFs that cut other sites from sites on their own access link
    others = [e for e in now["elements"] if e["element_type"] == "node" or e["nodes_lost"] > 1]
    assert others
    assert _by_id(html, "spof-count") == fmt_int(len(others))
    assert _by_id(html, "single-homed-sites") == fmt_int(len(now["elements"]) - len(others))
    assert _by_id(html, "damage-total") == fmt_int(len(now["out"]))
    assert "2024-01-03 12:10 JST" in _by_id(html, "as-of")  # 44 h after 16:10 JST on 1 January


def test_damage_table_counts_per_municipality(filled, tmp_path):
    engine, written = filled
    html = write_report(engine, tmp_path).read_text(encoding="utf-8")
    table = html[html.index('<section id="damage">') : html.index('<section id="spofs">')]
    out = pd.DataFrame(written["snapshots"][-1]["out"])
    for muni, grp in out.groupby("municipality"):
        row = re.search(rf"<tr><td>{re.escape(muni)}</td>(.*?)</tr>", table, re.S)
        assert row, muni
        cells = re.findall(r"<td[^>]*>(?:<strong>)?([^<]*)", row.group(1))
        assert cells[-2] == fmt_int(len(grp))  # total
        assert cells[-1] == fmt_int(grp["subscribers"].sum())
        counts = [int(c.replace(",", "")) for c in cells[:-2] if c != "·"]
        assert sum(counts) == len(grp)
    # every (operator, cause) pair is a column, and operators head the columns
    for op in out["operator"].unique():
        assert f">{op}</th>" in table


def test_spofs_forecast_and_history(filled, tmp_path):
    engine, written = filled
    html = write_report(engine, tmp_path).read_text(encoding="utf-8")
    now = written["snapshots"][-1]
    spof = html[html.index('<section id="spofs">') : html.index('<section id="hidden-spofs">')]
    assert spof.index("L-NANAO-WAJIMA-1") < spof.index("31,000") < spof.index("</table>")
    biggest_node = max((e for e in now["elements"] if e["element_type"] == "node"),
                       key=lambda e: e["subscribers_lost"])
    assert biggest_node["element_id"] in spof
    hidden = html[html.index('<section id="hidden-spofs">') : html.index('<section id="forecast">')]
    assert "R249-coastal" in hidden and "42,000" in hidden
    assert "Nanao-bridge" not in hidden  # not hidden: a single link already cuts it
    forecast = html[html.index('<section id="forecast">') : html.index('<section id="history">')]
    assert "<svg" in forecast
    for row in now["forecast"]:  # summed over the operators the aggregates are split by
        assert f">{fmt_int(row['nodes_out'])}<" in forecast
        assert f">{fmt_int(row['subscribers_out'])}<" in forecast
    history = html[html.index('<section id="history">') : html.index('<section id="map">')]
    assert "<svg" in history and "<path" in history
    assert f"last {len(written['snapshots'])} snapshots" in history
    assert f"peak {fmt_int(max(s['sites_out'] for s in written['snapshots']))}" in history
    mapsec = html[html.index('<section id="map">') :]
    assert mapsec.count("<circle") >= len(written["sites"]) // 2  # dots merge only when they touch
    assert f"served ({fmt_int(len(written['sites']) - now['sites_out'])})" in mapsec


def test_no_external_reference_and_no_script(filled, tmp_path):
    engine, _ = filled
    html = write_report(engine, tmp_path).read_text(encoding="utf-8")
    assert not re.search(r"https?:", html, re.I)
    assert "//" not in re.sub(r"<!--.*?-->", "", html).replace("://", "")  # no protocol-relative
    assert "url(" not in html and "@import" not in html
    tags = _parse(html).tags
    names = {t for t, _ in tags}
    assert not names & {"script", "img", "iframe", "link", "object", "embed", "image", "use"}
    for _tag, attrs in tags:
        assert not {"src", "href", "xlink:href", "srcset", "action"} & set(attrs)
        assert not any(k.startswith("on") for k in attrs)


def test_feed_names_are_escaped(hostile, tmp_path):
    engine, _ = hostile
    html = write_report(engine, tmp_path).read_text(encoding="utf-8")
    for raw in (XSS_MUNI, XSS_OPERATOR, XSS_TITLE):
        assert raw not in html
    assert html_text(XSS_MUNI) in html
    assert html_text(XSS_OPERATOR) in html
    assert html_text(XSS_TITLE) in html  # in the map tooltip (<title> inside SVG)
    tags = _parse(html).tags
    assert not [t for t, _ in tags if t in {"script", "img"}]
    for _tag, attrs in tags:
        assert not any(k.startswith("on") for k in attrs)
        assert not {"src", "href"} & set(attrs)
    # a formula from a feed cannot reach a spreadsheet when a table is copied
    assert html_text("'" + FORMULA_SRLG) in html
    assert f">{html_text(FORMULA_SRLG)}<" not in html


def test_first_report_without_previous_and_empty_sections():
    snap = SnapshotView(id=1, as_of=datetime(2024, 1, 1, 7, 10, tzinfo=UTC), total_nodes=3,
                        total_subscribers=0, served_nodes=3, served_subscribers=0)
    html = build_report(snap, generated_at=datetime(2024, 1, 1, tzinfo=UTC))
    assert "First report" in html
    assert "No site is down." in html
    assert "No single point of failure" in html
    assert "No hidden single point of failure." in html
    assert "No forecast in this snapshot." in html
    assert "No history yet." in html
    assert "no site coordinates" in html
    assert _by_id(html, "served-ratio") == "100.0%"


def test_change_can_be_an_improvement():
    base = dict(total_nodes=10, total_subscribers=1000)
    now = SnapshotView(id=2, as_of=datetime(2024, 1, 5, tzinfo=UTC), served_nodes=9,
                       served_subscribers=950, **base)
    prev = SnapshotView(id=1, as_of=datetime(2024, 1, 4, tzinfo=UTC), served_nodes=6,
                        served_subscribers=700, **base)
    html = build_report(now, prev)
    assert _by_id(html, "sites-out-change") == "\u22123"
    assert _by_id(html, "subscribers-out-change") == "\u2212250"
    assert 'class="delta better"' in html and 'class="delta worse"' not in html


def test_no_snapshot_is_an_error(sqlite_engine, tmp_path):
    with pytest.raises(NoSnapshot, match="resilience analyze"):
        write_report(sqlite_engine, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_report_on_postgres_too(engine, tmp_path):
    """The same report from the real PostgreSQL server (the ``engine`` fixture runs both)."""
    written = fill_store(engine)
    html = write_report(engine, tmp_path).read_text(encoding="utf-8")
    assert _by_id(html, "sites-out") == fmt_int(written["snapshots"][-1]["sites_out"])


def test_map_stays_small_for_a_national_network():
    pts = [(30 + (i % 300) * 0.05, 130 + (i // 300) * 0.05, "served", f"s{i}")
           for i in range(60_000)]
    pts += [(35.0, 135.0, "power", "<b>x</b>")] * 5
    svg = site_map(pts, width=600, height=720, cell=3.0)
    assert svg.count("<circle") < 60_000 // 2
    assert "power (5)" in svg and "served (60,000)" in svg
    assert "<b>" not in svg


def test_history_chart_with_one_point():
    svg = stacked_area([datetime(2024, 1, 1, tzinfo=UTC)], {"power": [3], "backhaul": [2]})
    assert "<rect" in svg and "peak 5" in svg


def test_report_from_the_real_pipeline(contract_files, tmp_path):
    """ingest -> analyze -> analyze again after B1 goes down -> report (the producer's contract)."""
    from resilience import api

    url = f"sqlite:///{tmp_path}/r.db"
    api.ingest(list(contract_files), db_url=url)
    api.analyze(db_url=url)
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    status = tmp_path / "status.csv"
    status.write_text(
        "observed_at,node_id,state,power,battery_remaining_min\n"
        + "".join(f"{now},{n},up,grid,\n" for n in ("C1", "A1", "B2"))
        + f"{now},B1,down,none,0\n{now},B3,up,battery,30\n"
    )
    api.ingest([status], db_url=url)
    api.analyze(db_url=url)
    html = write_report(api.engine(url), tmp_path / "out").read_text(encoding="utf-8")
    # B1 is down and B3 hangs off it: 2 sites and 100 + 400 subscribers of 700 out
    assert _by_id(html, "sites-out") == "2"
    assert _by_id(html, "subscribers-out") == "500"
    assert _by_id(html, "served-ratio") == "28.6%"
    assert _by_id(html, "sites-out-change") == "+2"
    assert _by_id(html, "damage-total") == "2"
    assert "Wajima" in html[html.index('<section id="damage">') :]
    assert "<td>72 h</td>" in html  # the forecast of summary['forecast']
    assert "coverage-warning" not in html  # a core, and sites served: nothing to warn about


def test_hidden_part_and_headline_from_the_real_pipeline(contract_files, tmp_path, monkeypatch):
    """The five-site network: R1 cuts 4 sites (700) and hides A1 and B2 (200); 4 SPOFs cut
    other sites (C1, A1, B1, L2) and 1 site (B3) hangs on its own access link (L5)."""
    from resilience import api

    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))

    url = f"sqlite:///{tmp_path}/r.db"
    api.ingest(list(contract_files), db_url=url)
    api.analyze(db_url=url)
    html = write_report(api.engine(url), tmp_path / "out").read_text(encoding="utf-8")
    assert _by_id(html, "spof-count") == "4"
    assert _by_id(html, "single-homed-sites") == "1"
    assert _by_id(html, "hidden-spof-count") == "1"
    hidden = html[html.index('<section id="hidden-spofs">') : html.index('<section id="forecast">')]
    row = re.search(r"<tr><td class=\"id\">R1</td>(.*?)</tr>", hidden, re.S)
    assert row, hidden
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
    assert cells == ["2", "4", "700", "2", "200"]


def test_no_core_is_said_in_the_report():
    snap = SnapshotView(id=1, as_of=datetime(2024, 1, 1, tzinfo=UTC), total_nodes=5,
                        total_subscribers=700, served_nodes=0, served_subscribers=0,
                        summary={"cores": 0})
    html = build_report(snap, generated_at=datetime(2024, 1, 1, tzinfo=UTC))
    assert "no core node" in html[html.index('id="coverage-warning"'):][:400]
    assert html.count('id="coverage-warning"') == 1
    cored = SnapshotView(id=1, as_of=datetime(2024, 1, 1, tzinfo=UTC), total_nodes=5,
                         total_subscribers=700, served_nodes=0, served_subscribers=0,
                         summary={"cores": 2})
    assert "0 of 5 nodes are served" in build_report(cored)


def test_cli_report_prints_the_path(filled, tmp_path):
    from typer.testing import CliRunner

    from resilience.cli import app

    engine, written = filled
    runner = CliRunner()
    res = runner.invoke(app, ["--db", str(engine.url), "report", "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    path = tmp_path / "r" / res.output.strip().rsplit("/", 1)[-1]
    assert res.output.strip() == str(path) and path.exists()
    assert (tmp_path / "r" / "latest.html").exists()


def test_cli_report_without_snapshot_exits_1(sqlite_engine, tmp_path):
    from typer.testing import CliRunner

    from resilience.cli import app

    res = CliRunner().invoke(app, ["--db", str(sqlite_engine.url), "report", "--out", str(tmp_path)])
    assert res.exit_code == 1
    assert "resilience analyze" in res.output
