"""Handing background jobs to the runner, and starting a Word export."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction

from coding import tasks
from coding.models import (
    Job,
    JobKind,
    JobStatus,
    Project,
)


def job_enqueue(job: Job) -> None:
    """Hand a queued job to the runner once the surrounding transaction commits."""
    tasks.assert_may_start_jobs(job.kind)
    runner = settings.JOB_RUNNER
    if runner == "eager":
        tasks.run_job(str(job.pk))
    elif runner == "celery":
        transaction.on_commit(lambda: tasks.run_job_task.delay(str(job.pk)))
    else:
        transaction.on_commit(lambda: tasks.run_in_thread(str(job.pk)))


@transaction.atomic
def export_start(
    *, project: Project, user: User, params: dict[str, Any], template: bytes | None = None
) -> Job:
    """Queue a Word export of ``project`` (see coding/exports); any member may export.

    ``params`` hold the layout, options, language and selection; ``template`` is a .docx already
    checked by ``coding.exports.template.check_template``. The job reads the codings when it
    runs, so the file shows the coding as it is then.
    """
    job = Job(
        project=project,
        kind=JobKind.EXPORT,
        status=JobStatus.QUEUED,
        created_by=user,
        params=params,
    )
    if template:
        job.input_file.save("template.docx", ContentFile(template), save=False)
    job.save()
    job_enqueue(job)
    return job
