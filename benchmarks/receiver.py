"""Receiver throughput and lag: a real ``resilience receive`` process, VES events over HTTP, the
store (SQLite by default, ``--db`` for PostgreSQL) holding a synthetic network.

1. Sustained: ``--events`` VES fault events in batches of 100 from 4 client threads, as fast as
   the receiver acknowledges them; time until every one is stored (the receiver's
   ``resilience_receiver_events_total{outcome="mapped"}`` counts events whose rows committed).
   Three runs; prints the median events/s. Target: at least 2,000/s.
2. Lag at a paced rate (``--rate``, default 1,000 events/s) for ``--seconds``: batches of 100
   every 0.1 s; the lag of a batch runs from its POST to the moment the mapped counter covers it
   (polled every 20 ms). Prints the median and p99. Target: p99 under 5 s.

Run::

    .venv/bin/python benchmarks/receiver.py [--sites 5000] [--events 30000] [--db URL]

Then one sample is read back by hand: an event's node in ``resilience status`` with its time.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fault(node: str, severity: str, us: int, eid: str) -> dict:
    return {"commonEventHeader": {
        "domain": "fault", "eventId": eid, "eventName": "Fault_bench_MainsFailure", "lastEpochMicrosec": us,
        "priority": "High", "reportingEntityName": "bench", "sequence": 0, "sourceName": node,
        "startEpochMicrosec": us, "version": "4.1", "vesEventListenerVersion": "7.2.1"},
        "faultFields": {"alarmCondition": "Mains Failure", "eventSeverity": severity, "eventSourceType": "site",
                        "faultFieldsVersion": "4.0", "specificProblem": "AC input lost", "vfStatus": "Active"}}


def post(url: str, events: list[dict]) -> int:
    req = urllib.request.Request(url, data=json.dumps({"eventList": events}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        r.read()
        return r.status


def mapped(metrics_url: str) -> float:
    with urllib.request.urlopen(metrics_url, timeout=30) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("resilience_receiver_events_total{") and (
                'outcome="mapped"' in line or 'outcome="duplicate"' in line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_mapped(metrics_url: str, target: float, timeout: float, step: float = 0.02) -> float:
    deadline = time.monotonic() + timeout
    while True:
        if mapped(metrics_url) >= target:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up: {target:.0f} events not stored within {timeout:.0f} s")
        time.sleep(step)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sites", type=int, default=5000)
    ap.add_argument("--events", type=int, default=30_000)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--db", default=None, help="database URL (default: SQLite in a temporary folder)")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="recv-bench-"))
    (home / "config").mkdir()
    root = Path(__file__).resolve().parent.parent
    (home / "config" / "resilience.toml").write_bytes((root / "config" / "resilience.toml").read_bytes())
    os.environ["RESILIENCE_HOME"] = str(home)
    db = args.db or f"sqlite:///{home}/var/resilience.db"
    (home / "var").mkdir()
    from resilience import api
    from resilience.sample.synthetic import generate_synthetic, write_synthetic

    files = write_synthetic(generate_synthetic(args.sites, seed=7), home / "net")
    api.ingest([files["nodes"], files["links"]], db_url=db)
    nodes = [n["node_id"] for n in api.status(db_url=db)["nodes"]]
    port = free_port()
    env = {**os.environ, "RESILIENCE_DB_URL": db, "RESILIENCE_RECEIVER_RATE_PER_SOURCE": "0"}
    exe = Path(sys.executable).with_name("resilience")
    proc = subprocess.Popen([str(exe), "receive", "--http-port", str(port), "--no-snmp"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    url, metrics_url = f"{base}/eventListener/v7/eventBatch", f"{base}/metrics"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit(proc.stderr.read().decode()[-2000:]) from None
                time.sleep(0.1)
        print(f"store {db.split('@')[-1]}; {len(nodes)} nodes; receiver pid {proc.pid}")
        # warm-up: the first round loads the validation machinery
        t_us = int((time.time() - 3600) * 1e6)
        post(url, [fault(nodes[0], "CRITICAL", t_us, "warm")])
        wait_mapped(metrics_url, 1, 300)
        seq = [1]
        rates = []
        for run in range(3):
            n = args.events
            t_us = int((time.time() - 3000 + run * 600) * 1e6)
            evs = [fault(nodes[i % len(nodes)], "CRITICAL" if (i // len(nodes)) % 2 == 0 else "NORMAL",
                         t_us + i, f"r{run}-{i}") for i in range(n)]
            start_count = mapped(metrics_url)
            t0 = time.monotonic()

            def send(chunk: list[dict]) -> None:
                for j in range(0, len(chunk), 100):
                    post(url, chunk[j:j + 100])

            threads = [threading.Thread(target=send, args=(evs[k * n // 4:(k + 1) * n // 4],)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            t_ack = time.monotonic()
            t1 = wait_mapped(metrics_url, start_count + n, 600)
            rates.append(n / (t1 - t0))
            print(f"run {run + 1}: {n} events acknowledged in {t_ack - t0:.2f} s, stored in {t1 - t0:.2f} s "
                  f"-> {rates[-1]:,.0f} events/s")
            seq[0] += n
        print(f"sustained: median {statistics.median(rates):,.0f} events/s into the store "
              f"(target >= 2,000/s; ratio {statistics.median(rates) / 2000:.2f})")

        # paced: batches of 100 every 100/rate seconds
        per = 100
        interval = per / args.rate
        batches = int(args.seconds / interval)
        sent: list[tuple[float, float]] = []  # (send time, cumulative count)
        count0 = mapped(metrics_url)
        t_us = int((time.time() - 1200) * 1e6)
        done_at: dict[int, float] = {}
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                m = mapped(metrics_url) - count0
                now = time.monotonic()
                for k, (_, c) in enumerate(sent):
                    if k not in done_at and m >= c:
                        done_at[k] = now
                time.sleep(0.02)

        w = threading.Thread(target=watch, daemon=True)
        w.start()
        start = time.monotonic()
        sample = None
        for b in range(batches):
            target = start + b * interval
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            evs = [fault(nodes[(b * per + i) % len(nodes)], "CRITICAL", t_us + b * per + i, f"p{b}-{i}")
                   for i in range(per)]
            if sample is None:
                sample = evs[0]
            ts = time.monotonic()
            post(url, evs)
            sent.append((ts, (b + 1) * per))
        achieved = batches * per / (time.monotonic() - start)
        deadline = time.monotonic() + 300
        while len(done_at) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        w.join()
        if len(done_at) < len(sent):
            raise SystemExit(f"gave up: {len(sent) - len(done_at)} batches not stored within 300 s")
        lags = sorted(done_at[k] - sent[k][0] for k in range(len(sent)))
        p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
        print(f"lag at {achieved:,.0f} events/s ({len(lags)} batches of {per}): median "
              f"{statistics.median(lags):.2f} s, p99 {p99:.2f} s, max {lags[-1]:.2f} s "
              f"(target p99 < 5 s; ratio {p99 / 5:.2f})")
        node = sample["commonEventHeader"]["sourceName"]
        row = next(n for n in api.status(db_url=db)["nodes"] if n["node_id"] == node)
        print(f"sample by hand: event {sample['commonEventHeader']['eventId']} for {node} at "
              f"lastEpochMicrosec {sample['commonEventHeader']['lastEpochMicrosec']} ('Mains Failure', CRITICAL)"
              f" -> stored {json.dumps(row)}")
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
