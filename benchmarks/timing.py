"""Timing shared by the benchmark scripts (run them as ``python benchmarks/<name>.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(call: Callable[[], object], repeats: int, *, warm_up: bool = True) -> float:
    """Median wall time of ``repeats`` calls, after one untimed call when ``warm_up`` is set
    (tracing and first-call costs are not steady-state throughput)."""
    if warm_up:
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
