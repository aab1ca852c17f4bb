"""A private PostgreSQL database per benchmark run, on the server ``scripts/pg.sh`` starts."""

from __future__ import annotations

import uuid


def _admin(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def fresh_database(admin_url: str, prefix: str = "bench") -> str:
    """Create an empty database beside ``admin_url``'s and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with _admin(admin_url) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, url: str) -> None:
    """Drop the database of ``url`` (a 1M-site store takes ~1.5 GB), closing its sessions."""
    from resilience.store.engine import engine_for

    engine_for.cache_clear()
    with _admin(admin_url) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
