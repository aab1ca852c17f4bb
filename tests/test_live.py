"""The in-memory model gives the same snapshot as a full analysis, on SQLite and PostgreSQL."""

from __future__ import annotations

from resilience import api
from resilience.live import LiveModel
from resilience.store.snapshots import read_snapshot

STATUS = "observed_at,node_id,state,power,battery_remaining_min\n"


def _same(a, b) -> None:
    assert (a.served_nodes, a.served_subscribers, a.total_nodes) == (b.served_nodes, b.served_subscribers, b.total_nodes)
    for name in ("elements", "srlgs", "nodes_out"):
        fa = getattr(a, name).sort_values(list(getattr(a, name).columns[:2])).reset_index(drop=True)
        fb = getattr(b, name).sort_values(list(getattr(b, name).columns[:2])).reset_index(drop=True)
        assert fa.equals(fb), name


def test_live_model_updates_in_place_and_matches_a_full_analysis(db_url, contract_files, tmp_path):
    api.ingest(contract_files, db_url=db_url)
    live = LiveModel(db_url)
    first = live.analyze()
    G = live.G
    s1 = tmp_path / "s1.csv"
    s1.write_text(STATUS + "2024-01-01T16:10:00+09:00,A1,down,none,0\n2024-01-01T16:10:00+09:00,B2,up,battery,90\n")
    api.ingest([s1], db_url=db_url)
    assert live.refresh() == "updated" and live.G is G  # the same graph, updated in place
    sid = live.analyze()
    assert sid != first
    full = api.analyze(db_url=db_url)
    eng = api.engine(db_url)
    got, want = read_snapshot(eng, sid), read_snapshot(eng, full)
    _same(got, want)
    assert got.served_subscribers == 200  # A1 down: only B2 (over L4) is still served
    links = tmp_path / "links2.csv"
    links.write_text("link_id,a,b,medium,capacity_mbps,srlg\nL6,C1,B1,fiber,100,\n")
    api.ingest([links], db_url=db_url)
    assert live.refresh() == "rebuilt" and live.G is not G
