"""The history pages: every member, supervisors included, reads who changed what and when."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coding import services
from coding.models import AuditAction, Coding

from .factories import CodeFactory, TranscriptFactory


@pytest.fixture
def transcript(case):
    return TranscriptFactory(
        case=case, text="I: Hvordan?\n\nIP: Vi samarbeider <b>tett</b> med NAV om boliger."
    )


@pytest.fixture
def coded(transcript, codes, bob, alice):
    start = transcript.text.index("Vi samarbeider")
    excerpt, _ = services.excerpt_code(
        transcript=transcript, start=start, end=len(transcript.text), codes=codes[:2], coder=bob
    )
    coding = Coding.objects.get(content_object=excerpt, tag=codes[1])
    services.coding_remove(coding=coding, actor=alice)
    services.memo_save(
        project=transcript.case.project, author=bob, text="Viktig sitat", excerpt=excerpt
    )
    return excerpt


def test_a_supervisor_reads_who_changed_what_in_a_transcript(sue_client, transcript, coded):
    r = sue_client.get(reverse("coding:transcript-history", args=[transcript.pk]))
    assert r.status_code == 200
    rows = r.context["rows"]
    assert [(row.event.action, row.event.actor.username) for row in rows] == [
        (AuditAction.MEMO_SAVE, "bob"),
        (AuditAction.CODING_REMOVE, "alice"),
        (AuditAction.CODING_ADD, "bob"),
    ]
    add = rows[2]
    assert "Forankring og eierskap, Kompetanse" in add.summary
    assert add.passage.startswith("Vi samarbeider")
    page = r.content.decode()
    assert "removed Kompetanse" in page or "Kompetanse" in page
    # The passage text is shown escaped, never as markup.
    assert "<b>tett</b>" not in page and "&lt;b&gt;tett&lt;/b&gt;" in page


def test_the_history_of_one_transcript_leaves_out_the_others(
    alice_client, transcript, coded, case, codes, bob
):
    other = TranscriptFactory(case=case)
    services.excerpt_code(transcript=other, start=0, end=5, codes=codes[:1], coder=bob)
    r = alice_client.get(reverse("coding:transcript-history", args=[transcript.pk]))
    assert {row.event.transcript_id for row in r.context["rows"]} == {transcript.pk}


def test_a_code_merge_shows_in_every_transcript_history_as_codebook_wide(
    sue_client, transcript, coded, codes, alice
):
    services.code_merge(source=codes[0], target=codes[2], actor=alice)
    r = sue_client.get(reverse("coding:transcript-history", args=[transcript.pk]))
    first = r.context["rows"][0]
    assert first.event.action == AuditAction.CODE_MERGE and first.codebook_wide
    assert "Forankring og eierskap" in first.summary and "Brukermedvirkning" in first.summary


def test_the_history_filters_by_person_and_kind_of_change(alice_client, transcript, coded, bob):
    url = reverse("coding:transcript-history", args=[transcript.pk])
    r = alice_client.get(url, {"actor": bob.pk})
    assert {row.event.actor_id for row in r.context["rows"]} == {bob.pk}
    r = alice_client.get(url, {"action": AuditAction.CODING_REMOVE})
    assert [row.event.action for row in r.context["rows"]] == [AuditAction.CODING_REMOVE]
    r = alice_client.get(url, {"action": "drop table", "actor": "x"})
    assert len(r.context["rows"]) == 3, "unknown filters are ignored"


def test_the_project_history_links_each_event_to_its_transcript(
    sue_client, project, transcript, coded
):
    r = sue_client.get(reverse("coding:project-history", args=[project.pk]))
    assert r.status_code == 200
    assert len(r.context["rows"]) == 3
    assert reverse("coding:transcript-history", args=[transcript.pk]) in r.content.decode()


def test_the_history_pages_long_histories(alice_client, transcript, codes, bob):
    for i in range(60):
        services.excerpt_code(transcript=transcript, start=i, end=i + 3, codes=codes[:1], coder=bob)
    url = reverse("coding:transcript-history", args=[transcript.pk])
    first = alice_client.get(url)
    assert len(first.context["rows"]) == 50 and first.context["page"].has_next()
    second = alice_client.get(url, {"page": 2})
    assert len(second.context["rows"]) == 10


def test_charlie_gets_404_for_the_histories(charlie_client, project, transcript):
    assert (
        charlie_client.get(reverse("coding:transcript-history", args=[transcript.pk])).status_code
        == 404
    )
    assert (
        charlie_client.get(reverse("coding:project-history", args=[project.pk])).status_code == 404
    )


def test_history_of_a_foreign_transcript_is_404(alice_client):
    foreign = TranscriptFactory(case__project__name="Andre")
    CodeFactory(codebook__project=foreign.case.project)
    r = alice_client.get(reverse("coding:transcript-history", args=[foreign.pk]))
    assert r.status_code == 404


def test_a_removed_coding_still_shows_its_passage(alice_client, transcript, codes, bob, alice):
    start = transcript.text.index("Vi samarbeider")
    excerpt, new = services.excerpt_code(
        transcript=transcript, start=start, end=start + 14, codes=codes[:1], coder=bob
    )
    services.coding_remove(coding=new[0], actor=alice)
    assert not type(excerpt).objects.filter(pk=excerpt.pk).exists(), "the excerpt went too"
    r = alice_client.get(reverse("coding:transcript-history", args=[transcript.pk]))
    removed = r.context["rows"][0]
    assert removed.event.action == AuditAction.CODING_REMOVE
    assert removed.passage == "Vi samarbeider"


def test_an_undo_shows_as_undone_with_its_code_names(sue_client, transcript, codes, bob):
    """Undo used to show as "removed ? from characters …": the code names were lost."""
    start = transcript.text.index("Vi samarbeider")
    services.excerpt_code(
        transcript=transcript, start=start, end=start + 14, codes=codes[:2], coder=bob
    )
    services.coding_undo(transcript=transcript, actor=bob)
    r = sue_client.get(reverse("coding:transcript-history", args=[transcript.pk]))
    undo = r.context["rows"][0]
    assert undo.event.action == AuditAction.CODING_REMOVE
    assert undo.summary == (
        f"undid: removed Forankring og eierskap, Kompetanse from characters {start}–{start + 14}"
    )
