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
from tests.exporter.conftest import ROOT, free_port
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
    assert 0 <= doc["snapshot_age_seconds"] < 600
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


def test_cli_serve_binds_loopback_and_serves(tmp_path):
    from resilience.store.engine import make_engine, migrate

    db = tmp_path / "r.db"
    eng = make_engine(f"sqlite:///{db}")
    migrate(eng)
    write_sample_snapshot(eng)
    eng.dispose()
    port = free_port()
    exe = Path(sys.executable).with_name("resilience")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "resilience.cli"]
    env = {**os.environ, "RESILIENCE_HOME": str(ROOT)}
    proc = subprocess.Popen([*cmd, "--db", f"sqlite:///{db}", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.time() + 30
        while True:
            try:
                status, _, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert status == 200 and json.loads(body)["snapshot_id"] == 1
    finally:
        proc.terminate()
        proc.wait(10)
