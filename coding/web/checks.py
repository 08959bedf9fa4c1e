"""Deployment checks (``manage.py check --deploy``) for what Django's own checks cannot know."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from coding.web.middleware import POLICY

CSP_MIDDLEWARE = "coding.web.middleware.ContentSecurityPolicyMiddleware"


def _directive(policy: str, name: str) -> str:
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == name:
            return part
    return ""


@register(Tags.security, deploy=True)
def check_content_security_policy(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list:
    errors = []
    if CSP_MIDDLEWARE not in settings.MIDDLEWARE:
        errors.append(
            Error(
                "The Content Security Policy middleware is not installed.",
                hint=f"Add {CSP_MIDDLEWARE!r} to MIDDLEWARE.",
                id="coding.E001",
            )
        )
    scripts = _directive(POLICY, "script-src") or _directive(POLICY, "default-src")
    if not scripts or "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts:
        errors.append(
            Error(
                "The Content Security Policy allows inline or evaluated scripts.",
                hint="Scripts belong in static files; remove 'unsafe-inline'/'unsafe-eval'.",
                id="coding.E002",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def check_media_is_private(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list:
    """Uploaded transcripts must never be served as public static files."""
    media = Path(settings.MEDIA_ROOT).resolve()
    public = [Path(settings.STATIC_ROOT).resolve()] + [
        Path(d).resolve() for d in settings.STATICFILES_DIRS
    ]
    for root in public:
        if media == root or root in media.parents or media in root.parents:
            return [
                Error(
                    f"MEDIA_ROOT ({media}) overlaps the public static files ({root}).",
                    hint="Keep uploaded transcripts outside STATIC_ROOT and static/.",
                    id="coding.E003",
                )
            ]
    return []


@register(Tags.database, deploy=True)
def check_production_services(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list:
    warnings = []
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        warnings.append(
            Warning(
                "The database is SQLite: one machine and a handful of users at most.",
                hint="Set DATABASE_URL to a PostgreSQL database (deploy/README.md).",
                id="coding.W001",
            )
        )
    if settings.JOB_RUNNER == "eager":
        warnings.append(
            Warning(
                "JOB_RUNNER=eager runs imports and exports inside the web request.",
                hint="Set CELERY_BROKER_URL (several machines) or leave JOB_RUNNER unset.",
                id="coding.W002",
            )
        )
    if settings.JOB_RUNNER == "celery" and not settings.CELERY_TASK_ACKS_LATE:
        warnings.append(
            Warning(
                "Celery acknowledges jobs before running them: a killed worker loses its job.",
                hint="Keep CELERY_TASK_ACKS_LATE = True.",
                id="coding.W003",
            )
        )
    return warnings
