"""The benchmarks' one timer: the median wall time of repeated calls, measured the same way
everywhere (a garbage collection before each call, ``time.perf_counter``).

Example
-------
>>> t, out = timed(lambda: sum(range(1000)), repeats=3)
>>> out, t >= 0
(499500, True)
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["timed"]


def timed(fn: Callable[[], Any], repeats: int, before: Callable[[], None] | None = None) -> tuple[float, Any]:
    """Median wall time (seconds) over ``repeats`` calls of ``fn`` and the last result;
    ``before`` runs untimed before each call."""
    times, out = [], None
    for _ in range(repeats):
        if before is not None:
            before()
        gc.collect()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out
