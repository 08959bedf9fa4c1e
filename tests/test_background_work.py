"""Reading a page never runs work, and tests wait for (or stop) the work they started."""

import threading
import uuid

import pytest
from django.test import RequestFactory
from django.urls import reverse

from coding import services, tasks
from coding.models import Job, JobKind, JobStatus
from coding.web.middleware import SafeRequestMiddleware

from .conftest import BackgroundWorkLeft, settle_background_jobs


def _answer(method: str, view):
    request = RequestFactory().generic(method, "/")
    return SafeRequestMiddleware(view)(request)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_no_job_starts_while_a_safe_request_is_answered(method, project, alice, settings):
    settings.JOB_RUNNER = "eager"

    def view(request):
        services.language_job_start(project=project, user=alice, kind=JobKind.REINDEX)

    with pytest.raises(RuntimeError, match=f"a {method} request may not start a job"):
        _answer(method, view)
    assert not Job.objects.exists()


def test_a_post_may_start_a_job_and_the_mark_is_gone_after_a_get(project, alice):
    def get_view(request):
        from django.http import HttpResponse

        return HttpResponse("read")

    _answer("GET", get_view)

    def post_view(request):
        from django.http import HttpResponse

        job = services.language_job_start(project=project, user=alice, kind=JobKind.REINDEX)
        return HttpResponse(str(job.pk))

    response = _answer("POST", post_view)
    job = Job.objects.get()
    assert response.content.decode() == str(job.pk) and job.status == JobStatus.DONE


def test_the_middleware_is_installed_so_every_page_read_is_covered(settings, bob_client, project):
    assert "coding.web.middleware.SafeRequestMiddleware" in settings.MIDDLEWARE
    # A page that starts a job on POST (the rebuild of the word index) refuses a GET.
    url = reverse("coding:search-reindex", args=[project.pk])
    assert bob_client.get(url).status_code == 405
    assert not Job.objects.exists()


def _holding(job_id: str, kind: str, release: threading.Event) -> threading.Thread:
    job = Job(pk=job_id, kind=kind)

    def hold() -> None:
        with tasks._running(job):
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


def test_settling_fails_with_a_message_naming_the_job_left_running():
    release = threading.Event()
    job_id = str(uuid.uuid4())
    thread = _holding(job_id, JobKind.EXPORT, release)
    try:
        with pytest.raises(BackgroundWorkLeft) as exc:
            settle_background_jobs(timeout=0.2, stop_grace=0.2, check_db=False)
    finally:
        release.set()
        thread.join()
    message = str(exc.value)
    assert f"export {job_id}" in message and "did not stop when asked" in message
    assert tasks.active_jobs() == {}
    assert not tasks._stop_requested.is_set()  # the next test's jobs run normally


def test_settling_waits_for_a_job_that_ends_in_time(db):
    release = threading.Event()
    thread = _holding(str(uuid.uuid4()), JobKind.TRAIN, release)
    threading.Timer(0.1, release.set).start()
    settle_background_jobs(timeout=10, stop_grace=1)
    thread.join()
    assert tasks.active_jobs() == {}


def test_a_stop_request_ends_a_job_at_its_next_progress_report(project, alice, monkeypatch):
    reports = []

    def endless(job, progress):
        tasks.request_stop()
        for pct in range(100):
            reports.append(pct)
            progress(pct)
        return "finished"

    monkeypatch.setattr(tasks, "_job_functions", lambda: {JobKind.EXPORT: endless})
    job = Job.objects.create(project=project, kind=JobKind.EXPORT, status=JobStatus.QUEUED)
    try:
        tasks.run_job(str(job.pk))
    finally:
        tasks.request_stop(False)
    job.refresh_from_db()
    assert reports == [0]
    assert job.status == JobStatus.FAILED and "stopped before it finished" in job.message
    assert tasks.active_jobs() == {}


def test_settling_names_a_job_left_queued_in_the_database(project):
    Job.objects.create(project=project, kind=JobKind.TRAIN, status=JobStatus.QUEUED)
    with pytest.raises(BackgroundWorkLeft, match="queued or running in the database"):
        settle_background_jobs(timeout=1)


def test_without_a_broker_the_web_process_runs_the_schedule_in_a_thread(monkeypatch):
    from coding.services import maintenance

    rounds = threading.Semaphore(0)
    monkeypatch.setattr(maintenance, "run_schedule", rounds.release)
    monkeypatch.setattr(maintenance, "_ticker", None)
    ticker = maintenance.start_ticker(interval=0.01)
    try:
        assert maintenance.start_ticker(interval=0.01) is ticker, "one ticker per process"
        assert rounds.acquire(timeout=10) and rounds.acquire(timeout=10), "it runs, repeatedly"
    finally:
        ticker.stop.set()
        ticker.join(timeout=10)
    assert not ticker.is_alive()


def test_every_job_kind_has_one_body_beside_the_code_it_serves():
    """tasks.JOB_FUNCTIONS names each kind's body by dotted path; each resolves to a function of
    the package that owns the work, and tasks itself imports none of them (no circle)."""
    import ast
    import inspect

    assert set(tasks.JOB_FUNCTIONS) == set(JobKind.values)
    owners = {
        JobKind.IMPORT: "coding.services.imports",
        JobKind.EXPORT: "coding.exports.",
        JobKind.EXCHANGE_IMPORT: "coding.services.exchange",  # beside the write it runs
        JobKind.REINDEX: "coding.language.",
        JobKind.TRAIN: "coding.language.",
        JobKind.SUGGEST: "coding.language.",
    }
    functions = tasks._job_functions()
    for kind, fn in functions.items():
        assert callable(fn) and fn.__module__.startswith(owners[kind]), (kind, fn.__module__)
        assert list(inspect.signature(fn).parameters) == ["job", "progress"], kind
    tree = ast.parse(inspect.getsource(tasks))
    imported = {
        f"{node.module}.{a.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for a in node.names
    }
    assert not [m for m in imported if m.startswith(("coding.services", "coding.exports"))]
    assert not [m for m in imported if m.split(".")[-1] in {"services", "exports", "exchange"}]
