"""Benchmarks: one module per area, each with ``run(scale: str) -> dict``.

Every timing is paired with a baseline measured in the same run, and reported as their ratio
(these machines are noisy: ratios and medians, never single absolute times).
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent

AREAS = (
    "import",
    "coding",
    "matrix",
    "export",
    "search",
    "exchange",
    "agreement",
    "page",
    "basis",
)


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


def in_child(call: str, database_url: str, *, timeout: int = 3600, **env: str) -> dict:
    """Run ``call`` (``"module:function(args)"``, returning a JSON-able dict) in a fresh
    interpreter whose only database is ``database_url``; its dict, or {"error": ...}."""
    module, _sep, expression = call.partition(":")
    mark = "@@BENCHMARK-RESULT@@"
    child_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "1",  # settings need it without a SECRET_KEY; the measures turn query logs off
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DJANGO_SETTINGS_MODULE": "casestudy.settings",
        "JOB_RUNNER": "eager",
        "CELERY_BROKER_URL": "",
        **env,
    }
    code = (
        f"import django, json; django.setup(); import {module}; "
        f"print({mark!r} + json.dumps({module}.{expression}, ensure_ascii=False))"
    )
    proc = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(mark):
            return json.loads(line[len(mark) :])
    return {"error": (proc.stderr or proc.stdout)[-3000:]}
