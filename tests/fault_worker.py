"""The project's Celery app with fault-injection pauses, for the services tests only.

    celery -A tests.fault_worker worker ...

It is the real app (``casestudy.celery.app``, same tasks, same settings); before each task it
may pause the job at a chosen point, so a test can kill the worker there:

- ``FAULT_PAUSE=import-transaction``: inside the import's database transaction, after the
  transcript and its turns are inserted and before the sentences are;
- ``FAULT_PAUSE=export-write``: in the export, after its first progress report.

The pause happens once per marker file (``FAULT_MARKER``): the worker writes the file, then
sleeps ``FAULT_PAUSE_SECONDS``; a redelivered job finds the file and runs straight through.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery.signals import task_prerun

from casestudy.celery import app

__all__ = ["app"]


def _pause_once() -> None:
    marker = Path(os.environ["FAULT_MARKER"])
    if marker.exists():
        return
    marker.write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("FAULT_PAUSE_SECONDS", "60")))


def _install() -> None:
    where = os.environ.get("FAULT_PAUSE", "")
    if where == "import-transaction":
        from coding.language import lemma_index
        from coding.models import Turn

        if getattr(lemma_index, "_fault_installed", False):
            return
        original = lemma_index.insert_rows

        # The import writes its rows with lemma_index.insert_rows (COPY on PostgreSQL): pause
        # once the turns are in.
        def insert_rows(table, *args, **kwargs):
            result = original(table, *args, **kwargs)
            if table == Turn._meta.db_table:
                _pause_once()
            return result

        lemma_index.insert_rows = insert_rows
        lemma_index._fault_installed = True
    elif where == "export-write":
        from coding.exports import jobs

        if getattr(jobs, "_fault_installed", False):
            return
        original_run = jobs.export_to_file

        def export_to_file(*args, progress, **kwargs):
            def pausing(pct):
                progress(pct)
                _pause_once()

            return original_run(*args, progress=pausing, **kwargs)

        jobs.export_to_file = export_to_file
        jobs._fault_installed = True


@task_prerun.connect
def _before_task(**_kwargs) -> None:
    _install()
