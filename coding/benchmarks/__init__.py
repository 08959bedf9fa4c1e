"""Benchmarks: one module per area, each with ``run(scale: str) -> dict``.

Every timing is paired with a baseline measured in the same run, and reported as their ratio
(these machines are noisy: ratios and medians, never single absolute times).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

AREAS = ("import", "coding", "matrix", "export", "search", "exchange", "agreement", "basis")


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, list[float]]:
    """Median wall time of ``repeat`` calls, and all the times."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def figure(seconds: float, baseline: float, **extra) -> dict:
    return {
        "seconds": round(seconds, 4),
        "baseline_seconds": round(baseline, 4),
        "ratio": round(seconds / baseline, 3) if baseline else None,
        **extra,
    }
