"""The what-if result page: what a planner reads (names, places, operators; no id walls, no
JSON), escaping of hostile names, the power timeline and the earthquake distribution, rendered
in real headless Chromium (screenshots under ``var/test-artifacts/whatif-*.png``); and the
daily report's "previous" is the previous report's snapshot."""

from __future__ import annotations

import html as html_lib
import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from resilience import api
from resilience.reports.whatif import build_whatif_page
from tests.conftest import missing
from tests.reports.test_report_chromium import CHROMIUM, FLAGS

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
SCENARIOS = Path(__file__).resolve().parents[2] / "config" / "scenarios"


@pytest.fixture(scope="module")
def noto(tmp_path_factory) -> str:
    """The Noto sample network (`resilience sample noto`) in a store of its own."""
    from resilience.sample.noto import write_noto

    d = tmp_path_factory.mktemp("noto")
    url = f"sqlite:///{d}/r.db"
    api.ingest(sorted(write_noto(d / "feeds").values()), db_url=url)
    return url


def _page(url: str, tmp_path: Path, scenario: dict, name: str) -> tuple[str, dict]:
    out = api.run_whatif(scenario, tmp_path / name, run_id=f"manual__{name}", db_url=url)
    return Path(out["html"]).read_text(encoding="utf-8"), out


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_power_outage_page_reads_as_names_places_and_a_timeline(noto, tmp_path):
    sc = api.scenario_from_params({"scenario_file": "wajima-power-24h.yaml"}, scenarios_dir=SCENARIOS)
    html, out = _page(noto, tmp_path, sc, "power")
    result = json.loads(Path(out["json"]).read_text())["result"]
    lost = result["lost"]
    assert html.count('id="timeline"') == 1 and "Hour by hour" in html
    assert f'id="sites-lost">{len(lost["nodes"]):,}<' in html
    assert f'id="subscribers-lost">{lost["subscribers"]:,}<' in html
    assert "Wajima" in html and "Suzu" in html and "docomo" in html  # places and operators
    named = [n for n in lost["names"] if n]
    assert named and named[0] in html  # sites by name
    text = _text(html)
    # no wall of ids: no run of ten ids in a row without a name between them
    assert not re.search(r"(\b[A-Z]{2,4}-[A-Z]{2,3}-[A-Z]?\d+\b[ ,]+){10}", text)
    assert '"baseline"' not in html and "<script" not in html and "http" not in html.split("</head>")[1]
    assert result["newly_single_homed"] and 'id="single-homed-table"' in html


def test_earthquake_page_shows_the_distribution_of_every_run(noto, tmp_path):
    sc = api.scenario_from_params({"scenario_file": "wajima-earthquake.yaml"}, scenarios_dir=SCENARIOS)
    html, out = _page(noto, tmp_path, sc, "quake")
    mc = json.loads(Path(out["json"]).read_text())["result"]["monte_carlo"]
    assert len(mc["per_run"]["subscribers_lost"]) == mc["runs"] == 1000
    assert sum(mc["per_run"]["subscribers_lost"]) / 1000 == pytest.approx(mc["subscribers_lost"]["mean"])
    assert 'id="monte-carlo"' in html and "Subscribers lost per Monte Carlo run" in html
    assert "Sites most likely out" in html


def test_hostile_names_are_escaped():
    import pandas as pd

    evil = '<img src=x onerror=alert(1)>'
    sites = pd.DataFrame({"node_id": ["C", "A"], "name": ["core", evil], "kind": ["core", "base_station"],
                          "operator": ["op", "=HYPERLINK(1)"], "prefecture": ["P", "P"],
                          "municipality": ["M", evil], "lat": [36.5, 37.4], "lon": [136.6, 136.9],
                          "subscribers": [0, 5]})
    r = {"description": {"type": "explicit", "fail": ["A"], "name": evil},
         "baseline": {"served_nodes": 2, "served_subscribers": 5}, "scenario": {"served_nodes": 1, "served_subscribers": 0},
         "lost": {"nodes": ["A"], "subscribers": 5}, "failed": {"nodes": ["A"], "links": []},
         "new_spofs_detail": [], "newly_single_homed": []}
    html = build_whatif_page(r["description"], r, sites=sites)
    assert evil not in html and "&lt;img" in html and "&#39;=HYPERLINK(1)" in html  # quoted for spreadsheets


@pytest.mark.chromium
def test_the_page_renders_in_chromium(noto, tmp_path):
    if not Path(CHROMIUM).exists():
        missing("chromium", f"no chromium at {CHROMIUM} (scripts/system-deps.sh)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, file in (("power", "wajima-power-24h.yaml"), ("quake", "wajima-earthquake.yaml"),
                       ("srlg", "noto-route-249.yaml")):
        sc = api.scenario_from_params({"scenario_file": file}, scenarios_dir=SCENARIOS)
        _, out = _page(noto, tmp_path, sc, name)
        shot = ARTIFACTS / f"whatif-{name}.png"
        shot.unlink(missing_ok=True)
        profile = tmp_path / f"profile-{name}"
        run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--window-size=1240,2400",
                              f"--screenshot={shot}", Path(out["html"]).as_uri()],
                             capture_output=True, text=True, timeout=120, check=False)
        assert run.returncode == 0 and shot.stat().st_size > 20_000, run.stderr[-2000:]
        dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}-dom", "--dump-dom",
                              Path(out["html"]).as_uri()], capture_output=True, text=True, timeout=120,
                             check=False).stdout
        assert 'id="sites-lost"' in dom and "<svg" in dom


def test_report_compares_with_the_previous_reports_snapshot(tmp_path, contract_files):
    from resilience.reports import write_report

    url = f"sqlite:///{tmp_path}/r.db"
    api.ingest(contract_files, db_url=url)
    first = api.analyze(db_url=url)
    eng = api.engine(url)
    out = tmp_path / "reports"
    write_report(eng, out)  # the report of snapshot `first`
    for i in range(3):  # three more states between the two reports
        s = tmp_path / f"s{i}.csv"
        state = "down" if i % 2 == 0 else "up"
        s.write_text("observed_at,node_id,state,power,battery_remaining_min\n"
                     f"{datetime(2024, 1, 3, 0, i, tzinfo=UTC).isoformat()},A1,{state},none,0\n")
        api.ingest([s], db_url=url)
        api.analyze(db_url=url)
    html = write_report(eng, out).read_text(encoding="utf-8")
    rec = re.search(r'<meta name="resilience-report" content="([^"]*)">', html).group(1)
    assert json.loads(html_lib.unescape(rec))["previous"]["id"] == first
    assert "Since the previous report" in html
