"""The bulk paths of an inventory ingest: a first load into empty tables (indexes, when the table
has any, rebuilt after the rows; no change diff) stores what a re-delivery does, on SQLite and
PostgreSQL. (Index rebuilds and their rollback are tested on the snapshot write,
tests/api/test_snapshot_elements_stored_once.py: links have no secondary index since 0007.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from resilience.feeds.ingest import ingest_file
from resilience.store import repo
from resilience.store import tables as t

NODES = ("node_id,kind,operator,name,lat,lon,prefecture,municipality,subscribers,battery_hours,power_feed\n"
         "C1,core,docomo,Core,36.5,136.6,Ishikawa,Kanazawa,0,inf,F0\n"
         "A1,aggregation,kddi,Agg,37.0,136.7,Ishikawa,Nanao,0,24,F1\n"
         "B1,base_station,kddi,BS,37.4,136.9,Ishikawa,Wajima,120,6,F2\n")
LINKS = ("link_id,a,b,medium,capacity_mbps,srlg\n"
         "L1,C1,A1,fiber,100000,K1\nL2,A1,B1,microwave,1000,\n")


@pytest.fixture
def rebuild_always(monkeypatch):
    """Every first load rebuilds the indexes (the threshold is for a million rows)."""
    monkeypatch.setattr(repo, "_REBUILD_FROM", 1)


def _write(d: Path, name: str, text: str) -> Path:
    (d / name).write_text(text)
    return d / name


def _links(engine) -> dict:
    with engine.connect() as conn:
        return repo.current_values(conn, "links", ["a", "b", "source"]).to_dict("index")


def test_first_load_keeps_the_indexes_and_sources(engine, tmp_path, rebuild_always):
    ingest_file(engine, _write(tmp_path, "nodes.csv", NODES))
    r = ingest_file(engine, _write(tmp_path, "links.csv", LINKS))
    assert (r.rows, r.accepted, r.quarantined) == (2, 2, 0)
    names = {ix["name"] for ix in inspect(engine).get_indexes("links")}
    assert names == {ix.name for ix in t.links.indexes}  # the schema's, none left over
    # each link belongs to the operator of its end a
    assert _links(engine) == {"L1": {"a": "C1", "b": "A1", "source": "feed:docomo"},
                              "L2": {"a": "A1", "b": "B1", "source": "feed:kddi"}}
    with engine.connect() as conn:
        assert repo.inventory_changes(conn).empty  # a first load changes no stored element


def test_redelivery_after_a_first_load_records_each_change(engine, tmp_path, rebuild_always):
    ingest_file(engine, _write(tmp_path, "nodes.csv", NODES))
    ingest_file(engine, _write(tmp_path, "links.csv", LINKS))
    ingest_file(engine, _write(tmp_path, "links2.csv", LINKS.replace("microwave,1000", "fiber,1000")
                               + "L3,C1,B1,fiber,10,\n"))
    with engine.connect() as conn:
        ch = repo.inventory_changes(conn)
    assert ch[["element_id", "field", "old_value", "new_value", "source"]].values.tolist() == [
        ["L2", "medium", "microwave", "fiber", "feed:kddi"]]
    assert _links(engine)["L3"]["source"] == "feed:docomo"


def test_a_rolled_back_first_load_leaves_the_table_as_it_was(engine, tmp_path, rebuild_always):
    """All or nothing: a first load refused at the end (here: its ledger does not balance)
    leaves no row and the schema's indexes."""
    ingest_file(engine, _write(tmp_path, "nodes.csv", NODES))
    boom = RuntimeError("after the rows")

    def fail(*_a, **_k):
        raise boom

    mp = pytest.MonkeyPatch()
    mp.setattr(repo, "add_quarantine", fail)
    try:
        with pytest.raises(RuntimeError):
            ingest_file(engine, _write(tmp_path, "links.csv", LINKS))
    finally:
        mp.undo()
    assert _links(engine) == {}
    names = {ix["name"] for ix in inspect(engine).get_indexes("links")}
    assert names == {ix.name for ix in t.links.indexes}  # the schema's, none left over
