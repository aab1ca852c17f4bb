"""The HTTP exporter: /metrics, /healthz, gzip, and serving on when the database goes away."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from resilience.exporter import ExporterApp, make_exporter, start_server
from tests.exporter.conftest import free_port
from tests.exporter.sample import write_sample_snapshot


def _get(url: str, gz: bool = False) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gz else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture
def running(tmp_path):
    """An exporter on a free loopback port over a SQLite store with the sample snapshot."""
    from resilience.store.engine import make_engine, migrate

    db = tmp_path / "r.db"
    eng = make_engine(f"sqlite:///{db}")
    migrate(eng)
    write_sample_snapshot(eng)
    eng.dispose()
    app = make_exporter(f"sqlite:///{db}", ttl=0.2)
    server, _ = start_server(app, "127.0.0.1", 0)
    yield app, f"http://127.0.0.1:{server.server_port}", db
    server.shutdown()
    server.server_close()


def test_metrics_and_healthz(running):
    _, url, _ = running
    status, headers, body = _get(url + "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert "resilience_snapshot_id 1.0" in text and "resilience_served_ratio" in text
    status, _, body = _get(url + "/healthz")
    doc = json.loads(body)
    assert status == 200 and doc["snapshot_id"] == 1 and doc["db_reachable"] is True
    assert doc["snapshot_age_seconds"] >= 30  # the sample's state time is 30 s before it was written
    assert _get(url + "/nope")[0] == 404


def test_gzip_body_is_the_same_metrics(running):
    _, url, _ = running
    _, headers, raw = _get(url + "/metrics", gz=True)
    assert headers.get("Content-Encoding") == "gzip"
    text = gzip.decompress(raw).decode()  # two gzip members decode as one body
    assert "resilience_nodes_out{" in text and "resilience_exporter_snapshot_source_up 1.0" in text


def test_keeps_answering_when_the_sqlite_file_disappears(running):
    app, url, db = running
    assert "resilience_exporter_snapshot_source_up 1.0" in _get(url + "/metrics")[2].decode()
    app.source._fetch.engine.dispose()
    for p in db.parent.glob(db.name + "*"):
        p.unlink()
    db.mkdir()  # a directory where the database file was: every connect fails
    time.sleep(0.3)
    status, _, body = _get(url + "/metrics")
    text = body.decode()
    assert status == 200
    assert "resilience_exporter_snapshot_source_up 0.0" in text
    assert "resilience_snapshot_id 1.0" in text and "resilience_site_out_subscribers{" in text
    doc = json.loads(_get(url + "/healthz")[2])
    assert doc["db_reachable"] is False and doc["snapshot_id"] == 1 and doc["last_error"]
    assert doc["status"].startswith("stale")


@pytest.mark.postgres
def test_keeps_answering_when_postgresql_goes_away(pg_url):
    """After a first load, the PostgreSQL database is dropped: last snapshot served, flagged."""
    import psycopg

    from resilience.store.engine import make_engine, migrate

    eng = make_engine(pg_url)
    migrate(eng)
    write_sample_snapshot(eng)
    eng.dispose()
    app = make_exporter(pg_url, ttl=0.1)
    assert app.health()["db_reachable"] is True
    app.source._fetch.engine.dispose()
    admin = os.environ["RESILIENCE_TEST_PG_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{pg_url.rsplit("/", 1)[1]}" WITH (FORCE)')
    time.sleep(0.2)
    body = app.metrics().decode()
    assert "resilience_exporter_snapshot_source_up 0.0" in body and "resilience_snapshot_id 1.0" in body


def test_unreachable_from_the_start_answers_503_health(tmp_path):
    port = free_port()  # nothing listens there
    app = make_exporter(f"postgresql://nobody@127.0.0.1:{port}/none?connect_timeout=2", ttl=0.1)
    doc = app.health()
    assert doc["db_reachable"] is False and doc["snapshot_id"] is None
    assert "resilience_exporter_snapshot_source_up 0.0" in app.metrics().decode()


def test_method_not_allowed():
    from wsgiref.util import setup_testing_defaults

    from resilience.exporter import CachedSource

    env = {"PATH_INFO": "/metrics", "REQUEST_METHOD": "POST"}
    setup_testing_defaults(env)
    seen = []
    ExporterApp(CachedSource(lambda: None))(env, lambda s, h: seen.append(s))
    assert seen[0].startswith("405")


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("resilience")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "resilience.cli"]


def _listening_address(pid: int, port: int, deadline: float) -> str:
    """The address the process ``pid`` listens on at ``port`` (from the kernel's socket table)."""
    import psutil

    proc = psutil.Process(pid)
    while True:
        for c in proc.net_connections(kind="tcp"):
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port:
                return c.laddr.ip
        assert time.monotonic() < deadline, f"process {pid} never listened on port {port}"
        assert proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE, "serve exited"
        time.sleep(0.1)


@pytest.mark.parametrize(("host_args", "bound"), [([], "127.0.0.1"), (["--host", "0.0.0.0"], "0.0.0.0")])
def test_cli_serve_binds_loopback_by_default_and_serves(tmp_path, host_args, bound):
    """By default the socket is bound to 127.0.0.1, not to every interface (0.0.0.0)."""
    from resilience.store.engine import make_engine, migrate

    db = tmp_path / "r.db"
    eng = make_engine(f"sqlite:///{db}")
    migrate(eng)
    write_sample_snapshot(eng)
    eng.dispose()
    port = free_port()
    env = {**os.environ, "RESILIENCE_HOME": str(tmp_path)}
    proc = subprocess.Popen([*_cli(), "--db", f"sqlite:///{db}", "serve", "--port", str(port), *host_args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert _listening_address(proc.pid, port, time.monotonic() + 60) == bound
        status, _, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and json.loads(body)["snapshot_id"] == 1
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_serve_on_a_missing_sqlite_file_exits_2_and_creates_nothing(tmp_path):
    missing = tmp_path / "typo" / "resilence.db"
    env = {**os.environ, "RESILIENCE_HOME": str(tmp_path)}
    r = subprocess.run([*_cli(), "--db", f"sqlite:///{missing}", "serve", "--port", str(free_port())],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert not missing.exists() and not missing.parent.exists()


def test_make_exporter_refuses_a_missing_sqlite_file(tmp_path):
    from resilience.errors import BadInput

    with pytest.raises(BadInput, match="no SQLite database file"):
        make_exporter(f"sqlite:///{tmp_path}/nope.db")
    assert list(tmp_path.iterdir()) == []


def _sqlite_store(path: Path, snapshots: int) -> None:
    from resilience.store.engine import make_engine, migrate

    eng = make_engine(f"sqlite:///{path}")
    migrate(eng)
    for _ in range(snapshots):
        write_sample_snapshot(eng, with_ingest=False)
    eng.dispose()  # the last connection checkpoints the WAL into the file: a plain copy is whole


def _health_line_ok(doc: dict) -> None:
    for key in ("status", "last_error"):
        v = doc[key] or ""
        assert "\n" not in v and "SQL" not in v and "Traceback" not in v and "SELECT" not in v, (key, v)


def test_deleted_then_restored_database_is_reopened(tmp_path):
    """Issue 11 item 9: with the exporter running, the file is deleted and restored from a copy
    that holds snapshot 3; the exporter serves snapshot 3, not the old file's snapshot 1."""
    import shutil

    db, copy = tmp_path / "r.db", tmp_path / "backup" / "r.db"
    copy.parent.mkdir()
    _sqlite_store(db, 1)
    _sqlite_store(copy, 3)
    app = make_exporter(f"sqlite:///{db}", ttl=0)
    assert app.health()["snapshot_id"] == 1
    for p in db.parent.glob(db.name + "*"):  # the operator deletes the database (and its WAL)
        p.unlink()
    doc = app.health()
    assert doc["db_reachable"] is False and doc["snapshot_id"] == 1
    assert doc["status"].startswith("stale: ") and str(db) in doc["status"] and "missing" in doc["status"]
    _health_line_ok(doc)
    assert not db.exists()  # the reader did not re-create it
    shutil.copy(copy, db)  # ... and restores it from a copy
    doc = app.health()
    assert doc["status"] == "ok" and doc["db_reachable"] is True and doc["snapshot_id"] == 3
    assert "resilience_snapshot_id 3.0" in app.metrics().decode()


def test_database_replaced_by_another_file_is_reopened(tmp_path):
    """A file moved over the database (another inode) is read, not the old file still open."""
    db, other = tmp_path / "r.db", tmp_path / "other.db"
    _sqlite_store(db, 2)
    _sqlite_store(other, 1)
    app = make_exporter(f"sqlite:///{db}", ttl=0)
    assert app.health()["snapshot_id"] == 2
    other.replace(db)
    for p in db.parent.glob(db.name + "-*"):  # the old file's WAL and shared memory
        p.unlink()
    assert app.health()["snapshot_id"] == 1
    assert app.source._fetch.reopened == 1


@pytest.mark.parametrize("garbage", ["not a database", "directory"])
def test_health_messages_are_one_readable_line(tmp_path, garbage):
    db = tmp_path / "r.db"
    _sqlite_store(db, 1)
    app = make_exporter(f"sqlite:///{db}", ttl=0)
    assert app.health()["status"] == "ok"
    for p in db.parent.glob(db.name + "*"):
        p.unlink()
    if garbage == "directory":
        db.mkdir()
    else:
        db.write_bytes(b"SQLite format 2\n" + b"x" * 4096)
    doc = app.health()
    assert doc["db_reachable"] is False and doc["snapshot_id"] == 1 and doc["last_error"]
    _health_line_ok(doc)
    assert doc["last_error"].startswith("database ") and str(db) in doc["last_error"]
