"""Background jobs: a thin Celery task, a thread runner for single-machine use, one body.

The task takes a job id, marks the job running, calls the plain function for its kind and records
done or failed with a message a researcher can act on. A redelivered message (acks_late after a
killed worker) simply runs the job again: each job function writes all-or-nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import OperationalError, close_old_connections, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Job, JobKind, JobStatus

log = logging.getLogger(__name__)


def _job_functions() -> dict[str, Callable]:
    from . import services

    functions: dict[str, Callable] = {JobKind.IMPORT: _import_job(services)}
    try:
        from .exports import run_export_job
    except ImportError:
        pass
    else:
        functions[JobKind.EXPORT] = run_export_job
    from . import lemma_index, suggestions
    from .exchange.jobs import run_import_job

    functions[JobKind.EXCHANGE_IMPORT] = run_import_job

    functions[JobKind.REINDEX] = lemma_index.run_reindex_job
    functions[JobKind.TRAIN] = suggestions.run_train_job
    functions[JobKind.SUGGEST] = suggestions.run_suggest_job
    return functions


def _import_job(services) -> Callable:
    def run(job: Job, progress: Callable[[int], None]) -> str:
        transcript = services.run_import(job, progress)
        job.transcript = transcript
        return _("Imported “%(title)s”: %(words)s words.") % {
            "title": transcript.title,
            "words": transcript.word_count,
        }

    return run


def _progress_updater(job: Job) -> Callable[[int], None]:
    last = {"pct": -1}

    def progress(pct: int) -> None:
        pct = max(0, min(100, int(pct)))
        if pct == last["pct"]:
            return
        last["pct"] = pct
        Job.objects.filter(pk=job.pk).update(progress=pct, heartbeat_at=timezone.now())

    return progress


def run_job(job_id: str) -> None:
    """Run one job to done or failed. Safe to call again for the same job."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.status in (JobStatus.DONE, JobStatus.FAILED, JobStatus.DRAFT):
        return
    fn = _job_functions().get(job.kind)
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=job.attempts + 1
    )
    job.refresh_from_db()
    if fn is None:
        _finish(job, JobStatus.FAILED, _("This kind of job is not available."))
        return
    try:
        message = fn(job, _progress_updater(job))
    except ValidationError as exc:
        _finish(job, JobStatus.FAILED, " ".join(exc.messages))
    except OperationalError:
        # The database went away: leave the job to the retry (celery) or mark it failed below.
        raise
    except Exception:
        log.exception("job %s failed", job.pk)
        _finish(
            job,
            JobStatus.FAILED,
            _("%(file)s: the job stopped on an unexpected error. Nothing was saved.")
            % {"file": job.input_name or job.get_kind_display()},
        )
    else:
        _finish(job, JobStatus.DONE, message or "")


def _finish(job: Job, status: str, message: str) -> None:
    job.status = status
    job.message = message
    job.finished_at = timezone.now()
    if status == JobStatus.DONE:
        job.progress = 100
    job.save(
        update_fields=[
            "status",
            "message",
            "finished_at",
            "progress",
            "transcript",
            "result_file",
            "result_name",
        ]
    )


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    max_retries=5,
)
def run_job_task(self, job_id: str) -> None:
    run_job(job_id)


def run_in_thread(job_id: str) -> threading.Thread:
    """Single-machine runner: the job runs beside the web process, no broker needed."""

    def target() -> None:
        close_old_connections()
        try:
            run_job(job_id)
        except Exception:
            log.exception("job %s crashed in its thread", job_id)
            Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
                status=JobStatus.FAILED,
                message=_("The job stopped on an unexpected error. Nothing was saved."),
                finished_at=timezone.now(),
            )
        finally:
            connection.close()

    thread = threading.Thread(target=target, name=f"job-{job_id}", daemon=True)
    thread.start()
    return thread
