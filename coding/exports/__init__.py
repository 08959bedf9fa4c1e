"""Exports of coded excerpts. Plain functions over rows and file objects (see word.py); the
job body that coding.tasks runs for ``JobKind.EXPORT`` is ``run_export_job``."""

from coding.exports.jobs import run_export_job

__all__ = ["run_export_job"]
