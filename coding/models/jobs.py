"""Background work: one Job row per task, with its state and result file."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coding.models.project import Membership, Project
from coding.models.transcript import Transcript


class JobKind(models.TextChoices):
    IMPORT = "import", _("Transcript import")
    EXPORT = "export", _("Word export")
    TRAIN = "train", _("Train suggestions")
    REINDEX = "reindex", _("Rebuild lemma index")
    SUGGEST = "suggest", _("Refresh suggestions")
    EXCHANGE_IMPORT = "exchange_import", _("REFI-QDA import")


class JobStatus(models.TextChoices):
    DRAFT = "draft", _("Awaiting confirmation")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    """A background job. The task marks it running, calls a plain function, records the end."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    input_file = models.FileField(upload_to="job-input/%Y/%m/", blank=True)
    input_name = models.CharField(max_length=255, blank=True)
    result_file = models.FileField(upload_to="job-results/%Y/%m/", blank=True)
    result_name = models.CharField(max_length=255, blank=True)
    transcript = models.ForeignKey(
        Transcript, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    # Set by coding.access on the object it resolves: the acting user's membership in its project.
    membership: Membership
    # Not stored: set by the export page on the jobs it lists (views.exports.recent_exports).
    expires_at: dt.datetime | None
    expired: bool

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=100), name="job_progress_range"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in JobStatus]), name="job_status_valid"
            ),
        ]
        verbose_name = _("job")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    @property
    def is_unconfirmed_import(self) -> bool:
        """An import whose file is being read or waits as a draft for its preview."""
        return self.kind == JobKind.IMPORT and (
            self.status == JobStatus.DRAFT or self.params.get("stage") == "parse"
        )

    def claim_final_commit(self) -> None:
        """Call first inside a job's final transaction: go on only while this attempt owns the
        job (still running, not marked failed as stale, not re-run by another worker).

        The UPDATE locks the row (PostgreSQL) or takes the write lock (SQLite) until the
        transaction ends, so the stale check cannot mark the job failed while it commits, and a
        job already marked failed never commits afterwards: its "nothing was saved" stays true.
        """
        claimed = Job.objects.filter(
            pk=self.pk, status=JobStatus.RUNNING, attempts=self.attempts
        ).update(heartbeat_at=timezone.now())
        if not claimed:
            raise JobSuperseded(str(self.pk))

    def settle(self, status: str, message: str, **fields: Any) -> bool:
        """Record how this attempt ended, unless the job is no longer this attempt's.

        Inside the final transaction (after ``claim_final_commit``) the end commits with the
        work; elsewhere it only touches a job still running under this attempt.
        """
        now = timezone.now()
        values = {"status": status, "message": message, "finished_at": now, **fields}
        if status == JobStatus.DONE:
            values["progress"] = 100
        if status == JobStatus.DRAFT:
            values["finished_at"] = None
        updated = Job.objects.filter(
            pk=self.pk, status=JobStatus.RUNNING, attempts=self.attempts
        ).update(**values)
        if updated:
            for key, value in values.items():
                setattr(self, key, value)
        return bool(updated)


class JobSuperseded(Exception):
    """This attempt of a job lost it (marked failed as stale, or run again elsewhere)."""


def job_fail_if_stale(job: Job) -> bool:
    """A running job whose worker stopped reporting is marked failed, never left running."""
    from django.conf import settings as dj_settings

    if job.status != JobStatus.RUNNING or job.heartbeat_at is None:
        return False
    age = (timezone.now() - job.heartbeat_at).total_seconds()
    if age < dj_settings.JOB_STALE_SECONDS:
        return False
    updated = Job.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, heartbeat_at=job.heartbeat_at
    ).update(
        status=JobStatus.FAILED,
        message=str(
            _(
                "The worker stopped while running this job. Nothing was saved; "
                "please start it again."
            )
        ),
        finished_at=timezone.now(),
    )
    if updated:
        job.refresh_from_db()
    return bool(updated)
