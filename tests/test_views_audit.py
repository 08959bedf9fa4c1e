"""coding/views/audit.py: the history names each change the services record in words a member
reads, from the events those services really write (not hand-made payloads)."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from coding import services
from coding.models import AuditAction, AuditEvent, Membership, Role

from .factories import CodebookFactory, CodeFactory, TranscriptFactory, UserFactory


@pytest.fixture
def transcript(case):
    return TranscriptFactory(case=case, text="I: Hvordan går det?\n\nIP: Blåbær 😀 og æøå her.")


def _history(client, project, **params) -> str:
    r = client.get(reverse("coding:project-history", args=[project.pk]), params)
    assert r.status_code == 200
    return r.content.decode()


def test_member_changes_read_as_sentences(alice_client, alice, bob, project):
    dora = UserFactory(username="dora")
    services.member_add(project=project, actor=alice, user=dora, role=Role.RESEARCHER)
    bobs = Membership.objects.get(project=project, user=bob)
    services.member_set_role(membership=bobs, actor=alice, role=Role.SUPERVISOR)
    services.member_remove(membership=Membership.objects.get(user=dora), actor=alice)
    html = _history(alice_client, project)
    assert "added dora as Researcher" in html
    assert "made bob Supervisor (was Researcher)" in html
    assert escape("removed dora (their 0 codings stay)") in html


def test_code_changes_read_as_sentences(alice_client, alice, bob, project, transcript):
    codebook = CodebookFactory(project=project)
    a = services.code_create(codebook=codebook, actor=alice, name="Tillit")
    b = services.code_create(codebook=codebook, actor=alice, name="Samarbeid")
    services.code_update(code=b, actor=alice, name="Samarbeid på tvers")
    services.excerpt_code(transcript=transcript, start=0, end=7, codes=[a], coder=bob)
    services.code_merge(source=a, target=b, actor=alice)
    html = _history(alice_client, project)
    assert "created the code Tillit" in html
    assert "changed the code Samarbeid på tvers" in html
    assert "merged the code Tillit into Samarbeid på tvers (1 coding moved)" in html
    b.refresh_from_db()
    services.code_delete(code=b, actor=alice)
    assert "deleted the code Samarbeid på tvers with its 1 codings" in _history(
        alice_client, project
    )


def test_coding_memo_and_key_quote_changes_show_the_passage(alice_client, bob, project, transcript):
    code = CodeFactory(codebook=CodebookFactory(project=project), name="Glede")
    at = transcript.text.index("Blåbær")
    excerpt, _new = services.excerpt_code(
        transcript=transcript, start=at, end=at + 8, codes=[code], coder=bob
    )
    services.key_quote_set(excerpt=excerpt, code=code, user=bob, marked=True)
    services.key_quote_set(excerpt=excerpt, code=code, user=bob, marked=False)
    memo = services.memo_save(project=project, author=bob, excerpt=excerpt, text="Fin sitat.")
    services.memo_delete(memo=memo, actor=bob)
    moved = services.excerpt_resize(excerpt=excerpt, start=at, end=at + 6, actor=bob)
    html = _history(alice_client, project)
    assert "applied Glede to characters" in html
    assert "marked a passage as a key quote for Glede" in html
    assert "unmarked a key quote for Glede" in html
    assert "wrote a memo (10 characters)" in html
    assert "deleted a memo" in html
    assert f"moved a passage from {at}–{at + 8} to {moved.start}–{moved.end} (Glede)" in html
    # The passage itself is quoted beside the change.
    assert '<blockquote class="passage">Blåbær</blockquote>' in html.replace("\n", "")


def test_an_old_coding_event_quotes_the_words_it_coded_after_the_passage_moved(
    alice_client, bob, project, transcript
):
    code = CodeFactory(codebook=CodebookFactory(project=project), name="Glede")
    at = transcript.text.index("Blåbær")
    excerpt, _new = services.excerpt_code(
        transcript=transcript, start=at, end=at + 8, codes=[code], coder=bob
    )
    services.excerpt_resize(excerpt=excerpt, start=at, end=at + 6, actor=bob)
    r = alice_client.get(reverse("coding:project-history", args=[project.pk]))
    rows = {row.event.action: row for row in r.context["rows"]}
    assert rows[AuditAction.CODING_ADD].summary.endswith(f"characters {at}–{at + 8}")
    # The row says characters at–at+8 ("Blåbær 😀") but quotes "Blåbær", the moved excerpt.
    assert rows[AuditAction.CODING_ADD].passage == "Blåbær 😀"


def test_an_undone_change_says_so(alice_client, bob, project, transcript):
    code = CodeFactory(codebook=CodebookFactory(project=project), name="Glede")
    services.excerpt_code(transcript=transcript, start=0, end=7, codes=[code], coder=bob)
    services.coding_undo(transcript=transcript, actor=bob)
    undo = AuditEvent.objects.filter(action=AuditAction.CODING_REMOVE).get()
    assert undo.details.get("undo_of")
    assert "undid: removed Glede from characters 0–7" in _history(alice_client, project)


def test_the_history_filters_by_kind_of_change(alice_client, alice, bob, project):
    services.member_add(
        project=project, actor=alice, user=UserFactory(username="dora"), role=Role.RESEARCHER
    )
    services.code_create(codebook=CodebookFactory(project=project), actor=alice, name="Tillit")
    html = _history(alice_client, project, action=AuditAction.CODE_CREATE)
    assert "created the code Tillit" in html and "added dora" not in html


def test_charlie_does_not_read_the_history(charlie_client, alice, project):
    services.member_add(
        project=project, actor=alice, user=UserFactory(username="dora"), role=Role.RESEARCHER
    )
    r = charlie_client.get(reverse("coding:project-history", args=[project.pk]))
    assert r.status_code == 404
