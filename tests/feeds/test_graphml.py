"""GraphML imports on SQLite and PostgreSQL: namespaced ids (two Topology Zoo files whose ids
are both 0..n stay two networks; a GraphML node C1 leaves the CSV core C1 alone), redefinition
by another source refused (exit 2, file/line/field) unless allowed, re-delivery from the same
source updates, unambiguous link ids, and a node without an id quarantined."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from resilience.errors import BadInput
from resilience.feeds.graphml import read_graphml
from resilience.feeds.ingest import ingest_file, ingest_paths
from resilience.store import repo
from resilience.store import tables as t

ZOO = Path(__file__).resolve().parent.parent / "data" / "topologyzoo"
GRAPHML = '<?xml version="1.0"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'


def _graphml(nodes: list[str | None], edges: list[tuple[str, str]], network: str = "") -> str:
    out = [GRAPHML, '<key attr.name="Network" for="graph" id="g0"/>\n<graph edgedefault="undirected">\n']
    if network:
        out.append(f'<data key="g0">{network}</data>\n')
    out += [(f'<node id="{n}"/>\n' if n is not None else "<node/>\n") for n in nodes]
    out += [f'<edge source="{s}" target="{d}"/>\n' for s, d in edges]
    out.append("</graph>\n</graphml>\n")
    return "".join(out)


def _rows(engine, table) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table)).mappings()]


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_two_zoo_files_with_ids_0_to_n_stay_two_networks(engine):
    sinet, abilene = ZOO / "Sinet.graphml", ZOO / "Abilene.graphml"
    refs = {"Sinet": nx.read_graphml(sinet), "Abilene": nx.read_graphml(abilene)}
    assert {"0", "1"} <= set(refs["Sinet"]) & set(refs["Abilene"])  # the collision this is about
    res = ingest_paths(engine, [sinet, abilene], graphml_cores=("0",))
    assert [(r.accepted, r.quarantined, r.redefined) for r in res] == [
        (g.number_of_nodes() + g.number_of_edges(), 0, 0) for g in refs.values()]
    nodes, links = _rows(engine, t.nodes), _rows(engine, t.links)
    assert len(nodes) == sum(g.number_of_nodes() for g in refs.values())
    for ns, ref in refs.items():
        mine = {n["node_id"]: n for n in nodes if n["node_id"].startswith(ns + ":")}
        assert set(mine) == {f"{ns}:{n}" for n in ref.nodes}
        assert mine[f"{ns}:0"]["kind"] == "core" and mine[f"{ns}:0"]["source"] == f"graphml:{ns}/{ns}"
        edges = sorted(tuple(sorted((lk["a"], lk["b"]))) for lk in links if lk["source"] == f"graphml:{ns}/{ns}")
        assert edges == sorted(tuple(sorted((f"{ns}:{u}", f"{ns}:{v}"))) for u, v in ref.edges())


def test_graphml_node_c1_next_to_the_csv_core_c1_leaves_the_core_alone(db_url, contract_files, tmp_path, monkeypatch):
    from resilience import api

    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))
    p = tmp_path / "metro.graphml"
    p.write_text(_graphml(["C1", "X2"], [("C1", "X2")]))
    api.ingest([*contract_files, p], db_url=db_url)
    state = api.load_state(db_url=db_url)["nodes"].set_index("node_id")
    assert (state.loc["C1", "kind"], state.loc["metro:C1", "kind"]) == ("core", "aggregation")
    spof = api.spof(db_url=db_url, top=None)
    c1 = spof[(spof["element_type"] == "node") & (spof["id"] == "C1")].iloc[0]
    assert (int(c1["nodes_lost"]), int(c1["subscribers_lost"])) == (5, 700)


def test_redefinition_by_another_namespace_is_refused_naming_file_line_field(engine, tmp_path):
    ingest_file(engine, ZOO / "Sinet.graphml")
    before = _rows(engine, t.nodes)
    with pytest.raises(BadInput) as exc:
        ingest_file(engine, ZOO / "Abilene.graphml", namespace="Sinet")
    err = exc.value
    assert err.path.endswith("Abilene.graphml") and err.field == "node_id" and err.line
    assert "graphml:Sinet/Sinet" in err.message and "--allow-redefine" in err.message
    first = (ZOO / "Abilene.graphml").read_text().splitlines()[err.line - 1]
    assert '<node id="0">' in first  # the line really is where that node is defined
    assert _rows(engine, t.nodes) == before and _count(engine, t.feed_files) == 1


def test_redefinition_explicitly_allowed_is_reported_and_recorded(engine):
    ingest_file(engine, ZOO / "Sinet.graphml")
    path = ZOO / "Abilene.graphml"
    incoming = read_graphml(path.read_bytes(), str(path), "0" * 64, "utf-8", namespace="Sinet")
    stored = {r["node_id"] for r in _rows(engine, t.nodes)} | {r["link_id"] for r in _rows(engine, t.links)}
    taken = (set(incoming.frame["node_id"]) | set(incoming.graph_links["link_id"])) & stored
    r = ingest_file(engine, path, namespace="Sinet", allow_redefine=True)
    assert r.redefined == len(taken) > 0
    with engine.connect() as conn:
        changes = repo.inventory_changes(conn, "Sinet:0")
    src = changes[changes["field"] == "source"]
    assert src[["old_value", "new_value", "origin"]].values.tolist() == [
        ["graphml:Sinet/Sinet", "graphml:Sinet/Abilene", "ingest"]]


def test_redelivery_from_the_same_source_updates_and_records_the_change(engine, tmp_path):
    text = (ZOO / "Sinet.graphml").read_text()
    ingest_file(engine, ZOO / "Sinet.graphml")
    label = nx.read_graphml(ZOO / "Sinet.graphml").nodes["0"]["label"]
    updated = tmp_path / "sinet-2025.graphml"  # another file name, same network: same source
    updated.write_text(text.replace(f">{label}<", ">Renamed site<", 1))
    r = ingest_file(engine, updated)
    assert (r.redefined, r.already_ingested) == (0, False)
    with engine.connect() as conn:
        name = conn.execute(select(t.nodes.c.name).where(t.nodes.c.node_id == "Sinet:0")).scalar_one()
        changes = repo.inventory_changes(conn, "Sinet:0")
    assert name == "Renamed site"
    # the label is the name and, without municipality data, the municipality too
    assert sorted(changes[["field", "old_value", "new_value"]].values.tolist()) == [
        ["municipality", label, "Renamed site"], ["name", label, "Renamed site"]]


def test_csv_of_another_operator_cannot_redefine_a_node(db_url, contract_files, tmp_path, monkeypatch):
    from resilience.cli import app

    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(app, ["--db", db_url, "ingest", *map(str, contract_files)]).exit_code == 0
    header = contract_files[0].read_text().splitlines()[0]
    other = tmp_path / "kddi.csv"
    other.write_text(f"{header}\nK1,base_station,kddi,k,37.0,136.9,Ishikawa,Wajima,10,6,F1\n"
                     "C1,aggregation,kddi,KDDI hub,36.5,136.6,Ishikawa,Kanazawa,0,6,F0\n")
    res = runner.invoke(app, ["--db", db_url, "ingest", str(other)])
    assert res.exit_code == 2
    assert f"{other}:3: field node_id: node 'C1' is defined by feed:docomo" in res.stderr
    res = runner.invoke(app, ["--db", db_url, "spof", "--all", "--format", "json"])
    got = {(r["element_type"], str(r["id"])): r["subscribers_lost"] for r in json.loads(res.stdout)}
    assert got[("node", "C1")] == 700 and ("node", "K1") not in got  # nothing of kddi.csv stored


def test_link_ids_do_not_collide_when_node_ids_hold_dashes(engine, tmp_path):
    p = tmp_path / "dash.graphml"
    p.write_text(_graphml(["1-2", "3", "1", "2-3", "4#1"], [("1-2", "3"), ("1", "2-3"), ("1", "4#1"), ("1", "4#1")]))
    r = ingest_file(engine, p)
    assert (r.rows, r.accepted, r.quarantined) == (9, 9, 0)
    ids = sorted(lk["link_id"] for lk in _rows(engine, t.links))
    assert ids == ["dash:1%2D2-3", "dash:1-2%2D3", "dash:1-4%231", "dash:1-4%231#1"]


def test_a_node_without_an_id_is_quarantined_not_stored_as_none(engine, tmp_path):
    p = tmp_path / "noid.graphml"
    p.write_text(_graphml(["a", None, "b"], [("a", "b")]))
    r = ingest_file(engine, p)
    assert (r.rows, r.accepted, r.quarantined) == (4, 3, 1)
    (q,) = _rows(engine, t.quarantine)
    assert (q["line"], q["field"], q["rule"], q["status"]) == (6, "node_id", "graphml_node_has_id", "open")
    assert sorted(n["node_id"] for n in _rows(engine, t.nodes)) == ["noid:a", "noid:b"]


def test_default_namespace_is_the_network_name_else_the_file_stem():
    named = read_graphml(_graphml(["0"], [], network="Bell Canada").encode(), "x/zoo.graphml", "0" * 64, "utf-8")
    bare = read_graphml(_graphml(["0"], []).encode(), "x/my net.graphml", "0" * 64, "utf-8")
    assert list(named.frame["node_id"]) == ["Bell_Canada:0"]
    assert named.frame["source"][0] == "graphml:Bell_Canada/Bell Canada"
    assert list(bare.frame["node_id"]) == ["my_net:0"]


@pytest.mark.parametrize("namespace", ["", "a:b", "two words", "x" * 65])
def test_a_bad_namespace_is_refused(tmp_path, namespace):
    from resilience.cli import app

    p = tmp_path / "n.graphml"
    p.write_text(_graphml(["0"], []))
    res = CliRunner().invoke(app, ["--db", f"sqlite:///{tmp_path}/r.db", "ingest", str(p), "--namespace", namespace])
    assert res.exit_code == 2 and "field namespace" in res.stderr


def test_cores_qualified_by_namespace_apply_to_their_own_file(engine, tmp_path):
    a, b = tmp_path / "a.graphml", tmp_path / "b.graphml"
    a.write_text(_graphml(["0", "1"], [("0", "1")]))
    b.write_text(_graphml(["5", "6"], [("5", "6")]))
    ingest_paths(engine, [a, b], graphml_cores=("a:1", "b:5"))
    kinds = {n["node_id"]: n["kind"] for n in _rows(engine, t.nodes)}
    assert kinds == {"a:0": "aggregation", "a:1": "core", "b:5": "core", "b:6": "aggregation"}
    with pytest.raises(BadInput, match="core node '7' is not in the GraphML file"):
        ingest_paths(engine, [a], graphml_cores=("7",))


def test_one_namespace_for_two_graphml_files_is_refused(engine, tmp_path):
    a, b = tmp_path / "a.graphml", tmp_path / "b.graphml"
    a.write_text(_graphml(["0"], []))
    b.write_text(_graphml(["1"], []))
    with pytest.raises(BadInput, match="each with its own namespace"):
        ingest_paths(engine, [a, b], namespace="net")
    assert _count(engine, t.nodes) == 0
