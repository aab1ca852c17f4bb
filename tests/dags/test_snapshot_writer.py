"""One snapshot per change: the analyze DAG's step defers to a running ``resilience watch`` and
the watch writes nothing that is stored already (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from resilience import api
from resilience.api import snapshots as pipeline  # the snapshot writers the pipeline calls
from resilience.api.live import LiveModel

STATUS = "observed_at,node_id,state,power,battery_remaining_min\n{at},A1,down,none,0\n"


def _count(db_url: str) -> int:
    from sqlalchemy import func, select

    from resilience.store import tables as t

    with api.engine(db_url).connect() as conn:
        return conn.execute(select(func.count()).select_from(t.snapshots)).scalar_one()


def _status(tmp_path, n: int):
    p = tmp_path / f"status{n}.csv"
    p.write_text(STATUS.format(at=datetime(2024, 1, 3, 0, n, tzinfo=UTC).isoformat()))
    return p


def test_without_a_watch_the_pipeline_writes_once_per_change(db_url, contract_files, tmp_path):
    api.ingest(contract_files, db_url=db_url)
    a = pipeline.analyze_once(datetime(2024, 1, 3, 1, tzinfo=UTC), db_url=db_url)
    b = pipeline.analyze_once(datetime(2024, 1, 3, 2, tzinfo=UTC), db_url=db_url)  # nothing changed
    assert a == b and _count(db_url) == 1
    api.ingest([_status(tmp_path, 1)], db_url=db_url)
    c = pipeline.analyze_once(datetime(2024, 1, 3, 3, tzinfo=UTC), db_url=db_url)
    assert c != a and _count(db_url) == 2


def test_the_watch_writes_nothing_the_pipeline_stored_already(db_url, contract_files, tmp_path):
    api.ingest(contract_files, db_url=db_url)
    live = LiveModel(db_url)
    first = live.analyze()
    api.ingest([_status(tmp_path, 1)], db_url=db_url)
    by_pipeline = pipeline.analyze_once(datetime(2024, 1, 3, 1, tzinfo=UTC), db_url=db_url,
                                        wait_for_watch_s=0)
    assert by_pipeline != first
    assert live.analyze() == by_pipeline and _count(db_url) == 2


def test_the_pipeline_defers_to_a_live_watch(db_url, contract_files, tmp_path):
    api.ingest(contract_files, db_url=db_url)
    live = LiveModel(db_url)
    live.analyze()  # the watch is alive (its heartbeat) and has stored the inventory's snapshot
    assert pipeline.watch_alive(db_url)
    api.ingest([_status(tmp_path, 1)], db_url=db_url)
    before = _count(db_url)
    got: dict[str, int] = {}
    started = threading.Event()

    def watch_turn() -> None:
        started.wait()
        got["watch"] = live.analyze()

    th = threading.Thread(target=watch_turn)
    th.start()
    # the pipeline polls for the watch's snapshot of this change instead of writing its own
    real = pipeline.covering_snapshot

    def covering(mark, **kw):
        started.set()
        return real(mark, **kw)

    pipeline.covering_snapshot = covering
    try:
        sid = pipeline.analyze_once(datetime(2024, 1, 3, 1, tzinfo=UTC), db_url=db_url,
                                    wait_for_watch_s=600, poll_s=0.05)
    finally:
        pipeline.covering_snapshot = real
        th.join(600)
    assert not th.is_alive(), "the watch's turn did not finish"
    assert sid == got["watch"] and _count(db_url) == before + 1


def test_a_stale_heartbeat_is_no_watch(db_url, contract_files, tmp_path):
    import os

    api.ingest(contract_files, db_url=db_url)
    LiveModel(db_url).refresh()
    beat = pipeline._heartbeat_path(db_url)
    os.utime(beat, (0, 0))
    assert not pipeline.watch_alive(db_url)
    pipeline.analyze_once(datetime(2024, 1, 3, 1, tzinfo=UTC), db_url=db_url)  # writes, no wait
    assert _count(db_url) == 1
