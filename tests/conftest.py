"""Personas (as healthchecks does): alice owns the project, bob is a researcher in it, sue
supervises it, charlie has no access. Each has a logged-in client fixture."""

import os
import socket
import time

import pytest
from django.test import Client

from coding import tasks
from coding.models import Job, JobStatus, Membership, Role

from .factories import CaseFactory, CodebookFactory, CodeFactory, ProjectFactory, UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def service_available(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip where the server is missing, unless CI requires it (then fail)."""
    if service_available(host, port):
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} at {host}:{port} is required (REQUIRE_SERVICES=1) but not running")
    pytest.skip(f"{name} is not running at {host}:{port}")


@pytest.fixture(autouse=True)
def _eager_jobs_and_tmp_media(settings, tmp_path):
    settings.JOB_RUNNER = "eager"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.AXES_ENABLED = False
    # PBKDF2 takes ~0.6 s per persona; tests do not test the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEMO_PASSWORD_FILE = str(tmp_path / "demo-passwords")
    # Tests read the interface in English (the msgids); tests/test_i18n.py checks that users get
    # Norwegian by default.
    settings.LANGUAGE_CODE = "en"


class BackgroundWorkLeft(AssertionError):
    pass


def settle_background_jobs(
    *, timeout: float = 90.0, stop_grace: float = 30.0, check_db: bool = True
) -> None:
    """Wait for the jobs this process runs (eager ones inside live-server requests, thread
    runner jobs) to end; past ``timeout`` ask them to stop, and raise naming what was left.

    Queued or running Job rows are checked only once no job runs here, so the test thread never
    reads the database while the live server's thread writes to it.
    """
    deadline = time.monotonic() + timeout
    while tasks.active_jobs() and time.monotonic() < deadline:
        time.sleep(0.05)
    left = tasks.active_jobs()
    if left:
        tasks.request_stop()
        try:
            deadline = time.monotonic() + stop_grace
            while tasks.active_jobs() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            tasks.request_stop(False)
        still = tasks.active_jobs()
        raise BackgroundWorkLeft(
            f"the test left {len(left)} job(s) running after {timeout:.0f} s "
            f"({', '.join(f'{kind} {pk}' for pk, kind in left.items())}); "
            + ("they did not stop when asked. " if still else "they were stopped. ")
            + "Wait in the test for the work it starts (e.g. for the job page to say done)."
        )
    if check_db:
        pending = list(
            Job.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).values_list(
                "kind", "pk"
            )
        )
        if pending:
            raise BackgroundWorkLeft(
                f"the test left job(s) queued or running in the database: {pending}"
            )


@pytest.fixture(autouse=True)
def _live_server_work_settles(request):
    """Every live-server (browser, load) test: the background work its requests started ends
    before its database is flushed, or the test fails saying which job was left."""
    if "live_server" not in request.fixturenames:
        yield
        return
    # Set up after the database, so torn down before it (and after the browser page).
    request.getfixturevalue("transactional_db")
    yield
    try:
        settle_background_jobs()
    except BackgroundWorkLeft as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def project(db):
    return ProjectFactory(name="Bolig for velferd")


@pytest.fixture
def codebook(project):
    return CodebookFactory(project=project)


@pytest.fixture
def codes(codebook):
    return [
        CodeFactory(codebook=codebook, name=name, order=i, shortcut=str(i + 1))
        for i, name in enumerate(["Forankring og eierskap", "Kompetanse", "Brukermedvirkning"])
    ]


@pytest.fixture
def case(project):
    return CaseFactory(project=project, name="Drammen")


def _member(project, username, role):
    user = UserFactory(username=username)
    if role:
        Membership.objects.create(project=project, user=user, role=role)
    return user


@pytest.fixture
def alice(project):
    return _member(project, "alice", Role.OWNER)


@pytest.fixture
def bob(project):
    return _member(project, "bob", Role.RESEARCHER)


@pytest.fixture
def sue(project):
    return _member(project, "sue", Role.SUPERVISOR)


@pytest.fixture
def charlie(project):
    return _member(project, "charlie", None)


def _client(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def alice_client(alice):
    return _client(alice)


@pytest.fixture
def bob_client(bob):
    return _client(bob)


@pytest.fixture
def sue_client(sue):
    return _client(sue)


@pytest.fixture
def charlie_client(charlie):
    return _client(charlie)


# --- the browser tests' Chromium (Playwright, Debian's chromium) ------------------------------

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"  # the factories' password


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module; skipped without it unless REQUIRE_SERVICES=1."""
    if not os.path.exists(CHROMIUM):
        if REQUIRE_SERVICES:
            pytest.fail(f"{CHROMIUM} is required (REQUIRE_SERVICES=1) but not installed")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are still plain synchronous calls. Restored afterwards so later
    # tests (e.g. the deploy check in a subprocess) do not inherit it.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
            )
            yield b
            b.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def viewport() -> dict:
    """Override in a module for another window size."""
    return {"width": 1360, "height": 900}


@pytest.fixture
def page(browser, viewport):
    """A fresh browser page; any uncaught script error on it fails the test."""
    context = browser.new_context(viewport=viewport, locale="en-GB")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    # Requests the page has sent and not yet had answered: the live server's thread may still
    # be writing for one (an autosave) when the test ends, and the database must not be
    # flushed under it. Teardown waits for them, as a user's browser would.
    in_flight: set = set()
    pg.on("request", lambda r: in_flight.add(r))
    pg.on("requestfinished", lambda r: in_flight.discard(r))
    pg.on("requestfailed", lambda r: in_flight.discard(r))
    yield pg
    deadline = time.monotonic() + 15
    while in_flight and time.monotonic() < deadline:
        pg.wait_for_timeout(50)
    context.close()
    assert not errors, errors
