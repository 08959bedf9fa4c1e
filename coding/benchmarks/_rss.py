"""Peak resident memory of one export, measured in a fresh interpreter (spawned by export.py).

Kept apart from export.py because a spawned process imports the module of its target before
Django is set up; this one sets Django up first.
"""

from __future__ import annotations

import io


def measure(n: int, which: str, paragraphs: list | None = None) -> float | None:
    """MB the resident high-water mark grows while writing ``n`` excerpts with our writer
    (``which="ours"``), ``paragraphs`` with the baseline, or while the whole job body collects
    and writes them from the database (``which="job"``); None off Linux."""
    import django

    django.setup()
    from coding.benchmarks.export import OPTIONS, baseline_writer, memory_rows
    from coding.exports.word import ExportOptions, write_word

    if which == "job":
        return _measure_job(n)
    if which == "baseline":
        run = baseline_writer(paragraphs or [])
    else:
        data = memory_rows(n)

        def run() -> None:
            write_word(io.BytesIO(), data, ExportOptions(**OPTIONS))

    return _growth(run)


def _growth(run) -> float | None:
    try:
        # Reset the high-water mark to the current resident size (Linux 4.0+).
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        start = _status_kb("VmRSS")
        run()
        return round((_status_kb("VmHWM") - start) / 1024, 1)
    except OSError:
        return None


class _Rollback(Exception):
    pass


def _measure_job(n: int) -> float | None:
    """The whole export job's body (rows.collect + write_word) over a scratch project of ``n``
    excerpts, made in a transaction that is rolled back; measured after the project is made."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from coding.benchmarks.export import job_body, scratch_project

    user, _ = get_user_model().objects.get_or_create(username="benchmark-user")
    grew = None
    try:
        with transaction.atomic():
            project = scratch_project(n, user)
            grew = _growth(lambda: job_body(project))
            raise _Rollback
    except _Rollback:
        pass
    return grew


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")
