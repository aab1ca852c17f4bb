"""PostgreSQL restarted in the middle of an ingest (on a server of the test's own, so the shared
test server is never disturbed): the ingest fails cleanly with no partial rows, the retry
succeeds, and the result equals an undisturbed run, table by table."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from resilience import api
from resilience.errors import StoreError
from resilience.sample.synthetic import generate_synthetic, write_synthetic
from resilience.store.engine import create_database, engine_for
from tests.conftest import missing
from tests.hardening.conftest import ROOT, dump

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PG = ROOT / "scripts" / "pg.sh"


@pytest.fixture(scope="module")
def own_pg() -> Iterator[tuple[str, dict]]:
    """A second PostgreSQL server (scripts/pg.sh with its own folder and port)."""
    if not shutil.which("bash") or not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        missing("postgres", "PostgreSQL binaries not installed (scripts/system-deps.sh)")
    base = Path(tempfile.mkdtemp(prefix="resilience-pg-"))
    base.chmod(0o755)  # the postgres user must reach its data folder
    env = {**os.environ, "RESILIENCE_PG_DIR": str(base / "data"), "RESILIENCE_PG_PORT": "auto"}
    try:
        started = subprocess.run([str(PG), "start"], env=env, capture_output=True, text=True, timeout=180)
        assert started.returncode == 0, f"the test's own PostgreSQL did not start: {started.stderr}"
        yield started.stdout.strip(), env
    finally:
        engine_for.cache_clear()
        subprocess.run([str(PG), "stop"], env=env, check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def feeds(tmp_path_factory) -> dict[str, Path]:
    return write_synthetic(generate_synthetic(5000, seed=3), tmp_path_factory.mktemp("feeds"))


@pytest.mark.parametrize("moment", ["history_insert", "commit"])
def test_restart_during_ingest_fails_cleanly_and_the_retry_equals_an_undisturbed_run(
        own_pg, feeds, tmp_path, monkeypatch, moment):
    server, env = own_pg
    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))
    inventory = [feeds["nodes"], feeds["links"]]
    disturbed = create_database(server, f"disturbed_{moment}", replace=True)
    undisturbed = create_database(server, f"undisturbed_{moment}", replace=True)
    api.ingest(inventory, db_url=disturbed)
    before = dump(api.engine(disturbed))

    eng = api.engine(disturbed)
    fired: list[str] = []

    def restart() -> None:
        if not fired:
            fired.append(moment)
            subprocess.run([str(PG), "restart"], env=env, check=True, capture_output=True)

    def on_execute(_conn, _cursor, statement, *_a) -> None:
        if statement.lstrip().startswith("INSERT INTO node_status_history"):
            restart()

    hook, target = (on_execute, "before_cursor_execute") if moment == "history_insert" else (
        lambda _conn: restart(), "commit")
    event.listen(eng, target, hook)
    try:
        with pytest.raises(StoreError) as err:
            api.ingest([feeds["status"]], db_url=disturbed)
    finally:
        event.remove(eng, target, hook)
    assert fired and err.value.problem == "unreachable", err.value
    assert dump(eng) == before  # all or nothing: no status, history, quarantine or archive row

    (retry,) = api.ingest([feeds["status"]], db_url=disturbed)  # the task's retry
    assert not retry.already_ingested and retry.rows == retry.accepted + retry.quarantined
    api.ingest([*inventory, feeds["status"]], db_url=undisturbed)
    assert dump(eng) == dump(api.engine(undisturbed))
