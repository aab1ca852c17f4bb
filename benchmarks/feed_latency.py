"""Feed-to-snapshot latency under ``make up``: drop a status file into the inbox, time until the
new analysis snapshot is committed (visible to a reader). Five drops; prints the median.

Run ``make up`` first (same RESILIENCE_* environment), then::

    .venv/bin/python benchmarks/feed_latency.py [--drops 5] [--timeout 180]

The first run also drops the 5-node inventory of ``shared/checks/contracts.sh`` when the store
has no nodes. Target: median under 60 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from resilience.sample.known import KNOWN_LINKS_CSV as LINKS
from resilience.sample.known import KNOWN_NODES_CSV as NODES


def drop(inbox: Path, name: str, text: str) -> float:
    """Write under a temporary name, then rename into the inbox (what senders should do)."""
    tmp = inbox / f".{name}.part"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, inbox / name)
    return time.monotonic()


def latest_snapshot(db_url: str) -> int:
    from sqlalchemy import func, select

    from resilience import api
    from resilience.store import tables as t

    with api.engine(db_url).connect() as conn:
        return conn.execute(select(func.coalesce(func.max(t.snapshots.c.id), 0))
                            .where(t.snapshots.c.status == "complete")).scalar_one()


def wait_for_new(db_url: str, after: int, timeout: float) -> int | None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        sid = latest_snapshot(db_url)
        if sid > after:
            return sid
        time.sleep(0.2)
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drops", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for each snapshot")
    args = ap.parse_args(argv)

    from resilience import api
    from resilience.settings import load_settings

    s = load_settings()
    db_url, inbox = api.init(), s.path(s.inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    print(f"store {db_url}\ninbox {inbox}")
    if api.load_state(db_url=db_url)["nodes"].empty:
        before = latest_snapshot(db_url)
        drop(inbox, "bench-nodes.csv", NODES)
        drop(inbox, "bench-links.csv", LINKS)
        if wait_for_new(db_url, before, args.timeout) is None:
            print("no snapshot after the inventory drop: is `make up` running?", file=sys.stderr)
            return 1
    latencies = []
    for i in range(args.drops):
        before = latest_snapshot(db_url)
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        state = "down" if i % 2 == 0 else "up"
        status = ("observed_at,node_id,state,power,battery_remaining_min\n"
                  f"{now},B1,{state},battery,{60 + i}\n")
        t0 = drop(inbox, f"bench-status-{int(time.time() * 1000)}.csv", status)
        sid = wait_for_new(db_url, before, args.timeout)
        if sid is None:
            print(f"drop {i + 1}: no new snapshot within {args.timeout:.0f} s", file=sys.stderr)
            return 1
        latencies.append(time.monotonic() - t0)
        print(f"drop {i + 1}: snapshot {sid} after {latencies[-1]:.1f} s")
    median = statistics.median(latencies)
    print(f"feed-to-snapshot latency: median {median:.1f} s over {len(latencies)} drops "
          f"(min {min(latencies):.1f}, max {max(latencies):.1f}); target < 60 s: "
          f"{'met' if median < 60 else 'NOT met'}")
    return 0 if median < 60 else 2


if __name__ == "__main__":
    sys.exit(main())
