"""The names a what-if scenario may refer to, looked up in the stored inventory.

Node and link ids, shared-risk groups, power feeds and municipalities: the checks of
:func:`resilience.api.check_scenario` (bad input fails at once, not in the simulation).

Example
-------
>>> from resilience.store.engine import make_engine, migrate
>>> eng = make_engine("sqlite://"); migrate(eng)
>>> with eng.connect() as conn:
...     has_inventory(conn), known_element_ids(conn, ["A1"]), srlg_groups(conn)
(False, set(), set())
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from resilience.store import tables as t

__all__ = ["element_ids", "has_inventory", "known_element_ids", "municipalities", "power_feeds",
           "srlg_groups"]


def has_inventory(conn: Connection) -> bool:
    """Whether the store holds any node.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> eng = make_engine("sqlite://"); migrate(eng)
    >>> with eng.connect() as conn:
    ...     has_inventory(conn)
    False
    """
    return conn.execute(select(t.nodes.c.node_id).limit(1)).first() is not None


def known_element_ids(conn: Connection, ids: Sequence[str], *, chunk: int = 500) -> set[str]:
    """The ids among ``ids`` that are a stored node or link.

    Notes
    -----
    One indexed look-up per id, ``chunk`` ids per query.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> eng = make_engine("sqlite://"); migrate(eng)
    >>> with eng.connect() as conn:
    ...     known_element_ids(conn, ["A1", "L1"])
    set()
    """
    ids = list(ids)
    known: set[str] = set()
    for i in range(0, len(ids), chunk):
        part = ids[i:i + chunk]
        known |= set(conn.execute(select(t.nodes.c.node_id).where(t.nodes.c.node_id.in_(part))).scalars())
        known |= set(conn.execute(select(t.links.c.link_id).where(t.links.c.link_id.in_(part))).scalars())
    return known


def element_ids(conn: Connection) -> set[str]:
    """Every stored node and link id (O(nodes + links): for hints on an unknown id).

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> eng = make_engine("sqlite://"); migrate(eng)
    >>> with eng.connect() as conn:
    ...     element_ids(conn)
    set()
    """
    return set(conn.execute(select(t.nodes.c.node_id)).scalars()) | set(
        conn.execute(select(t.links.c.link_id)).scalars())


def srlg_groups(conn: Connection) -> set[str]:
    """Every shared-risk group of the stored links (their ``;``-separated ``srlg`` values).

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> eng = make_engine("sqlite://"); migrate(eng)
    >>> with eng.connect() as conn:
    ...     srlg_groups(conn)
    set()
    """
    groups: set[str] = set()
    for (value,) in conn.execute(select(t.links.c.srlg).where(t.links.c.srlg != "").distinct()):
        groups.update(g.strip() for g in str(value).split(";") if g.strip())
    return groups


def power_feeds(conn: Connection) -> set[str]:
    """Every power feed id of the stored nodes.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> eng = make_engine("sqlite://"); migrate(eng)
    >>> with eng.connect() as conn:
    ...     power_feeds(conn)
    set()
    """
    return set(conn.execute(select(t.nodes.c.power_feed).distinct()).scalars()) - {""}


def municipalities(conn: Connection) -> set[str]:
    """Every municipality of the stored nodes.

    Example
    -------
    >>> from resilience.store.engine import make_engine, migrate
    >>> eng = make_engine("sqlite://"); migrate(eng)
    >>> with eng.connect() as conn:
    ...     municipalities(conn)
    set()
    """
    return set(conn.execute(select(t.nodes.c.municipality).distinct()).scalars()) - {""}
