"""A single point of failure is stored once for the snapshots it stays the same in.

``write_snapshot`` closes the open rows that changed or vanished and inserts only new and changed
rows; every kept snapshot still reads back exactly the elements written for it (SQLite and
PostgreSQL), whether the writer read the open rows or was handed the previous snapshot's frame.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import delete, func, select

from resilience.store import tables as t
from resilience.store.exports import operator_extract
from resilience.store.reader import SnapshotReads
from resilience.store.snapshots import read_snapshot, write_snapshot
from resilience.topology.snapshot import ELEMENT_COLUMNS, ELEMENTS, SNAPSHOT_FRAMES, Snapshot

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SORT = ["element_type", "element_id"]


def _elements(n: int, *, subs: int = 100, ties: bool = True) -> pd.DataFrame:
    """``n`` nodes and ``n`` links with the same ids; equal blast radii when ``ties``."""
    rows = []
    for i in range(n):
        for kind in ("node", "link"):
            s = subs if ties else subs + i
            rows.append((kind, f"E{i:03d}", 1 + i % 3, s, "" if i % 4 == 0 else "core",
                         "docomo" if i % 2 else "kddi", "", f"m{i % 5}"))
    return ELEMENTS.typed(pd.DataFrame(rows, columns=ELEMENT_COLUMNS))


def _snapshot(elements: pd.DataFrame, k: int) -> Snapshot:
    t = T0 + timedelta(minutes=k)
    frames = [f.empty() for f in SNAPSHOT_FRAMES]
    frames[0] = elements
    return Snapshot(t, t, 1, 5, 1, 5, 0.0, {}, *frames)


def _sequence() -> list[pd.DataFrame]:
    """Watch-like updates, a full change, an element gone and back, an empty snapshot."""
    base = _elements(40)
    few = base.copy()
    few.loc[3, "subscribers_lost"] = 7  # changed
    few.loc[8, "kind"] = "fiber"  # changed text
    few = pd.concat([few.drop(index=[5, 6]),  # vanished
                     ELEMENTS.typed(pd.DataFrame([("node", "NEW1", 2, 100, "", "", "", "")],
                                                 columns=ELEMENT_COLUMNS))], ignore_index=True)
    full = _elements(40, subs=300, ties=False)
    gone = full[full["element_id"] != "E010"].reset_index(drop=True)
    back = full.copy()
    return [base, few, few.copy(), full, gone, back, ELEMENTS.empty(), base, base.copy()]


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return ELEMENTS.typed(df[ELEMENT_COLUMNS].copy()).sort_values(SORT).reset_index(drop=True)


def _stored_rows(engine, ids: list[int]) -> list[tuple]:
    """Every stored element row, snapshot ids replaced by their place in ``ids``."""
    place = {sid: i for i, sid in enumerate(ids)}
    e = t.snapshot_elements.c
    with engine.connect() as conn:
        rows = conn.execute(select(e.snapshot_id, e.until_snapshot_id,
                                   *[e[c] for c in ELEMENT_COLUMNS])).all()
    return sorted((place.get(r[0], -1), place.get(r[1], r[1] and r[1] - ids[-1] + len(ids)), *r[2:])
                  for r in rows)


def _write_all(engine, keep: int, *, hand_previous: bool) -> tuple[list[int], list[tuple]]:
    written: dict[int, pd.DataFrame] = {}
    ids: list[int] = []
    previous = None
    for k, frame in enumerate(_sequence()):
        if hand_previous and k == 5:  # a stale frame (not the newest snapshot) is not used
            previous = (ids[-2], written[ids[-2]])
        sid = write_snapshot(engine, _snapshot(frame.copy(), k), keep=keep,
                             previous=previous if hand_previous else None)
        ids.append(sid)
        written[sid] = frame
        previous = (sid, frame)
        with engine.connect() as conn:
            kept = [r[0] for r in conn.execute(select(t.snapshots.c.id).order_by(t.snapshots.c.id))]
        assert kept == ids[-keep:]
        for s in kept:
            back = read_snapshot(engine, s).elements
            pd.testing.assert_frame_equal(_sorted(back), _sorted(written[s]), check_dtype=False)
            # the exporter's top elements and the operator export read the same rows
            expect = back.head(5)
            with engine.connect() as conn:
                top = SnapshotReads(conn).top_elements(s, 5)
                spofs = operator_extract(conn, s, "docomo")["spofs"]
            assert [(r.element_type, r.element_id) for r in top] == list(
                zip(expect["element_type"], expect["element_id"], strict=True))
            mine = written[s][written[s]["operator"] == "docomo"]
            assert sorted((d["element_type"], d["element_id"]) for d in spofs) == sorted(
                zip(mine["element_type"], mine["element_id"], strict=True))
            assert all("until_snapshot_id" not in d for d in spofs)
            subs = [d["subscribers_lost"] for d in spofs]
            assert subs == sorted(subs, reverse=True)
    return ids, _stored_rows(engine, ids)


def _clear(engine) -> None:
    with engine.begin() as conn:
        for tbl in (t.snapshot_elements, t.snapshot_srlgs, t.snapshot_nodes_out,
                    t.snapshot_aggregates, t.snapshots):
            conn.execute(delete(tbl))


@pytest.mark.parametrize("keep", [2, 3])
def test_every_kept_snapshot_reads_back_its_elements(engine, keep):
    ids, read_path = _write_all(engine, keep, hand_previous=False)
    _clear(engine)
    ids2, handed_path = _write_all(engine, keep, hand_previous=True)
    assert handed_path == read_path  # the same rows stored, snapshot for snapshot
    # no row is left that no kept snapshot sees
    e = t.snapshot_elements.c
    with engine.connect() as conn:
        oldest = conn.execute(select(func.min(t.snapshots.c.id))).scalar()
        assert conn.execute(select(func.count()).where(e.until_snapshot_id <= oldest)).scalar() == 0


def test_an_update_stores_only_the_changed_rows(engine):
    base = _elements(500, ties=False)
    write_snapshot(engine, _snapshot(base, 0))
    update = base.copy()
    update.loc[:9, "subscribers_lost"] += 1  # 10 changed rows
    update = update.drop(index=[20, 21])  # 2 gone
    sid = write_snapshot(engine, _snapshot(update, 1))
    e = t.snapshot_elements.c
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.snapshot_elements)).scalar() == 1000 + 10
        assert conn.execute(select(func.count()).where(e.until_snapshot_id == sid)).scalar() == 12
    pd.testing.assert_frame_equal(_sorted(read_snapshot(engine, sid).elements), _sorted(update),
                                  check_dtype=False)


def test_a_first_snapshot_into_an_empty_table_rebuilds_the_indexes(engine, monkeypatch):
    """The first write builds the table's indexes after its rows (sorted, not row by row); the
    indexes are back and serve the next write, which stores only the changed rows."""
    from sqlalchemy import inspect as sa_inspect

    from resilience.store import repo

    monkeypatch.setattr(repo, "_REBUILD_FROM", 100)
    statements: list[str] = []
    from sqlalchemy import event

    record = lambda _c, _cur, statement, *_a: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    try:
        base = _elements(200, ties=False)
        first = write_snapshot(engine, _snapshot(base, 0))
        dropped = [s for s in statements if s.strip().upper().startswith("DROP INDEX")]
        statements.clear()
        update = base.copy()
        update.loc[:4, "subscribers_lost"] += 1
        second = write_snapshot(engine, _snapshot(update, 1))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(dropped) == len(t.snapshot_elements.indexes)  # the first write rebuilt them
    assert not [s for s in statements if "DROP INDEX" in s.upper()]  # the next one did not
    names = {ix["name"] for ix in sa_inspect(engine).get_indexes("snapshot_elements")}
    assert names == {ix.name for ix in t.snapshot_elements.indexes}
    for sid, frame in ((first, base), (second, update)):
        pd.testing.assert_frame_equal(_sorted(read_snapshot(engine, sid).elements), _sorted(frame),
                                      check_dtype=False)


def test_a_failed_first_write_rolls_back_its_rebuilt_indexes(engine, monkeypatch):
    """The first write into an empty table drops its indexes and builds them after the rows, in
    its transaction: a failure after the rows leaves neither rows nor a missing index."""
    from sqlalchemy import event
    from sqlalchemy import inspect as sa_inspect

    from resilience.store import repo
    from resilience.store import snapshots as snapshots_module

    monkeypatch.setattr(repo, "_REBUILD_FROM", 100)
    statements: list[str] = []

    record = lambda _c, _cur, statement, *_a: statements.append(statement)  # noqa: E731

    real_insert = snapshots_module.bulk_insert

    def insert_then_fail(conn, table, frame):
        real_insert(conn, table, frame)
        if table != t.snapshot_elements.name:  # the element rows and their indexes are in
            raise RuntimeError("after the element rows")

    monkeypatch.setattr(snapshots_module, "bulk_insert", insert_then_fail)
    event.listen(engine, "before_cursor_execute", record)
    try:
        with pytest.raises(RuntimeError, match="after the element rows"):
            write_snapshot(engine, _snapshot(_elements(200, ties=False), 0))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [s for s in statements if s.strip().upper().startswith("DROP INDEX")]  # it did drop them
    names = {ix["name"] for ix in sa_inspect(engine).get_indexes("snapshot_elements")}
    assert names == {ix.name for ix in t.snapshot_elements.indexes}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.snapshot_elements)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(t.snapshots)).scalar_one() == 0


def test_rows_inserted_without_a_range_belong_to_their_snapshot_only(engine):
    """Rows written directly (as before ranges existed) get ``until_snapshot_id = snapshot_id + 1``."""
    a = write_snapshot(engine, _snapshot(ELEMENTS.empty(), 0))
    b = write_snapshot(engine, _snapshot(ELEMENTS.empty(), 1))
    with engine.begin() as conn:
        conn.execute(t.snapshot_elements.insert(), [
            dict(snapshot_id=a, element_type="node", element_id="X", nodes_lost=1, subscribers_lost=5)])
    assert read_snapshot(engine, a).elements["element_id"].tolist() == ["X"]
    assert read_snapshot(engine, b).elements.empty


def test_the_migration_keeps_every_snapshot_s_elements(db_url):
    """Rows stored before 0006 read back per snapshot after it, and again after a downgrade."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from resilience.store.engine import MIGRATIONS, make_engine, migrate

    engine = make_engine(db_url)
    try:
        migrate(engine, "0005")
        old = {k: _elements(3 + k) for k in range(2)}
        ids = []
        with engine.begin() as conn:
            for k, frame in old.items():
                ids.append(conn.execute(t.snapshots.insert().values(
                    created_at=T0, as_of=T0, total_nodes=1, total_subscribers=5, served_nodes=1,
                    served_subscribers=5)).inserted_primary_key[0])
                conn.execute(text(
                    "INSERT INTO snapshot_elements (snapshot_id, element_type, element_id, nodes_lost, "
                    "subscribers_lost, kind, operator, prefecture, municipality) VALUES (:sid, :element_type, "
                    ":element_id, :nodes_lost, :subscribers_lost, :kind, :operator, :prefecture, :municipality)"),
                    [{"sid": ids[k], **r} for r in frame.astype(object).to_dict("records")])
        migrate(engine)
        sid = write_snapshot(engine, _snapshot(old[1], 2))
        for s, frame in ((ids[0], old[0]), (ids[1], old[1]), (sid, old[1])):
            pd.testing.assert_frame_equal(_sorted(read_snapshot(engine, s).elements), _sorted(frame),
                                          check_dtype=False)
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
        with engine.connect() as conn:
            counts = dict(conn.execute(text(
                "SELECT snapshot_id, count(*) FROM snapshot_elements GROUP BY snapshot_id")).all())
        assert counts == {ids[0]: len(old[0]), ids[1]: len(old[1]), sid: len(old[1])}
    finally:
        engine.dispose()
