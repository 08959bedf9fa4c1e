"""coding/services/maintenance.py: the housekeeping rounds. An orphaned upload of a failed
import holds interview text and goes after a day; a round that fails does not stop the ticker.
(Expired exports and draft imports: tests/test_production.py.)"""

import datetime as dt
import threading
from pathlib import Path

from django.core.files.base import ContentFile
from django.utils import timezone

from coding.models import Job, JobKind, JobStatus
from coding.services import maintenance

from .factories import TranscriptFactory


def _failed_import(project, name, age):
    job = Job(project=project, kind=JobKind.IMPORT, status=JobStatus.FAILED)
    job.input_file.save(name, ContentFile(b"I: Hvordan?\n\nIP: Fortrolig svar."), save=True)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - age)
    return job


def test_a_failed_imports_orphaned_upload_is_deleted_after_a_day(project, case):
    old = _failed_import(project, "old.txt", dt.timedelta(days=2))
    recent = _failed_import(project, "recent.txt", dt.timedelta(hours=2))
    old_path, recent_path = Path(old.input_file.path), Path(recent.input_file.path)

    assert maintenance.purge_old_job_files() == {"results": 0, "drafts": 0, "failed_inputs": 1}
    assert not old_path.exists()
    old.refresh_from_db()
    assert old.input_file.name == "" and old.status == JobStatus.FAILED, "the job row stays"
    assert recent_path.exists(), "the researcher may still read why it failed and retry"
    # A second round has nothing left to do.
    assert maintenance.purge_old_job_files()["failed_inputs"] == 0


def test_an_upload_a_transcript_keeps_as_its_original_is_never_purged(project, case):
    job = _failed_import(project, "kept.txt", dt.timedelta(days=30))
    TranscriptFactory(case=case, original_file=job.input_file.name)
    assert maintenance.purge_old_job_files()["failed_inputs"] == 0
    assert Path(job.input_file.path).exists()


def test_a_round_purges_at_the_time_it_is_given(project, case):
    job = _failed_import(project, "x.txt", dt.timedelta(hours=2))
    assert maintenance.purge_old_job_files(now=timezone.now())["failed_inputs"] == 0
    later = timezone.now() + dt.timedelta(days=1)
    assert maintenance.purge_old_job_files(now=later)["failed_inputs"] == 1
    assert not Path(job.input_file.path).exists()


def test_a_schedule_round_fails_stale_jobs_and_purges(project, case, settings):
    settings.JOB_STALE_SECONDS = 60
    stale = Job.objects.create(
        project=project,
        kind=JobKind.EXPORT,
        status=JobStatus.RUNNING,
        heartbeat_at=timezone.now() - dt.timedelta(minutes=5),
    )
    alive = Job.objects.create(
        project=project,
        kind=JobKind.EXPORT,
        status=JobStatus.RUNNING,
        heartbeat_at=timezone.now(),
    )
    orphan = _failed_import(project, "orphan.txt", dt.timedelta(days=2))
    maintenance.run_schedule()
    stale.refresh_from_db()
    alive.refresh_from_db()
    assert stale.status == JobStatus.FAILED and stale.message
    assert alive.status == JobStatus.RUNNING
    assert not Path(orphan.input_file.path).exists()


def test_the_ticker_survives_a_failing_round(monkeypatch):
    """A database hiccup in one round must not kill the web process's only ticker."""
    calls = []
    second = threading.Event()

    def round_():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        second.set()

    monkeypatch.setattr(maintenance, "run_schedule", round_)
    monkeypatch.setattr(maintenance, "_ticker", None)
    ticker = maintenance.start_ticker(interval=0.01)
    try:
        assert second.wait(10), "the ticker stopped after the failing round"
        assert ticker.is_alive()
    finally:
        ticker.stop.set()
        ticker.join(5)
    assert len(calls) >= 2
