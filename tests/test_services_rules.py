"""Rules every coding write shares, written once in coding/services/excerpts.py: dropping an
excerpt left bare, and the audit payloads undo reads back. Each test runs every path that
applies the rule, so a path that drifts from it fails here."""

import pytest
from django.urls import reverse

from coding import services
from coding.models import AuditAction, AuditEvent, Coding, Excerpt, Membership
from coding.services.excerpts import ADDED_KEYS, REMOVED_KEYS

from .factories import CodebookFactory, CodeFactory, ProjectFactory, TranscriptFactory


@pytest.fixture
def transcript(case):
    return TranscriptFactory(case=case, text="I: Hvordan går det?\n\nIP: Blåbær 😀 og æøå.")


def _code(transcript, codes, bob, project):
    at = transcript.text.index("Blåbær")
    excerpt, _new = services.excerpt_code(
        transcript=transcript, start=at, end=at + 6, codes=codes[:1], coder=bob
    )
    return excerpt


def _remove(transcript, codes, bob, project):
    services.coding_remove(coding=Coding.objects.get(tag=codes[0]), actor=bob)


def _undo(transcript, codes, bob, project):
    services.coding_undo(transcript=transcript, actor=bob)


def _batch_undo(transcript, codes, bob, project):
    batch = Coding.objects.get(tag=codes[0]).batch
    services.coding_batch_undo(project=project, batch=batch, actor=bob)


def _code_delete(transcript, codes, bob, project):
    services.code_delete(code=codes[0], actor=bob)


def _resize_onto(transcript, codes, bob, project):
    excerpt = Excerpt.objects.get(codings__tag=codes[0])
    services.excerpt_code(transcript=transcript, start=0, end=7, codes=codes[1:2], coder=bob)
    services.excerpt_resize(excerpt=excerpt, start=0, end=7, actor=bob)


def _made_by_search(transcript, codes, bob, project):
    at = transcript.text.index("Blåbær")
    services.search_code_apply(
        project=project, code=codes[0], passages=[(transcript, at, at + 6)], coder=bob
    )
    return Excerpt.objects.get(start=at)


TAKE_OFF = {
    "coding_remove": _remove,
    "coding_undo": _undo,
    "coding_batch_undo": _batch_undo,
    "code_delete": _code_delete,
    "excerpt_resize": _resize_onto,
}


@pytest.mark.parametrize("path", TAKE_OFF)
def test_every_path_that_takes_the_last_coding_off_drops_the_bare_excerpt(
    path, transcript, codes, bob, project
):
    make = _made_by_search if path == "coding_batch_undo" else _code
    excerpt = make(transcript, codes, bob, project)
    TAKE_OFF[path](transcript, codes, bob, project)
    assert not Excerpt.objects.filter(pk=excerpt.pk).exists(), path


@pytest.mark.parametrize("path", [p for p in TAKE_OFF if p != "excerpt_resize"])
def test_every_such_path_keeps_an_excerpt_that_holds_a_memo(path, transcript, codes, bob, project):
    # (A resize takes the coder's memos along to the new span, so it has no such case.)
    make = _made_by_search if path == "coding_batch_undo" else _code
    excerpt = make(transcript, codes, bob, project)
    services.memo_save(project=project, author=bob, excerpt=excerpt, text="Viktig sitat")
    TAKE_OFF[path](transcript, codes, bob, project)
    assert Excerpt.objects.filter(pk=excerpt.pk).exists(), path
    assert not Coding.objects.filter(content_object=excerpt).exists(), path


def test_every_coding_event_carries_what_undo_reads(transcript, codes, bob, alice, project):
    """Hand coding, a search batch, undo's re-add; a removal, a batch undo: each event has the
    keys of its builder (coding_added / coding_removed), and names match ids."""
    at = transcript.text.index("Blåbær")
    services.excerpt_code(transcript=transcript, start=0, end=7, codes=codes[:2], coder=bob)
    batch, _n = services.search_code_apply(
        project=project, code=codes[2], passages=[(transcript, at, at + 6)], coder=bob
    )
    services.coding_remove(coding=Coding.objects.get(tag=codes[0]), actor=bob)
    services.coding_undo(transcript=transcript, actor=bob)  # re-adds codes[0]
    services.coding_batch_undo(project=project, batch=batch, actor=alice)
    added = AuditEvent.objects.filter(action=AuditAction.CODING_ADD).order_by("id")
    removed = AuditEvent.objects.filter(action=AuditAction.CODING_REMOVE).order_by("id")
    assert added.count() == 3 and removed.count() == 2
    names = {c.pk: c.name for c in codes}
    for ev in added:
        assert set(ADDED_KEYS) <= ev.details.keys(), ev.details
        assert ev.details["codes"] == [names[i] for i in ev.details["code_ids"]]
        excerpt = Excerpt.objects.filter(pk=ev.details["excerpt"]).first()
        if excerpt is not None:
            assert (excerpt.start, excerpt.end) == (ev.details["start"], ev.details["end"])
    for ev in removed:
        assert set(REMOVED_KEYS) <= ev.details.keys(), ev.details
        assert ev.details["code"] == names[ev.details["code_id"]]
        assert ev.details["coder"] == bob.pk
    # What the hand removal recorded is enough for undo to make the coding again, exactly.
    again = Coding.objects.get(tag=codes[0])
    assert (again.coder, again.source) == (bob, "manual")
    assert (again.content_object.start, again.content_object.end) == (0, 7)


def test_the_removal_page_promises_the_codings_the_removal_records(
    alice_client, alice, bob, project, transcript, codes
):
    """Only bob's codings in this project's codebook count: not alice's, not another
    project's."""
    services.excerpt_code(transcript=transcript, start=0, end=7, codes=codes[:2], coder=bob)
    services.excerpt_code(transcript=transcript, start=0, end=7, codes=codes[2:], coder=alice)
    elsewhere = ProjectFactory()
    Membership.objects.create(project=elsewhere, user=bob, role="researcher")
    other_code = CodeFactory(codebook=CodebookFactory(project=elsewhere))
    services.excerpt_code(
        transcript=TranscriptFactory(case__project=elsewhere, text="Annet prosjekt her."),
        start=0,
        end=5,
        codes=[other_code],
        coder=bob,
    )
    membership = Membership.objects.get(project=project, user=bob)
    url = reverse("coding:member-remove", args=[membership.pk])
    assert alice_client.get(url).context["n_codings"] == 2
    assert alice_client.post(url).status_code == 302
    ev = AuditEvent.objects.get(action=AuditAction.MEMBER_CHANGE, details__change="remove")
    assert ev.details["codings_kept"] == 2
    assert Coding.objects.filter(coder=bob).count() == 3, "their codings stay"
