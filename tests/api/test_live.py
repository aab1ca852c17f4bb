"""The in-memory model gives the same snapshot as a full analysis, on SQLite and PostgreSQL."""

from __future__ import annotations

from resilience import api
from resilience.api.live import LiveModel
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
    model = live.model
    s1 = tmp_path / "s1.csv"
    s1.write_text(STATUS + "2024-01-01T16:10:00+09:00,A1,down,none,0\n2024-01-01T16:10:00+09:00,B2,up,battery,90\n")
    api.ingest([s1], db_url=db_url)
    assert live.refresh() == "updated" and live.model is model  # the same model, updated in place
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
    assert live.refresh() == "rebuilt" and live.model is not model


def _same_state(model, want) -> None:
    """Two compiled models hold the same state, array for array."""
    import numpy as np

    np.testing.assert_array_equal(model.node_up, want.node_up)
    np.testing.assert_array_equal(model.link_up, want.link_up)
    for key in ("state", "power"):
        np.testing.assert_array_equal(model.attrs.label(key), want.attrs.label(key), err_msg=key)
        assert model.read_node(key).tolist() == want.read_node(key).tolist(), key
    np.testing.assert_array_equal(model.attrs.numbers["battery_remaining_min"],
                                  want.attrs.numbers["battery_remaining_min"])
    np.testing.assert_array_equal(model.attrs.observed_us, want.attrs.observed_us)
    np.testing.assert_array_equal(model.attrs.fresh, want.attrs.fresh)
    for key in ("battery_remaining_min", "observed_at", "fresh", "kind", "name"):
        assert model.read_node(key).tolist() == want.read_node(key).tolist(), key


def test_live_model_keeps_no_networkx_graph_and_matches_analyze_step_by_step(db_url, contract_files, tmp_path):
    """The watch's model is the compiled model (no networkx object), and after each status
    change (node down then up, battery, a power feed off with a restore time then on, a link
    down then up, statuses going stale) its stored snapshot equals api.analyze's."""
    import pandas as pd

    from resilience.topology.compiled import CSRGraph

    api.ingest(contract_files, db_url=db_url)
    live = LiveModel(db_url)
    live.analyze()
    model = live.model
    assert isinstance(model, CSRGraph) and not hasattr(live, "G")
    power = "observed_at,power_feed,state,expected_restore_at\n"
    links = "observed_at,link_id,state\n"
    steps = [
        {"s.csv": STATUS + "2024-01-01T16:00:00+09:00,A1,down,none,0\n"
                           "2024-01-01T16:00:00+09:00,B1,up,grid,\n2024-01-01T16:00:00+09:00,B3,up,grid,\n"},
        {"s.csv": STATUS + "2024-01-01T16:05:00+09:00,B2,up,battery,90\n",
         "p.csv": power + "2024-01-01T16:05:00+09:00,F1,off,2024-01-01T20:00:00+09:00\n"},
        {"l.csv": links + "2024-01-01T16:10:00+09:00,L4,down\n"},
        {"s.csv": STATUS + "2024-01-01T16:12:00+09:00,A1,up,battery,30\n"
                           "2024-01-01T16:12:00+09:00,B2,up,battery,0\n"},
        {"p.csv": power + "2024-01-01T16:20:00+09:00,F1,on,\n"
                          "2024-01-01T16:20:00+09:00,F2,off,2024-01-02T09:00:00+09:00\n",
         "l.csv": links + "2024-01-01T16:20:00+09:00,L4,up\n2024-01-01T16:20:00+09:00,L5,down\n"},
        # 16:50: B1 and B3 (16:00) are stale; B2 down on its battery
        {"s.csv": STATUS + "2024-01-01T16:50:00+09:00,B2,down,none,0\n"},
        {"s.csv": STATUS + "2024-01-01T15:00:00+09:00,A1,down,none,0\n"},  # older: ignored
    ]
    causes = set()
    for i, files in enumerate(steps):
        paths = []
        for name, text in files.items():
            (p := tmp_path / f"{i}_{name}").write_text(text)
            paths.append(p)
        api.ingest(paths, db_url=db_url)
        assert live.refresh() in ("updated", "unchanged") and live.model is model
        eng = api.engine(db_url)
        got = read_snapshot(eng, live.analyze())
        want = read_snapshot(eng, api.analyze(db_url=db_url))
        _frames_equal(got, want)
        fresh = api.load_model(db_url=db_url)
        assert model.graph == fresh.graph  # as_of, newest_observed, power_feeds (restore times)
        _same_state(model, fresh)
        causes |= set(want.nodes_out["cause"])
    assert pd.Timestamp(got.as_of) == pd.Timestamp("2024-01-01T16:50:00+09:00")
    assert {"unknown", "power"} <= causes  # staleness and power were exercised


