"""Faults on the feed side, on SQLite and the real PostgreSQL: a file still being written, the
same file delivered twice (also under two names, also by two workers at once), status rows out
of order, a clock 10 minutes off. Nothing is lost: every row is stored or quarantined."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from resilience import api
from resilience.errors import BadInput
from resilience.feeds.ingest import ingest_file, ingest_paths
from resilience.store import tables as t
from resilience.store.engine import make_engine, migrate
from tests.conftest import CONTRACT_NODES
from tests.hardening.conftest import dump

STATUS_HEADER = "observed_at,node_id,state,power,battery_remaining_min"
NODES = ("C1", "A1", "B1", "B2", "B3")


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _quarantine(engine) -> list[dict]:
    with engine.connect() as conn:
        q = t.quarantine
        return [dict(r) for r in conn.execute(select(q).order_by(q.c.id)).mappings()]


def _current(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        s = t.node_status.c
        return {r[0]: (r[1], r[2]) for r in conn.execute(select(s.node_id, s.observed_at, s.state))}


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


# --- a feed file still being written -----------------------------------------------------------

def _status_text(n: int = 40) -> str:
    rows = [STATUS_HEADER]
    for i in range(n):
        rows.append(f"2024-01-01T16:{i % 60:02d}:00+09:00,{NODES[i % 5]},{('up', 'down')[i % 2]},grid,{i}")
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_a_file_cut_while_being_written_loses_no_row(tmp_path, encoding):
    """Cut a nodes file at many byte offsets (mid-line, mid-field, mid-character): each partial
    file is refused (BadInput) or every row read is stored or quarantined; every complete line
    before the cut is stored; the whole file delivered afterwards completes the inventory."""
    full_text = CONTRACT_NODES.replace("Wajima 1", "輪島 基地局 1").replace("Kanazawa core", "金沢 コア")
    full = full_text.encode(encoding)
    full_names = {row.split(",")[3] for row in full_text.splitlines()[1:]}
    header_end = full.index(b"\n") + 1
    jp = full.index("輪島".encode(encoding.replace("-sig", "")))  # cuts inside a multi-byte character, and elsewhere
    cuts = sorted({*range(header_end + 1, len(full) - 1, 41), jp + 1, jp + 2, jp + 4,
                   len(full) - 2, len(full) - 1})
    for i, cut in enumerate(cuts):
        eng = make_engine(f"sqlite:///{tmp_path}/cut{i}.db")
        migrate(eng)
        part = tmp_path / f"nodes_{i}.csv"
        part.write_bytes(full[:cut])
        try:
            r = ingest_file(eng, part)
        except BadInput as exc:
            assert str(part) in str(exc)
            assert _count(eng, t.nodes) == 0 and _count(eng, t.feed_files) == 0
            continue
        complete_lines = full[:cut].count(b"\n") - 1  # data lines ending in a newline
        assert r.rows == r.accepted + r.quarantined
        assert r.rows in (complete_lines, complete_lines + 1), (cut, r)
        assert _count(eng, t.nodes) == r.accepted >= complete_lines - 0
        assert _count(eng, t.quarantine) == r.quarantined
        with eng.connect() as conn:
            stored = [tuple(r) for r in conn.execute(select(t.nodes.c.node_id, t.nodes.c.name, t.nodes.c.power_feed))]
        # a name cut mid-character never arrives as mojibake, nor cut short: every stored name is
        # a whole name of the file (a row cut in its name is quarantined as truncated)
        assert {name for _, name, _ in stored} <= full_names, (cut, stored)
        assert not any("\ufffd" in v for row in stored for v in row), (cut, stored)
        # then the writer finishes: the whole file is a new delivery and completes the inventory
        whole = tmp_path / f"nodes_{i}_done.csv"
        whole.write_bytes(full)
        done = ingest_file(eng, whole)
        assert (done.accepted, done.quarantined, done.already_ingested) == (5, 0, False)
        with eng.connect() as conn:
            names = set(conn.execute(select(t.nodes.c.name)).scalars())
        assert {"輪島 基地局 1", "金沢 コア"} <= names and _count(eng, t.nodes) == 5
        eng.dispose()


def test_a_status_file_cut_mid_line_quarantines_the_cut_row(engine, contract_files, tmp_path):
    ingest_paths(engine, contract_files)
    text = _status_text(10)
    cut = text.rindex("\n", 0, len(text) - 1) + 25  # inside the last row's timestamp
    p = tmp_path / "status.csv"
    p.write_text(text[:cut])
    r = ingest_file(engine, p)
    assert (r.rows, r.accepted, r.quarantined) == (10, 9, 1)
    (q,) = _quarantine(engine)
    assert q["line"] == 11 and "truncated" in q["reason"] and q["value"] == text[:cut].rsplit("\n", 1)[1]


# --- the same file twice, under two names, by two workers at once ------------------------------

def test_same_file_twice_and_under_two_names_changes_nothing(engine, contract_files, tmp_path):
    ingest_paths(engine, contract_files)
    status = tmp_path / "status.csv"
    status.write_text(_status_text())
    first = ingest_file(engine, status)
    before = dump(engine)
    other_dir = tmp_path / "again"
    other_dir.mkdir()
    renamed = other_dir / "status-redelivered.CSV"
    shutil.copyfile(status, renamed)
    again = [ingest_file(engine, status), ingest_file(engine, renamed),
             *ingest_paths(engine, [status, renamed])]
    assert all(r.already_ingested for r in again)
    assert {(r.rows, r.accepted, r.quarantined) for r in again} == {(first.rows, first.accepted, first.quarantined)}
    assert dump(engine) == before


def test_same_file_by_two_workers_at_once_is_ingested_once(db_url, contract_files, tmp_path):
    """Two workers (separate engines, threads) ingest the same file at the same moment: one
    stores it, the other reports ``already_ingested`` (not an error, not a duplicate)."""
    setup = make_engine(db_url)
    migrate(setup)
    ingest_paths(setup, contract_files)
    status = tmp_path / "status.csv"
    status.write_text(_status_text(400))
    copy = tmp_path / "status-copy.csv"
    shutil.copyfile(status, copy)
    engines = [make_engine(db_url), make_engine(db_url)]
    results: list = [None, None]
    barrier = threading.Barrier(2)

    def work(i: int, path: Path) -> None:
        barrier.wait()
        try:
            results[i] = ingest_file(engines[i], path)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i, p)) for i, p in enumerate((status, copy))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(r.already_ingested for r in results) == [False, True]
    assert _count(setup, t.feed_files) == 3
    with setup.connect() as conn:
        hist = conn.execute(select(func.count()).select_from(t.node_status_history)).scalar_one()
    fresh = make_engine(f"sqlite:///{tmp_path}/undisturbed.db")
    migrate(fresh)
    ingest_paths(fresh, [*contract_files, status])
    assert dump(setup, ("nodes", "node_status", "quarantine")) == dump(fresh, ("nodes", "node_status", "quarantine"))
    with fresh.connect() as conn:
        assert hist == conn.execute(select(func.count()).select_from(t.node_status_history)).scalar_one()
    for e in (setup, fresh, *engines):
        e.dispose()


# --- status rows out of order ------------------------------------------------------------------

BASE = datetime(2024, 1, 1, 7, 0, tzinfo=UTC)


@st.composite
def _deliveries(draw) -> list[list[tuple[int, str, str]]]:
    """Status observations (minute, node, state), split into files delivered in any order."""
    obs = draw(st.lists(st.tuples(st.integers(0, 600), st.sampled_from(NODES), st.sampled_from(["up", "down", "degraded"])),
                        min_size=1, max_size=25, unique_by=lambda o: (o[0], o[1])))
    n_files = draw(st.integers(1, 4))
    files: list[list] = [[] for _ in range(n_files)]
    for o in obs:
        files[draw(st.integers(0, n_files - 1))].append(o)
    return [f for f in draw(st.permutations(files)) if f]


def _expected_history(deliveries: list[list[tuple[int, str, str]]]) -> list[tuple[str, int, str]]:
    """The history the store must hold, by the storage rules (docs/recovery.md, DESIGN.md "Storage"), replayed file by file:
    within a file, a node's rows in time order; the first goes to history when it differs from the
    stored current state (or there is none), each later one when it differs from the row before
    it; the newest row becomes the current state unless the stored one is newer."""
    current: dict[str, tuple[int, str]] = {}
    history = []
    for rows in deliveries:
        by_node: dict[str, list[tuple[int, str]]] = {}
        for m, n, s in sorted(rows, key=lambda r: (r[1], r[0])):
            by_node.setdefault(n, []).append((m, s))
        for n, obs in by_node.items():
            prev = current.get(n)
            for k, (m, s) in enumerate(obs):
                before = prev[1] if k == 0 and prev else obs[k - 1][1] if k else None
                if before is None or before != s:
                    history.append((n, m, s))
            if prev is None or obs[-1][0] >= prev[0]:
                current[n] = obs[-1]
    return sorted(history)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deliveries=_deliveries())
def test_out_of_order_rows_current_keeps_the_newest(engine, contract_files, tmp_path, deliveries):
    """Whatever order rows arrive in (within a file or across files), the current state is the
    newest observation of each node, and history holds exactly the transitions (replayed by
    :func:`_expected_history`): a row that repeats the state before it adds none."""
    ingest_paths(engine, contract_files)  # second and later examples: already ingested
    with engine.begin() as conn:
        for table in (t.node_status, t.node_status_history):
            conn.execute(table.delete())
        conn.execute(t.feed_files.delete().where(t.feed_files.c.kind == "node_status"))
    for i, rows in enumerate(deliveries):
        p = tmp_path / f"s{i}.csv"
        p.write_text(STATUS_HEADER + "\n" + "".join(
            f"{(BASE + timedelta(minutes=m)).isoformat()},{n},{s},grid,\n" for m, n, s in rows))
        r = ingest_file(engine, p, now=BASE + timedelta(days=1))
        assert (r.accepted, r.quarantined) == (len(rows), 0)
    newest: dict[str, tuple[int, str]] = {}
    for rows in deliveries:
        for m, n, s in rows:
            if n not in newest or m > newest[n][0]:
                newest[n] = (m, s)
    got = {n: (_aware(ts), s) for n, (ts, s) in _current(engine).items()}
    assert got == {n: (BASE + timedelta(minutes=m), s) for n, (m, s) in newest.items()}
    with engine.connect() as conn:
        h = t.node_status_history.c
        hist = sorted((r[0], int((_aware(r[1]) - BASE).total_seconds() // 60), r[2])
                      for r in conn.execute(select(h.node_id, h.observed_at, h.state)))
    assert hist == _expected_history(deliveries)


def test_older_file_after_newer_goes_to_history_only(engine, contract_files, tmp_path):
    ingest_paths(engine, contract_files)
    new = tmp_path / "new.csv"
    new.write_text(f"{STATUS_HEADER}\n2024-01-01T17:00:00+09:00,B1,down,none,0\n")
    old = tmp_path / "old.csv"
    old.write_text(f"{STATUS_HEADER}\n2024-01-01T16:00:00+09:00,B1,up,battery,300\n")
    ingest_file(engine, new)
    ingest_file(engine, old)
    assert _current(engine)["B1"][1] == "down"
    with engine.connect() as conn:
        h = t.node_status_history.c
        states = [tuple(r) for r in conn.execute(select(h.state, h.power).order_by(h.observed_at))]
    assert states == [("up", "battery"), ("down", "none")]


# --- a clock 10 minutes off --------------------------------------------------------------------

#: The moment the feeds below are checked at (injected: no margin between writing and validating).
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _status_at(tmp_path: Path, name: str, offsets: list[timedelta]) -> Path:
    p = tmp_path / name
    p.write_text(STATUS_HEADER + "\n" + "".join(
        f"{(NOW + d).isoformat(timespec='seconds')},{NODES[i % 5]},up,grid,\n" for i, d in enumerate(offsets)))
    return p


def test_feed_clock_ahead_within_tolerance_is_accepted_beyond_is_quarantined(engine, contract_files, tmp_path):
    """At the injected ``now``: a sender whose clock runs exactly 10 minutes fast (or 10 slow) is
    accepted; one second more than ``future_tolerance`` (10 minutes) is quarantined, saying why."""
    ingest_paths(engine, contract_files)
    tol = timedelta(minutes=10)
    p = _status_at(tmp_path, "skewed.csv", [tol, -tol, tol + timedelta(seconds=1), timedelta(days=365)])
    r = ingest_file(engine, p, now=NOW, future_tolerance=tol)
    assert (r.rows, r.accepted, r.quarantined) == (4, 2, 2)
    q = [x for x in _quarantine(engine) if x["kind"] == "node_status"]
    assert [x["line"] for x in q] == [4, 5]
    assert all(x["field"] == "observed_at" and "future" in x["reason"] and "clock" in x["reason"] for x in q)


def test_future_tolerance_comes_from_the_settings(db_url, contract_files, tmp_path, home, monkeypatch):
    monkeypatch.setenv("RESILIENCE_FUTURE_TOLERANCE_MINUTES", "15")
    monkeypatch.setattr("resilience.feeds.validate.utc_now", lambda: NOW)  # the clock api.ingest checks at
    api.ingest(contract_files, db_url=db_url)
    offsets = [timedelta(minutes=15), timedelta(minutes=15, seconds=1), timedelta(minutes=-15)]
    (r,) = api.ingest([_status_at(tmp_path, "skewed.csv", offsets)], db_url=db_url)
    assert (r.accepted, r.quarantined) == (2, 1)
    (q,) = [x for x in _quarantine(api.engine(db_url)) if x["kind"] == "node_status"]
    assert q["line"] == 3 and "future" in q["reason"]
