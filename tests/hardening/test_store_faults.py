"""The database read-only or full: a clear one-line error naming the database (exit 1, no
traceback), the same answer on every retry (no crash loop), nothing half-written, and the
exporter keeps serving the last snapshot.

Simulations (the tests run as root, whom file permissions do not stop):

- SQLite read-only: the file is ``chmod 0444`` in a ``chmod 0555`` folder *and* opened as SQLite
  opens such a file for a non-root service user, read-only (``?mode=ro`` URI).
- PostgreSQL read-only: ``ALTER DATABASE ... SET default_transaction_read_only = on`` (what a
  standby, or an operator freezing the database, looks like to a client).
- SQLite full: ``PRAGMA max_page_count`` set by a connect hook on the process engine, so the file
  cannot grow past its current size (SQLite answers SQLITE_FULL, exactly as on a full disk).
  PostgreSQL full needs a size-limited file system under a tablespace (a mount, root-only
  outside containers); its SQLSTATE 53100 is covered by the classification unit test instead.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from resilience import api
from resilience.errors import ResilienceError, StoreError
from resilience.exporter.source import CachedSource, DatabaseSource
from resilience.sample.synthetic import generate_synthetic, write_synthetic
from resilience.store.engine import engine_for, make_engine, store_error
from tests.hardening.conftest import dump, run_cli

STATUS = "observed_at,node_id,state,power,battery_remaining_min\n2024-01-01T16:10:00+09:00,B1,down,none,0\n"


def _prepared(db_url: str, contract_files, home: Path) -> tuple[dict, int]:
    """Inventory ingested and one snapshot analysed; the dump and the snapshot id."""
    api.ingest(contract_files, db_url=db_url)
    sid = api.analyze(db_url=db_url)
    eng = api.engine(db_url)
    before = dump(eng, (*_TABLES, "snapshots"))
    engine_for.cache_clear()
    eng.dispose()
    return before, sid


_TABLES = ("nodes", "links", "node_status", "node_status_history", "quarantine", "feed_files",
           "snapshot_elements")


def _assert_clean_failure(proc, problem: str, shown_db: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("error: database ") and problem in lines[0] and shown_db in lines[0], lines


@pytest.mark.slow
def test_sqlite_read_only_clear_error_no_crash_loop_nothing_written(tmp_path, contract_files, home):
    folder = tmp_path / "db"
    path = folder / "resilience.db"
    url = f"sqlite:///{path}"
    before, sid = _prepared(url, contract_files, home)
    status = tmp_path / "status.csv"
    status.write_text(STATUS)
    os.chmod(path, 0o444)
    os.chmod(folder, 0o555)
    ro_url = f"sqlite:///file:{path}?mode=ro&uri=true" if os.geteuid() == 0 else url
    try:
        for args in (["ingest", str(status)], ["ingest", str(status)], ["analyze"]):
            proc = run_cli(["--db", ro_url, *args], home=home)
            _assert_clean_failure(proc, "read-only", str(path))
        # the exporter only reads: it keeps serving the last snapshot
        state = CachedSource(DatabaseSource(make_engine(ro_url))).state()
        assert state.up and state.snapshot.id == sid
    finally:
        os.chmod(folder, 0o755)
        os.chmod(path, 0o644)
    eng = make_engine(url)
    assert dump(eng, (*_TABLES, "snapshots")) == before
    # writable again: the retry goes through
    proc = run_cli(["--db", url, "ingest", "--format", "json", str(status)], home=home)
    assert proc.returncode == 0 and '"accepted": 1' in proc.stdout, proc.stderr
    eng.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_postgresql_read_only_clear_error_no_crash_loop_nothing_written(pg_url, tmp_path, contract_files, home):
    before, sid = _prepared(pg_url, contract_files, home)
    status = tmp_path / "status.csv"
    status.write_text(STATUS)
    dbname = pg_url.rsplit("/", 1)[1]
    # ALTER DATABASE from the server's own database (the one under test is about to be read-only)
    admin = os.environ["RESILIENCE_TEST_PG_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{dbname}" SET default_transaction_read_only = on')
    try:
        for args in (["ingest", str(status)], ["ingest", str(status)], ["analyze"]):
            proc = run_cli(["--db", pg_url, *args], home=home)
            _assert_clean_failure(proc, "read-only", dbname)
        state = CachedSource(DatabaseSource(make_engine(pg_url))).state()
        assert state.up and state.snapshot.id == sid
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{dbname}" SET default_transaction_read_only = off')
    eng = make_engine(pg_url)
    assert dump(eng, (*_TABLES, "snapshots")) == before
    eng.dispose()
    proc = run_cli(["--db", pg_url, "ingest", "--format", "json", str(status)], home=home)
    assert proc.returncode == 0 and '"accepted": 1' in proc.stdout, proc.stderr


def _limit_pages(eng, extra_pages: int) -> callable:
    with eng.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    def hook(dbapi_conn, _record) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {int(pages) + extra_pages}")

    event.listen(eng, "connect", hook)
    eng.dispose()
    return hook


@pytest.mark.slow
def test_sqlite_full_clear_error_nothing_half_written_then_retry(tmp_path, contract_files, home, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/resilience.db"
    api.ingest(contract_files, db_url=url)
    feeds = write_synthetic(generate_synthetic(3000, seed=1), tmp_path / "feeds")
    eng = api.engine(url)
    before = dump(eng)
    hook = _limit_pages(eng, extra_pages=20)  # 80 kB more: far less than 3,000 sites need
    for _ in range(2):  # the same clear error every time, nothing stored
        with pytest.raises(StoreError) as err:
            api.ingest([feeds["nodes"]], db_url=url)
        assert err.value.problem == "full" and str(tmp_path) in str(err.value)
        assert isinstance(err.value, ResilienceError)
        assert dump(eng) == before
    # the command: exit 1 and one line (main() in-process, where the hook lives)
    monkeypatch.setattr(sys, "argv", ["resilience", "--db", url, "ingest", str(feeds["nodes"])])
    from resilience.cli import main

    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    errline = capsys.readouterr().err.strip().splitlines()
    assert len(errline) == 1 and errline[0].startswith("error: database ") and "is full" in errline[0]
    # space freed: the retry stores the whole file, equal to an undisturbed run
    event.remove(eng, "connect", hook)
    eng.dispose()
    (r,) = api.ingest([feeds["nodes"]], db_url=url)
    assert (r.accepted, r.already_ingested) == (3000, False)
    clean = f"sqlite:///{tmp_path}/clean.db"
    api.ingest([*contract_files, feeds["nodes"]], db_url=clean)
    assert dump(eng, ("nodes", "quarantine")) == dump(api.engine(clean), ("nodes", "quarantine"))


@pytest.mark.parametrize(
    ("orig", "problem"),
    [
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
        (sqlite3.OperationalError("database or disk is full"), "full"),
        (sqlite3.OperationalError("unable to open database file"), "unavailable"),
        (psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"), "read-only"),
        (psycopg.errors.DiskFull('could not extend file "base/16384/16385": No space left on device'), "full"),
        (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), "unreachable"),
        (psycopg.OperationalError("connection failed: Connection refused\n\tIs the server running?"), "unreachable"),
    ],
)
def test_store_problems_are_classified_and_name_the_database(orig, problem):
    cls = sa_exc.InternalError if isinstance(orig, psycopg.errors.ReadOnlySqlTransaction) else sa_exc.OperationalError
    err = store_error(cls("INSERT INTO nodes ...", {}, orig), "postgresql+psycopg://app:s3cret@db:5432/resilience")
    assert err is not None and err.problem == problem
    assert "s3cret" not in str(err) and "db:5432/resilience" in str(err) and "\n" not in str(err)


def test_other_database_errors_are_not_disguised():
    orig = sqlite3.IntegrityError("UNIQUE constraint failed: nodes.node_id")
    assert store_error(sa_exc.IntegrityError("INSERT", {}, orig), "sqlite://") is None


def test_a_missing_database_folder_is_a_clear_error(tmp_path, home):
    folder = tmp_path / "nowhere"
    folder.mkdir()
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    url = f"sqlite:///file:{folder}/absent.db?mode=ro&uri=true"
    proc = run_cli(["--db", url, "init"], home=home)
    os.chmod(folder, 0o755)
    _assert_clean_failure(proc, "unavailable", "absent.db")
