"""Personas (as healthchecks does): alice owns the project, bob is a researcher in it, sue
supervises it, charlie has no access. Each has a logged-in client fixture."""

import os
import socket

import pytest
from django.test import Client

from coding.models import Membership, Role

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
    yield pg
    context.close()
    assert not errors, errors
