"""End to end against real services: PostgreSQL, gunicorn and Celery workers on Redis.

A scratch database is created on the machine's PostgreSQL, migrated, and served by gunicorn
with the production settings (DEBUG off; plain HTTP on loopback). Jobs go through the machine's
Redis (database LIVE_REDIS_DB) to real `celery worker` processes. Everything a researcher does
goes over HTTP: log in, upload, preview, confirm, watch the job, code, export, download.

Faults: a worker is SIGKILLed in the middle of an import and of an export (tests/fault_worker.py
pauses the job at a known point so the kill lands there); the job must be retried to completion
or end failed with a message, never stay running and never leave half-written rows or files.
Concurrency: two researchers code the same transcript from separate processes; a code is merged
while a researcher codes with it.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import docx
import pytest

from . import docs, live
from .conftest import require_service

pytestmark = pytest.mark.services

PASSWORD = "Fjordhest og blåbær 2024"
JOB_STALE_SECONDS = 8
VISIBILITY_TIMEOUT = 30

INTERVIEW = [
    "I: Hvordan er boligtjenesten organisert i kommunen?",
    "IP: Vi har samlet tjenesten i én enhet. Det har gjort samarbeidet med NAV mye lettere.",
    "I: Hva med kompetansen?",
    "IP: Vi har fått ny kompetanse på bostøtte og startlån. Det var et viktig løft for oss.",
] * 3

SETUP = """
from django.contrib.auth.models import User
from coding.models import Project, Membership, Codebook, Code, Case, Informant
users = {}
for name in ["alice", "bob", "sue", "dora", "charlie"]:
    users[name] = User.objects.create_user(name, password=PASSWORD)
project = Project.objects.create(name="Bolig for velferd")
for name, role in [("alice", "owner"), ("bob", "researcher"), ("sue", "supervisor"),
                   ("dora", "researcher")]:
    Membership.objects.create(project=project, user=users[name], role=role)
codebook = Codebook.objects.create(project=project, name="Kodebok")
codes = [Code.objects.create(codebook=codebook, name=n, color="#1f77b4", order=i)
         for i, n in enumerate(["Forankring", "Kompetanse", "Samarbeid", "Bostøtte"])]
case = Case.objects.create(project=project, name="Drammen", kind="case_study")
informant = Informant.objects.create(case=case, pseudonym="Tone Berg", level="operative")
result = {"project": project.pk, "case": case.pk, "informant": informant.pk,
          "codes": [c.pk for c in codes]}
""".replace("PASSWORD", repr(PASSWORD))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_service("PostgreSQL", live.PG_HOST, live.PG_PORT)
    require_service("Redis", live.REDIS_HOST, live.REDIS_PORT)
    tmp = tmp_path_factory.mktemp("live")
    db = live.create_database()
    procs = live.Processes()
    try:
        env = live.app_env(
            db,
            tmp,
            JOB_STALE_SECONDS=str(JOB_STALE_SECONDS),
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        )
        live.manage(env, "migrate", "--noinput")
        live.manage(env, "collectstatic", "--noinput")
        ids = live.django_run(env, SETUP)
        _web, base = live.start_gunicorn(procs, env, tmp, workers=3)
        yield {"db": db, "env": env, "base": base, "ids": ids, "tmp": tmp, "procs": procs}
    finally:
        procs.stop_all()
        drop_database(db)


def drop_database(db) -> None:
    try:
        live.drop_database(db)
    except Exception as exc:  # leave the scratch database rather than hide the test's result
        print(f"could not drop {db.name}: {exc}")  # noqa: T201


@pytest.fixture
def worker(stack, request):
    """A plain worker of the real app (`celery -A casestudy worker`)."""
    proc = live.start_worker(
        stack["procs"], stack["env"], stack["tmp"], name=request.node.name[:30]
    )
    yield proc
    proc.stop()


def browser(stack, username: str) -> live.Browser:
    b = live.Browser(stack["base"])
    b.login(username, PASSWORD)
    return b


def upload(b: live.Browser, stack, data: bytes, name: str) -> str:
    """Upload -> preview -> confirm over HTTP; returns the job page's path."""
    ids = stack["ids"]
    r = b.get(f"/projects/{ids['project']}/import/")
    assert r.status_code == 200
    r = b.post(
        f"/projects/{ids['project']}/import/",
        {"case": ids["case"], "title": ""},
        files={"file": (name, data)},
    )
    assert r.status_code == 302, r.text[:2000]
    preview_path = r.headers["Location"]
    if preview_path.startswith("/jobs/"):
        # The worker reads the file; once read, the job page sends on to the preview.
        job_page = preview_path
        live.wait_for(
            lambda: b.get(job_page, allow_redirects=False).status_code == 302,
            60,
            "the worker to read the file",
        )
        preview_path = b.get(job_page, allow_redirects=False).headers["Location"]
    assert preview_path.startswith("/imports/")
    page = b.get(preview_path)
    assert page.status_code == 200
    fields = live.form_fields(page.text)
    r = b.post(preview_path, fields)
    assert r.status_code == 302, r.text[:2000]
    job_path = r.headers["Location"]
    assert job_path.startswith("/jobs/")
    return job_path


