"""Ingest benchmark: a 1,000,000-row status feed against a 1-million-site inventory, validated
(Great Expectations) and stored, on SQLite and on PostgreSQL; ratio to ``pandas.read_csv`` of the
same file measured in the same process.

    .venv/bin/python benchmarks/ingest.py [--sites 1000000] [--repeats 3] [--pg-url URL]

``make bench`` starts the private PostgreSQL server and passes its URL. Target: each ratio <= 5.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pg-url", default=os.environ.get("RESILIENCE_TEST_PG_URL", ""))
    args = ap.parse_args()
    console = Console()

    from resilience.feeds.ingest import ingest_file
    from resilience.feeds.validate import _context
    from resilience.sample.synthetic import generate_synthetic, write_synthetic
    from resilience.store.engine import create_database, drop_database, make_engine, migrate

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    with console.status(f"generating {args.sites:,} sites"):
        paths = write_synthetic(generate_synthetic(args.sites, seed=1), work)
    status = paths["status"]
    _context()  # Great Expectations import and context: once per process, not per file

    read_csv = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        rows = len(pd.read_csv(status))
        read_csv.append(time.perf_counter() - t0)
    base = statistics.median(read_csv)

    backends = [("sqlite", None)] + ([("postgresql", args.pg_url)] if args.pg_url else [])
    table = Table(title=f"ingest of a {rows:,}-row status feed ({args.sites:,}-site inventory)")
    for col in ("store", "inventory s", "status median s", "rows/s", "ratio to read_csv", "target"):
        table.add_column(col, justify="right")
    table.add_row("pandas.read_csv", "", f"{base:.2f}", f"{rows / base:,.0f}", "1.00", "")
    for name, admin in backends:
        times, inv = [], None
        for _ in range(args.repeats):
            if name == "sqlite":
                url = f"sqlite:///{work}/bench-{uuid.uuid4().hex[:6]}.db"
            else:
                url = create_database(admin, f"bench_{uuid.uuid4().hex[:8]}")
            engine = make_engine(url)
            migrate(engine)
            t0 = time.perf_counter()
            ingest_file(engine, paths["nodes"])
            inv = time.perf_counter() - t0
            t0 = time.perf_counter()
            r = ingest_file(engine, status)
            times.append(time.perf_counter() - t0)
            assert r.accepted + r.quarantined == r.rows == rows, r
            engine.dispose()
            if name == "postgresql":
                drop_database(admin, url)
            else:
                Path(url.split("sqlite:///")[1]).unlink()
        med = statistics.median(times)
        ratio = med / base
        table.add_row(name, f"{inv:.1f}", f"{med:.2f}", f"{rows / med:,.0f}", f"{ratio:.2f}",
                      "[green]<= 5 met" if ratio <= 5 else "[red]> 5 missed")
    console.print(table)


if __name__ == "__main__":
    main()
