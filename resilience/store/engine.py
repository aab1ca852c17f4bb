"""Engine from URL and schema migrations (Alembic).

Example
-------
>>> from resilience.store.engine import make_engine, migrate
>>> engine = make_engine("sqlite://")
>>> migrate(engine)
>>> from sqlalchemy import inspect
>>> "nodes" in inspect(engine).get_table_names()
True
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from resilience.errors import StoreError

__all__ = ["make_engine", "migrate", "engine_for", "display_url", "store_error", "create_database",
           "drop_database"]

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (exporter) see the last commit while we write
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` (SQLite file, in-memory SQLite, or PostgreSQL via psycopg).

    ``postgresql://`` URLs are routed to the psycopg 3 driver.
    """
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            path = url.split("sqlite:///", 1)[-1]
            if path and not path.startswith("file:"):  # a URI (``?mode=ro``) names an existing file
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """A process-wide engine per URL (engines pool connections; create one, reuse it)."""
    return make_engine(url)


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration's revision id, read from the migration files' text.

    The one revision no other migration names as its ``down_revision``; reading the text keeps
    Alembic (0.2 s to import) out of commands whose schema is already current.

    Example
    -------
    >>> head_revision() >= "0005"
    True
    """
    import re

    revs, downs = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        rev = re.search(r"(?m)^revision\s*=\s*['\"]([^'\"]+)['\"]", text)
        down = re.search(r"(?m)^down_revision\s*=\s*['\"]([^'\"]+)['\"]", text)
        if rev:
            revs.add(rev.group(1))
        if down:
            downs.add(down.group(1))
    heads = revs - downs
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def schema_is_current(engine: Engine) -> bool:
    """True when the database's Alembic version is :func:`head_revision` (one small query).

    Example
    -------
    >>> eng = make_engine("sqlite://")
    >>> schema_is_current(eng), migrate(eng), schema_is_current(eng)
    (False, None, True)
    """
    from sqlalchemy import text

    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except sa_exc.DBAPIError:  # no version table yet (a new database)
        return False
    return found == [head_revision()]


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with the project's Alembic migrations.

    A schema already at the head is left alone without loading Alembic.
    """
    if revision == "head" and schema_is_current(engine):
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _maintenance(server_url: str):
    import psycopg

    return psycopg.connect(server_url.replace("postgresql+psycopg://", "postgresql://"),
                           autocommit=True)


def _ddl(template: str, name: str):
    """A statement with a database name quoted by the driver (DDL takes no bound parameters)."""
    from psycopg import sql

    return sql.SQL(template).format(sql.Identifier(name))


def _drop(conn, name: str) -> None:
    conn.execute(_ddl("DROP DATABASE IF EXISTS {} WITH (FORCE)", name))


def create_database(server_url: str, name: str, *, replace: bool = False) -> str:
    """Create the empty PostgreSQL database ``name`` on the server of ``server_url`` (a URL of
    an existing database there) and return its URL; ``replace`` drops one of that name first.
    For test and benchmark stores.

    >>> create_database("postgresql+psycopg://app@db:5432/resilience", "t_1")  # doctest: +SKIP
    'postgresql+psycopg://app@db:5432/t_1'
    """
    with _maintenance(server_url) as conn:
        if replace:
            _drop(conn, name)
        conn.execute(_ddl("CREATE DATABASE {}", name))
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(server_url: str, url: str) -> None:
    """Drop the PostgreSQL database of ``url``, closing its sessions (and this process's pooled
    engines), through the server's database ``server_url``.

    >>> drop_database("postgresql+psycopg://app@db:5432/resilience",
    ...               "postgresql+psycopg://app@db:5432/t_1")  # doctest: +SKIP
    """
    engine_for.cache_clear()
    with _maintenance(server_url) as conn:
        _drop(conn, url.rsplit("/", 1)[1])


def display_url(url: str) -> str:
    """The database URL as shown to people: the password hidden.

    >>> display_url("postgresql+psycopg://app:s3cret@db:5432/resilience")
    'postgresql+psycopg://app:***@db:5432/resilience'
    >>> display_url("sqlite:///file:/var/r.db?mode=ro&uri=true")
    'sqlite:///file:/var/r.db?mode=ro&uri=true'
    """
    if url.startswith("sqlite"):  # a file path: no credentials to hide
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy understands: show no credentials
        return url.split("@")[-1]


# SQLSTATE classes / codes (PostgreSQL) and message fragments (SQLite) of store-level problems.
_PROBLEMS = (
    ("read-only", ("25006",), ("readonly database", "read-only", "read only")),
    ("full", ("53100",), ("database or disk is full", "disk is full", "no space left")),
    ("unreachable", ("08", "57P"), ("connection", "could not connect", "server closed",
                                    "terminating connection")),
)


def store_error(exc: BaseException, url: str) -> StoreError | None:
    """A :class:`~resilience.errors.StoreError` for a database that is read-only, full or
    unreachable; ``None`` for anything else (a bug, a constraint violation: not hidden).

    >>> import sqlite3
    >>> e = sa_exc.OperationalError("INSERT", {}, sqlite3.OperationalError(
    ...     "attempt to write a readonly database"))
    >>> str(store_error(e, "sqlite:///r.db"))
    'database sqlite:///r.db is read-only: attempt to write a readonly database'
    >>> store_error(ValueError("x"), "sqlite://") is None
    True
    """
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    orig = exc.orig if exc.orig is not None else exc
    sqlstate = str(getattr(orig, "sqlstate", "") or "")
    text = str(orig).strip()
    detail = (text.splitlines() or [""])[0].strip()[:300]
    low = text.lower()
    for problem, codes, fragments in _PROBLEMS:
        if (sqlstate and sqlstate.startswith(codes)) or any(f in low for f in fragments):
            return StoreError(display_url(url), problem, detail)
    if exc.connection_invalidated:
        return StoreError(display_url(url), "unreachable", detail)
    if isinstance(exc, sa_exc.OperationalError):  # cannot open the file, locked, ...
        return StoreError(display_url(url), "unavailable", detail)
    return None
