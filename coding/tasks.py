"""Background jobs: a thin Celery task, a thread runner for single-machine use, one body.

The task takes a job id, marks the job running, calls the plain function for its kind and records
done or failed with a message a researcher can act on. A redelivered message (acks_late after a
killed worker) simply runs the job again: each job function writes all-or-nothing.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import OperationalError, close_old_connections, connection
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from coding.models import Job, JobKind, JobStatus, JobSuperseded

log = logging.getLogger(__name__)

# The jobs this process is running now (any runner), and a flag that asks them to stop at their
# next progress report. Tests wait on these before their database is torn down.
_active: dict[str, str] = {}
_active_lock = threading.Lock()
_stop_requested = threading.Event()


class JobStopped(Exception):
    """Raised at a progress report when the process asked its jobs to stop (tests, shutdown)."""


def active_jobs() -> dict[str, str]:
    """The ids (and kinds) of the jobs running in this process right now."""
    with _active_lock:
        return dict(_active)


def request_stop(stop: bool = True) -> None:
    """Ask the jobs of this process to stop at their next progress report (or no longer)."""
    if stop:
        _stop_requested.set()
    else:
        _stop_requested.clear()


@contextmanager
def _running(job: Job) -> Iterator[None]:
    with _active_lock:
        _active[str(job.pk)] = job.kind
    try:
        yield
    finally:
        with _active_lock:
            _active.pop(str(job.pk), None)


# The method while a GET, HEAD or OPTIONS request is answered, else None. Set by
# coding.web.middleware.SafeRequestMiddleware (the web layer imports this module, not the reverse).
safe_request: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "safe_request", default=None
)


def assert_may_start_jobs(kind: str) -> None:
    """The one rule: reading a page never starts work. Views that start jobs answer POSTs."""
    method = safe_request.get()
    if method is not None:
        raise RuntimeError(f"a {method} request may not start a job ({kind}); use a POST")


# The body of each kind of job: a plain function (job, progress) -> message, beside the code it
# serves. Dotted paths, resolved when a job runs: this module imports none of them.
JOB_FUNCTIONS: dict[str, str] = {
    JobKind.IMPORT: "coding.services.imports.run_import_job",
    JobKind.EXPORT: "coding.exports.jobs.run_export_job",
    JobKind.EXCHANGE_IMPORT: "coding.services.exchange.run_exchange_import_job",
    JobKind.REINDEX: "coding.language.lemma_index.run_reindex_job",
    JobKind.TRAIN: "coding.language.suggestions.run_train_job",
    JobKind.SUGGEST: "coding.language.suggestions.run_suggest_job",
}


def _job_functions() -> dict[str, Callable]:
    return {kind: import_string(path) for kind, path in JOB_FUNCTIONS.items()}


HEARTBEAT_SECONDS = 5


def _progress_updater(job: Job) -> Callable[[int], None]:
    """The job functions' progress callback, also their heartbeat: a changed percentage is
    written at once, an unchanged one at most every HEARTBEAT_SECONDS (long steps call it
    often, so the stale check sees a live job)."""
    last = {"pct": -1, "at": 0.0}

    def progress(pct: int) -> None:
        pct = max(0, min(100, int(pct)))
        if _stop_requested.is_set():
            raise JobStopped(job.pk)
        now = time.monotonic()
        if pct == last["pct"] and now - last["at"] < HEARTBEAT_SECONDS:
            return
        last["pct"], last["at"] = pct, now
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts).update(
            progress=pct, heartbeat_at=timezone.now()
        )

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
        with _running(job):
            message = fn(job, _progress_updater(job))
    except JobStopped:
        _finish(job, JobStatus.FAILED, _("The job was stopped before it finished."))
    except JobSuperseded:
        # Marked failed (stale) or re-run while this attempt worked: its work was rolled back
        # by claim_final_commit, and the job's record belongs to whoever took it.
        log.warning("job %s attempt %s lost the job; nothing committed", job.pk, job.attempts)
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
    """Record the end, unless the job function settled it already (in its final transaction)
    or the job is no longer this attempt's."""
    job.settle(
        status,
        message,
        transcript=job.transcript,
        result_file=job.result_file.name or "",
        result_name=job.result_name,
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
