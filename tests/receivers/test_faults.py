"""Faults: SIGKILL between acknowledging and ingesting (nothing lost on restart), the database
unavailable (events wait in the spool, then land), 10,000 events in a burst, and the inbox
mode (the Airflow ingest DAG is the one writer)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import urllib.request
import uuid
from pathlib import Path

import pytest

from resilience import api
from tests.conftest import missing
from tests.exporter.conftest import free_port
from tests.receivers import samples
from tests.receivers.conftest import link_state, node_state, post, wait_for


def _start(home: Path, db_url: str, port: int, hold: Path) -> subprocess.Popen:
    env = {**os.environ, "RESILIENCE_HOME": str(home), "RESILIENCE_DB_URL": db_url,
           "RESILIENCE_RECEIVER_HOLD": str(hold)}
    exe = Path(sys.executable).with_name("resilience")
    proc = subprocess.Popen([str(exe), "receive", "--http-port", str(port), "--no-snmp"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def up() -> bool:
        assert proc.poll() is None, f"receiver exited: {proc.stderr.read().decode()[-2000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    wait_for(up, "the receiver process listening")
    return proc


def test_sigkill_between_ack_and_ingest_loses_nothing(network, resilience_home, tmp_path):
    hold = tmp_path / "hold"
    hold.touch()  # the worker holds: acknowledged events stay in the spool
    port = free_port()
    proc = _start(resilience_home, network, port, hold)
    url = f"http://127.0.0.1:{port}/eventListener/v7"
    base = samples.now_us(-120)
    events = [samples.fault("B1", "Mains Failure", us=base, event_id="k1"),
              samples.fault("B2", "Cell unavailable", us=base + 1, event_id="k2"),
              samples.fault("L2", "Loss of signal", us=base + 2, event_id="k3")]
    events += [samples.heartbeat("A1", us=base + 10 + i) for i in range(47)]
    for i in range(0, len(events), 10):
        assert post(url, {"eventList": events[i:i + 10]}) == (202, {"accepted": len(events[i:i + 10])})
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert node_state(network, "B1")["state"] == "unknown"  # nothing ingested before the kill
    hold.unlink()
    proc = _start(resilience_home, network, port, hold)
    try:
        wait_for(lambda: (node_state(network, "A1") or {}).get("observed_at"), "A1's heartbeats stored")
        wait_for(lambda: not list((resilience_home / "var/receiver/spool").glob("seg-*")), "an empty spool")
        assert node_state(network, "B1")["power"] == "battery"
        assert node_state(network, "B2")["state"] == "down"
        assert link_state(network, "L2")["state"] == "down"
        from datetime import UTC, datetime
        last = datetime.fromtimestamp((base + 56) / 1e6, UTC)
        assert node_state(network, "A1")["observed_at"] == last.isoformat()
        assert api.quarantine_list(db_url=network) == []
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


@pytest.mark.postgres
def test_database_down_events_wait_then_land(start_receiver, tmp_path, monkeypatch):
    base = os.environ.get("RESILIENCE_TEST_PG_URL")
    if not base:
        missing("postgres", "RESILIENCE_TEST_PG_URL is not set")
    from resilience.sample.known import KNOWN_LINKS_CSV, KNOWN_NODES_CSV
    from resilience.store.engine import create_database, drop_database

    name = f"t_down_{uuid.uuid4().hex[:10]}"
    url = base.rsplit("/", 1)[0] + f"/{name}"  # no such database yet: every connection fails
    hold = tmp_path / "hold"
    rec = start_receiver(url)
    post(f"http://127.0.0.1:{rec.http_port}/eventListener/v7",
         {"event": samples.fault("B3", "Cell unavailable")})
    wait_for(lambda: rec.metrics.failures._value.get() >= 2, "two failed rounds while the database is down")
    assert rec.spool.closed(), "the events wait in the spool"
    monkeypatch.setenv("RESILIENCE_RECEIVER_HOLD", str(hold))
    try:
        hold.touch()  # the database comes back; its inventory first
        assert create_database(base, name) == url
        (tmp_path / "nodes.csv").write_text(KNOWN_NODES_CSV)
        (tmp_path / "links.csv").write_text(KNOWN_LINKS_CSV)
        api.ingest([tmp_path / "nodes.csv", tmp_path / "links.csv"], db_url=url)
        hold.unlink()
        wait_for(lambda: (node_state(url, "B3") or {}).get("state") == "down", "B3 down once the database is back")
        assert api.quarantine_list(db_url=url) == []
    finally:
        rec.stop(drain_seconds=0)
        api.engine(url).dispose()
        drop_database(base, url)


def test_burst_of_10000_events(db_url, start_receiver, tmp_path):
    from resilience.sample.synthetic import generate_synthetic, write_synthetic

    files = write_synthetic(generate_synthetic(2000, seed=3), tmp_path / "net")
    api.ingest([files["nodes"], files["links"]], db_url=db_url)
    nodes = [n["node_id"] for n in api.status(db_url=db_url)["nodes"]][:1000]
    rec = start_receiver(db_url, rate_per_source=0)
    url = f"http://127.0.0.1:{rec.http_port}/eventListener/v7/eventBatch"
    base = samples.now_us(-600)
    events = [samples.fault(nodes[i % 1000], "Mains Failure", "CRITICAL" if (i // 1000) % 2 == 0 else "NORMAL",
                            us=base + i, event_id=f"b{i}") for i in range(10_000)]  # the last round: NORMAL
    codes = []

    def send(chunk):
        for j in range(0, len(chunk), 500):
            codes.append(post(url, {"eventList": chunk[j:j + 500]})[0])

    threads = [threading.Thread(target=send, args=(events[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [202] * 20
    assert rec.metrics.events.labels("ves", "accepted")._value.get() == 10_000
    wait_for(lambda: not rec.spool.closed() and rec.spool.open_events == 0
             and rec.metrics.events.labels("ves", "mapped")._value.get()
             + rec.metrics.events.labels("ves", "duplicate")._value.get() == 10_000, "all 10,000 events mapped")
    st = {n["node_id"]: n for n in api.status(db_url=db_url)["nodes"]}
    # interleaved senders: each node's newest event wins whatever the arrival order
    assert all(st[n]["power"] == "grid" for n in nodes)
    assert api.quarantine_list(db_url=db_url) == []


def test_inbox_mode_leaves_batches_to_the_airflow_dag(network, start_receiver, resilience_home):
    from resilience.api import ingest_inbox

    rec = start_receiver(network, ingest="inbox")
    post(f"http://127.0.0.1:{rec.http_port}/eventListener/v7", {"event": samples.fault("B1", "Cell unavailable")})
    inbox = resilience_home / "var" / "inbox"
    files = wait_for(lambda: sorted(inbox.glob("receiver_*.jsonl")), "a batch file in the inbox")
    assert node_state(network, "B1")["state"] == "unknown"  # the receiver wrote nothing itself
    summary = ingest_inbox(inbox, "run-1", db_url=network, settle_seconds=0)
    assert summary["rows_accepted"] == 1 and [f["path"] for f in summary["files"]] == [files[0].name]
    assert node_state(network, "B1")["state"] == "down"