def _frames_equal(a, b) -> None:
    """Two snapshots hold the same analysis (ids and timings aside)."""
    import pandas as pd

    assert (a.as_of, a.total_nodes, a.total_subscribers, a.served_nodes, a.served_subscribers) == (
        b.as_of, b.total_nodes, b.total_subscribers, b.served_nodes, b.served_subscribers)
    assert a.summary == b.summary
    for name in ("elements", "srlgs", "nodes_out"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    keys = [c for c in a.aggregates.columns if c != "value"]  # stored in no particular order
    pd.testing.assert_frame_equal(a.aggregates.sort_values(keys, ignore_index=True),
                                  b.aggregates.sort_values(keys, ignore_index=True), obj="aggregates")


def test_live_model_tracks_rounds_of_changes_like_a_full_analysis(db_url, tmp_path):
    """Rounds of status feeds (nodes, links, power feeds; new, repeated and out-of-order rows;
    time moving on so older statuses go stale) applied as deltas give, round after round, the
    snapshot a full load and analysis of the store gives."""
    from datetime import timedelta

    import numpy as np
    import pandas as pd

    from resilience.sample.synthetic import generate_synthetic, write_status_update, write_synthetic
    from resilience.store.snapshots import read_snapshot

    net = generate_synthetic(2500, seed=11)
    paths = write_synthetic(net, tmp_path / "feeds")
    api.ingest([paths[k] for k in ("nodes", "links", "power", "status", "link_status")], db_url=db_url)
    live = LiveModel(db_url)
    assert live.refresh() == "rebuilt"
    model, rng = live.model, np.random.default_rng(5)
    for i, minutes in enumerate((5, 20, 45, 50)):  # 45 and 50: the first statuses are stale
        at = net.observed_at + timedelta(minutes=minutes)
        d = tmp_path / f"round{i}"
        files = [write_status_update(net, d, fraction=0.03, at=at, seed=i)]
        ls = net.link_status.sample(frac=0.02, random_state=i).assign(
            observed_at=at.isoformat(), state=lambda f: np.where(rng.random(len(f)) < 0.7, "down", "up"))
        ps = net.power_status.sample(frac=0.05, random_state=i).assign(
            observed_at=at.isoformat(), state="off")
        late = net.node_status.sample(frac=0.01, random_state=i).assign(  # out of order: ignored
            observed_at=(net.observed_at - timedelta(hours=1)).isoformat(), state="down")
        for name, df in (("links", ls), ("power", ps), ("late", late)):
            df.to_csv(d / f"{name}_status.csv", index=False)
            files.append(d / f"{name}_status.csv")
        api.ingest(files, db_url=db_url)
        assert live.refresh() == "updated" and live.model is model
        got = read_snapshot(api.engine(db_url), live.analyze())
        want = read_snapshot(api.engine(db_url), api.analyze(db_url=db_url))
        _frames_equal(got, want)
        assert pd.Timestamp(got.as_of) == pd.Timestamp(at)
    assert want.summary["nodes_out_by_cause"].get("unknown", 0) > 0  # staleness was exercised
    assert live.refresh() == "unchanged"


def test_watch_process_stores_a_snapshot_after_each_status_feed(db_url, contract_files, tmp_path):
    """`resilience watch` (the docker-compose ``watch`` service) as a real process: it builds the
    model, then stores a new snapshot from the changed rows after a status feed lands."""
    import os
    import queue
    import subprocess
    import sys
    import threading
    import time

    from resilience.store.snapshots import latest_snapshot

    api.ingest(contract_files, db_url=db_url)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "resilience.cli", "--db", db_url, "watch",
                             "--interval", "0.2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()  # a thread reads, so a silent watch cannot block us

    def pump() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put("")  # the end of its output

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []

    def next_line() -> str:
        deadline = time.monotonic() + 120
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                break
            assert line, f"watch exited ({proc.poll()}): {seen[-20:]}"
            seen.append(line)
            if line.startswith("snapshot "):
                return line
        raise AssertionError(f"no snapshot line from watch in 120 s: {seen[-20:]}")

    try:
        assert "rebuilt model" in next_line()
        s1 = tmp_path / "s1.csv"
        s1.write_text(STATUS + "2024-01-01T16:10:00+09:00,A1,down,none,0\n")
        api.ingest([s1], db_url=db_url)
        assert "updated model" in next_line()
        snap = latest_snapshot(api.engine(db_url))
        assert snap.summary["nodes_out_by_cause"].get("power") == 1
        assert "A1" in set(snap.nodes_out["node_id"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
