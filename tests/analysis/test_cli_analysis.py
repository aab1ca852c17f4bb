"""The analysis commands (spof, whatif, forecast, analyze) on the five-site network of
../shared/checks/contracts.sh: names next to ids, the hidden part of shared-risk groups, the
no-core warning, and every argument checked with a one-line error and exit 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from resilience.cli import app

NO_CORE = "no core node"


@pytest.fixture
def store(contract_files, tmp_path, monkeypatch):
    """A SQLite store holding the five-site network (C1 is the core)."""
    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps table cells at the terminal width
    url = f"sqlite:///{tmp_path}/r.db"
    run = CliRunner()
    assert run.invoke(app, ["--db", url, "ingest", *map(str, contract_files)]).exit_code == 0
    return url


def cli(url: str, *args: str):
    return CliRunner().invoke(app, ["--db", url, *args])


def test_spof_srlg_json_lists_the_hidden_part(store):
    r = cli(store, "spof", "--srlg", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == [{"srlg": "R1", "links": ["L1", "L4"], "nodes_lost": 4,
                                     "subscribers_lost": 700, "hidden_nodes": 2,
                                     "hidden_subscribers": 200}]
    table = cli(store, "spof", "--srlg").stdout
    assert "R1" in table and "L1,L4" in table and "200" in table


def test_spof_json_keeps_ids_and_adds_names_and_link_ends(store):
    rows = json.loads(cli(store, "spof", "--format", "json").stdout)
    by_id = {r["id"]: r for r in rows}
    assert by_id["A1"] == {"element_type": "node", "id": "A1", "name": "Wajima agg",
                           "nodes_lost": 3, "subscribers_lost": 500}
    assert by_id["L2"]["a"] == "A1" and by_id["L2"]["b"] == "B1"
    assert by_id["L2"]["name"] == "Wajima agg – Wajima 1"
    assert [r["subscribers_lost"] for r in rows] == sorted((r["subscribers_lost"] for r in rows),
                                                           reverse=True)


def test_spof_table_shows_names_and_the_headline_split(store):
    out = cli(store, "spof").stdout
    assert "Kanazawa core" in out and "Wajima agg" in out
    assert "B1 Wajima 1" in out and "B3 Wajima 3" in out  # L5's two ends
    # C1, A1, B1 and L2 cut other sites; B3 hangs on its own access link L5
    assert "4 single points of failure cut other sites; 1 site hangs on its own access link" in out


def test_whatif_table_names_lost_sites_and_new_spofs(store):
    out = cli(store, "whatif", "--fail", "A1").stdout
    assert "A1 (Wajima agg), B1 (Wajima 1), B3 (Wajima 3)" in out
    assert "C1 Kanazawa core – B2 Wajima 2" in out  # L4 becomes a single point of failure


def test_earthquake_table_shows_the_monte_carlo(store, tmp_path):
    q = tmp_path / "quake.yaml"
    q.write_text("type: earthquake\nepicentre: {lat: 37.4, lon: 136.9}\n"
                 "fragility: {x: [0, 5, 50], p: [0.9, 0.5, 0.0]}\nruns: 200\nseed: 1\n")
    mc = json.loads(cli(store, "whatif", "--scenario", str(q), "--format", "json").stdout)
    mc = mc["monte_carlo"]
    out = cli(store, "whatif", "--scenario", str(q)).stdout
    assert "Monte Carlo (200 runs, seed 1)" in out
    for what in ("nodes_lost", "subscribers_lost"):
        line = next(x for x in out.splitlines() if what in x)
        for stat in ("mean", "p50", "p95"):
            assert str(mc[what][stat]) in line, (what, stat, line)
    assert mc["subscribers_lost"]["mean"] > 0


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["forecast", "--hours", "-1,nan"], "--hours"),
        (["forecast", "--hours", "inf"], "--hours"),
        (["forecast", "--hours", ","], "--hours"),
        (["spof", "--top", "-1"], "--top"),
        (["whatif", "--region", "91,0,10"], "--region"),
        (["whatif", "--region", "37,181,10"], "--region"),
        (["whatif", "--region", "37,136,nan"], "--region"),
        (["whatif", "--region", "37,136,0"], "--region"),
        (["whatif", "--region", "37,136"], "--region"),
        (["whatif", "--power-outage", "F1", "--hours", "inf"], "--hours"),
        (["whatif", "--power-outage", "F1", "--hours", "-2"], "--hours"),
        (["whatif", "--power-outage", "F1"], "needs --hours"),
        (["whatif", "--fail", "NOPE"], "unknown node or link"),
        (["whatif"], "no damage given"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(store, args, where):
    r = cli(store, *args)
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and where in lines[0], r.stderr
    assert "Traceback" not in r.output


def test_scenario_file_that_is_not_a_scenario_is_not_echoed(store, tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:hunter2:/root:/bin/bash\nalice: x: 1\n")
    r = cli(store, "whatif", "--scenario", str(secret))
    assert r.exit_code == 2
    assert "hunter2" not in r.output and "root:x" not in r.output
    assert len(r.stderr.strip().splitlines()) == 1 and str(secret) in r.stderr


def test_no_core_warns_on_stderr_and_exits_0(contract_files, tmp_path, monkeypatch):
    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))
    nodes, links = contract_files
    nodes.write_text(nodes.read_text().replace("C1,core", "C1,aggregation"))
    url = f"sqlite:///{tmp_path}/nocore.db"
    assert cli(url, "ingest", str(nodes), str(links)).exit_code == 0
    for args in (["analyze"], ["spof"], ["spof", "--srlg"], ["forecast"],
                 ["whatif", "--fail", "A1"]):
        r = cli(url, *args)
        assert r.exit_code == 0, (args, r.output)
        warned = [x for x in r.stderr.splitlines() if x.startswith("warning: ")]
        assert len(warned) == 1 and NO_CORE in warned[0], (args, r.stderr)
    assert NO_CORE not in cli(f"sqlite:///{tmp_path}/r.db", "spof").stderr


def test_with_a_core_nothing_is_warned(store):
    for args in (["analyze"], ["spof"], ["forecast"], ["whatif", "--fail", "B3"]):
        r = cli(store, *args)
        assert r.exit_code == 0 and "warning" not in r.stderr, (args, r.stderr)
