"""SQLite bulk writes as multi-row ``INSERT`` statements (:func:`repo._insert_rows`) store
exactly what one statement per row (``executemany``) stores: the same values, storage classes
and row order, for every length around the statement size, hostile text and mixed values
included; the driver's variable limit is respected; a failing row leaves the caller's
transaction to roll back whole."""

from __future__ import annotations

import math
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resilience.store import repo

DDL = "CREATE TABLE t (k TEXT, x REAL, n BIGINT, s TEXT, ts BIGINT)"
COLS = ["k", "x", "n", "s", "ts"]
READ = "SELECT k, x, n, s, ts, typeof(k), typeof(x), typeof(n), typeof(s), typeof(ts) FROM t ORDER BY rowid"

value = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),  # NUL, control and non-BMP included
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
)


def _db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute(DDL)
    return db


def _by_executemany(columns: list[list]) -> list[tuple]:
    db = _db()
    db.executemany(f"INSERT INTO t ({', '.join(COLS)}) VALUES (?, ?, ?, ?, ?)", zip(*columns, strict=True))
    return db.execute(READ).fetchall()


def _by_insert_rows(columns: list[list]) -> list[tuple]:
    db = _db()
    repo._insert_rows(db, "t", COLS, columns)
    return db.execute(READ).fetchall()


@pytest.mark.parametrize("n", [0, 1, 6, 7, 8, 14, 15, 23])
def test_every_length_around_the_statement_size(monkeypatch, n):
    monkeypatch.setattr(repo, "_ROWS_PER_INSERT", 7)
    columns = [[f"k{i}" for i in range(n)], [i / 3 if i % 4 else None for i in range(n)],
               [i * 10**12 for i in range(n)], ["\x00nul\ttab" if i % 3 == 0 else "" for i in range(n)],
               [None if i % 5 == 0 else 1_700_000_000_000_000 + i for i in range(n)]]
    got = _by_insert_rows(columns)
    assert len(got) == n
    assert got == _by_executemany(columns)
    if n:
        assert got[0][3] == "\x00nul\ttab"  # text after a NUL is kept


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(value, value, value, value, value), max_size=40),
       per=st.integers(min_value=1, max_value=9))
def test_the_same_rows_as_one_statement_per_row(rows, per):
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in COLS]
    saved = repo._ROWS_PER_INSERT
    repo._ROWS_PER_INSERT = per
    try:
        got = _by_insert_rows(columns)
    finally:
        repo._ROWS_PER_INSERT = saved
    want = _by_executemany(columns)
    # NaN never occurs (not drawn); -0.0 and 0.0 compare equal, so compare their signs too
    assert got == want
    assert [math.copysign(1, r[1]) for r in got if isinstance(r[1], float)] == \
           [math.copysign(1, r[1]) for r in want if isinstance(r[1], float)]


def test_the_variable_limit_of_the_driver_is_respected(monkeypatch):
    db = _db()
    db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 12)  # two rows of five columns at most
    seen: list[int] = []
    db.set_trace_callback(lambda sql: seen.append(sql.count("(") - 1) if sql.startswith("INSERT") else None)
    columns = [[str(i) for i in range(5)], [1.0] * 5, [1] * 5, ["s"] * 5, [2] * 5]
    repo._insert_rows(db, "t", COLS, columns)
    assert db.execute("SELECT count(*) FROM t").fetchone() == (5,)
    assert seen and max(seen) <= 2


def test_unequal_columns_are_refused():
    with pytest.raises(ValueError, match="unequal length"):
        repo._insert_rows(_db(), "t", COLS, [["a"], [1.0, 2.0], [1], ["s"], [1]])


def test_a_failing_row_rolls_back_with_the_transaction():
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("CREATE TABLE u (k TEXT PRIMARY KEY)")
    db.execute("BEGIN")
    with pytest.raises(sqlite3.IntegrityError):
        repo._insert_rows(db, "u", ["k"], [[f"k{i}" for i in range(1200)] + ["k3"]])
    db.execute("ROLLBACK")
    assert db.execute("SELECT count(*) FROM u").fetchone() == (0,)
