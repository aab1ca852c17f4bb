"""Fixtures for the report tests (data in :mod:`tests.reports.report_data`)."""

from __future__ import annotations

import pytest

from tests.reports.report_data import fill_store


@pytest.fixture
def sqlite_engine(tmp_path):
    """A migrated SQLite store (the report tests need no PostgreSQL)."""
    from resilience.store.engine import make_engine, migrate

    eng = make_engine(f"sqlite:///{tmp_path}/report.db")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def filled(sqlite_engine):
    """(engine, written) with the benign data."""
    return sqlite_engine, fill_store(sqlite_engine)


@pytest.fixture
def hostile(sqlite_engine):
    """(engine, written) with injection payloads in feed names."""
    return sqlite_engine, fill_store(sqlite_engine, hostile=True)
