"""The Alembic migrations build exactly the schema of resilience.store.tables, and step down and
up again, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from resilience.store import tables as t
from resilience.store.engine import MIGRATIONS, make_engine, migrate


def _downgrade(engine, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_migrations_match_the_tables_and_round_trip(db_url):
    engine = make_engine(db_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), t.metadata) == []
            assert sa.inspect(conn).get_foreign_keys("snapshot_elements") == []
        _downgrade(engine, "0002")  # the snapshot tables had their foreign keys then
        with engine.connect() as conn:
            fks = sa.inspect(conn).get_foreign_keys("snapshot_elements")
            assert [f["referred_table"] for f in fks] == ["snapshots"]
        migrate(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), t.metadata) == []
    finally:
        engine.dispose()
