"""Names from feeds carrying HTML, PromQL / label-breaking and CSV-formula payloads are stored
verbatim (SQL is parameterised) and escaped wherever they are shown: the HTML report, Prometheus
labels (the exposition parses and the label value round-trips) and CSV exports."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from typer.testing import CliRunner

from resilience import api
from resilience.cli import app
from resilience.exporter.collectors import register_collectors
from resilience.exporter.source import CachedSource, DatabaseSource
from resilience.store import tables as t

HTML = "<script>alert('x')</script>"
PROMQL = 'evil"} 1\nresilience_fake{a="b'
SQLI = "x'); DROP TABLE nodes; --"
FORMULAS = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]

HEADER = "node_id,kind,operator,name,lat,lon,prefecture,municipality,subscribers,battery_hours,power_feed"


def _q(v: str) -> str:
    return '"' + v.replace('"', '""') + '"'


def _network(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The contract network with hostile ids and names; the aggregation (a SPOF) is a formula."""
    agg, bs = FORMULAS[0], FORMULAS[3]
    nodes = [
        ["C1", "core", "docomo", "core", "36.5", "136.6", "Ishikawa", "Kanazawa", "0", "inf", "F0"],
        [agg, "aggregation", PROMQL, HTML, "37.39", "136.9", SQLI, HTML, "0", "24", "F1"],
        [bs, "base_station", PROMQL, HTML, "37.4", "136.91", SQLI, HTML, "100", "0", "F1"],
        [FORMULAS[1], "base_station", "kddi", FORMULAS[2], "37.41", "136.92", "Ishikawa", "Wajima", "200", "3", "F1"],
    ]
    links = [["L1", "C1", agg, "fiber", "10000", ""], ["L2", agg, bs, "fiber", "1000", SQLI],
             ["L3", agg, FORMULAS[1], "fiber", "1000", HTML]]
    n, lk, s = tmp_path / "nodes.csv", tmp_path / "links.csv", tmp_path / "status.csv"
    n.write_text(HEADER + "\n" + "".join(",".join(map(_q, r)) + "\n" for r in nodes), encoding="utf-8")
    lk.write_text("link_id,a,b,medium,capacity_mbps,srlg\n" + "".join(",".join(map(_q, r)) + "\n" for r in links))
    s.write_text("observed_at,power_feed,state\n2024-01-01T16:10:00+09:00," + _q("F1") + ",off\n")
    return n, lk, s


@pytest.fixture
def hostile_db(db_url, tmp_path, home) -> str:
    res = api.ingest(_network(tmp_path), db_url=db_url)
    assert all(r.quarantined == 0 for r in res), res
    api.analyze(db_url=db_url)
    return db_url


def test_payloads_are_stored_verbatim(hostile_db):
    with api.engine(hostile_db).connect() as conn:
        rows = {r.node_id: r for r in conn.execute(select(t.nodes))}
        assert len(conn.execute(select(t.links)).all()) == 3  # the tables are all still there
    assert set(rows) == {"C1", FORMULAS[0], FORMULAS[3], FORMULAS[1]}
    assert (rows[FORMULAS[0]].operator, rows[FORMULAS[0]].name, rows[FORMULAS[0]].prefecture) == (PROMQL, HTML, SQLI)


def test_html_report_escapes_names(hostile_db, tmp_path):
    html = api.report(db_url=hostile_db, out_dir=tmp_path / "report").read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html
    # no raw payload of any kind opens a tag or an attribute
    assert not re.search(r"<[^>]*onerror", html) and '"} 1' not in html


def test_prometheus_labels_escape_and_round_trip(hostile_db):
    registry = CollectorRegistry()
    register_collectors(CachedSource(DatabaseSource(api.engine(hostile_db))), registry=registry)
    text = generate_latest(registry).decode("utf-8")
    families = list(text_string_to_metric_families(text))  # the whole exposition parses
    labels = {v for f in families for s in f.samples for v in s.labels.values()}
    assert PROMQL in labels and HTML in labels and FORMULAS[0] in labels
    assert not any(line.startswith("resilience_fake") for line in text.splitlines())


def test_csv_export_neutralises_formulas(hostile_db):
    result = CliRunner().invoke(app, ["--db", hostile_db, "spof", "--all", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    ids = {r["id"] for r in rows}
    assert "'" + FORMULAS[0] in ids and "'" + FORMULAS[1] in ids
    assert not any(r[c][:1] in "=+-@" for r in rows for c in r), rows
    # numbers are numbers: a negative number would stay as is (csv_safe leaves numbers alone)
    assert all(r["nodes_lost"].isdigit() for r in rows)
