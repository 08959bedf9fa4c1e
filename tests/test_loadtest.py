"""The load test command: loopback only, bounded, reports latency and errors, cleans up."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from coding import importers, services
from coding.models import Coding, Membership

from .factories import CaseFactory, CodebookFactory, CodeFactory, ProjectFactory


@pytest.mark.parametrize(
    "url", ["http://example.org", "http://10.0.0.5:8000", "https://koding.example.org"]
)
def test_it_refuses_anything_but_loopback(db, url):
    with pytest.raises(CommandError, match="loopback addresses only"):
        call_command("loadtest", url=url, users=1, seconds=1)


def test_it_refuses_unbounded_runs(db):
    with pytest.raises(CommandError):
        call_command("loadtest", url="http://127.0.0.1:1", users=1, seconds=100_000)


def test_a_short_run_browses_codes_reports_and_cleans_up(live_server, transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    project = ProjectFactory(name="Last")
    codebook = CodebookFactory(project=project)
    for name in ("Samarbeid", "Kompetanse"):
        CodeFactory(codebook=codebook, name=name)
    case = CaseFactory(project=project)
    doc = importers.parse_pasted(
        "I: Hvordan samarbeider dere?\nIP: Vi samarbeider tett. Det går bra. Vi lærer mye.", "x"
    )
    services.transcript_create(case=case, doc=doc, title="Intervju", speakers={})
    # The live server shares one in-memory SQLite connection between its threads: one user there.
    users = 1 if connection.vendor == "sqlite" else 3
    out = io.StringIO()
    call_command(
        "loadtest",
        url=live_server.url,
        users=users,
        seconds=4,
        think=0.05,
        max_requests=200,
        json=True,
        stdout=out,
    )
    report = json.loads(out.getvalue())
    assert report["errors"] == 0, report["error_samples"]
    assert 5 <= report["requests"] <= 200
    assert report["actions"]["log in"]["requests"] == users
    assert report["actions"]["code a passage"]["requests"] > 0
    assert 0 < report["p50_ms"] <= report["p95_ms"]
    assert Membership.objects.filter(user__username__startswith="lasttest").count() == users
    assert not Coding.objects.filter(coder__username__startswith="lasttest").exists()


def test_search_is_reported_on_its_own_beside_pages_and_coding():
    from coding.management.commands import loadtest

    stats = loadtest.Stats()
    stats.record("log in", 9.0, True)
    for seconds in (0.01, 0.02, 0.03):
        stats.record("open a transcript", seconds, True)
    stats.record("search: prefix", 0.5, True)
    stats.record("search: phrase", 0.7, False, "500 /search")
    report = loadtest.Command()._report(stats, elapsed=1.0, users=1)
    assert report["clicks_p95_ms"] == 30.0  # neither the log-in nor the searches
    assert report["search_requests"] == 2
    assert (report["search_p50_ms"], report["search_p95_ms"]) == (600.0, 700.0)
    assert report["actions"]["search: phrase"]["errors"] == 1
    # Every kind a researcher types is one of the simulated searches.
    assert set(loadtest.SEARCHES) == {"lemma", "phrase", "prefix", "near"}
