"""Assignments (issue 13): owners assign several transcripts to several coders in one form
("double-code these with Kari and Per") and remove them, audited; the assigned coder marks one
done; the dashboard shows each assignment's progress, the project home a coder's own."""

from __future__ import annotations

import lxml.html
import pytest
from django.test import Client
from django.urls import reverse

from coding import services
from coding.models import Assignment, AuditAction, AuditEvent, Membership, Role, coded_chars

from .factories import UserFactory
from .test_access_matrix import World
from .test_access_matrix import world as world  # noqa: F401  (the access matrix's world, reused)
from .test_blind import second_interview


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def team(world: World) -> World:
    kari = UserFactory(username="kari", first_name="Kari", last_name="Nilsen")
    Membership.objects.create(project=world.project, user=kari, role=Role.RESEARCHER)
    second = second_interview(world, "Boligen er god å bo i.")
    world.extra.update(kari=kari, second=second)
    return world


def _assign(client: Client, w: World, transcripts, coders):
    return client.post(
        reverse("coding:assignments-add", args=[w.project.pk]),
        {"transcripts": [t.pk for t in transcripts], "coders": [c.pk for c in coders]},
    )


def test_an_owner_assigns_several_transcripts_to_several_coders_in_one_form(team):
    w = team
    kari, second = w.extra["kari"], w.extra["second"]
    alice = _client(w.alice)
    home = alice.get(reverse("coding:project-detail", args=[w.project.pk]))
    form = lxml.html.fromstring(home.content).xpath("//form[contains(@class,'assignment-form')]")
    assert form, "the owner's project home has the assignment form"
    r = _assign(alice, w, [w.transcript, second], [kari, w.alice])
    assert r.status_code == 302
    pairs = set(Assignment.objects.values_list("transcript_id", "coder_id"))
    # The world already assigned bob the first transcript.
    assert pairs == {
        (w.transcript.pk, w.bob.pk),
        (w.transcript.pk, kari.pk),
        (second.pk, kari.pk),
        (w.transcript.pk, w.alice.pk),
        (second.pk, w.alice.pk),
    }
    events = AuditEvent.objects.filter(action=AuditAction.ASSIGNMENT_ADD)
    assert events.count() == 4
    assert {e.details["coder_name"] for e in events} == {"Kari Nilsen", "alice"}
    # Assigning again adds nothing (one assignment per transcript and coder).
    assert _assign(alice, w, [w.transcript, second], [kari]).status_code == 302
    assert Assignment.objects.count() == 5
    assert AuditEvent.objects.filter(action=AuditAction.ASSIGNMENT_ADD).count() == 4


def test_only_members_who_may_code_can_be_assigned(team):
    w = team
    r = _assign(_client(w.alice), w, [w.transcript], [w.sue])
    assert r.status_code == 400
    assert b"has-error" in r.content
    assert not Assignment.objects.filter(coder=w.sue).exists()


@pytest.mark.parametrize(("persona", "status"), [("sue", 403), ("bob", 403), ("charlie", 404)])
def test_only_owners_assign_and_remove(team, persona, status):
    w = team
    client = _client(getattr(w, persona))
    assert _assign(client, w, [w.transcript], [w.extra["kari"]]).status_code == status
    assignment = w.extra["assignment"]
    r = client.post(reverse("coding:assignment-remove", args=[assignment.pk]))
    assert r.status_code == status
    assert Assignment.objects.count() == 1
    assert not AuditEvent.objects.filter(action__startswith="assignment").exists()


def test_an_owner_removes_an_assignment_and_the_history_says_so(team):
    w = team
    assignment = w.extra["assignment"]
    r = _client(w.alice).post(reverse("coding:assignment-remove", args=[assignment.pk]))
    assert r.status_code == 302
    assert not Assignment.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.ASSIGNMENT_REMOVE)
    assert event.transcript_id == w.transcript.pk and event.actor_id == w.alice.pk
    history = _client(w.sue).get(reverse("coding:transcript-history", args=[w.transcript.pk]))
    assert "removed the assignment of Intervju med Tone to bob" in history.content.decode()