def job_id(job_path: str) -> str:
    return job_path.rstrip("/").split("/")[-1]


def wait_job(b: live.Browser, job_path: str, timeout: float = 90) -> str:
    return live.wait_for(
        lambda: (s := live.job_status_over_http(b, job_path)) in ("done", "failed") and s,
        timeout,
        f"job {job_path} to finish",
        interval=0.5,
    )


def job_row(stack, job_path: str) -> tuple:
    return stack["db"].rows(
        "SELECT status, message, attempts, transcript_id, result_file FROM coding_job "
        "WHERE id = %s",
        uuid.UUID(job_id(job_path)),
    )[0]


def count(stack, table: str) -> int:
    return stack["db"].scalar(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed names)


def start_export(b: live.Browser, stack) -> str:
    path = f"/projects/{stack['ids']['project']}/export/"
    page = b.get(path)
    assert page.status_code == 200
    fields = live.form_fields(page.text, action_contains="")
    r = b.post(path, fields)
    assert r.status_code == 302, r.text[:3000]
    assert r.headers["Location"].startswith("/jobs/")
    return r.headers["Location"]


def code_span(b: live.Browser, transcript_id: int, start: int, end: int, code_ids) -> dict:
    r = b.post(
        f"/transcripts/{transcript_id}/code/",
        [("start", str(start)), ("end", str(end)), *[("code", str(c)) for c in code_ids]],
        ajax=True,
    )
    return {"status": r.status_code, "body": r.text[:500]}


# --- the whole flow ---------------------------------------------------------------------------


def test_import_code_export_and_download_over_http_with_a_real_worker(stack, worker):
    bob = browser(stack, "bob")
    job_path = upload(bob, stack, docs.make_docx(INTERVIEW), "drammen-intervju.docx")
    assert wait_job(bob, job_path) == "done", job_row(stack, job_path)
    status, message, attempts, transcript_id, _f = job_row(stack, job_path)
    # Two runs of one job: the parse stage, then (after the preview) the build.
    assert attempts == 2 and transcript_id and "drammen-intervju" in message
    page = bob.get(f"/transcripts/{transcript_id}/")
    assert page.status_code == 200 and "samarbeidet med NAV" in page.text

    text = stack["db"].scalar("SELECT text FROM coding_transcript WHERE id = %s", transcript_id)
    start = text.index("samarbeidet med NAV")
    codes = stack["ids"]["codes"]
    res = code_span(bob, transcript_id, start, start + len("samarbeidet med NAV"), codes[2:3])
    assert res["status"] == 200, res
    start2 = text.index("ny kompetanse")
    assert code_span(bob, transcript_id, start2, start2 + 13, codes[1:2])["status"] == 200
    assert count(stack, "coding_coding") == 2
    # A supervisor reads but cannot code.
    sue = browser(stack, "sue")
    assert code_span(sue, transcript_id, start2, start2 + 13, codes[0:1])["status"] == 403
    assert count(stack, "coding_coding") == 2

    export_path = start_export(sue, stack)  # supervisors may export
    assert wait_job(sue, export_path) == "done", job_row(stack, export_path)
    r = sue.get(f"{export_path}download/")
    assert r.status_code == 200
    assert "attachment" in r.headers["Content-Disposition"]
    document = docx.Document(io.BytesIO(r.content))
    body = "\n".join(p.text for p in document.paragraphs)
    assert "samarbeidet med NAV" in body and "ny kompetanse" in body
    # An outsider cannot fetch the file, even with its address; a visitor is sent to log in.
    assert browser(stack, "charlie").get(f"{export_path}download/").status_code == 404
    anonymous = live.Browser(stack["base"]).get(f"{export_path}download/", allow_redirects=False)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.headers["Location"]


