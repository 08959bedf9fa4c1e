"""Real services for the integration tests: scratch PostgreSQL databases and clusters, gunicorn,
Celery workers against the machine's Redis, and an HTTP client that behaves like a browser.

Nothing here touches the machine's own data: databases are created with a random name and
dropped afterwards, a scratch cluster lives in a temporary directory on its own port, and jobs
go through a Celery queue named for the run on one Redis database (LIVE_REDIS_DB, default 14).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_HOST = os.environ.get("LIVE_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("LIVE_PG_PORT", "5432"))
PG_USER = os.environ.get("LIVE_PG_USER", "postgres")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = int(os.environ.get("LIVE_REDIS_DB", "14"))


def _pg_bin() -> Path:
    """The newest PostgreSQL server binaries (Debian keeps them off PATH), or PG_BIN."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = (
        sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if Path("/usr/lib/postgresql").exists()
        else []
    )
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else Path("/usr/lib/postgresql/bin")


PG_BIN = _pg_bin()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval=0.2):
    """Poll until ``predicate`` returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception as exc:  # the service may not be up yet
            last_exc = exc
            value = None
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} ({last_exc!r})")


# --- PostgreSQL -------------------------------------------------------------------------------


@dataclass
class ScratchDatabase:
    host: str
    port: int
    user: str
    name: str

    @property
    def url(self) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.name}"

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=5)

    def scalar(self, sql: str, *params):
        with self.connect() as conn:
            return conn.execute(sql, params).fetchone()[0]

    def rows(self, sql: str, *params) -> list[tuple]:
        with self.connect() as conn:
            return conn.execute(sql, params).fetchall()


def create_database(
    host=PG_HOST, port=PG_PORT, user=PG_USER, prefix="casestudy_live"
) -> ScratchDatabase:
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(
        f"postgres://{user}@{host}:{port}/postgres", autocommit=True, connect_timeout=5
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return ScratchDatabase(host, port, user, name)


def drop_database(db: ScratchDatabase) -> None:
    with psycopg.connect(
        f"postgres://{db.user}@{db.host}:{db.port}/postgres", autocommit=True, connect_timeout=5
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')


class ScratchCluster:
    """A PostgreSQL cluster of our own (initdb in a temporary directory, its own port), so a
    test may restart it without touching the machine's main cluster."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: the postgres user must be able to reach the directory.
        self.base = Path(tempfile.mkdtemp(prefix="casestudy-pg-"))
        self.data = self.base / "pgdata"
        self.port = free_port()
        self.log = self.base / "postgres.log"
        self._as_postgres = os.geteuid() == 0  # initdb refuses to run as root

    @staticmethod
    def available() -> bool:
        return (PG_BIN / "initdb").exists() and (
            os.geteuid() != 0 or shutil.which("runuser") is not None
        )

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> None:
        if self._as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.base}'\nfsync = off\n"
            )
        if self._as_postgres:
            shutil.chown(self.data / "postgresql.conf", "postgres", "postgres")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart"
        )

    def database(self) -> ScratchDatabase:
        return create_database(host="127.0.0.1", port=self.port, user="postgres")

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


# --- the app's processes ----------------------------------------------------------------------


def app_env(db: ScratchDatabase, tmp: Path, **overrides: str) -> dict[str, str]:
    """A production environment (DEBUG off) on loopback: plain HTTP, so no secure cookies."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.pop("DEBUG", None)
    env.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": db.url,
            "DB_CONN_MAX_AGE": "60",
            "CELERY_BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
            # A queue of its own: test runs side by side never take each other's jobs.
            "CELERY_QUEUE": f"casestudy-test-{secrets.token_hex(4)}",
            "MEDIA_ROOT": str(tmp / "media"),
            "STATIC_ROOT": str(tmp / "static"),
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def django_run(env: dict[str, str], code: str, timeout: float = 120):
    """Run ``code`` with Django set up in a fresh process; it assigns ``result`` (JSON-able)."""
    script = (
        "import json, django\ndjango.setup()\nresult = None\n"
        + code
        + "\nprint('@@RESULT@@' + json.dumps(result))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "casestudy.settings"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"django_run failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.rsplit("@@RESULT@@", 1)[1])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except FileNotFoundError:
            return []
        return [int(p) for p in text.split()]

    def kill_hard(self) -> None:
        """SIGKILL the process and everything it started (its own process group)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=30)

    def stop(self) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill_hard()
        except ProcessLookupError:
            pass

    def tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return ""


