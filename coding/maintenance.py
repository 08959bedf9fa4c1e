"""Housekeeping a long-running service needs, run by celery beat (or ``manage.py maintenance``).

- A job whose worker died (SIGKILL, power loss) is marked failed even if nobody opens its page.
- Export files and the input files of abandoned imports are deleted after a while: they hold
  confidential interview text and must not pile up in MEDIA_ROOT.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import Job, JobKind, JobStatus, Transcript, job_fail_if_stale

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


@shared_task(ignore_result=True)
def fail_stale_jobs_task() -> int:
    return fail_stale_jobs()


@shared_task(ignore_result=True)
def purge_old_job_files_task() -> dict[str, int]:
    return purge_old_job_files()
