"""A first load (empty tables) stores exactly what a load into non-empty tables stores, on
SQLite and PostgreSQL, hostile values and orderings included: ``nodes`` and ``links`` go
straight into the table (no staging table), status kinds into an empty current state with a
plain insert; values reach PostgreSQL as Arrow-written CSV (row by row when they cannot). The
other path is forced by an unrelated row already stored, removed before the tables are
compared."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from resilience.store import repo

HOSTILE = ["tab\there", "new\nline", "cr\rx", "back\\slash", "\\N", "\\.", 'quote"d', "comma,x", "",
           "日本語", " spaces ", "\\", "end\\", "semi;colon", "NULL"]
_T0 = pd.Timestamp("2026-01-01T00:00:00Z")


def _nodes(n: int = 30, *, text: str = "str") -> pd.DataFrame:
    names = [HOSTILE[i % len(HOSTILE)] for i in range(n)]
    return pd.DataFrame({
        "node_id": pd.array([f"n{i:03d}" + ("\t\\" if i % 7 == 0 else "") for i in range(n)], dtype=text),
        "kind": pd.array(["base_station"] * n, dtype=text),
        "operator": pd.array([HOSTILE[(i + 3) % len(HOSTILE)] for i in range(n)], dtype=text),
        "name": pd.array(names, dtype=text),
        "lat": [np.nan if i % 5 == 0 else 35.0 + i / 3 for i in range(n)],
        "lon": [139.1234567890123] * n,
        "prefecture": pd.array(["Tokyo"] * n, dtype=text),
        "municipality": pd.array([None if i % 4 == 0 else "x" for i in range(n)], dtype=text),
        "subscribers": [float(i * 1000) for i in range(n)],
        "battery_hours": [np.inf if i % 6 == 0 else 1e-5 * i for i in range(n)],
        "power_feed": pd.array([f"F{i % 3}" for i in range(n)], dtype=text),
    })


def _links(n: int = 30, *, source: bool = True) -> pd.DataFrame:
    f = pd.DataFrame({
        "link_id": [f"l{i:03d}" for i in range(n)],
        "a": [f"n{i:03d}" for i in range(n)],
        "b": [HOSTILE[i % len(HOSTILE)] for i in range(n)],
        "medium": ["fiber"] * n,
        "capacity_mbps": [np.nan if i % 3 == 0 else 10.0 ** (i % 12) for i in range(n)],
        "srlg": [None if i % 2 else "K1;K2" for i in range(n)],
    })
    if source:
        f["source"] = [HOSTILE[(i + 5) % len(HOSTILE)] for i in range(n)]
    return f


def _status(kind: str, seed: int, *, unique: bool = False, raw: bool = False) -> pd.DataFrame:
    """Duplicates, the same time twice, out-of-order rows, repeated states (or one row per
    element when ``unique``)."""
    rng = np.random.default_rng(seed)
    key = {"node_status": "node_id", "link_status": "link_id", "power_status": "power_feed"}[kind]
    n = 12 if unique else 60
    ids = [f"e{i}" + ("\n" if i == 3 else "") for i in (range(n) if unique else rng.integers(0, 8, n))]
    at = _T0 + pd.to_timedelta(rng.integers(0, 5, n), unit="min")
    f = pd.DataFrame({key: ids, "observed_at": at, "state": rng.choice(["up", "down"], n)})
    if kind == "node_status":
        f["power"] = rng.choice(["grid", "battery"], n)
        f["battery_remaining_min"] = np.where(rng.random(n) < 0.3, np.nan, rng.random(n) * 100)
    if kind == "power_status":
        f["state"] = rng.choice(["on", "off"], n)
        f["expected_restore_at"] = pd.Series(at + pd.Timedelta(hours=1)).where(rng.random(n) < 0.5)
    if raw:
        f["observed_at_raw"] = f["observed_at"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return f


def _table(conn, name: str) -> list[tuple]:
    """The rows of ``name`` in storage order (without history ids: only their order counts).
    On PostgreSQL the staged path's history order is the join's (not the file's): rows sorted."""
    cols = [c for c in repo.t.metadata.tables[name].columns.keys() if c != "id"]
    pk = repo.t.metadata.tables[name].primary_key.columns.keys()[0]
    order = "rowid" if conn.dialect.name == "sqlite" else pk
    rows = [tuple(r) for r in conn.exec_driver_sql(f"SELECT {', '.join(cols)} FROM {name} ORDER BY {order}")]
    return sorted(rows, key=repr) if conn.dialect.name == "postgresql" and pk == "id" else rows


_TABLES = ("nodes", "links", "inventory_changes", "node_status", "node_status_history", "link_status",
           "link_status_history", "power_status", "power_status_history")


def _clear(engine) -> None:
    with engine.begin() as conn:
        for name in _TABLES:
            conn.exec_driver_sql(f"DELETE FROM {name}")
        conn.exec_driver_sql("UPDATE status_seq SET value = 0")


def _both_paths(engine, table: str, load, other: dict) -> tuple[list, list, list]:
    """``table``'s rows after ``load`` by the staged path (``other``, an unrelated row, stored
    first and removed after) and by the first-load path; then the first load's history, if any."""
    key = repo.t.metadata.tables[table].primary_key.columns.keys()[0]
    _clear(engine)
    with engine.begin() as conn:
        conn.execute(repo.t.metadata.tables[table].insert(), [other])
        load(conn)
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE {key} = '~other'")
    history = f"{table}_history" if f"{table}_history" in repo.t.metadata.tables else None
    with engine.connect() as conn:
        staged = [_table(conn, name) for name in (table, history or "inventory_changes")]
    _clear(engine)
    with engine.begin() as conn:
        load(conn)
    with engine.connect() as conn:
        straight = [_table(conn, name) for name in (table, history or "inventory_changes")]
    return staged, straight, [len(straight[0])]


_NODE = {"node_id": "~other", "kind": "core", "operator": "o", "name": "", "lat": None, "lon": None,
         "prefecture": "", "municipality": "", "subscribers": 0, "battery_hours": 0.0,
         "power_feed": "", "source": "feed:o"}
_LINK = {"link_id": "~other", "a": "x", "b": "y", "medium": "fiber", "capacity_mbps": None,
         "srlg": "", "source": ""}


@pytest.mark.parametrize("text", ["str", "object"])
def test_nodes_first_load_stores_what_the_staged_path_stores(engine, text, monkeypatch):
    monkeypatch.setattr(repo, "_REBUILD_FROM", 1)  # indexes dropped and built after, too
    frame = _nodes(text=text)
    staged, straight, (n,) = _both_paths(engine, "nodes", lambda c: repo.upsert_nodes(c, frame), _NODE)
    assert n == len(frame) and staged == straight
    assert straight[1] == []  # a first load records no change


def test_links_first_load_stores_what_the_staged_path_stores(engine):
    frame = _links()
    staged, straight, (n,) = _both_paths(engine, "links", lambda c: repo.upsert_links(c, frame), _LINK)
    assert n == len(frame) and staged == straight


def test_values_that_are_not_text_are_written_row_by_row(engine):
    """An object column holding numbers (or a NUL character) cannot go through Arrow's CSV:
    the rows are written one by one, as before, with the same result."""
    assert repo._copy_column(pd.Series([1, "a"], dtype=object), None) is None
    assert repo._copy_column(pd.Series(["a\x00b"]), None) is None
    frame = _nodes(6)
    frame["name"] = pd.Series([5, "x", None, 7, "", "y"], dtype=object)
    staged, straight, _ = _both_paths(engine, "nodes", lambda c: repo.upsert_nodes(c, frame), _NODE)
    assert staged == straight
    assert [r[3] for r in straight[0]] == ["5", "x", "", "7", "", "y"]


def _other_status(kind: str) -> dict:
    row = {"observed_at": _T0 - pd.Timedelta(days=1), "state": "up", "seq": 0}
    key = {"node_status": "node_id", "link_status": "link_id", "power_status": "power_feed"}[kind]
    if kind == "node_status":
        row |= {"power": "grid", "battery_remaining_min": None}
    if kind == "power_status":
        row |= {"state": "on", "expected_restore_at": None}
    return {key: "~other", **row, "observed_at": row["observed_at"].to_pydatetime()}


@pytest.mark.parametrize("kind", ["node_status", "link_status", "power_status"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("unique", [False, True])
@pytest.mark.parametrize("skip_existing", [False, True])
def test_status_first_load_stores_what_the_staged_path_stores(engine, kind, seed, unique, skip_existing):
    frame = _status(kind, seed, unique=unique, raw=seed == 1)
    staged, straight, (n,) = _both_paths(
        engine, kind, lambda c: repo.apply_status(c, kind, frame, "sha", skip_existing=skip_existing),
        _other_status(kind))
    assert n == frame.iloc[:, 0].nunique()
    assert staged == straight  # current state (with seq) and history, in the same order


def test_read_ids_and_values_of_any_text(engine):
    """The ids and values read back are the stored ones, whatever their text (on SQLite a value
    with a NUL character makes the reader fetch rows instead of splitting one string)."""
    ids = ["", "a", "b\x00c", "日本", "\\", "\n"] if engine.dialect.name == "sqlite" else ["", "a", "日本", "\\", "\n"]
    frame = _nodes(len(ids))
    frame["node_id"] = ids
    with engine.begin() as conn:
        repo.upsert_nodes(conn, frame)
    with engine.connect() as conn:
        assert sorted(repo.known_ids(conn, "nodes")) == sorted(ids)
        got = repo.current_values(conn, "nodes", ["operator", "lat"])
    assert got.index.dtype == object and got["operator"].dtype == object
    assert got["operator"].to_dict() == dict(zip(ids, frame["operator"], strict=True))
    assert got["lat"].isna().sum() == frame["lat"].isna().sum()


def test_ids_longer_together_than_sqlite_takes_are_read_as_rows(tmp_path):
    """All ids joined would pass SQLite's longest string: the rows are fetched instead."""
    import sqlite3

    from resilience.store.engine import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path}/s.db")
    migrate(engine)
    with engine.begin() as conn:
        repo.upsert_nodes(conn, _nodes(40))
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        driver.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 100)
        assert sorted(repo.known_ids(conn, "nodes")) == sorted(_nodes(40)["node_id"])