@dataclass
class Processes:
    started: list[Process] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str], logdir: Path) -> Process:
        log = logdir / f"{name}.log"
        fh = open(log, "ab")  # noqa: SIM115 (the child keeps writing to it)
        popen = subprocess.Popen(  # noqa: S603
            args, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc = Process(name, popen, log)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop()


def start_gunicorn(procs: Processes, env: dict[str, str], logdir: Path, workers: int = 3):
    port = free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)}
    proc = procs.start(
        "gunicorn",
        [str(VENV_BIN / "gunicorn"), "casestudy.wsgi", "--config", "deploy/gunicorn.conf.py"],
        env,
        logdir,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(
        lambda: requests.get(f"{base}/healthz", timeout=2).status_code == 200,
        60,
        f"gunicorn on {base}\n{proc.tail()}",
    )
    return proc, base


def start_worker(
    procs: Processes, env: dict[str, str], logdir: Path, name: str = "worker", app="casestudy"
) -> Process:
    """A real `celery worker` (prefork, one child, so a job can be killed mid-way)."""
    proc = procs.start(
        name,
        [
            str(VENV_BIN / "celery"),
            "-A",
            app,
            "worker",
            "--loglevel=INFO",
            "--concurrency=1",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            f"--hostname={name}-{secrets.token_hex(3)}@%h",
        ],
        env,
        logdir,
    )
    wait_for(lambda: "ready." in proc.log.read_text(errors="replace"), 60, f"{name}: {proc.tail()}")
    return proc


# --- a browser-like HTTP client ---------------------------------------------------------------


class FormParser(HTMLParser):
    """The default values of the fields of every <form> (what a browser would submit)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": []})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select = name
            self._first_option = None
            self._selected = False
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                fields.append((self._select, value))
                self._selected = True
        elif tag == "textarea" and name:
            self._textarea = name
            fields.append((name, ""))

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            if not self._selected and self._first_option is not None:
                self.forms[-1]["fields"].append((self._select, self._first_option))
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            name, value = self.forms[-1]["fields"][-1]
            self.forms[-1]["fields"][-1] = (name, value + data)


# The forms every page's header carries (language, log out): never the page's own form.
HEADER_FORMS = ("/i18n/", "/accounts/logout/")


def form_fields(html: str, action_contains: str = "") -> list[tuple[str, str]]:
    parser = FormParser()
    parser.feed(html)
    for form in parser.forms:
        if any(h in form["action"] for h in HEADER_FORMS):
            continue
        if action_contains in form["action"] and any(
            n != "csrfmiddlewaretoken" for n, _v in form["fields"]
        ):
            return form["fields"]
    raise AssertionError(f"no form with action containing {action_contains!r}")


class Browser:
    """A logged-in session over real HTTP that sends the CSRF token as a browser does."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    @property
    def csrf(self) -> str:
        return self.session.cookies.get("csrftoken", "")

    def get(self, path: str, **kw) -> requests.Response:
        return self.session.get(self.url(path), timeout=60, **kw)

    def post(self, path: str, data=None, files=None, ajax: bool = False, **kw):
        data = list(data.items()) if isinstance(data, dict) else list(data or [])
        headers = kw.pop("headers", {})
        if ajax:
            headers["X-CSRFToken"] = self.csrf
        elif not any(k == "csrfmiddlewaretoken" for k, _v in data):
            data.append(("csrfmiddlewaretoken", self.csrf))
        return self.session.post(
            self.url(path),
            data=data,
            files=files,
            headers=headers,
            timeout=120,
            allow_redirects=False,
            **kw,
        )

    def login(self, username: str, password: str) -> None:
        r = self.get("/accounts/login/")
        assert r.status_code == 200, r.status_code
        r = self.post("/accounts/login/", {"username": username, "password": password})
        assert r.status_code == 302, f"login as {username} failed: {r.status_code}"
        assert "sessionid" in self.session.cookies


JOB_STATUS_RE = re.compile(r'class="job-status (\w+)"')


def job_status_over_http(browser: Browser, job_path: str) -> str:
    r = browser.get(job_path)
    assert r.status_code == 200, r.status_code
    match = JOB_STATUS_RE.search(r.text)
    assert match, "the job page shows its status"
    return match.group(1)
