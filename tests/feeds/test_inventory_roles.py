"""Roles without re-delivery, on SQLite and PostgreSQL: `resilience inventory set-kind` changes
the kind of stored nodes (validated kind, unknown id -> exit 2 and nothing changed), each change
recorded in the inventory history; `--core` on a GraphML file already ingested is applied as a
role change with a message; a re-delivery without kinds keeps the roles set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from resilience.cli import app
from tests.conftest import CONTRACT_NODES

ZOO = Path(__file__).resolve().parent.parent / "data" / "topologyzoo"


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, ["--db", db_url, *args])

    return run


def _kinds(db_url) -> dict[str, str]:
    from resilience import api
    from resilience.store import tables as t

    with api.engine(db_url).connect() as conn:
        return dict(conn.execute(select(t.nodes.c.node_id, t.nodes.c.kind)).all())


def _spof_count(cli) -> int:
    res = cli("spof", "--format", "json")
    assert res.exit_code == 0, res.output
    return len(json.loads(res.stdout))


def test_set_kind_makes_cores_and_is_recorded(cli, db_url):
    assert cli("ingest", str(ZOO / "Sinet.graphml")).exit_code == 0
    assert _spof_count(cli) == 0  # no core: nothing is served, no blast radius
    res = cli("inventory", "set-kind", "0,12", "core", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {"changed": [
        {"node_id": "Sinet:0", "old_kind": "aggregation", "new_kind": "core"},
        {"node_id": "Sinet:12", "old_kind": "aggregation", "new_kind": "core"}]}
    kinds = _kinds(db_url)
    assert (kinds["Sinet:0"], kinds["Sinet:12"], kinds["Sinet:1"]) == ("core", "core", "aggregation")
    assert _spof_count(cli) > 0
    hist = json.loads(cli("inventory", "history", "--id", "Sinet:12", "--format", "json").stdout)["changes"]
    assert [(h["field"], h["old_value"], h["new_value"], h["origin"], h["source"]) for h in hist] == [
        ("kind", "aggregation", "core", "set-kind", "graphml:Sinet/Sinet")]
    again = cli("inventory", "set-kind", "Sinet:12", "core", "--format", "json")
    assert json.loads(again.stdout) == {"changed": []}


def test_set_kind_with_an_unknown_id_changes_nothing(cli, db_url):
    assert cli("ingest", str(ZOO / "Sinet.graphml")).exit_code == 0
    res = cli("inventory", "set-kind", "0,99999", "core")
    assert res.exit_code == 2 and "unknown node '99999'" in res.stderr and "field node_id" in res.stderr
    assert _kinds(db_url)["Sinet:0"] == "aggregation"


@pytest.mark.parametrize("kind", ["tower", "", "CORE"])
def test_set_kind_with_an_unknown_kind_is_refused(cli, db_url, kind):
    assert cli("ingest", str(ZOO / "Sinet.graphml")).exit_code == 0
    res = cli("inventory", "set-kind", "0", kind)
    assert res.exit_code == 2 and "field kind" in res.stderr
    assert set(_kinds(db_url).values()) == {"aggregation"}


def test_an_id_in_two_namespaces_needs_the_namespace(cli, db_url):
    assert cli("ingest", str(ZOO / "Sinet.graphml"), str(ZOO / "Abilene.graphml")).exit_code == 0
    res = cli("inventory", "set-kind", "0", "core")
    assert res.exit_code == 2 and "ambiguous" in res.stderr
    assert cli("inventory", "set-kind", "0", "core", "--namespace", "Abilene").exit_code == 0
    kinds = _kinds(db_url)
    assert (kinds["Abilene:0"], kinds["Sinet:0"]) == ("core", "aggregation")


def test_core_on_a_graphml_already_ingested_is_applied_as_a_role_change(cli, db_url):
    assert cli("ingest", str(ZOO / "Sinet.graphml")).exit_code == 0
    res = cli("ingest", str(ZOO / "Sinet.graphml"), "--core", "0", "--format", "json")
    assert res.exit_code == 0, res.output
    (f,) = json.loads(res.stdout)["files"]
    assert (f["already_ingested"], f["roles_changed"]) == (True, 1)
    assert "--core applied as a role change" in res.stderr and "inventory set-kind" in res.stderr
    assert _kinds(db_url)["Sinet:0"] == "core"
    hist = json.loads(cli("inventory", "history", "--format", "json").stdout)["changes"]
    assert [(h["element_id"], h["origin"]) for h in hist] == [("Sinet:0", "ingest --core")]


def test_a_redelivery_without_kinds_keeps_the_roles_set(cli, db_url, tmp_path):
    assert cli("ingest", str(ZOO / "Sinet.graphml"), "--core", "0").exit_code == 0
    assert cli("inventory", "set-kind", "Sinet:5", "core").exit_code == 0
    updated = tmp_path / "Sinet-update.graphml"
    updated.write_text((ZOO / "Sinet.graphml").read_text().replace("</graph>", "<node id=\"new\"/></graph>"))
    assert cli("ingest", str(updated)).exit_code == 0
    kinds = _kinds(db_url)
    assert (kinds["Sinet:0"], kinds["Sinet:5"], kinds["Sinet:new"]) == ("core", "core", "aggregation")


def test_a_csv_redelivery_that_changes_a_kind_is_recorded(cli, tmp_path):
    first, second = tmp_path / "nodes.csv", tmp_path / "nodes-2.csv"
    first.write_text(CONTRACT_NODES)
    second.write_text(CONTRACT_NODES.replace("A1,aggregation,", "A1,optical_node,"))
    assert cli("ingest", str(first)).exit_code == 0
    assert cli("ingest", str(second)).exit_code == 0
    hist = json.loads(cli("inventory", "history", "--format", "json").stdout)["changes"]
    assert [(h["element_id"], h["field"], h["old_value"], h["new_value"], h["origin"], h["source"]) for h in hist] == [
        ("A1", "kind", "aggregation", "optical_node", "ingest", "feed:docomo")]