def test_a_bad_file_sent_through_the_worker_fails_cleanly_and_the_worker_goes_on(stack, worker):
    """Uploads are read in the worker: a broken upload, and a job whose input is broken
    anyway (a file swapped on disk after it was read), fail in the worker with a message naming
    the file, save nothing, and leave the worker serving the next job."""
    ids = stack["ids"]
    before = count(stack, "coding_transcript")
    bad_jobs = live.django_run(
        stack["env"],
        f"""
from django.core.files.base import ContentFile
from coding import services
from coding.models import Job, JobKind, JobStatus, Project
from tests import docs
good = docs.make_docx(["I: Hei.", "IP: Hallo."])
bad = {{
    "avkortet.docx": good[: len(good) // 2],
    "bombe.docx": docs.zip_bomb(),
    "program.docx": docs.EXE,
    "kryptert.docx": docs.OLE_ENCRYPTED,
}}
result = []
for name, data in bad.items():
    job = Job(project_id={ids["project"]}, kind=JobKind.IMPORT, status=JobStatus.QUEUED,
              input_name=name, params={{"case_id": {ids["case"]}, "format": "docx",
              "metadata": {{"title": name}}, "speakers": {{}}}})
    job.input_file.save(name, ContentFile(data), save=False)
    job.save()
    services.job_enqueue(job)
    result.append(str(job.pk))
""",
    )
    bob = browser(stack, "bob")
    for jid in bad_jobs:
        assert wait_job(bob, f"/jobs/{jid}/") == "failed"
        status, message, *_ = job_row(stack, f"/jobs/{jid}/")
        assert message and ".docx" in message, message
    assert count(stack, "coding_transcript") == before
    # Through the real upload: the job page shows the refusal.
    r = bob.post(
        f"/projects/{ids['project']}/import/",
        {"case": ids["case"], "title": ""},
        files={"file": ("bombe.docx", docs.zip_bomb())},
    )
    assert r.status_code == 302 and r.headers["Location"].startswith("/jobs/")
    assert wait_job(bob, r.headers["Location"]) == "failed"
    assert "bombe.docx" in job_row(stack, r.headers["Location"])[1]
    assert count(stack, "coding_transcript") == before
    assert worker.alive()
    job_path = upload(bob, stack, docs.make_docx(INTERVIEW[:2]), "etterpå.docx")
    assert wait_job(bob, job_path) == "done"
    assert count(stack, "coding_transcript") == before + 1


# --- faults -----------------------------------------------------------------------------------


def fault_worker(stack, name: str, pause: str):
    marker = stack["tmp"] / f"{name}.marker"
    env = {
        **stack["env"],
        "FAULT_PAUSE": pause,
        "FAULT_MARKER": str(marker),
        "FAULT_PAUSE_SECONDS": "120",
    }
    proc = live.start_worker(stack["procs"], env, stack["tmp"], name=name, app="tests.fault_worker")
    return proc, marker


def test_a_worker_killed_inside_the_import_transaction_is_retried_to_completion(stack):
    """SIGKILL of the process running the job (as the OOM killer would): the main worker
    process sees the loss, the message goes back to the queue (acks_late,
    reject_on_worker_lost) and the job runs again from the start."""
    proc, marker = fault_worker(stack, "kill-child-import", "import-transaction")
    try:
        bob = browser(stack, "bob")
        before = count(stack, "coding_transcript")
        job_path = upload(bob, stack, docs.make_docx(INTERVIEW), "drept-under-import.docx")
        live.wait_for(marker.exists, 60, "the import to reach its transaction")
        # Inside the open transaction the transcript row exists, but nobody else sees it.
        assert count(stack, "coding_transcript") == before
        child = int(marker.read_text())
        assert child in proc.children()
        os.kill(child, signal.SIGKILL)
        assert wait_job(bob, job_path, timeout=120) == "done", job_row(stack, job_path)
        status, message, attempts, transcript_id, _f = job_row(stack, job_path)
        assert attempts == 3, "parse, build, and the build a second time"
        assert count(stack, "coding_transcript") == before + 1, "exactly one transcript"
        n_turns = stack["db"].scalar(
            "SELECT count(*) FROM coding_turn WHERE transcript_id = %s", transcript_id
        )
        assert n_turns == len(INTERVIEW)
        assert proc.alive(), "the worker itself survived and took the job again"
    finally:
        proc.stop()


