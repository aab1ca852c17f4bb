"""Benchmark of the synthetic sample generator (the budget that was a wall-clock assertion in
tests/sample/test_synthetic.py): generate and write a network of N sites, median over repeats,
and its ratio to reading the files it wrote back with ``pandas.read_csv`` (the baseline, measured
in this process on the same files, so the ratio is about the generator, not about the machine).

    .venv/bin/python benchmarks/synthetic.py [--sites 20000 100000] [--repeats 3]

Target (the former test budget): 20,000 sites generated and written in under 20 s.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from benchmarks.timing import timed  # noqa: E402
from resilience.sample import generate_synthetic, write_synthetic  # noqa: E402

BUDGET = {20_000: 20.0}  # sites: seconds



def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, nargs="+", default=[20_000, 100_000])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-synthetic-"))
    missed = 0
    try:
        print(f"{'sites':>9} {'generate+write s':>17} {'read_csv s':>11} {'ratio':>7}  target")
        for n in args.sites:
            paths = write_synthetic(generate_synthetic(n, seed=0), work / "gen")

            def baseline(paths=paths) -> None:
                for p in paths.values():
                    pd.read_csv(p, keep_default_na=False)

            def generator(n=n) -> None:
                write_synthetic(generate_synthetic(n, seed=0), work / "gen")

            base, _ = timed(baseline, args.repeats)
            full, _ = timed(generator, args.repeats)
            budget = BUDGET.get(n)
            verdict = "" if budget is None else (f"< {budget:.0f} s met" if full < budget else
                                                 f"< {budget:.0f} s MISSED")
            missed += bool(budget is not None and full >= budget)
            print(f"{n:>9,} {full:>17.2f} {base:>11.2f} {full / base:>7.1f}  {verdict}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
