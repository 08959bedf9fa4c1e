"""Writing memos where they belong (issue 17): on a case (the case page), a code (the codebook),
a transcript (the transcript view) and the project (the project home, the memo overview). The
author writes, edits and deletes; nobody else changes the text, not even an owner (who may still
label it); supervisors write none (403) and outsiders get 404, with the database unchanged."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from coding import importers, services
from coding.models import AuditAction, AuditEvent, Membership, Memo, MemoLink, MemoType, Role

from .factories import CaseFactory, ProjectFactory, UserFactory

KINDS = ("case", "code", "transcript", "project")
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def transcript(case, alice):
    doc = importers.parse_pasted("I: Hvordan går det?\nIP: Det går bra med boligene.", "x.txt")
    return services.transcript_create(
        case=case,
        doc=doc,
        title="Intervju med Tone",
        speakers={"I": {"kind": "interviewer"}, "IP": {"kind": "none"}},
        user=alice,
    )


@pytest.fixture
def places(project, case, codes, transcript, alice, bob, sue, charlie):
    """kind -> (the form's URL, the memo's target fields, the page that shows it)."""
    code = codes[1]
    return {
        "case": (
            reverse("coding:case-memo", args=[case.pk]),
            {"case": case},
            reverse("coding:case-detail", args=[case.pk]),
        ),
        "code": (
            reverse("coding:code-memo", args=[code.pk]),
            {"code": code},
            reverse("coding:codebook", args=[project.pk]),
        ),
        "transcript": (
            reverse("coding:transcript-memo", args=[transcript.pk]),
            {"transcript": transcript},
            reverse("coding:transcript-detail", args=[transcript.pk]),
        ),
        "project": (
            reverse("coding:project-memo-add", args=[project.pk]),
            {},
            reverse("coding:project-detail", args=[project.pk]),
        ),
    }


def state() -> list:
    """The memos, their links and types, and the audit trail: what a refusal must leave as is."""
    return [
        list(model.objects.order_by("pk").values_list())
        for model in (Memo, MemoLink, MemoType, AuditEvent)
    ]


def overview(client, project, **query) -> str:
    r = client.get(reverse("coding:memo-list", args=[project.pk]), query)
    assert r.status_code == 200
    return r.content.decode()


def memo_on(project, on: dict) -> Memo:
    fields = {"excerpt": None, "transcript": None, "case": None, "code": None, **on}
    return Memo.objects.get(project=project, **fields)


@pytest.mark.parametrize("kind", KINDS)
def test_the_author_writes_edits_and_deletes_a_memo(kind, places, project, bob_client, bob):
    url, on, page = places[kind]
    theory = MemoType.objects.create(project=project, name="Teoretisk", order=0)
    todo = MemoType.objects.create(project=project, name="Å gjøre", order=1)
    r = bob_client.post(
        url,
        {"title": "Første tanke", "text": "Boligen <b>først</b>", "memo_type": theory.pk},
    )
    assert r.status_code == 302
    assert r["Location"].split("#")[0] == page
    memo = memo_on(project, on)
    assert (memo.author, memo.title, memo.text, memo.memo_type) == (
        bob,
        "Første tanke",
        "Boligen <b>først</b>",
        theory,
    )
    assert memo.kind == kind
    saved = AuditEvent.objects.filter(action=AuditAction.MEMO_SAVE, actor=bob)
    assert [e.details["memo"] for e in saved] == [memo.pk]

    # On its page, escaped, with an Edit link for its author.
    html = bob_client.get(page).content.decode()
    assert "Boligen &lt;b&gt;først&lt;/b&gt;" in html and "<b>først</b>" not in html
    assert f'data-memo="{memo.pk}"' in html
    assert memo.write_url() in html.replace("&amp;", "&")
    # In the memo overview under its kind (and its type).
    listed = overview(bob_client, project, kind=kind)
    assert re.findall(r'data-memo="(\d+)" data-kind="(\w+)"', listed) == [(str(memo.pk), kind)]
    assert memo.write_url() in listed.replace("&amp;", "&"), "its Edit link, for its author"
    assert f'data-memo="{memo.pk}"' in overview(bob_client, project, type=theory.pk)

    # The author edits it: a cleared title is cleared, the type changes.
    r = bob_client.post(
        url, {"memo": memo.pk, "title": "", "text": "Boligen kom sist.", "memo_type": todo.pk}
    )
    assert r.status_code == 302
    memo.refresh_from_db()
    assert (memo.title, memo.text, memo.memo_type) == ("", "Boligen kom sist.", todo)
    assert saved.all().count() == 2
    assert Memo.objects.count() == 1, "an edit writes no second memo"

    # … and deletes it.
    r = bob_client.post(url, {"memo": memo.pk, "delete": "1"})
    assert r.status_code == 302
    assert not Memo.objects.filter(pk=memo.pk).exists()
    deleted = AuditEvent.objects.get(action=AuditAction.MEMO_DELETE, actor=bob)
    assert deleted.details["memo"] == memo.pk
    assert f'data-memo="{memo.pk}"' not in overview(bob_client, project)


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_or_nul_text_is_refused_and_nothing_is_saved(
    kind, places, project, bob, bob_client
):
    url, on, _page = places[kind]
    before = state()
    for data, error in (
        ({"title": "Tom", "text": "   "}, "This field is required."),
        ({"title": "Nul", "text": "før\x00etter"}, "Null characters are not allowed."),
        ({"title": "Nul\x00", "text": "Tekst"}, "Null characters are not allowed."),
    ):
        r = bob_client.post(url, data)
        assert r.status_code == 400
        html = r.content.decode()
        assert error in html and 'role="alert"' in html
        assert state() == before
    # An edit that would empty the memo keeps it as it was.
    memo = services.memo_save(
        project=project, author=bob, text="Slik var det.", title="Tittel", **on
    )
    before = state()
    r = bob_client.post(url, {"memo": memo.pk, "title": "Ny", "text": ""})
    assert r.status_code == 400
    assert state() == before
    # Through htmx the error comes back in the fragment (htmx swaps only 2xx answers).
    r = bob_client.post(url, {"memo": memo.pk, "title": "Ny", "text": " "}, **HX)
    assert r.status_code == 200 and "HX-Redirect" not in r
    assert "This field is required." in r.content.decode()
    assert "<html" not in r.content.decode()
    assert state() == before


def test_the_service_refuses_an_oversized_memo_in_the_form(places, project, bob_client, settings):
    settings.MEMO_MAX_CHARS = 50
    url, _on, _page = places["case"]
    before = state()
    r = bob_client.post(url, {"text": "x" * 51})
    assert r.status_code == 400
    assert "A memo may hold at most 50 characters." in r.content.decode()
    assert state() == before


def test_htmx_gets_the_form_in_place_and_is_sent_back_after_saving(
    places, project, bob_client, bob
):
    url, on, page = places["code"]
    r = bob_client.get(url, **HX)
    html = r.content.decode()
    assert r.status_code == 200 and "<html" not in html
    assert 'hx-post="' + url + '"' in html and 'name="text"' in html
    elsewhere = {"HTTP_HX_CURRENT_URL": "http://testserver/projects/"}
    r = bob_client.post(url, {"text": "Kode: uklar."}, **elsewhere, **HX)
    assert r.status_code == 200
    assert r["HX-Redirect"] == f"{page}#code-{on['code'].pk}"
    memo = memo_on(project, on)
    # Saved on the page it returns to: htmx reloads it (a #fragment alone would not).
    here = {"HTTP_HX_CURRENT_URL": f"http://testserver{page}#code-{on['code'].pk}"}
    r = bob_client.post(url, {"memo": memo.pk, "text": "Kode: tydelig."}, **here, **HX)
    assert r["HX-Refresh"] == "true" and "HX-Redirect" not in r
    # The Edit link's form holds the memo, ready to change, and its Delete button.
    html = bob_client.get(memo.write_url(), **HX).content.decode()
    assert f'name="memo" value="{memo.pk}"' in html
    assert "Kode: tydelig." in html and 'name="delete"' in html
    # Without htmx the same GET is a page of its own.
    assert "<html" in bob_client.get(memo.write_url()).content.decode()


def test_it_returns_to_a_safe_next_only(places, bob_client):
    url, _on, page = places["case"]
    r = bob_client.post(url, {"text": "Et notat", "next": "/projects/?x=1"})
    assert r["Location"] == "/projects/?x=1"
    r = bob_client.post(url, {"text": "Et notat til", "next": "https://evil.example/"})
    assert r["Location"] == f"{page}#case-memos"


@pytest.mark.parametrize("kind", KINDS)
def test_nobody_else_changes_a_memos_text_not_even_the_owner(
    kind, places, project, bob, alice_client, bob_client
):
    url, on, page = places[kind]
    memo = services.memo_save(project=project, author=bob, text="Bobs tanke", **on)
    before = state()
    assert alice_client.get(url, {"memo": memo.pk}).status_code == 403
    assert alice_client.post(url, {"memo": memo.pk, "text": "Alices tekst"}).status_code == 403
    assert alice_client.post(url, {"memo": memo.pk, "delete": "1"}).status_code == 403
    assert state() == before
    # She reads it, without an Edit link, and may still label it (owners label any memo).
    html = alice_client.get(page).content.decode()
    assert "Bobs tanke" in html
    assert memo.write_url() not in html
    assert memo.write_url() not in overview(alice_client, project)
    typ = MemoType.objects.create(project=project, name="Metodisk")
    r = alice_client.post(reverse("coding:memo-type-set", args=[memo.pk]), {"type": typ.pk})
    assert r.status_code == 302
    memo.refresh_from_db()
    assert (memo.text, memo.memo_type) == ("Bobs tanke", typ)
    # bob's own page shows him the Edit link.
    assert memo.write_url() in bob_client.get(page).content.decode().replace("&amp;", "&")


@pytest.mark.parametrize("kind", KINDS)
def test_supervisors_and_outsiders_write_no_memo(
    kind, places, project, bob, sue_client, charlie_client
):
    url, on, page = places[kind]
    memo = services.memo_save(project=project, author=bob, text="Bobs tanke", **on)
    before = state()
    for client, status in ((sue_client, 403), (charlie_client, 404)):
        assert client.get(url).status_code == status
        assert client.post(url, {"text": "Et forsøk"}).status_code == status
        assert client.post(url, {"memo": memo.pk, "text": "Endret"}).status_code == status
        assert client.post(url, {"memo": memo.pk, "delete": "1"}).status_code == status
    assert state() == before
    # The supervisor reads the memo and is offered no form.
    html = sue_client.get(page).content.decode()
    assert "Bobs tanke" in html
    assert url not in html
    assert 'class="memo-form' not in html
    assert charlie_client.get(page).status_code == 404


def test_a_memo_is_edited_only_through_its_own_target(places, project, bob, bob_client, codes):
    case_url, case_on, _ = places["case"]
    code_url, _code_on, _ = places["code"]
    case_memo = services.memo_save(project=project, author=bob, text="Om casen", **case_on)
    t = places["transcript"][1]["transcript"]
    start = t.text.index("boligene")
    excerpt, _ = services.excerpt_code(
        transcript=t, start=start, end=start + 8, codes=codes[:1], coder=bob
    )
    passage_memo = services.memo_save(project=project, author=bob, text="Utdrag", excerpt=excerpt)
    other_project = ProjectFactory()
    Membership.objects.create(project=other_project, user=bob, role=Role.RESEARCHER)
    elsewhere = services.memo_save(
        project=other_project,
        author=bob,
        text="Annet sted",
        case=CaseFactory(project=other_project),
    )
    before = state()
    for memo in (case_memo, passage_memo, elsewhere):
        assert bob_client.post(code_url, {"memo": memo.pk, "text": "Flyttet"}).status_code == 404
    assert bob_client.post(case_url, {"memo": passage_memo.pk, "delete": "1"}).status_code == 404
    assert bob_client.post(case_url, {"memo": "x", "text": "Hei"}).status_code == 404
    assert bob_client.post(case_url, {"delete": "1"}).status_code == 404
    assert state() == before


def test_a_type_of_another_project_is_refused(places, project, bob_client):
    MemoType.objects.create(project=project, name="Teoretisk")
    foreign = MemoType.objects.create(project=ProjectFactory(), name="Fremmed")
    url, _on, _page = places["case"]
    before = state()
    r = bob_client.post(url, {"text": "Med fremmed type", "memo_type": foreign.pk})
    assert r.status_code == 400
    assert state() == before


def test_the_pages_offer_the_forms_to_writers(places, project, bob_client, transcript):
    case_url, _, case_page = places["case"]
    html = bob_client.get(case_page).content.decode()
    assert f'action="{case_url}"' in html and "New memo on this case" in html
    code_url, on, code_page = places["code"]
    html = bob_client.get(code_page).content.decode()
    assert f'href="{code_url}"' in html and "New memo on this code" in html
    t_url, _, t_page = places["transcript"]
    assert f'href="{t_url}"' in bob_client.get(t_page).content.decode()
    p_url, _, p_page = places["project"]
    assert f'action="{p_url}"' in bob_client.get(p_page).content.decode()
    assert p_url in overview(bob_client, project)


def test_blind_coding_hides_no_memo_on_a_case_code_transcript_or_the_project(
    places, project, transcript, alice, bob, bob_client
):
    """Memos on these are not about anyone's codings: a blind coder reads them all."""
    project.blind_coding = True
    project.save(update_fields=["blind_coding"])
    dora = UserFactory(username="dora")
    Membership.objects.create(project=project, user=dora, role=Role.RESEARCHER)
    dora_client = Client()
    dora_client.force_login(dora)
    written = {}
    for kind in KINDS:
        url, on, _page = places[kind]
        assert bob_client.post(url, {"text": f"Bobs notat om {kind}"}).status_code == 302
        written[kind] = memo_on(project, on)
    listed = overview(dora_client, project)
    assert all(f'data-memo="{m.pk}"' in listed for m in written.values())
    html = dora_client.get(places["transcript"][2]).content.decode()
    assert "Bobs notat om transcript" in html