def test_a_worker_killed_outright_mid_import_fails_the_job_and_saves_nothing(stack):
    """SIGKILL of the whole worker (as a power cut would): the job's heartbeat stops, so it is
    shown failed with a message after JOB_STALE_SECONDS; the unacknowledged message comes back
    after the visibility timeout and is then ignored: nothing is imported twice or half."""
    proc, marker = fault_worker(stack, "kill-all-import", "import-transaction")
    bob = browser(stack, "bob")
    before = count(stack, "coding_transcript")
    parts = ("coding_turn", "coding_sentence", "coding_token", "coding_suggestion")
    parts_before = {table: count(stack, table) for table in parts}
    job_path = upload(bob, stack, docs.make_docx(INTERVIEW), "strømbrudd.docx")
    try:
        live.wait_for(marker.exists, 60, "the import to reach its transaction")
    except TimeoutError:
        proc.stop()  # a worker left running would take the next tests' jobs
        raise
    killed_at = time.monotonic()
    proc.kill_hard()
    assert job_row(stack, job_path)[0] == "running"
    assert wait_job(bob, job_path, timeout=JOB_STALE_SECONDS + 30) == "failed"
    status, message, *_ = job_row(stack, job_path)
    assert "worker stopped" in message or "stoppet" in message, message
    assert count(stack, "coding_transcript") == before
    # Nor any of its parts: the import's one transaction died with the worker.
    assert {table: count(stack, table) for table in parts} == parts_before
    # A new worker takes the redelivered message and leaves the failed job alone.
    new, _m = fault_worker(stack, "after-power-cut", "")
    try:
        time.sleep(max(0.0, VISIBILITY_TIMEOUT + 8 - (time.monotonic() - killed_at)))
        assert job_row(stack, job_path)[0] == "failed"
        assert count(stack, "coding_transcript") == before
        job_path2 = upload(bob, stack, docs.make_docx(INTERVIEW[:2]), "på-nytt.docx")
        assert wait_job(bob, job_path2) == "done"
    finally:
        new.stop()


def test_a_worker_killed_mid_export_is_retried_and_the_file_is_whole(stack):
    proc, marker = fault_worker(stack, "kill-child-export", "export-write")
    try:
        bob = browser(stack, "bob")
        _ensure_codings(stack)
        export_path = start_export(bob, stack)
        live.wait_for(marker.exists, 60, "the export to start writing")
        os.kill(int(marker.read_text()), signal.SIGKILL)
        assert wait_job(bob, export_path, timeout=120) == "done", job_row(stack, export_path)
        assert job_row(stack, export_path)[2] == 2
        r = bob.get(f"{export_path}download/")
        assert r.status_code == 200
        document = docx.Document(io.BytesIO(r.content))  # opens: the file is whole
        assert any(p.text for p in document.paragraphs)
    finally:
        proc.stop()


def test_a_worker_killed_outright_mid_export_fails_the_job_without_a_file(stack):
    proc, marker = fault_worker(stack, "kill-all-export", "export-write")
    bob = browser(stack, "bob")
    _ensure_codings(stack)
    export_path = start_export(bob, stack)
    try:
        live.wait_for(marker.exists, 60, "the export to start writing")
    except TimeoutError:
        proc.stop()  # a worker left running would take the next tests' jobs
        raise
    proc.kill_hard()
    assert wait_job(bob, export_path, timeout=JOB_STALE_SECONDS + 30) == "failed"
    status, message, attempts, _t, result_file = job_row(stack, export_path)
    assert message and result_file == ""
    assert bob.get(f"{export_path}download/").status_code == 404
    results = Path(stack["env"]["MEDIA_ROOT"]) / "job-results"
    # Imports keep what they parsed there too (parsed.json); every Word file left is whole.
    for f in results.rglob("*.docx") if results.exists() else []:
        docx.Document(str(f))


