"""PostgreSQL restarts under a running installation: the app recovers without a restart.

The test starts a PostgreSQL cluster of its own (initdb on a free port, in a temporary
directory), never the machine's main cluster, serves it with gunicorn and a Celery worker, and
restarts the cluster in the middle of a logged-in session. Persistent connections
(DB_CONN_MAX_AGE) are checked before reuse (CONN_HEALTH_CHECKS), so the first request after
the restart already works; so does the next job.
"""

from __future__ import annotations

import pytest
import requests

from . import docs, live
from .conftest import REQUIRE_SERVICES, require_service
from .test_live_services import INTERVIEW, PASSWORD, SETUP, upload, wait_job

pytestmark = pytest.mark.services


@pytest.fixture
def cluster(tmp_path):
    require_service("Redis", live.REDIS_HOST, live.REDIS_PORT)
    if not live.ScratchCluster.available():
        if REQUIRE_SERVICES:
            pytest.fail("initdb/pg_ctl are required (REQUIRE_SERVICES=1) but missing")
        pytest.skip("initdb/pg_ctl are not installed")
    cluster = live.ScratchCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def test_the_app_recovers_from_a_database_restart_without_being_restarted(cluster, tmp_path):
    db = cluster.database()
    env = live.app_env(db, tmp_path)
    live.manage(env, "migrate", "--noinput")
    live.manage(env, "collectstatic", "--noinput")
    ids = live.django_run(env, SETUP)
    procs = live.Processes()
    try:
        web_proc, base = live.start_gunicorn(procs, env, tmp_path, workers=2)
        worker = live.start_worker(procs, env, tmp_path, name="restart-worker")
        bob = live.Browser(base)
        bob.login("bob", PASSWORD)
        project_page = f"/projects/{ids['project']}/"
        # Every gunicorn worker holds an open connection now.
        for _ in range(6):
            assert bob.get(project_page).status_code == 200
        job = upload(bob, {"ids": ids}, docs.make_docx(INTERVIEW[:2]), "før.docx")
        assert wait_job(bob, job) == "done"

        cluster.restart()

        # The very first requests after the restart succeed: stale connections are replaced.
        statuses = [bob.get(project_page).status_code for _ in range(6)]
        assert statuses == [200] * 6, statuses
        assert bob.get("/healthz").text == "ok"
        # The session survived (it lives in the database), and writes work again.
        job = upload(bob, {"ids": ids}, docs.make_docx(INTERVIEW), "etter.docx")
        assert wait_job(bob, job) == "done", "the worker reconnected too"
        assert db.scalar("SELECT count(*) FROM coding_transcript") == 2
        assert web_proc.alive() and worker.alive(), "nobody restarted the app"

        # While the database is down the app answers with an error page, not a hang, and
        # the health check tells the proxy.
        cluster.stop("fast")
        r = requests.get(f"{base}/healthz", timeout=30)
        assert r.status_code == 503
        cluster.start()
        assert live.wait_for(
            lambda: requests.get(f"{base}/healthz", timeout=5).status_code == 200, 30, "recovery"
        )
        assert bob.get(project_page).status_code == 200
    finally:
        procs.stop_all()
