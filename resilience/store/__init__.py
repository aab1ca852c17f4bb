"""Storage: SQLAlchemy tables, engine from URL, Alembic migrations, repositories."""

from resilience.store.engine import engine_for, make_engine, migrate

__all__ = ["engine_for", "make_engine", "migrate"]