def _ensure_codings(stack) -> None:
    """Something to export: a transcript with codings, made without a worker."""
    ids = stack["ids"]
    pasted = "\n".join(INTERVIEW)
    live.django_run(
        stack["env"],
        f"""
from django.contrib.auth.models import User
from coding import importers, services
from coding.models import Case, Code
case = Case.objects.get(pk={ids["case"]})
doc = importers.parse_pasted({pasted!r}, "eksport.txt")
t = services.transcript_create(case=case, doc=doc, title="Til eksport", speakers={{}})
start = t.text.index("ny kompetanse")
services.excerpt_code(transcript=t, start=start, end=start + 13,
    codes=[Code.objects.get(pk={ids["codes"][1]})], coder=User.objects.get(username="bob"))
""",
    )


# --- concurrency ------------------------------------------------------------------------------


def _researcher(base: str, username: str, transcript_id: int, spans, code_id: int) -> list[int]:
    """One researcher in a process of their own: codes every span, returns the statuses."""
    b = live.Browser(base)
    b.login(username, PASSWORD)
    out = []
    for start, end in spans:
        out.append(code_span(b, transcript_id, start, end, [code_id])["status"])
    return out


def _import_for_concurrency(stack, worker_needed) -> tuple[int, str]:
    bob = browser(stack, "bob")
    job_path = upload(bob, stack, docs.make_docx(INTERVIEW * 3), "samtidig.docx")
    assert wait_job(bob, job_path) == "done"
    tid = job_row(stack, job_path)[3]
    text = stack["db"].scalar("SELECT text FROM coding_transcript WHERE id = %s", tid)
    return tid, text


def test_two_researchers_coding_the_same_passages_at_once_lose_nothing(stack, worker):
    tid, text = _import_for_concurrency(stack, worker)
    spans = [(i * 7, i * 7 + 30) for i in range(60) if text[i * 7 : i * 7 + 30].strip()]
    codes = stack["ids"]["codes"]
    before = count(stack, "coding_coding")
    with ProcessPoolExecutor(max_workers=2) as pool:
        a = pool.submit(_researcher, stack["base"], "bob", tid, spans, codes[0])
        b = pool.submit(_researcher, stack["base"], "dora", tid, spans, codes[1])
        statuses = a.result(timeout=300) + b.result(timeout=300)
    assert set(statuses) == {200}, statuses
    assert count(stack, "coding_coding") == before + 2 * len(spans)
    # Both coders' codings sit on one shared excerpt per passage.
    per_span = stack["db"].rows(
        "SELECT e.start, e.end, count(c.id) FROM coding_excerpt e "
        "JOIN coding_coding c ON c.content_object_id = e.id WHERE e.transcript_id = %s "
        "GROUP BY e.start, e.end",
        tid,
    )
    assert sorted((s, e) for s, e, _n in per_span) == sorted(spans)
    assert {n for _s, _e, n in per_span} == {2}
    audit_adds = stack["db"].scalar(
        "SELECT count(*) FROM coding_auditevent WHERE transcript_id = %s AND action = 'coding_add'",
        tid,
    )
    assert audit_adds == 2 * len(spans), "every coding is in the history"


def test_a_code_merged_while_someone_codes_with_it_leaves_no_orphan(stack, worker):
    tid, text = _import_for_concurrency(stack, worker)
    ids = stack["ids"]
    source = live.django_run(
        stack["env"],
        f"from coding.models import Code\n"
        f"result = Code.objects.create(codebook_id=Code.objects.get(pk={ids['codes'][0]})"
        f".codebook_id, name='Midlertidig {uuid.uuid4().hex[:6]}', color='#aabbcc').pk",
    )
    target = ids["codes"][3]
    spans = [(i * 5, i * 5 + 20) for i in range(120) if text[i * 5 : i * 5 + 20].strip()]
    alice = browser(stack, "alice")
    with ProcessPoolExecutor(max_workers=1) as pool:
        coding = pool.submit(_researcher, stack["base"], "bob", tid, spans, source)
        live.wait_for(
            lambda: (
                stack["db"].scalar("SELECT count(*) FROM coding_coding WHERE tag_id = %s", source)
                >= 15
            ),
            60,
            "bob to be coding with the code",
        )
        merge = alice.get(f"/codebook/codes/{source}/merge/?target={target}")
        assert merge.status_code == 200
        r = alice.post(f"/codebook/codes/{source}/merge/", {"target": str(target)})
        assert r.status_code == 302, r.text[:1000]
        statuses = coding.result(timeout=300)
    assert 500 not in statuses, statuses
    applied = statuses.count(200)
    refused = [s for s in statuses if s != 200]
    assert applied >= 15 and set(refused) <= {400, 404, 409}, statuses
    # The merged code is gone and nothing points at it; every coding bob was told about exists.
    assert stack["db"].scalar("SELECT count(*) FROM coding_code WHERE id = %s", source) == 0
    assert stack["db"].scalar("SELECT count(*) FROM coding_coding WHERE tag_id = %s", source) == 0
    orphans = stack["db"].scalar(
        "SELECT count(*) FROM coding_coding c LEFT JOIN coding_code k ON k.id = c.tag_id "
        "WHERE k.id IS NULL"
    )
    assert orphans == 0
    bob_on_target = stack["db"].scalar(
        "SELECT count(*) FROM coding_coding c JOIN coding_excerpt e ON e.id = c.content_object_id "
        "JOIN auth_user u ON u.id = c.coder_id WHERE c.tag_id = %s AND e.transcript_id = %s "
        "AND u.username = 'bob'",
        target,
        tid,
    )
    assert bob_on_target == applied, "each coding bob saw succeed now carries the target code"


