"""``resilience analyze`` killed with SIGKILL while it writes its snapshot: the snapshot tables
hold no row of the unfinished snapshot, and the exporter keeps serving the previous one.

The real command runs in its own process with one fault-injection point: the snapshot's row
writer (``resilience.store.snapshots.bulk_insert``) is wrapped so that, once the snapshot row and
its elements are written and the transaction is still open, the process says so on stdout and
waits. The test then checks from outside that the write transaction is open (SQLite: the write
lock is held; PostgreSQL: the session has a transaction id) and kills it: the kill lands inside
the transaction every time, on a fast machine or a slow one, with no polling race.
"""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from resilience import api
from resilience.exporter.source import CachedSource, DatabaseSource
from resilience.sample.synthetic import generate_synthetic, write_synthetic
from resilience.store import tables as t
from resilience.store.engine import create_database, drop_database, engine_for, make_engine
from resilience.store.snapshots import latest_snapshot
from tests.conftest import missing

pytestmark = pytest.mark.slow

SITES = 5000  # the kill point is injected: no need for a long write window

#: ``resilience analyze`` with the injection point: after the first child table of the snapshot
#: is written (inside the open write transaction) print a line and wait to be killed.
PAUSED_ANALYZE = """
import sys, time
from resilience.store import snapshots
real = snapshots.bulk_insert
def paused(conn, table, frame):
    real(conn, table, frame)
    if table == "snapshot_elements":
        print("inside the snapshot transaction", flush=True)
        time.sleep(600)  # killed here
snapshots.bulk_insert = paused
sys.argv = ["resilience", *sys.argv[1:]]
from resilience.cli import main
main()
"""


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("network")
    return write_synthetic(generate_synthetic(SITES, seed=7), out)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, network, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A store with the network ingested once and one complete snapshot."""
    home = tmp_path_factory.mktemp("home")
    base = os.environ.get("RESILIENCE_TEST_PG_URL")
    if request.param == "sqlite":
        url = f"sqlite:///{home}/resilience.db"
    elif not base:
        missing("postgres", "no PostgreSQL test server (run `make test`, which starts one)")
    else:
        url = create_database(base, f"t_kill_{uuid.uuid4().hex[:8]}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RESILIENCE_HOME", str(home))
        mp.delenv("RESILIENCE_DB_URL", raising=False)
        api.ingest(list(network.values()), db_url=url)
        api.analyze(db_url=url)
        engine_for.cache_clear()
        yield url, home
        engine_for.cache_clear()
    if url.startswith("postgresql"):
        drop_database(base, url)


def _writing_probe(url: str) -> Callable[[], bool]:
    """True while another process holds an open write transaction on the store."""
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[1]

        def sqlite_probe() -> bool:
            conn = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:  # database is locked: a writer is inside
                return True
            finally:
                conn.close()

        return sqlite_probe
    name = url.rsplit("/", 1)[1]
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)

    def pg_probe() -> bool:
        return bool(conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_xid IS NOT NULL "
            "AND pid <> pg_backend_pid()", (name,)).fetchone()[0])

    return pg_probe


def _orphans(engine) -> int:
    ids = select(t.snapshots.c.id)
    with engine.connect() as conn:
        return sum(conn.execute(select(func.count()).select_from(tbl).where(tbl.c.snapshot_id.not_in(ids))).scalar_one()
                   for tbl in (t.snapshot_elements, t.snapshot_srlgs, t.snapshot_nodes_out, t.snapshot_aggregates))


def _lines(stream) -> queue.Queue[str]:
    """The lines of ``stream`` as they come, then ``""`` at its end (read by a thread, so the
    test waits for a line with a timeout instead of blocking on ``readline()``)."""
    out: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            out.put(line)
        out.put("")

    threading.Thread(target=pump, daemon=True).start()
    return out


def test_sigkill_during_snapshot_write_keeps_the_previous_snapshot(store, tmp_path):
    url, home = store
    engine = make_engine(url)
    previous = latest_snapshot(engine)
    exporter = CachedSource(DatabaseSource(engine), ttl=0)
    served = exporter.state().snapshot
    assert served.id == previous.id

    probe = _writing_probe(url)
    env = {**os.environ, "RESILIENCE_HOME": str(home)}
    with (tmp_path / "stderr").open("w") as err:
        proc = subprocess.Popen([sys.executable, "-c", PAUSED_ANALYZE, "--db", url, "analyze"],
                                env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    lines, said = _lines(proc.stdout), []
    try:
        while not (said and said[-1].startswith("inside the snapshot transaction")):
            said.append(lines.get(timeout=240))  # queue.Empty: no line in 4 minutes, fails
            assert said[-1], f"analyze ended before its snapshot write: {said}"
        assert probe(), "analyze is paused in its write, yet no write transaction is open"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(60)
    assert proc.returncode == -signal.SIGKILL, (tmp_path / "stderr").read_text()[-2000:]

    # readers: the previous snapshot, whole; no row of the unfinished one anywhere
    after = latest_snapshot(engine)
    assert after.id == previous.id and len(after.elements) == len(previous.elements)
    assert after.elements.equals(previous.elements) and after.nodes_out.equals(previous.nodes_out)
    assert _orphans(engine) == 0
    with engine.connect() as conn:
        assert set(conn.execute(select(t.snapshots.c.status)).scalars()) == {"complete"}
    state = exporter.state()
    assert state.up and state.snapshot.id == previous.id and state.snapshot.elements == served.elements
    assert CachedSource(DatabaseSource(make_engine(url))).state().snapshot.id == previous.id

    # the next run (the task's retry) stores a new complete snapshot, which the exporter picks up
    proc = subprocess.run([sys.executable, "-m", "resilience.cli", "--db", url, "analyze"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert exporter.state().snapshot.id > previous.id and _orphans(engine) == 0
    engine.dispose()
