"""The project home: coding progress per transcript, project memos (coding.views.projects)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coding import services
from coding.analysis.progress import project_progress
from coding.models import AuditAction, AuditEvent, Memo

from .factories import CaseFactory, TranscriptFactory, UserFactory

# 100 characters exactly, so that shares read as plain percentages.
TEXT = ("IP: Vi samarbeider tett med NAV om boliger og oppfølging. " * 2)[:100]


@pytest.fixture
def transcript(case):
    return TranscriptFactory(case=case, title="Intervju med boligkonsulent", text=TEXT)


@pytest.fixture
def coded(project, transcript, codes, alice, bob):
    """Hand-counted: spans [4,30) ∪ [20,40) ∪ [50,60) cover 36 + 10 = 46 of 100 characters.

    Codings: bob 3 (two codes on [4,30), one on [50,60)), alice 1 (on [20,40)). An excerpt that
    carries only a memo ([70,90)) is not coded and does not count.
    """
    services.excerpt_code(transcript=transcript, start=4, end=30, codes=codes[:2], coder=bob)
    services.excerpt_code(transcript=transcript, start=20, end=40, codes=codes[:1], coder=alice)
    services.excerpt_code(transcript=transcript, start=50, end=60, codes=codes[2:], coder=bob)
    excerpt, _ = services.excerpt_code(
        transcript=transcript, start=70, end=90, codes=codes[:1], coder=bob
    )
    services.memo_save(project=project, author=bob, text="Bare et notat", excerpt=excerpt)
    services.coding_remove(coding=excerpt.codings.get(), actor=bob)  # the excerpt stays (memo)
    return transcript


def home(project):
    return reverse("coding:project-detail", args=[project.pk])


def transcript_block(page: str, transcript) -> str:
    start = page.index(f'data-transcript="{transcript.pk}"')
    return page[start : page.index("</li>\n", page.index("tp-coverage", start))]


def test_progress_counts_the_union_of_coded_spans_and_codings_per_coder(coded, alice, bob):
    progress = project_progress(coded.case.project)
    tp = progress.for_transcript(coded.pk)
    assert (tp.length, tp.coded) == (100, 46)
    assert tp.percent == pytest.approx(46.0)
    assert {c.name: c.n for c in tp.coders} == {"alice": 1, "bob": 3}
    assert tp.codings == 4
    assert [(c.name, c.n) for c in progress.coders] == [("alice", 1), ("bob", 3)]


def test_the_home_page_shows_each_transcripts_share_coded_and_codings_per_coder(
    alice_client, coded, alice, bob
):
    response = alice_client.get(home(coded.case.project))
    assert response.status_code == 200
    page = response.content.decode()
    block = transcript_block(page, coded)
    assert '<span class="pct" data-percent>46 %</span>' in block
    assert 'style="width: 46.0%"' in block, "the bar is as long as the share coded"
    assert re.search(rf'data-coder="{bob.pk}">3<', block)
    assert re.search(rf'data-coder="{alice.pk}">1<', block)
    assert "data-total-percent>46 %<" in page


def test_an_uncoded_transcript_shows_zero_and_says_so(alice_client, transcript):
    page = alice_client.get(home(transcript.case.project)).content.decode()
    block = transcript_block(page, transcript)
    assert "data-percent>0 %<" in block and "Not coded yet." in block


def test_the_home_page_links_to_the_codebook_editor(sue_client, project):
    page = sue_client.get(home(project)).content.decode()
    assert reverse("coding:codebook", args=[project.pk]) in page


def test_the_home_page_runs_the_same_number_of_queries_for_many_transcripts(
    alice_client, project, codes, bob, django_assert_max_num_queries
):
    def add_coded_transcripts(case, n):
        for _ in range(n):
            t = TranscriptFactory(case=case, text=TEXT)
            services.excerpt_code(transcript=t, start=0, end=10, codes=codes[:2], coder=bob)

    add_coded_transcripts(CaseFactory(project=project), 1)
    with CaptureQueriesContext(connection) as small:
        assert alice_client.get(home(project)).status_code == 200
    for _ in range(3):
        add_coded_transcripts(CaseFactory(project=project), 4)
    other = UserFactory(username="dora")
    t = project.cases.first().transcripts.first()
    services.excerpt_code(transcript=t, start=20, end=30, codes=codes[:1], coder=other)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = alice_client.get(home(project))
    assert response.content.decode().count("data-transcript=") == 13


# --- project memos ---------------------------------------------------------------------------


def test_the_home_page_lists_project_memos_only(alice_client, project, transcript, bob):
    services.memo_save(project=project, author=bob, title="Hovedfunn", text="Forankring teller")
    services.memo_save(project=project, author=bob, text="Om intervjuet", transcript=transcript)
    page = alice_client.get(home(project)).content.decode()
    assert "Hovedfunn" in page and "Forankring teller" in page
    assert "Om intervjuet" not in page


def test_a_researcher_adds_a_project_memo(bob_client, project, bob):
    response = bob_client.post(
        reverse("coding:project-memo-add", args=[project.pk]),
        {"title": "Spørsmål", "text": "Skal vi skille mellom nivåene?"},
    )
    assert response.status_code == 302 and response["Location"].endswith("#memos")
    memo = Memo.objects.get()
    assert (memo.project, memo.author, memo.title) == (project, bob, "Spørsmål")
    assert memo.transcript is None and memo.code is None and memo.excerpt is None
    assert AuditEvent.objects.filter(action=AuditAction.MEMO_SAVE, actor=bob).exists()


def test_an_empty_memo_is_refused_with_the_form_shown_again(bob_client, project):
    response = bob_client.post(
        reverse("coding:project-memo-add", args=[project.pk]), {"title": "Tom", "text": "  "}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "errorlist" in page and 'value="Tom"' in page
    assert not Memo.objects.exists()


def test_a_supervisor_reads_memos_but_cannot_add_one(sue_client, project):
    page = sue_client.get(home(project)).content.decode()
    assert reverse("coding:project-memo-add", args=[project.pk]) not in page
    response = sue_client.post(
        reverse("coding:project-memo-add", args=[project.pk]), {"text": "Fra veileder"}
    )
    assert response.status_code == 403
    assert not Memo.objects.exists()


def test_charlie_gets_404_on_the_home_page_and_the_memo_form(charlie_client, project):
    assert charlie_client.get(home(project)).status_code == 404
    response = charlie_client.post(
        reverse("coding:project-memo-add", args=[project.pk]), {"text": "Hei"}
    )
    assert response.status_code == 404
    assert not Memo.objects.exists()
