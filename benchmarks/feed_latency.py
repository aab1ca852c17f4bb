"""Feed latency under ``make up``: drop a status file into the inbox, time until *that file's own
state* is visible on the exporter's ``/metrics``, on the Noto sample network.

Each drop takes one served base station down (then brings it back up on the next drop) with a
fresh ``observed_at``; the drop counts as visible when ``/metrics`` shows the site in
``resilience_site_out_subscribers`` (down) or no longer shows it (up). A new snapshot that does
not yet hold the file does not count (the old benchmark counted any new snapshot and reported
~2 s while the file took ~10 s).

Run ``make up`` first (same RESILIENCE_* environment and exporter port), then::

    .venv/bin/python benchmarks/feed_latency.py [--drops 9] [--timeout 180]

When the store has no inventory, the Noto sample (``resilience sample noto``) is dropped first.
Target: median under 60 s (aim: under 5 s).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

TARGET_S = 60.0


def drop(inbox: Path, name: str, text: str) -> float:
    """Write under a temporary name, then rename into the inbox (what senders should do);
    return the monotonic time of the rename.

    Example
    -------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> t = drop(d, "s.csv", "x")
    >>> (d / "s.csv").read_text(), t > 0
    ('x', True)
    """
    tmp = inbox / f".{name}.part"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, inbox / name)
    return time.monotonic()


def scrape(url: str) -> str:
    """The exporter's ``/metrics`` text ("" when it does not answer)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode("utf-8", "replace")
    except OSError:
        return ""


def site_out(metrics: str, node_id: str) -> bool:
    """Whether ``/metrics`` lists the site as out.

    Example
    -------
    >>> site_out('resilience_site_out_subscribers{node_id="B1",kind="base_station"} 100.0', "B1")
    True
    >>> site_out('resilience_site_out_subscribers{cause="power",node_id="B10"} 1.0', "B1")
    False
    """
    pattern = r'^resilience_site_out_subscribers\{[^}]*\bnode_id="' + re.escape(node_id) + '"'
    return re.search(pattern, metrics, re.M) is not None


def wait_until(check, timeout: float, poll: float = 0.05) -> bool:
    """Poll ``check()`` until it is true (True) or ``timeout`` seconds passed (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(poll)
    return bool(check())


def pick_site(db_url: str, metrics: str) -> str:
    """A served base station with battery backup that ``/metrics`` does not list as out."""
    from sqlalchemy import select

    from resilience import api
    from resilience.store import tables as t

    with api.engine(db_url).connect() as conn:
        ids = conn.execute(select(t.nodes.c.node_id).where(t.nodes.c.kind == "base_station")
                           .order_by(t.nodes.c.node_id)).scalars().all()
    for nid in ids:
        if not site_out(metrics, nid):
            return nid
    raise SystemExit("no served base station to take down")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drops", type=int, default=9)
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for each drop")
    ap.add_argument("--metrics", default=None, help="exporter URL (default: settings' exporter port)")
    args = ap.parse_args(argv)

    from resilience import api
    from resilience.settings import load_settings

    s = load_settings()
    db_url, inbox = api.init(), s.path(s.inbox)
    url = args.metrics or f"http://127.0.0.1:{s.exporter_port}/metrics"
    inbox.mkdir(parents=True, exist_ok=True)
    print(f"store   {db_url}\ninbox   {inbox}\nmetrics {url}")
    if not scrape(url):
        print(f"nothing answers at {url}: is `make up` running?", file=sys.stderr)
        return 1
    if api.load_state(db_url=db_url)["nodes"].empty:
        from resilience.sample.noto import write_noto

        feeds = write_noto(Path(tempfile.mkdtemp(prefix="noto-")))
        for kind in ("nodes", "links", "power", "status", "link_status"):
            if kind in feeds:
                drop(inbox, f"noto-{kind}.csv", Path(feeds[kind]).read_text(encoding="utf-8"))
        print("Noto sample dropped: waiting for its snapshot on /metrics")
        if not wait_until(lambda: re.search(r"^resilience_network_nodes(\{[^}]*\})? [1-9]", scrape(url), re.M),
                          args.timeout * 3, poll=1.0):
            print("the Noto network never appeared on /metrics", file=sys.stderr)
            return 1
    site = pick_site(db_url, scrape(url))
    print(f"site    {site}")
    latencies = []
    for i in range(args.drops):
        down = i % 2 == 0
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        status = ("observed_at,node_id,state,power,battery_remaining_min\n"
                  f"{now},{site},{'down' if down else 'up'},grid,\n")
        t0 = drop(inbox, f"bench-status-{int(time.time() * 1000)}.csv", status)
        if not wait_until(lambda d=down: site_out(scrape(url), site) == d, args.timeout):
            print(f"drop {i + 1}: {site} not {'out' if down else 'back'} on /metrics within "
                  f"{args.timeout:.0f} s", file=sys.stderr)
            return 1
        latencies.append(time.monotonic() - t0)
        print(f"drop {i + 1}: {site} {'down' if down else 'up'} visible on /metrics after {latencies[-1]:.1f} s")
    median = statistics.median(latencies)
    print(f"feed-to-/metrics latency: median {median:.1f} s over {len(latencies)} drops "
          f"(min {min(latencies):.1f}, max {max(latencies):.1f}); target < {TARGET_S:.0f} s: "
          f"{'met' if median < TARGET_S else 'NOT met'}")
    return 0 if median < TARGET_S else 2


if __name__ == "__main__":
    sys.exit(main())