# --- backup and restore -----------------------------------------------------------------------


def test_backup_and_restore_bring_back_the_database_and_the_files(stack, tmp_path):
    env = {**stack["env"]}
    backup_root = tmp_path / "backups"
    out = subprocess.run(
        ["bash", "deploy/backup.sh", str(backup_root)],
        cwd=live.ROOT,
        env={**env, "PATH": f"{live.PG_BIN}:{env['PATH']}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    (backup,) = list(backup_root.iterdir())
    restored = live.create_database(prefix="casestudy_restore")
    try:
        media = tmp_path / "restored-media"
        media.mkdir()
        r = subprocess.run(
            ["bash", "deploy/restore.sh", str(backup)],
            cwd=live.ROOT,
            env={
                **env,
                "DATABASE_URL": restored.url,
                "MEDIA_ROOT": str(media),
                "PATH": f"{live.PG_BIN}:{env['PATH']}",
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        for table in ("coding_transcript", "coding_coding", "coding_auditevent", "auth_user"):
            assert restored.scalar(f"SELECT count(*) FROM {table}") == count(stack, table)  # noqa: S608
        originals = {
            p.relative_to(stack["env"]["MEDIA_ROOT"]): p.read_bytes()
            for p in Path(stack["env"]["MEDIA_ROOT"]).rglob("*")
            if p.is_file()
        }
        copies = {p.relative_to(media): p.read_bytes() for p in media.rglob("*") if p.is_file()}
        assert originals and copies == originals
    finally:
        drop_database(restored)


def test_coding_with_a_code_a_merge_is_deleting_waits_and_gets_a_clear_error(stack):
    """The race behind the merge test, made certain: the merge holds the code's row lock (as
    services.code_merge does) while bob codes with it; bob's insert waits for the merge, then
    finds the code gone and gets a clear error, not a server error or an orphan."""
    _ensure_codings(stack)
    tid = stack["db"].scalar("SELECT max(id) FROM coding_transcript")
    source = live.django_run(
        stack["env"],
        f"from coding.models import Code\n"
        f"result = Code.objects.create(codebook_id=Code.objects.get(pk={stack['ids']['codes'][0]})"
        f".codebook_id, name='Låst {uuid.uuid4().hex[:6]}', color='#aabbcc').pk",
    )
    target = stack["ids"]["codes"][2]
    bob = browser(stack, "bob")
    merge = stack["db"].connect()
    merge.autocommit = False
    try:
        merge.execute("SELECT id FROM coding_code WHERE id = %s FOR UPDATE", (source,))
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(code_span, bob, tid, 0, 12, [source])
            time.sleep(1.5)
            assert not pending.done(), "the coding waits for the merge's lock"
            merge.execute(
                "UPDATE coding_coding SET tag_id = %s WHERE tag_id = %s", (target, source)
            )
            merge.execute("DELETE FROM coding_code WHERE id = %s", (source,))
            merge.commit()
            result = pending.result(timeout=30)
    finally:
        merge.close()
    assert result["status"] == 400, result
    message = json.loads(result["body"])["error"]
    assert "merged or deleted" in message or "slått sammen" in message, message
    assert stack["db"].scalar("SELECT count(*) FROM coding_coding WHERE tag_id = %s", source) == 0
