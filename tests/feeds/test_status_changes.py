"""The change sequence of the current state (``status_seq``) on SQLite and the real PostgreSQL:
a status ingest stamps the rows it writes, :func:`load_state_changes` returns exactly the rows
changed since a mark, and no committed change is ever missed."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, text

from resilience.feeds.ingest import ingest_file, ingest_paths
from resilience.feeds.readers import read_feed
from resilience.feeds.validate import ValidationContext, validate_rows
from resilience.store import repo
from resilience.store import tables as t
from resilience.store.engine import make_engine, migrate
from resilience.store.repo import STATUS_TABLES, load_state, load_state_changes, status_seq

STATUS_HEADER = "observed_at,node_id,state,power,battery_remaining_min"
LINK_HEADER = "observed_at,link_id,state"
POWER_HEADER = "observed_at,power_feed,state,expected_restore_at"
KEYS = {"node_status": "node_id", "link_status": "link_id", "power_status": "power_feed"}

# Every node of the five-site network, at 16:00 JST.
ALL_NODES = "".join(f"2024-01-01T16:00:00+09:00,{n},up,grid,\n" for n in ("C1", "A1", "B1", "B2", "B3"))


def _write(tmp_path: Path, name: str, header: str, body: str) -> Path:
    p = tmp_path / name
    p.write_text(f"{header}\n{body}")
    return p


def _changes(engine, since: int) -> tuple[int, dict[str, pd.DataFrame]]:
    with engine.connect() as conn:
        return load_state_changes(conn, since)


def _seq(engine) -> int:
    with engine.connect() as conn:
        return status_seq(conn)


def _ids(frame: pd.DataFrame, key: str = "node_id") -> list[str]:
    return sorted(frame[key])


@pytest.fixture
def inventory(engine, contract_files):
    ingest_paths(engine, contract_files)
    return engine


def test_fresh_store_has_seq_zero_and_no_changes(engine):
    mark, frames = _changes(engine, 0)
    assert mark == 0 and _seq(engine) == 0
    assert list(frames) == list(STATUS_TABLES)
    with engine.connect() as conn:
        full = load_state(conn, STATUS_TABLES)
    for name in STATUS_TABLES:
        assert frames[name].empty
        assert list(frames[name].columns) == list(full[name].columns)
        assert frames[name].dtypes.equals(full[name].dtypes)


def test_inventory_alone_does_not_advance(inventory):
    assert _seq(inventory) == 0


def test_changes_since_a_mark(inventory, tmp_path):
    engine = inventory
    ingest_file(engine, _write(tmp_path, "s1.csv", STATUS_HEADER, ALL_NODES))
    mark1, frames = _changes(engine, 0)
    assert mark1 == 1
    assert _ids(frames["node_status"]) == ["A1", "B1", "B2", "B3", "C1"]
    assert frames["link_status"].empty and frames["power_status"].empty

    mark, frames = _changes(engine, mark1)  # nothing since
    assert mark == mark1 and all(f.empty for f in frames.values())

    ingest_file(engine, _write(tmp_path, "s2.csv", STATUS_HEADER,
                               "2024-01-01T16:05:00+09:00,B1,down,none,0\n"
                               "2024-01-01T16:05:00+09:00,B2,up,battery,120\n"))
    mark2, frames = _changes(engine, mark1)
    assert mark2 == mark1 + 1
    ns = frames["node_status"].set_index("node_id").sort_index()
    assert list(ns.index) == ["B1", "B2"]
    assert list(ns["state"]) == ["down", "up"] and list(ns["power"]) == ["none", "battery"]
    assert list(ns["battery_remaining_min"]) == [0.0, 120.0]
    assert list(ns["observed_at"]) == [datetime(2024, 1, 1, 7, 5, tzinfo=UTC)] * 2
    assert _ids(_changes(engine, 0)[1]["node_status"]) == ["A1", "B1", "B2", "B3", "C1"]
    assert all(f.empty for f in _changes(engine, mark2)[1].values())


def test_rows_older_than_the_stored_state_are_not_changes(inventory, tmp_path):
    engine = inventory
    ingest_file(engine, _write(tmp_path, "s1.csv", STATUS_HEADER,
                               "2024-01-01T17:00:00+09:00,B1,up,grid,\n"
                               "2024-01-01T17:00:00+09:00,B2,up,grid,\n"))
    mark1 = _seq(engine)
    # B1 arrives late (older than stored: history only); B3 is new.
    ingest_file(engine, _write(tmp_path, "s2.csv", STATUS_HEADER,
                               "2024-01-01T16:30:00+09:00,B1,down,none,0\n"
                               "2024-01-01T16:30:00+09:00,B3,down,none,0\n"))
    mark2, frames = _changes(engine, mark1)
    assert mark2 == mark1 + 1
    assert _ids(frames["node_status"]) == ["B3"]
    with engine.connect() as conn:
        seqs = dict(conn.execute(select(t.node_status.c.node_id, t.node_status.c.seq)).all())
    assert seqs == {"B1": mark1, "B2": mark1, "B3": mark2}
    # A file whose every row is older than the stored state advances the counter, changes nothing.
    ingest_file(engine, _write(tmp_path, "s3.csv", STATUS_HEADER,
                               "2024-01-01T16:00:00+09:00,B2,down,none,0\n"))
    mark3, frames = _changes(engine, mark2)
    assert mark3 == mark2 + 1 and all(f.empty for f in frames.values())


def test_the_newest_row_of_a_file_is_the_change(inventory, tmp_path):
    engine = inventory
    ingest_file(engine, _write(tmp_path, "s1.csv", STATUS_HEADER,
                               "2024-01-01T16:10:00+09:00,B1,down,none,0\n"
                               "2024-01-01T16:00:00+09:00,B1,up,grid,\n"))
    (row,) = _changes(engine, 0)[1]["node_status"].to_dict("records")
    assert (row["node_id"], row["state"]) == ("B1", "down")


def test_the_same_file_again_does_not_advance(inventory, tmp_path):
    engine = inventory
    p = _write(tmp_path, "s1.csv", STATUS_HEADER, ALL_NODES)
    ingest_file(engine, p)
    mark = _seq(engine)
    copy = _write(tmp_path, "renamed.csv", STATUS_HEADER, ALL_NODES)
    assert ingest_file(engine, p).already_ingested and ingest_file(engine, copy).already_ingested
    assert _seq(engine) == mark
    assert all(f.empty for f in _changes(engine, mark)[1].values())


def test_a_file_with_no_accepted_row_does_not_advance(inventory, tmp_path):
    engine = inventory
    r = ingest_file(engine, _write(tmp_path, "bad.csv", STATUS_HEADER,
                                   "2024-01-01T16:00:00+09:00,NOPE,up,grid,\n"))
    assert (r.accepted, r.quarantined) == (0, 1)
    assert _seq(engine) == 0


def test_a_rolled_back_ingest_does_not_advance(inventory, tmp_path, monkeypatch):
    engine = inventory
    ingest_file(engine, _write(tmp_path, "s1.csv", STATUS_HEADER, ALL_NODES))
    mark = _seq(engine)

    def fail(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(repo, "record_feed_file", fail)  # after apply_status, same transaction
    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest_file(engine, _write(tmp_path, "s2.csv", STATUS_HEADER,
                                   "2024-01-01T16:05:00+09:00,B1,down,none,0\n"))
    assert _seq(engine) == mark
    assert all(f.empty for f in _changes(engine, mark)[1].values())
    with engine.connect() as conn:
        assert conn.execute(select(t.node_status.c.state).where(
            t.node_status.c.node_id == "B1")).scalar_one() == "up"
    monkeypatch.undo()
    ingest_file(engine, tmp_path / "s2.csv")  # the retry takes the next value, not a gap
    mark2, frames = _changes(engine, mark)
    assert mark2 == mark + 1 and _ids(frames["node_status"]) == ["B1"]


def test_link_and_power_status(inventory, tmp_path):
    engine = inventory
    ingest_file(engine, _write(tmp_path, "l1.csv", LINK_HEADER,
                               "2024-01-01T16:00:00+09:00,L1,up\n2024-01-01T16:00:00+09:00,L2,up\n"))
    ingest_file(engine, _write(tmp_path, "p1.csv", POWER_HEADER,
                               "2024-01-01T16:00:00+09:00,F1,on,\n2024-01-01T16:00:00+09:00,F2,on,\n"))
    mark, frames = _changes(engine, 0)
    assert mark == 2
    assert _ids(frames["link_status"], "link_id") == ["L1", "L2"]
    assert _ids(frames["power_status"], "power_feed") == ["F1", "F2"]
    assert frames["node_status"].empty
    ingest_file(engine, _write(tmp_path, "l2.csv", LINK_HEADER, "2024-01-01T16:05:00+09:00,L2,down\n"))
    ingest_file(engine, _write(tmp_path, "p2.csv", POWER_HEADER,
                               "2024-01-01T16:05:00+09:00,F1,off,2024-01-02T09:00:00+09:00\n"))
    mark2, frames = _changes(engine, mark)
    assert mark2 == mark + 2
    assert frames["link_status"][["link_id", "state"]].values.tolist() == [["L2", "down"]]
    (p,) = frames["power_status"].to_dict("records")
    assert (p["power_feed"], p["state"]) == ("F1", "off")
    assert p["expected_restore_at"] == datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    # Only the power file: changes since the link file's value hold the power row alone.
    _, frames = _changes(engine, mark + 1)
    assert frames["link_status"].empty and _ids(frames["power_status"], "power_feed") == ["F1"]


def _sorted(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.sort_values(key).reset_index(drop=True)


def test_frames_equal_the_rows_of_load_state(inventory, tmp_path):
    engine = inventory
    files = [
        ("s1.csv", STATUS_HEADER, ALL_NODES),
        ("l1.csv", LINK_HEADER, "".join(f"2024-01-01T16:00:00+09:00,L{i},up\n" for i in range(1, 6))),
        ("p1.csv", POWER_HEADER, "2024-01-01T16:00:00+09:00,F1,on,\n2024-01-01T16:00:00+09:00,F2,on,\n"),
        ("s2.csv", STATUS_HEADER, "2024-01-01T16:05:00+09:00,B1,up,battery,170.5\n"
                                  "2024-01-01T16:05:00+09:00,B3,down,none,0\n"),
        ("l2.csv", LINK_HEADER, "2024-01-01T16:05:00+09:00,L4,down\n"),
        ("p2.csv", POWER_HEADER, "2024-01-01T16:05:00+09:00,F2,off,2024-01-01T20:00:00+09:00\n"),
    ]
    marks = []
    for name, header, body in files:
        ingest_file(engine, _write(tmp_path, name, header, body))
        marks.append(_seq(engine))
    with engine.connect() as conn:
        full = load_state(conn, STATUS_TABLES)
        everything_mark, everything = load_state_changes(conn, -1)
        _, recent = load_state_changes(conn, marks[2])
    assert everything_mark == marks[-1] == 6
    for name, key in KEYS.items():
        pd.testing.assert_frame_equal(_sorted(everything[name], key), _sorted(full[name], key))
        expected = full[name][full[name][key].isin(recent[name][key])]
        pd.testing.assert_frame_equal(_sorted(recent[name], key), _sorted(expected, key))
    assert _ids(recent["node_status"]) == ["B1", "B3"]
    assert _ids(recent["link_status"], "link_id") == ["L4"]
    assert _ids(recent["power_status"], "power_feed") == ["F2"]


def _good(engine, path: Path) -> pd.DataFrame:
    raw = read_feed(path)
    with engine.connect() as conn:
        ctx = ValidationContext(known_nodes=repo.known_ids(conn, "nodes"))
    v = validate_rows(raw.kind, raw.frame, raw.lines, ctx)
    assert not v.rejects
    return v.good


@pytest.fixture
def pg_engine(pg_url, contract_files):
    engine = make_engine(pg_url)
    migrate(engine)
    ingest_paths(engine, contract_files)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_concurrent_status_ingests_take_values_in_commit_order(pg_engine, tmp_path):
    """Txn B's apply_status waits on the counter's row lock until txn A commits (A and B write
    different nodes: it is the counter, not a status row, that serialises them). PostgreSQL
    only: SQLite ingests hold the database write lock (BEGIN IMMEDIATE) for the whole file."""
    engine = pg_engine
    good_a = _good(engine, _write(tmp_path, "a.csv", STATUS_HEADER, "2024-01-01T16:00:00+09:00,B1,down,none,0\n"))
    good_b = _good(engine, _write(tmp_path, "b.csv", STATUS_HEADER, "2024-01-01T16:00:00+09:00,B2,down,none,0\n"))
    b_pid: list[int] = []
    b_seq: list[int] = []
    b_errors: list[BaseException] = []

    def txn_b() -> None:
        try:
            with engine.begin() as conn:
                b_pid.append(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
                repo.apply_status(conn, "node_status", good_b, "b" * 64)
                b_seq.append(status_seq(conn))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            b_errors.append(exc)

    conn_a = engine.connect()
    try:
        tx = conn_a.begin()
        repo.apply_status(conn_a, "node_status", good_a, "a" * 64)
        a_seq = status_seq(conn_a)
        thread = threading.Thread(target=txn_b, daemon=True)
        thread.start()
        waiting = False
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not waiting:
            time.sleep(0.05)
            if b_pid:
                with engine.connect() as watcher:
                    waiting = watcher.execute(text(
                        "SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted"
                    ), {"pid": b_pid[0]}).scalar_one() > 0
        assert waiting, "txn B never waited on txn A's lock"
        assert thread.is_alive() and not b_seq
        # A reader meanwhile sees neither A nor B.
        assert _changes(engine, 0)[0] == 0
        tx.commit()
    finally:
        conn_a.close()
    thread.join(30)
    assert not thread.is_alive() and not b_errors, b_errors
    assert (a_seq, b_seq) == (1, [2])
    with engine.connect() as conn:
        seqs = dict(conn.execute(select(t.node_status.c.node_id, t.node_status.c.seq)).all())
    assert seqs == {"B1": 1, "B2": 2}
    mark, frames = _changes(engine, a_seq)
    assert mark == 2 and _ids(frames["node_status"]) == ["B2"]


def test_a_store_at_0001_upgrades(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine, "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO node_status (node_id, observed_at, state, power) "
                              "VALUES (:id, :at, 'up', 'grid')"),
                         {"id": "B1", "at": _bind_ts(engine, datetime(2024, 1, 1, 7, tzinfo=UTC))})
        migrate(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == _head()
            assert conn.execute(select(t.node_status.c.node_id, t.node_status.c.seq)).all() == [("B1", 0)]
            assert status_seq(conn) == 0
            full = load_state(conn, STATUS_TABLES)["node_status"]
            mark, frames = load_state_changes(conn, -1)  # every row, those from before 0002 too
        assert mark == 0
        pd.testing.assert_frame_equal(frames["node_status"], full)
        assert full["node_id"].tolist() == ["B1"]
    finally:
        engine.dispose()


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from resilience.store.engine import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def _bind_ts(engine, ts: datetime):
    return t.Timestamp().process_bind_param(ts, engine.dialect)


