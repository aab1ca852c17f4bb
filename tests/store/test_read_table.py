"""The store's table reader (:func:`resilience.store.repo._read_table`) and the inventory
compiler's Arrow paths give exactly what the row-by-row paths give (issue 16).

``_read_table`` turns rows into Arrow columns in one pass (SQLite) or reads ``COPY ... (FORMAT
csv)`` with Arrow (PostgreSQL). Here every frame it returns is compared with the frame of the
row path (:func:`resilience.store.repo._frame_column` over the fetched rows) on hostile values:
text with quotes, commas, newlines, tabs, backslashes, ``NULL`` next to ``''``, floats that
must round-trip exactly (subnormals, ``-0.0``, infinities, NaN), times with microseconds under
another session time zone and date style, and SQLite's loose typing (values of another type
than their column's, which take the row path).
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, text

from resilience.store import repo
from resilience.store import tables as t
from resilience.store.engine import make_engine, migrate
from resilience.topology.compiled import _stable_argsort, compile_inventory, link_order

TEXTS = ["", " ", "plain", 'quo"te', "com,ma", "new\nline", "cr\r\nlf", "tab\there", "back\\slash",
         "\\N", "NULL", "NA", "nan", "N/A", '""', "'", "  padded  ", "東京都", "emoji 🛰", "\\.", ",", "\n"]
FLOATS = [0.1, 1e300, 5e-324, -0.0, 0.30000000000000004, 2.0**53 + 2, -1.7976931348623157e308,
          math.inf, -math.inf, None, 1.0, 123456.789e-10]


def _floats(k: int, seed: int = 7) -> list[float]:
    rnd = random.Random(seed)
    return [rnd.uniform(-180, 180) if i % 3 else rnd.random() * 10.0 ** rnd.randint(-300, 300) for i in range(k)]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    eng = make_engine(url)
    migrate(eng)
    yield eng
    eng.dispose()


def _row_path(conn, name: str, where: str = "", params: tuple = ()) -> pd.DataFrame:
    """The frame of the rows, built column by column by ``_frame_column`` (the row path)."""
    columns = [c for c in t.metadata.tables[name].columns if c.name not in repo._HIDDEN]
    sql = f"SELECT {', '.join(c.name for c in columns)} FROM {name}"
    if where:
        sql += " WHERE " + where.replace("?", repo._PARAM[conn.dialect.name])
    cur = conn.connection.driver_connection.cursor()
    cur.execute(sql, params) if params else cur.execute(sql)
    rows = cur.fetchall()
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pd.DataFrame({c.name: repo._frame_column(c, v, conn.dialect.name) for c, v in zip(columns, values, strict=True)},
                        columns=[c.name for c in columns])


def _same(a: pd.DataFrame, b: pd.DataFrame, key: str | None = None) -> None:
    if key is not None:  # a filtered read: the order of the rows is the plan's
        a, b = (x.sort_values(key, ignore_index=True) for x in (a, b))
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert [str(d) for d in a.dtypes] == [str(d) for d in b.dtypes]
    for c in a.columns:
        if a[c].dtype == np.float64:  # bit for bit (-0.0, NaN)
            assert a[c].to_numpy().tobytes() == b[c].to_numpy().tobytes(), c


def _fill(engine, k: int = 300) -> None:
    floats = _floats(k)
    t0 = datetime(2024, 1, 1, 16, 0, 0, 123456, tzinfo=timezone(timedelta(hours=9)))
    nodes = [{"node_id": f"N{i:04d}" if i % 7 else f"N,\"{i}\"\n", "kind": TEXTS[i % len(TEXTS)] or "core",
              "operator": TEXTS[(i + 3) % len(TEXTS)], "name": TEXTS[(i + 5) % len(TEXTS)],
              "lat": FLOATS[i % len(FLOATS)] if i < 40 else floats[i], "lon": floats[-i - 1] if i % 5 else None,
              "prefecture": TEXTS[(i + 7) % len(TEXTS)], "municipality": "", "subscribers": (i * 7919) % 10**12 - 5,
              "battery_hours": floats[i] / 3, "power_feed": f"F{i % 13}"} for i in range(k)]
    links = [{"link_id": f"L{i}", "a": f"N{i:04d}", "b": f"N{(i * 31) % k:04d}", "medium": TEXTS[i % len(TEXTS)],
              "capacity_mbps": None if i % 4 == 0 else floats[(i * 3) % k], "srlg": TEXTS[(i + 11) % len(TEXTS)]}
             for i in range(k)]
    status = [{"node_id": f"N{i:04d}", "observed_at": t0 + timedelta(microseconds=i * 1_000_003),
               "state": ("up", "down", "degraded")[i % 3], "power": TEXTS[i % len(TEXTS)],
               "battery_remaining_min": FLOATS[i % len(FLOATS)]} for i in range(k)]
    power = [{"power_feed": f"F{i}", "observed_at": t0 - timedelta(days=400 * i, microseconds=i),
              "state": "off" if i % 2 else "on",
              "expected_restore_at": None if i % 3 else t0 + timedelta(hours=i, microseconds=1)} for i in range(13)]
    lstatus = [{"link_id": f"L{i}", "observed_at": t0, "state": "down" if i % 5 == 0 else "up"} for i in range(k)]
    with engine.begin() as conn:
        for table, rows in ((t.nodes, nodes), (t.links, links), (t.node_status, status), (t.power_status, power),
                            (t.link_status, lstatus)):
            conn.execute(insert(table), rows)


READS = [("nodes", "", (), None), ("links", "", (), None), ("node_status", "", (), None),
         ("power_status", "", (), None), ("link_status", "state = ?", ("down",), "link_id"),
         ("node_status", "seq > ?", (10**9,), "node_id")]


@pytest.mark.parametrize(("name", "where", "params", "key"), READS)
def test_the_read_equals_the_row_path(engine, name, where, params, key):
    _fill(engine)
    with engine.connect() as conn:
        got = repo._read_table(conn, name, where, params)
        _same(got, _row_path(conn, name, where, params), key)
    if name == "nodes":
        assert len(got) == 300 and "" in set(got["municipality"]) and 'quo"te' in set(got["name"])
        assert got["lat"].to_numpy()[2] == 5e-324 and got["lat"].to_numpy()[7] == math.inf
        if engine.dialect.name == "postgresql":  # SQLite keeps -0.0 as 0
            assert np.signbit(got["lat"].to_numpy()[3])


def test_empty_tables_keep_their_dtypes(engine):
    with engine.connect() as conn:
        for name, where, params, key in READS:
            got = repo._read_table(conn, name, where, params)
            assert got.empty
            _same(got, _row_path(conn, name, where, params), key)


@pytest.mark.postgres
def test_postgresql_session_settings_do_not_change_the_read(pg_url):
    """Another time zone and date style (times are written as UTC text), and floats printed
    short (``extra_float_digits`` 0: the rows are fetched instead)."""
    eng = make_engine(pg_url)
    migrate(eng)
    _fill(eng)
    with eng.connect() as conn:
        conn.execute(text("SET TIME ZONE 'America/St_Johns'"))
        for name, where, params, key in READS:
            _same(repo._read_table(conn, name, where, params), _row_path(conn, name, where, params), key)
        want = repo._read_table(conn, "power_status")
        conn.execute(text("SET DateStyle = 'SQL, DMY'"))  # which the driver cannot parse
        _same(repo._read_table(conn, "power_status"), want)
        conn.execute(text("SET extra_float_digits = 0"))  # (the driver cannot read 1.797...e308 so)
        assert repo._copy_csv(conn, [t.nodes.c.node_id, t.nodes.c.lat], "", (), [None, None]) is None
        _same(repo._read_table(conn, "links"), _row_path(conn, "links"))
    eng.dispose()


@pytest.mark.postgres
def test_postgresql_nan_reads_as_nan(pg_url):
    eng = make_engine(pg_url)
    migrate(eng)
    with eng.begin() as conn:
        conn.execute(insert(t.nodes), [{"node_id": "A", "kind": "core", "operator": "o", "name": "", "lat": math.nan,
                                        "prefecture": "", "municipality": "", "subscribers": 0,
                                        "battery_hours": math.inf, "power_feed": ""}])
    with eng.connect() as conn:
        got = repo._read_table(conn, "nodes")
        _same(got, _row_path(conn, "nodes"))
    assert math.isnan(got["lat"][0]) and math.isnan(got["lon"][0]) and got["battery_hours"][0] == math.inf
    eng.dispose()


@pytest.mark.parametrize(("column", "value"), [
    ("subscribers", "1.5"),       # a real in an integer column: truncated, as before
    ("subscribers", "'12x'"),     # text in an integer column
    ("lat", "'abc'"),             # text in a float column: an error, as before
    ("name", "x'41'"),            # a blob in a text column
    ("kind", "x'ff'"),            # a blob that is not UTF-8
])
def test_sqlite_loose_typing_takes_the_row_path(tmp_path, column, value):
    eng = make_engine(f"sqlite:///{tmp_path}/r.db")
    migrate(eng)
    _fill(eng, 20)
    with eng.begin() as conn:
        conn.execute(text(f"UPDATE nodes SET {column} = {value} WHERE node_id = 'N0003'"))
    with eng.connect() as conn:
        try:
            want = _row_path(conn, "nodes")
        except Exception as exc:  # noqa: BLE001 - the same error either way
            with pytest.raises(type(exc)):
                repo._read_table(conn, "nodes")
        else:
            _same(repo._read_table(conn, "nodes"), want)
    eng.dispose()


def test_sqlite_null_times_read_as_nat(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path}/r.db")
    migrate(eng)
    _fill(eng, 20)
    with eng.connect() as conn:
        got = repo._read_table(conn, "power_status")
        _same(got, _row_path(conn, "power_status"))
    assert got["expected_restore_at"].isna().sum() == 8 and str(got["observed_at"].dtype) == "datetime64[us, UTC]"
    eng.dispose()


# --- the inventory compiler's Arrow paths ------------------------------------------------------

def _inventory_arrays(nodes: pd.DataFrame, links: pd.DataFrame) -> dict | None:
    inv = compile_inventory(nodes, links)
    if inv is None:
        return None
    arrays = inv.to_arrays()
    return {k: v.to_pylist() if hasattr(v, "to_pylist") else (np.asarray(v).dtype.str, np.asarray(v).tobytes())
            for k, v in arrays.items()}


def _as_objects(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: object for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)})


@pytest.mark.parametrize("case", ["plain", "bare ends", "link ids unsorted", "link id twice", "node id twice",
                                  "medium gaps", "node id missing"])
def test_arrow_inventory_equals_the_object_path(case):
    """Arrow text columns (a store's frames: hashed in Arrow) and the same columns as objects
    (factorized by pandas) compile to the same arrays."""
    rnd = random.Random(3)
    k = 60
    ids = [f"N{i}" for i in range(k)]
    nodes = pd.DataFrame({"node_id": ids, "kind": ["core"] + ["base_station"] * (k - 1),
                          "operator": [rnd.choice(["a", "b", ""]) for _ in ids], "subscribers": list(range(k))})
    a = [rnd.choice(ids) for _ in range(3 * k)]
    b = [rnd.choice(ids) for _ in range(3 * k)]
    lids = [f"L{i:03d}" for i in range(3 * k)]
    medium = [rnd.choice(["fiber", "radio", "copper"]) for _ in lids]
    if case == "bare ends":
        b = [x if i % 4 else f"X{i % 9}" for i, x in enumerate(b)]
        a = [x if i % 3 else f"X{(i * 5) % 11}" for i, x in enumerate(a)]
    if case == "link ids unsorted":
        rnd.shuffle(lids)
    if case == "link id twice":
        lids[17] = lids[3]
    if case == "node id twice":
        nodes.loc[5, "node_id"] = "N9"
    if case == "medium gaps":
        medium = [None if i % 5 == 0 else "" if i % 7 == 0 else x for i, x in enumerate(medium)]
    links = pd.DataFrame({"link_id": lids, "a": a, "b": b, "medium": medium, "srlg": ["R1;R2"] * len(lids)})
    nodes, links = nodes.astype({"node_id": "str", "kind": "str", "operator": "str"}), links.astype("str")
    if case == "medium gaps":
        links["medium"] = pd.Series(medium, dtype="str")
    if case == "node id missing":
        nodes["node_id"] = pd.Series([None] + ids[1:], dtype="str")
    fast, slow = _inventory_arrays(nodes, links), _inventory_arrays(_as_objects(nodes), _as_objects(links))
    assert fast == slow
    assert (fast is None) == (case in ("link id twice", "node id twice", "node id missing"))


def test_stable_argsort_both_ways():
    rnd = np.random.default_rng(5)
    for size, hi in ((0, 1), (1, 1), (1000, 3), (5000, 10**6)):
        key = rnd.integers(0, hi, size)
        want = np.argsort(key, kind="stable")
        assert np.array_equal(_stable_argsort(key, hi), want)
        assert np.array_equal(_stable_argsort(key, 2**62), want)  # too large to combine: stable sort


def test_link_order_with_parallel_links_and_loops():
    """Parallel links (ties broken by row), self-loops and both directions of a pair."""
    ia = np.array([0, 1, 2, 1, 0, 2, 2, 3, 1, 0])
    ib = np.array([1, 0, 2, 2, 1, 1, 2, 0, 0, 3])
    order, indptr, nbr, eid = link_order(ia, ib, 4)
    import networkx as nx

    G = nx.MultiGraph()
    G.add_nodes_from(range(4))
    for r, (x, y) in enumerate(zip(ia.tolist(), ib.tolist(), strict=True)):
        G.add_edge(x, y, key=r)
    assert order.tolist() == [k for _, _, k in G.edges(keys=True)]
    at = {r: i for i, r in enumerate(order.tolist())}
    adj = [(v, at[k]) for u in G for v, ks in G.adj[u].items() if v != u for k in ks]
    assert list(zip(nbr.tolist(), eid.tolist(), strict=True)) == adj
    assert indptr.tolist() == [0, *np.cumsum([sum(len(ks) for v, ks in G.adj[u].items() if v != u) for u in G])]
