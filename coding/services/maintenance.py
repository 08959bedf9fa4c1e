"""Housekeeping a long-running service needs, run by celery beat (or ``manage.py maintenance``).

- A job whose worker died (SIGKILL, power loss) is marked failed even if nobody opens its page.
- Export files and the input files of abandoned imports are deleted after a while: they hold
  confidential interview text and must not pile up in MEDIA_ROOT.
- A project's suggestion model is retrained once SUGGESTIONS_RETRAIN_AFTER codings were added
  since its last training. This schedule is the only automatic start of that work: no page
  starts a job when it is read.
- A project whose transcripts still have the word index of before issue 16 (Token rows) gets
  a REINDEX job that moves them to the full-text index with progress; search reads the old
  rows of the transcripts not yet moved until it finishes (``language.legacy_index``).

With Celery, beat runs these (CELERY_BEAT_SCHEDULE); with the thread runner (one machine, no
broker) the web process runs ``run_schedule`` in a thread of its own (``start_ticker``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from coding.models import (
    IndexFormat,
    Job,
    JobKind,
    JobStatus,
    LemmaIndex,
    Project,
    Transcript,
    job_fail_if_stale,
)

log = logging.getLogger(__name__)

# A draft import the researcher never confirmed is dropped after this long.
DRAFT_RETENTION = dt.timedelta(days=1)


def fail_stale_jobs() -> int:
    """Mark every running job without a recent heartbeat failed; returns how many."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.JOB_STALE_SECONDS)
    failed = 0
    for job in Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff):
        failed += job_fail_if_stale(job)
    if failed:
        log.warning("marked %d stale job(s) failed", failed)
    return failed


def purge_old_job_files(now: dt.datetime | None = None) -> dict[str, int]:
    """Delete expired export results, abandoned draft imports and failed imports' uploads."""
    now = now or timezone.now()
    results = 0
    expired = Job.objects.filter(
        finished_at__lt=now - dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    ).exclude(result_file="")
    for job in expired:
        job.result_file.delete(save=False)
        Job.objects.filter(pk=job.pk).update(result_file="")
        results += 1
    drafts = 0
    for job in Job.objects.filter(
        kind=JobKind.IMPORT, status=JobStatus.DRAFT, created_at__lt=now - DRAFT_RETENTION
    ):
        if job.input_file:
            job.input_file.delete(save=False)
        job.delete()
        drafts += 1
    inputs = 0
    for job in Job.objects.filter(
        kind=JobKind.IMPORT, status=JobStatus.FAILED, created_at__lt=now - DRAFT_RETENTION
    ).exclude(input_file=""):
        # A transcript keeps its upload as the original file; only orphaned uploads go.
        if not Transcript.objects.filter(original_file=job.input_file.name).exists():
            job.input_file.delete(save=False)
            Job.objects.filter(pk=job.pk).update(input_file="")
            inputs += 1
    return {"results": results, "drafts": drafts, "failed_inputs": inputs}


def retrain_due_models() -> list[int]:
    """Queue a TRAIN job for each project whose model is due; returns their project ids."""
    from coding.language import suggestions
    from coding.services.language import language_job_start

    started = []
    for project in Project.objects.filter(codebooks__isnull=False).distinct():
        if suggestions.retrain_due(project):
            language_job_start(project=project, user=None, kind=JobKind.TRAIN)
            started.append(project.pk)
    if started:
        log.info("queued suggestion training for project(s) %s", started)
    return started


def migrate_old_indexes() -> list[int]:
    """Queue a REINDEX job for each project with transcripts indexed in the old format (one
    job a project at a time: ``language_job_start`` returns a running one); their ids."""
    from coding.services.language import language_job_start

    projects = (
        LemmaIndex.objects.filter(format=IndexFormat.TOKENS)
        .values_list("transcript__case__project", flat=True)
        .distinct()
    )
    started = sorted(set(projects))
    for project in Project.objects.filter(pk__in=started):
        language_job_start(project=project, user=None, kind=JobKind.REINDEX)
    if started:
        log.info("queued the word index migration for project(s) %s", started)
    return started


def run_schedule() -> None:
    """One round of the housekeeping above (the thread runner's ticker)."""
    fail_stale_jobs()
    purge_old_job_files()
    retrain_due_models()
    migrate_old_indexes()


_ticker: threading.Thread | None = None


def start_ticker(interval: float | None = None) -> threading.Thread:
    """Run the schedule every ``interval`` seconds in a daemon thread of this process (once).

    For the thread runner only: with Celery, beat does this and web processes must not.
    """
    global _ticker
    if _ticker is not None and _ticker.is_alive():
        return _ticker
    every = interval if interval is not None else settings.MAINTENANCE_INTERVAL_SECONDS
    stop = threading.Event()

    def loop() -> None:
        from django.db import close_old_connections, connection

        while not stop.wait(every):
            close_old_connections()
            try:
                run_schedule()
            except Exception:  # the next round tries again; the web process must not die
                log.exception("maintenance round failed")
            finally:
                connection.close()

    _ticker = threading.Thread(target=loop, name="maintenance", daemon=True)
    _ticker.stop = stop  # type: ignore[attr-defined]
    _ticker.start()
    return _ticker


@shared_task(ignore_result=True)
def retrain_due_models_task() -> list[int]:
    return retrain_due_models()


@shared_task(ignore_result=True)
def migrate_old_indexes_task() -> list[int]:
    return migrate_old_indexes()


@shared_task(ignore_result=True)
def fail_stale_jobs_task() -> int:
    return fail_stale_jobs()


@shared_task(ignore_result=True)
def purge_old_job_files_task() -> dict[str, int]:
    return purge_old_job_files()
