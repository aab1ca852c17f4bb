"""Shared fixtures: a database URL on SQLite and on the real PostgreSQL (scripts/pg.sh).

``db_url`` is parametrised over both back ends; every database test runs twice. PostgreSQL tests
get a fresh database each, created on the server that ``scripts/test.sh`` started and whose URL
it exported as ``RESILIENCE_TEST_PG_URL``. In CI a missing server is an error, not a skip.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from resilience.sample.known import KNOWN_LINKS_CSV, KNOWN_NODES_CSV

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

# The network of shared/checks/contracts.sh, with hand-checked answers.
CONTRACT_NODES, CONTRACT_LINKS = KNOWN_NODES_CSV, KNOWN_LINKS_CSV


def _pg_admin_url() -> str | None:
    return os.environ.get("RESILIENCE_TEST_PG_URL")


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database on the test server; dropped afterwards."""
    base = _pg_admin_url()
    if not base:
        if os.environ.get("CI"):
            pytest.fail("RESILIENCE_TEST_PG_URL is not set: run the tests with `make test`")
        pytest.skip("no PostgreSQL test server (run `make test`, which starts one)")
    from resilience.store.engine import create_database, drop_database

    url = create_database(base, f"t_{uuid.uuid4().hex[:12]}")
    yield url
    drop_database(base, url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """The project store on SQLite and on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/resilience.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    from resilience.store.engine import make_engine, migrate

    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def contract_files(tmp_path) -> tuple[Path, Path]:
    """The 5-node network with known answers from shared/checks/contracts.sh."""
    n, l_ = tmp_path / "nodes.csv", tmp_path / "links.csv"
    n.write_text(CONTRACT_NODES)
    l_.write_text(CONTRACT_LINKS)
    return n, l_
