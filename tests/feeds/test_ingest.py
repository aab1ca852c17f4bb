"""Feed ingestion on SQLite and the real PostgreSQL: every bad input of the foundation issue gets
a clear message or a quarantine row, and accepted + quarantined == rows, always."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from resilience.errors import BadInput
from resilience.feeds.ingest import ingest_file, ingest_paths
from resilience.store import tables as t
from tests.conftest import CONTRACT_LINKS, CONTRACT_NODES

HEADER = CONTRACT_NODES.splitlines()[0]


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _quarantine(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t.quarantine).order_by(t.quarantine.c.line)).mappings()]


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _inventory(engine, contract_files):
    return ingest_paths(engine, contract_files)


def test_contract_network_ingests_whole(engine, contract_files):
    res = _inventory(engine, contract_files)
    assert [(r.kind, r.rows, r.accepted, r.quarantined) for r in res] == [
        ("nodes", 5, 5, 0), ("links", 5, 5, 0)]
    assert _count(engine, t.nodes) == 5 and _count(engine, t.links) == 5


def test_same_file_again_or_under_another_name_changes_nothing(engine, contract_files, tmp_path):
    _inventory(engine, contract_files)
    copy = _write(tmp_path, "renamed.csv", CONTRACT_NODES)
    again = ingest_paths(engine, [contract_files[0], copy])
    assert all(r.already_ingested for r in again)
    assert _count(engine, t.feed_files) == 2 and _count(engine, t.nodes) == 5


@pytest.mark.parametrize(
    ("row", "field", "why"),
    [
        ("X1,base_station,docomo,x,abc,136.9,Ishikawa,Wajima,10,6,F1", "lat", "not a number"),
        ("X1,base_station,docomo,x,NaN,136.9,Ishikawa,Wajima,10,6,F1", "lat", "not a number"),
        ("X1,base_station,docomo,x,95.0,136.9,Ishikawa,Wajima,10,6,F1", "lat", "out of range"),
        ("X1,base_station,docomo,x,37.0,200,Ishikawa,Wajima,10,6,F1", "lon", "out of range"),
        ("X1,base_station,docomo,x,37.0,136.9,Ishikawa,Wajima,-5,6,F1", "subscribers", "negative"),
        ("X1,base_station,docomo,x,37.0,136.9,Ishikawa,Wajima,ten,6,F1", "subscribers", "not a number"),
        ("X1,base_station,docomo,x,37.0,136.9,Ishikawa,Wajima,10,-1,F1", "battery_hours", "negative"),
        ("X1,tower,docomo,x,37.0,136.9,Ishikawa,Wajima,10,6,F1", "kind", "not one of"),
        (",base_station,docomo,x,37.0,136.9,Ishikawa,Wajima,10,6,F1", "node_id", "missing"),
    ],
)
def test_bad_node_rows_are_quarantined_with_field_and_reason(engine, tmp_path, row, field, why):
    good = "G1,core,docomo,g,36.5,136.6,Ishikawa,Kanazawa,0,inf,F0"
    p = _write(tmp_path, "nodes.csv", f"{HEADER}\n{good}\n{row}\n")
    r = ingest_file(engine, p)
    assert (r.rows, r.accepted, r.quarantined) == (2, 1, 1)
    (q,) = _quarantine(engine)
    assert (q["line"], q["field"]) == (3, field) and why in q["reason"], q
    assert q["path"] == str(p) and q["rule"].startswith("expect_")
    assert _count(engine, t.nodes) == 1


def test_duplicate_ids_keep_the_first(engine, tmp_path):
    p = _write(tmp_path, "nodes.csv", CONTRACT_NODES + CONTRACT_NODES.splitlines()[2] + "\n")
    r = ingest_file(engine, p)
    assert (r.rows, r.accepted, r.quarantined) == (6, 5, 1)
    assert _quarantine(engine)[0]["line"] == 7 and "duplicate" in _quarantine(engine)[0]["reason"]


def test_link_to_unknown_node_and_self_loop(engine, contract_files, tmp_path):
    ingest_file(engine, contract_files[0])
    p = _write(tmp_path, "links.csv", CONTRACT_LINKS + "L6,A1,ZZ,fiber,10,\nL7,B1,B1,fiber,10,\nL8,A1,B1,laser,10,\n")
    r = ingest_file(engine, p)
    assert (r.rows, r.accepted, r.quarantined) == (8, 5, 3)
    reasons = {q["line"]: (q["field"], q["reason"]) for q in _quarantine(engine)}
    assert reasons[7] == ("b", "endpoint b is not a known node")
    assert reasons[8][1].startswith("self-loop")
    assert reasons[9][0] == "medium"


STATUS_HEADER = "observed_at,node_id,state,power,battery_remaining_min"


def test_status_rules_unknown_node_naive_future_enum(engine, contract_files, tmp_path):
    _inventory(engine, contract_files)
    p = _write(tmp_path, "status.csv", "\n".join([
        STATUS_HEADER,
        "2024-01-01T16:10:00+09:00,B1,up,battery,300",
        "2024-01-01T16:10:00+09:00,NOPE,up,grid,",
        "2024-01-01T16:10:00,B2,up,grid,",
        "2099-01-01T00:00:00+09:00,B3,up,grid,",
        "2024-01-01T16:10:00+09:00,B3,sideways,grid,",
        "2024-01-01T16:10:00+09:00,A1,up,solar,",
        "2024-01-01T16:10:00+09:00,C1,up,grid,-4",
    ]) + "\n")
    r = ingest_file(engine, p)
    assert (r.rows, r.accepted, r.quarantined) == (7, 1, 6)
    got = {q["line"]: q["field"] for q in _quarantine(engine)}
    assert got == {3: "node_id", 4: "observed_at", 5: "observed_at", 6: "state", 7: "power",
                   8: "battery_remaining_min"}
    assert "offset" in _quarantine(engine)[1]["reason"]
    assert "future" in _quarantine(engine)[2]["reason"]


def test_history_keeps_transitions_only_and_old_status_is_not_current(engine, contract_files, tmp_path):
    _inventory(engine, contract_files)
    f1 = _write(tmp_path, "s1.csv", f"{STATUS_HEADER}\n2024-01-01T16:00:00+09:00,B1,up,grid,\n")
    f2 = _write(tmp_path, "s2.csv", f"{STATUS_HEADER}\n2024-01-01T16:05:00+09:00,B1,up,grid,\n")  # same state
    f3 = _write(tmp_path, "s3.csv", f"{STATUS_HEADER}\n2024-01-01T16:10:00+09:00,B1,up,battery,180\n"
                "2024-01-01T16:15:00+09:00,B1,up,battery,175\n2024-01-01T19:10:00+09:00,B1,down,none,0\n")
    f4 = _write(tmp_path, "s4.csv", f"{STATUS_HEADER}\n2024-01-01T17:00:00+09:00,B1,up,battery,120\n")  # late
    for f in (f1, f2, f3, f4):
        assert ingest_file(engine, f).quarantined == 0
    with engine.connect() as conn:
        hist = conn.execute(select(t.node_status_history.c.state, t.node_status_history.c.power)
                            .order_by(t.node_status_history.c.observed_at)).all()
        cur = conn.execute(select(t.node_status)).mappings().one()
    assert [tuple(h) for h in hist] == [("up", "grid"), ("up", "battery"), ("up", "battery"), ("down", "none")]
    assert (cur["state"], cur["power"], cur["battery_remaining_min"]) == ("down", "none", 0)


def test_truncated_last_line_is_quarantined(engine, tmp_path):
    p = _write(tmp_path, "nodes.csv", CONTRACT_NODES + "B9,base_station,docomo,cut")
    r = ingest_file(engine, p)
    assert (r.rows, r.accepted, r.quarantined) == (6, 5, 1)
    (q,) = _quarantine(engine)
    assert q["line"] == 7 and "truncated" in q["reason"]


def test_cp932_file_with_japanese_names(engine, tmp_path):
    text = CONTRACT_NODES.replace("Wajima 1", "輪島市 基地局 1").replace("Kanazawa core", "金沢 コア")
    p = _write(tmp_path, "nodes_sjis.csv", text, encoding="cp932")
    assert ingest_file(engine, p).accepted == 5
    with engine.connect() as conn:
        names = set(conn.execute(select(t.nodes.c.name)).scalars())
    assert {"輪島市 基地局 1", "金沢 コア"} <= names


def test_utf8_bom_and_json_lines(engine, contract_files, tmp_path):
    p = _write(tmp_path, "nodes_bom.csv", "\ufeff" + CONTRACT_NODES)
    assert ingest_file(engine, p).accepted == 5
    lines = [json.dumps({"observed_at": "2024-01-01T16:10:00+09:00", "power_feed": "F1", "state": "off"}),
             "{not json", json.dumps({"observed_at": "2024-01-01T16:10:00+09:00", "power_feed": "F2", "state": "on"})]
    j = _write(tmp_path, "power.jsonl", "\n".join(lines) + "\n")
    r = ingest_file(engine, j)
    assert (r.kind, r.rows, r.accepted, r.quarantined) == ("power_status", 3, 2, 1)
    assert _quarantine(engine)[0]["line"] == 2


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary\xff" * 50, "binary"),
        (b"\x81\x7f\xff\xfe" * 20, "not UTF-8 or CP932"),
        (b"node_id,kind,operator\nX,core,docomo\n", "field name"),
        (b"foo,bar\n1,2\n", "matches no feed kind"),
    ],
)
def test_unreadable_files_raise_bad_input_and_store_nothing(engine, tmp_path, content, needle):
    p = tmp_path / "feed.csv"
    p.write_bytes(content)
    with pytest.raises(BadInput) as exc:
        ingest_paths(engine, [p])
    assert str(p) in str(exc.value) and needle in str(exc.value)
    assert _count(engine, t.feed_files) == 0 and _count(engine, t.quarantine) == 0


def test_one_unreadable_file_stops_the_batch_before_anything_is_stored(engine, contract_files, tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(BadInput):
        ingest_paths(engine, [*contract_files, junk])
    assert _count(engine, t.nodes) == 0


def test_graphml_entity_bomb_is_refused(engine, tmp_path):
    bomb = tmp_path / "bomb.graphml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
                    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph>&lol2;</graph></graphml>')
    with pytest.raises(BadInput, match="entity"):
        ingest_paths(engine, [bomb])


def test_graphml_topology_zoo_import(engine):
    src = Path(__file__).resolve().parent.parent / "data" / "topologyzoo" / "Sinet.graphml"
    assert src.exists(), f"{src} ships with the repository (tests/data/topologyzoo)"
    import networkx as nx

    ref = nx.read_graphml(src)
    (r,) = ingest_paths(engine, [src], graphml_cores=("0",))
    assert r.kind == "graphml" and r.quarantined == 0
    assert r.rows == ref.number_of_nodes() + ref.number_of_edges()
    assert _count(engine, t.nodes) == ref.number_of_nodes()
    with engine.connect() as conn:
        kinds = dict(conn.execute(select(t.nodes.c.node_id, t.nodes.c.kind)).all())
    assert kinds["Sinet:0"] == "core" and set(kinds.values()) == {"core", "aggregation"}


def test_cli_exit_2_names_the_file(tmp_path):
    from resilience.cli import app

    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 8)
    res = CliRunner().invoke(app, ["--db", f"sqlite:///{tmp_path}/r.db", "ingest", str(junk)])
    assert res.exit_code == 2 and "junk.csv" in res.output


def test_cli_json_shape(tmp_path, contract_files):
    from resilience.cli import app

    res = CliRunner().invoke(app, ["--db", f"sqlite:///{tmp_path}/r.db", "ingest", *map(str, contract_files),
                                   "--format", "json"])
    assert res.exit_code == 0, res.output
    files = json.loads(res.stdout)["files"]
    assert [set(f) for f in files] == [{"path", "kind", "rows", "accepted", "quarantined", "already_ingested",
                                        "redefined", "roles_changed"}] * 2
