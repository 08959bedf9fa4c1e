"""One settings file, driven by the environment.

With no environment at all the project runs on SQLite with jobs executed in-process, so a clean
checkout works. DATABASE_URL and CELERY_BROKER_URL switch to PostgreSQL and Redis/RabbitMQ.
Bad values fail loudly at start.
"""

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# pytest imports these settings without an environment; a throwaway key is fine there.
_TESTING = "pytest" in sys.modules
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG or _TESTING:
        SECRET_KEY = "insecure-development-key-never-use-in-production"  # noqa: S105
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if DEBUG or _TESTING:
    ALLOWED_HOSTS += ["127.0.0.1", "localhost", "testserver"]
elif not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must list the host names the site answers to when DEBUG is off"
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("https://", "http://")):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entries need a scheme (https://host), not {_origin!r}"
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "taggit",
    "axes",
    "django_htmx",
    "coding",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Refuses request bodies far beyond the upload limit before Django spools them to disk.
    "coding.web.middleware.RequestSizeLimitMiddleware",
    # No job starts while a GET (or HEAD, OPTIONS) is answered: reading a page never runs work.
    "coding.web.middleware.SafeRequestMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages are gzipped here (static files already are: whitenoise serves its pre-compressed
    # copies, and answers before this line, so they are never compressed twice). BREACH: a
    # compressed page that holds a secret beside text an attacker chose can leak the secret
    # through its size. We accept that trade-off for HTML (a 200,000-word transcript is 2.6 MB
    # raw, 0.6 MB gzipped: manage.py benchmark page) because (1) Django masks the CSRF token
    # anew in each response, (2) Django's GZipMiddleware pads every response with random
    # bytes ("Heal the Breach"), and (3) the session and CSRF cookies are SameSite=Lax, so
    # another site cannot make a logged-in browser fetch pages in bulk to measure them.
    # GZIP_PAGES=0 turns it off (for a proxy that compresses instead).
    *(["django.middleware.gzip.GZipMiddleware"] if env_bool("GZIP_PAGES", True) else []),
    "django.contrib.sessions.middleware.SessionMiddleware",
    "coding.web.middleware.DefaultLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # request.htmx: whether htmx sent the request (a fragment is answered), read in one place.
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "coding.web.middleware.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "casestudy.urls"
WSGI_APPLICATION = "casestudy.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
            # {{ user|display_name }} on every page: the one rule for naming a user.
            "builtins": ["coding.people"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the in-process job thread write while the web thread reads. temp_store: the
    # sorts and materialised sets of the matrices' GROUP BYs stay in memory instead of temp
    # files (a few tens of MB at a million codings; coding/benchmarks/matrix.py).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA temp_store=MEMORY;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "coding:project-list"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# A one-time "set your password" link for a newly invited member stays valid this long.
PASSWORD_RESET_TIMEOUT = env_int("INVITE_LINK_SECONDS", 3 * 24 * 3600)

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
# One lock per (user name, address) pair: wrong passwords from elsewhere cannot lock a user out
# (the owner included), and one person's typos do not lock everyone behind the same address.
# Lift a lock early with `manage.py axes_reset_username NAME` (deploy/README.md).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# Behind a proxy every request comes from the proxy's address; the client's address is the one
# the proxy appended to X-Forwarded-For (see coding.web.security.client_ip).
AXES_CLIENT_IP_CALLABLE = "coding.web.security.client_ip"

LANGUAGE_CODE = "nb"
LANGUAGES = [("nb", _("Norwegian Bokmål")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media-not-served/"  # media is served only through views that check access
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or _TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploads: the limit a researcher sees in the error message.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
# Expanded size a .docx/.odt may unpack to before it counts as a zip bomb.
UPLOAD_MAX_UNPACKED_BYTES = env_int("UPLOAD_MAX_UNPACKED_BYTES", 200 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
MEMO_MAX_CHARS = env_int("MEMO_MAX_CHARS", 20_000)
DEMO_PASSWORD_FILE = os.environ.get("DEMO_PASSWORD_FILE", str(BASE_DIR / ".demo-passwords"))
EXPORT_RETENTION_HOURS = env_int("EXPORT_RETENTION_HOURS", 72)

# Background jobs. With no broker the job runs in a thread of the web process ("thread"), so a
# single machine needs no other service; tests use "eager" (same call, no thread).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
if CELERY_BROKER_URL and not CELERY_BROKER_URL.startswith(
    ("redis://", "rediss://", "amqp://", "amqps://", "pyamqp://", "memory://")
):
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL must be a Redis (redis://) or RabbitMQ (amqp://) URL, "
        f"not {CELERY_BROKER_URL.split('://')[0]!r}"
    )
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis hands an unacknowledged message (its worker died with it) to another worker after this
# long; keep it above the longest job so a slow job is never run twice at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
}
# One queue name per installation: two installations (or test runs) can share a Redis.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "casestudy")
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_IMPORTS = ["coding.services.maintenance"]
# celery beat: the housekeeping a long-running service needs (see coding/services/maintenance.py).
CELERY_BEAT_SCHEDULE = {
    "fail-stale-jobs": {
        "task": "coding.services.maintenance.fail_stale_jobs_task",
        "schedule": 60.0,
    },
    "purge-old-job-files": {
        "task": "coding.services.maintenance.purge_old_job_files_task",
        "schedule": 3600.0,
    },
    "retrain-suggestion-models": {
        "task": "coding.services.maintenance.retrain_due_models_task",
        "schedule": 60.0,
    },
    "migrate-word-indexes": {
        "task": "coding.services.maintenance.migrate_old_indexes_task",
        "schedule": 300.0,
    },
}
JOB_RUNNER = os.environ.get("JOB_RUNNER") or ("celery" if CELERY_BROKER_URL else "thread")
if JOB_RUNNER not in ("celery", "thread", "eager"):
    raise ImproperlyConfigured("JOB_RUNNER must be celery, thread or eager")
if JOB_RUNNER == "celery" and not CELERY_BROKER_URL:
    raise ImproperlyConfigured("JOB_RUNNER=celery needs CELERY_BROKER_URL")
# A job still "running" this long after its last heartbeat is taken as lost (worker killed).
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 120)
# The suggestion model is trained again after this many new codings in a project.
SUGGESTIONS_RETRAIN_AFTER = env_int("SUGGESTIONS_RETRAIN_AFTER", 50)
# With the thread runner the web process runs the housekeeping
# (coding/services/maintenance.py) this often.
MAINTENANCE_INTERVAL_SECONDS = env_int("MAINTENANCE_INTERVAL_SECONDS", 60)

# Security headers. HTTPS settings follow SECURE_SSL_REDIRECT so a plain-HTTP dev server works.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and not _TESTING)
# A proxy that redirects to HTTPS itself may turn SECURE_SSL_REDIRECT off and keep these on.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SECURE_SSL_REDIRECT)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_SSL_REDIRECT else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
# How many proxies append to X-Forwarded-For in front of the app (nginx alone: 1).
PROXY_COUNT = env_int("PROXY_COUNT", 1)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SESSION_COOKIE_SAMESITE = "Lax"
# The proxy probes the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
CSRF_FAILURE_VIEW = "coding.web.security.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the coding script reads it to post fragments

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # spaCy logs each model initialisation at INFO (training runs several per job).
    "loggers": {
        "axes": {"level": "WARNING"},
        "spacy": {"level": "WARNING"},
        # Django's own console handler (DEBUG only) would print each of its lines a second time
        # beside the root's: its records go to the root handler alone.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}
