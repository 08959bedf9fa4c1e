"""The production profile: settings from the environment, deploy checks, security headers."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from coding.models import Job, JobKind, JobStatus
from coding.services.maintenance import fail_stale_jobs, purge_old_job_files
from coding.web.middleware import POLICY

from .factories import TranscriptFactory

ROOT = Path(__file__).resolve().parent.parent


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment deploy/env.example describes, with throwaway paths."""
    # Not the test run's own switches (browser tests set DJANGO_ALLOW_ASYNC_UNSAFE, for one).
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "DATABASE_URL") and not k.startswith("DJANGO_")
    }
    env.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "koding.example.org",
            "CSRF_TRUSTED_ORIGINS": "https://koding.example.org",
            "DATABASE_URL": "postgres://casestudy@127.0.0.1:5432/casestudy",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
            "MEDIA_ROOT": str(tmp_path / "media"),
            "STATIC_ROOT": str(tmp_path / "static"),
            "BEHIND_PROXY": "1",
        }
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_the_production_environment(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_a_development_setup(tmp_path):
    env = production_env(tmp_path, DEBUG="1", SECURE_SSL_REDIRECT="0")
    env.pop("DATABASE_URL")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    for check_id in ("security.W018", "security.W008", "security.W012", "coding.W001"):
        assert check_id in result.stderr


def test_check_deploy_refuses_media_inside_the_public_static_files(tmp_path):
    env = production_env(
        tmp_path, STATIC_ROOT=str(tmp_path / "static"), MEDIA_ROOT=str(tmp_path / "static/m")
    )
    result = manage(env, "check", "--deploy")
    assert result.returncode != 0
    assert "coding.E003" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must list"),
        ({"CELERY_BROKER_URL": "http://127.0.0.1:6379"}, "CELERY_BROKER_URL must be a Redis"),
        ({"SECURE_SSL_REDIRECT": "maybe"}, "SECURE_SSL_REDIRECT must be a boolean"),
        ({"UPLOAD_MAX_BYTES": "20MB"}, "UPLOAD_MAX_BYTES must be an integer"),
        ({"CSRF_TRUSTED_ORIGINS": "koding.example.org"}, "need a scheme"),
        ({"JOB_RUNNER": "cron"}, "JOB_RUNNER must be"),
    ],
)
def test_bad_settings_fail_loudly_at_start(tmp_path, overrides, message):
    result = manage(production_env(tmp_path, **overrides), "check")
    assert result.returncode != 0
    assert message in result.stderr


def test_the_production_settings_use_secure_cookies_hsts_and_a_proxy_header(tmp_path):
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, s.DATABASES['default']['ENGINE'],"
        " s.JOB_RUNNER, s.CELERY_TASK_ACKS_LATE, s.STORAGES['staticfiles']['BACKEND']]))"
    )
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE="casestudy.settings")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == (
        '[true, true, true, 31536000, ["HTTP_X_FORWARDED_PROTO", "https"], '
        '"django.db.backends.postgresql", "celery", true, '
        '"whitenoise.storage.CompressedManifestStaticFilesStorage"]'
    )


def test_every_page_carries_a_policy_without_inline_scripts(alice_client, project):
    r = alice_client.get(reverse("coding:project-detail", args=[project.pk]))
    csp = r["Content-Security-Policy"]
    assert csp == POLICY
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert script_src.split() == ["script-src", "'self'"]
    assert r["X-Frame-Options"] == "DENY"
    assert r["X-Content-Type-Options"] == "nosniff"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_ATTRIBUTE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)


def test_no_template_has_inline_script_or_event_attributes():
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, EVENT_ATTRIBUTE, JS_URL):
            for match in pattern.finditer(text):
                # JSON data islands are not scripts: the CSP does not run them.
                if 'type="application/json"' in match.group(0):
                    continue
                offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)[:60]}")
    assert offenders == []


def test_a_body_far_beyond_the_upload_limit_is_refused_before_it_is_read(
    bob_client, project, settings
):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    r = bob_client.generic(
        "POST",
        reverse("coding:import-upload", args=[project.pk]),
        data=b"x" * 10,
        content_type="application/octet-stream",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )
    assert r.status_code == 413
    with translation.override("en"):
        r = bob_client.generic(
            "POST",
            reverse("coding:import-upload", args=[project.pk]),
            data=b"x" * 10,
            content_type="application/octet-stream",
            CONTENT_LENGTH=str(50 * 1024 * 1024),
        )
    assert "at most 1 MB" in r.content.decode()