def test_a_coder_sees_and_marks_their_own_assignments_done(team):
    w = team
    kari, second = w.extra["kari"], w.extra["second"]
    services.assignments_add(project=w.project, transcripts=[second], coders=[kari], actor=w.alice)
    bob = _client(w.bob)
    home = lxml.html.fromstring(
        bob.get(reverse("coding:project-detail", args=[w.project.pk])).content
    )
    listed = home.xpath("//section[@id='assignments']//li[@data-assignment]")
    assert [li.get("data-assignment") for li in listed] == [str(w.extra["assignment"].pk)]
    assert "Intervju med Tone" in listed[0].text_content()

    mine = w.extra["assignment"]
    karis = Assignment.objects.get(coder=kari)
    done = reverse("coding:assignment-done", args=[karis.pk])
    assert bob.post(done, {"done": "1"}).status_code == 403  # not his
    assert (
        bob.post(reverse("coding:assignment-done", args=[mine.pk]), {"done": "1"}).status_code
        == 302
    )
    mine.refresh_from_db()
    karis.refresh_from_db()
    assert mine.done_at is not None and karis.done_at is None
    assert AuditEvent.objects.get(action=AuditAction.ASSIGNMENT_DONE).details["done"] is True
    assert _client(w.sue).post(done, {"done": "1"}).status_code == 403


def test_the_dashboard_shows_each_assignments_progress_and_defines_it(team):
    w = team
    kari, second = w.extra["kari"], w.extra["second"]
    services.assignments_add(project=w.project, transcripts=[second], coders=[kari], actor=w.alice)
    services.assignment_done_set(assignment=w.extra["assignment"], done=True, actor=w.bob)
    page = _client(w.sue).get(reverse("coding:dashboard", args=[w.project.pk])).content.decode()
    doc = lxml.html.fromstring(page)
    section = doc.xpath("//section[@id='assignments']")[0]
    assert "share of the transcript's text inside the passages the coder coded" in (
        section.text_content()
    )
    rows = {
        tuple(cell.text_content().strip() for cell in row.xpath("./th|./td")[:2]): row
        for row in section.xpath(".//tr[contains(@class,'assignment-row')]")
    }
    bob_row = rows[("Intervju med Tone", "bob")]
    kari_row = rows[("Intervju to", "Kari Nilsen")]
    # bob's two passages of the first interview, as a share of its characters.
    spans = [(e.start, e.end) for e in w.transcript.excerpts.filter(codings__coder=w.bob)]
    share = round(100 * coded_chars(spans) / len(w.transcript.text), 1)
    assert f"{share} %" in bob_row.text_content()
    assert "Done" in bob_row.xpath("./td")[-1].text_content()
    assert "0.0 %" in kari_row.text_content()
    assert "Not yet" in kari_row.text_content()


def test_a_blind_researcher_sees_no_other_coders_progress_in_a_blind_transcript(team):
    w = team
    kari = w.extra["kari"]
    services.assignments_add(
        project=w.project, transcripts=[w.transcript], coders=[kari], actor=w.alice
    )
    services.blind_coding_set(project=w.project, on=True, actor=w.alice)
    page = _client(w.bob).get(reverse("coding:dashboard", args=[w.project.pk])).content.decode()
    rows = lxml.html.fromstring(page).xpath("//tr[contains(@class,'assignment-row')]")
    assert [r.xpath("./td")[0].text_content() for r in rows] == ["bob"]
    sue_page = _client(w.sue).get(reverse("coding:dashboard", args=[w.project.pk]))
    assert (
        len(lxml.html.fromstring(sue_page.content).xpath("//tr[contains(@class,'assignment-row')]"))
        == 2
    )
