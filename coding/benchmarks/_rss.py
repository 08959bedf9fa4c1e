"""Peak resident memory of one export, measured in a fresh interpreter (spawned by export.py).

Kept apart from export.py because a spawned process imports the module of its target before
Django is set up; this one sets Django up first.
"""

from __future__ import annotations

import io


def measure(n: int, which: str, paragraphs: list | None = None) -> float | None:
    """MB the resident high-water mark grows while writing ``n`` excerpts with our writer
    (``which="ours"``) or ``paragraphs`` with the baseline (None off Linux)."""
    import django

    django.setup()
    from coding.benchmarks.export import OPTIONS, baseline_writer, memory_rows
    from coding.exports.word import ExportOptions, write_word

    if which == "baseline":
        run = baseline_writer(paragraphs or [])
    else:
        data = memory_rows(n)

        def run() -> None:
            write_word(io.BytesIO(), data, ExportOptions(**OPTIONS))

    try:
        # Reset the high-water mark to the current resident size (Linux 4.0+).
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        start = _status_kb("VmRSS")
        run()
        return round((_status_kb("VmHWM") - start) / 1024, 1)
    except OSError:
        return None


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")