def test_the_health_check_answers_without_login(db):
    r = Client().get(reverse("healthz"))
    assert r.status_code == 200
    assert r.content == b"ok"
    assert "no-cache" in r["Cache-Control"]


def test_a_csrf_failure_is_explained_in_the_site_page(bob, project):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    r = client.post(reverse("coding:import-upload", args=[project.pk]), {"pasted": "x"})
    assert r.status_code == 403
    assert "403_csrf.html" in [t.name for t in r.templates]
    assert Job.objects.count() == 0


def test_maintenance_fails_jobs_whose_worker_died(project, settings):
    settings.JOB_STALE_SECONDS = 60
    old = timezone.now() - dt.timedelta(seconds=120)
    dead = Job.objects.create(
        project=project, kind=JobKind.IMPORT, status=JobStatus.RUNNING, heartbeat_at=old
    )
    alive = Job.objects.create(
        project=project, kind=JobKind.IMPORT, status=JobStatus.RUNNING, heartbeat_at=timezone.now()
    )
    with translation.override("en"):
        assert fail_stale_jobs() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == JobStatus.FAILED and "worker stopped" in dead.message
    assert alive.status == JobStatus.RUNNING


def test_maintenance_deletes_expired_exports_and_abandoned_imports(project, case, settings):
    settings.EXPORT_RETENTION_HOURS = 24
    now = timezone.now()
    old_export = Job(project=project, kind=JobKind.EXPORT, status=JobStatus.DONE)
    old_export.finished_at = now - dt.timedelta(hours=30)
    old_export.result_file.save("old.docx", ContentFile(b"old"), save=True)
    new_export = Job(project=project, kind=JobKind.EXPORT, status=JobStatus.DONE)
    new_export.finished_at = now - dt.timedelta(hours=1)
    new_export.result_file.save("new.docx", ContentFile(b"new"), save=True)
    draft = Job(project=project, kind=JobKind.IMPORT, status=JobStatus.DRAFT)
    draft.input_file.save("draft.txt", ContentFile(b"I: hei"), save=True)
    Job.objects.filter(pk=draft.pk).update(created_at=now - dt.timedelta(days=2))
    # A failed import whose upload became a transcript's original keeps it.
    kept = Job(project=project, kind=JobKind.IMPORT, status=JobStatus.FAILED)
    kept.input_file.save("kept.txt", ContentFile(b"I: hei"), save=True)
    TranscriptFactory(case=case, original_file=kept.input_file.name)
    Job.objects.filter(pk=kept.pk).update(created_at=now - dt.timedelta(days=2))
    old_path, new_path = Path(old_export.result_file.path), Path(new_export.result_file.path)
    draft_path, kept_path = Path(draft.input_file.path), Path(kept.input_file.path)

    assert purge_old_job_files() == {"results": 1, "drafts": 1, "failed_inputs": 0}
    assert not old_path.exists() and new_path.exists()
    assert not draft_path.exists() and not Job.objects.filter(pk=draft.pk).exists()
    assert kept_path.exists()
    old_export.refresh_from_db()
    assert not old_export.result_file


def test_celery_beat_schedules_the_housekeeping(settings):
    from casestudy.celery import app

    app.loader.import_default_modules()
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks == {
        "coding.services.maintenance.fail_stale_jobs_task",
        "coding.services.maintenance.purge_old_job_files_task",
        "coding.services.maintenance.retrain_due_models_task",
        "coding.services.maintenance.migrate_old_indexes_task",
    }
    assert tasks <= set(app.tasks)


def test_pages_are_gzipped_for_browsers_that_accept_it(alice_client, project, case):
    """GZipMiddleware (settings.MIDDLEWARE): a long transcript page travels compressed; its
    content is the page a client without gzip gets."""
    import gzip

    t = TranscriptFactory(case=case, text="IP: " + "Vi fikk mange boliger i Drammen. " * 3000)
    url = reverse("coding:transcript-detail", args=[t.pk])
    plain = alice_client.get(url)
    packed = alice_client.get(url, headers={"accept-encoding": "gzip"})
    assert plain.status_code == packed.status_code == 200
    assert not plain.has_header("Content-Encoding")
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert len(packed.content) * 5 < len(plain.content)
    html = gzip.decompress(packed.content).decode()
    assert html.count("boliger i Drammen") == plain.content.decode().count("boliger i Drammen")


def test_gzip_can_be_left_to_the_proxy(tmp_path):
    env = production_env(tmp_path, GZIP_PAGES="0", DJANGO_SETTINGS_MODULE="casestudy.settings")
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print('gzip' in ' '.join(settings.MIDDLEWARE).lower())"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "False", out.stderr
