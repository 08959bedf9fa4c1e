"""The deployment checks (``manage.py check --deploy``) and the client address behind a proxy:
coding/web/checks.py and coding/web/security.py."""

from unittest import mock

import pytest
from django.core import checks as django_checks
from django.test import RequestFactory

from coding.web import checks
from coding.web.security import client_ip


def _ids(messages) -> set[str]:
    return {m.id for m in messages}


def test_the_policy_we_ship_passes_its_own_check(settings):
    assert checks.check_content_security_policy(None) == []


def test_a_missing_csp_middleware_is_an_error(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != checks.CSP_MIDDLEWARE]
    assert _ids(checks.check_content_security_policy(None)) == {"coding.E001"}


@pytest.mark.parametrize(
    "policy",
    [
        "default-src 'self'; script-src 'self' 'unsafe-inline'",
        "default-src 'self'; script-src 'self' 'unsafe-eval'",
        # No script-src: default-src decides, and it allows inline scripts.
        "default-src 'self' 'unsafe-inline'; img-src 'self'",
        # Neither directive: scripts from anywhere.
        "img-src 'self'",
    ],
)
def test_a_policy_that_lets_inline_or_evaluated_scripts_run_is_an_error(monkeypatch, policy):
    monkeypatch.setattr(checks, "POLICY", policy)
    assert _ids(checks.check_content_security_policy(None)) == {"coding.E002"}


def test_default_src_alone_is_enough_when_it_is_strict(monkeypatch):
    monkeypatch.setattr(checks, "POLICY", "default-src 'self'; img-src 'self' data:")
    assert checks.check_content_security_policy(None) == []


@pytest.mark.parametrize("where", ["inside_static_root", "is_static_dir", "holds_static_root"])
def test_uploads_that_overlap_the_public_static_files_are_an_error(settings, tmp_path, where):
    static_root = tmp_path / "public" / "static"
    settings.STATIC_ROOT = static_root
    settings.STATICFILES_DIRS = [tmp_path / "src-static"]
    settings.MEDIA_ROOT = {
        "inside_static_root": static_root / "media",
        "is_static_dir": tmp_path / "src-static",
        "holds_static_root": tmp_path / "public",
    }[where]
    (error,) = checks.check_media_is_private(None)
    assert error.id == "coding.E003"
    assert str(settings.MEDIA_ROOT) in error.msg


def test_uploads_beside_the_static_files_pass(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATICFILES_DIRS = [tmp_path / "src-static"]
    settings.MEDIA_ROOT = tmp_path / "media"
    assert checks.check_media_is_private(None) == []


def _engine(engine: str):
    """The check reads the configured engine; the suite runs on SQLite and on PostgreSQL, so
    the test names the engine it means (the open connection is not touched)."""
    from django.conf import settings as django_settings

    return mock.patch.dict(django_settings.DATABASES["default"], {"ENGINE": engine})


SQLITE, POSTGRESQL = "django.db.backends.sqlite3", "django.db.backends.postgresql"


@pytest.mark.parametrize(("engine", "warned"), [(SQLITE, {"coding.W001"}), (POSTGRESQL, set())])
def test_sqlite_and_the_eager_runner_are_warned_about(settings, engine, warned):
    settings.JOB_RUNNER = "eager"
    with _engine(engine):
        assert _ids(checks.check_production_services(None)) == warned | {"coding.W002"}
    settings.JOB_RUNNER = "thread"
    with _engine(engine):
        assert _ids(checks.check_production_services(None)) == warned


def test_celery_that_acknowledges_early_is_warned_about(settings):
    settings.JOB_RUNNER = "celery"
    settings.CELERY_TASK_ACKS_LATE = False
    with _engine(POSTGRESQL):
        assert _ids(checks.check_production_services(None)) == {"coding.W003"}
        settings.CELERY_TASK_ACKS_LATE = True
        assert _ids(checks.check_production_services(None)) == set()


def test_the_checks_run_with_check_deploy_only(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != checks.CSP_MIDDLEWARE]
    assert "coding.E001" not in _ids(django_checks.run_checks())
    assert "coding.E001" in _ids(django_checks.run_checks(include_deployment_checks=True))


# --- the client address for login throttling ------------------------------------------------


def _request(remote="10.0.0.9", forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_a_proxy_the_forwarded_header_is_ignored(settings):
    settings.BEHIND_PROXY = False
    assert client_ip(_request(forwarded="1.2.3.4")) == "10.0.0.9"


def test_behind_one_proxy_the_client_is_the_last_forwarded_address(settings):
    settings.BEHIND_PROXY, settings.PROXY_COUNT = True, 1
    # "6.6.6.6" was written by the client itself: it must not choose its own throttling key.
    assert client_ip(_request(forwarded="6.6.6.6, 1.2.3.4")) == "1.2.3.4"


def test_behind_two_proxies_the_client_is_the_entry_before_theirs(settings):
    settings.BEHIND_PROXY, settings.PROXY_COUNT = True, 2
    assert client_ip(_request(forwarded="6.6.6.6, 1.2.3.4, 172.16.0.2")) == "1.2.3.4"


def test_too_few_forwarded_entries_fall_back_to_the_remote_address(settings):
    settings.BEHIND_PROXY, settings.PROXY_COUNT = True, 2
    assert client_ip(_request(forwarded="1.2.3.4")) == "10.0.0.9"
    assert client_ip(_request(forwarded=" , ")) == "10.0.0.9"
