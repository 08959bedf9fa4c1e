"""The transcript view and its JSON endpoints: rendering, coding, removing, resizing, memos,
in-vivo codes and undo, with every persona. Offsets on the wire are UTF-16."""

import itertools
import json
import re

import pytest
from django.urls import reverse

from coding import services
from coding.analysis import transcript_page
from coding.models import AuditAction, AuditEvent, Code, Coding, Excerpt, Memo, Sentence, Transcript
from coding.offsets import Utf16Map

from .factories import CodebookFactory, CodeFactory, ProjectFactory, TranscriptFactory
from .workspace_data import (
    EMOJI,
    LONG_IN_VIVO,
    LONG_SENTENCE,
    make_in_vivo_transcript,
    make_transcript,
    span_of,
    u16,
)


@pytest.fixture
def transcript(case, alice, codebook):
    return make_transcript(case, alice)


@pytest.fixture
def simple(case):
    return TranscriptFactory(case=case)


def payload(response) -> dict:
    m = re.search(
        r'<script id="ws-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(m.group(1))


def post_code(client, transcript, phrase, codes, occurrence=1):
    s, e = span_of(transcript, phrase, occurrence)
    return client.post(
        reverse("coding:workspace-code", args=[transcript.pk]),
        {"start": u16(transcript, s), "end": u16(transcript, e), "code": [c.pk for c in codes]},
    )


def code_directly(transcript, phrase, codes, coder, source="manual"):
    s, e = span_of(transcript, phrase)
    excerpt, _new = services.excerpt_code(
        transcript=transcript, start=s, end=e, codes=codes, coder=coder, source=source
    )
    return excerpt


# --- the page --------------------------------------------------------------------------------


def test_the_page_shows_turns_with_speaker_role_and_level_and_numbered_paragraphs(
    transcript, bob_client
):
    r = bob_client.get(reverse("coding:transcript-detail", args=[transcript.pk]))
    assert r.status_code == 200
    html = r.content.decode()
    # A mapped turn is headed by the informant's pseudonym and role; the file's label is a tooltip.
    assert '<span class="speaker" title="IP">Tone Berg</span>' in html
    assert '<span class="speaker">IP</span>' not in html
    assert '<span class="speaker">I</span><span class="who">' in html
    assert "Boligleder" in html
    assert "Operative" in html or "Operativ" in html
    assert 'id="p7"' in html and 'id="p8"' not in html
    # The label is in the header, not in the selectable text.
    assert '<span class="t" data-o="3">Hvordan jobber dere' in html


def test_paragraph_offsets_are_utf16_so_the_browser_can_add_its_own(transcript, bob_client):
    r = bob_client.get(reverse("coding:transcript-detail", args=[transcript.pk]))
    html = r.content.decode()
    cp = transcript.text.index("Vi regnet ut")  # after the emoji paragraph
    assert f'data-o="{u16(transcript, cp)}">Vi regnet ut' in html
    assert u16(transcript, cp) == cp + 1


def test_the_page_carries_codings_as_compact_rows_with_utf16_offsets(
    transcript, codes, bob, bob_client
):
    excerpt = code_directly(transcript, "i ærlige møter på Økern", codes[:2], bob)
    data = payload(bob_client.get(reverse("coding:transcript-detail", args=[transcript.pk])))
    (row,) = data["excerpts"]
    assert row[0] == excerpt.pk
    assert row[1:3] == [u16(transcript, excerpt.start), u16(transcript, excerpt.end)]
    assert sorted(c[1] for c in row[3]) == sorted(c.pk for c in codes[:2])
    assert data["coders"][str(bob.pk)] == "bob"
    assert data["canWrite"] is True
    spans = list(Sentence.objects.filter(transcript=transcript).order_by("start"))
    assert len(data["sentences"]) == 2 * len(spans)
    # Sent as differences from the number before (the script adds them up).
    flat = [u16(transcript, x) for s in spans for x in (s.start, s.end)]
    assert list(itertools.accumulate(data["sentences"])) == flat


def test_the_codebook_panel_counts_codings_here_and_in_the_project(
    transcript, codes, bob, alice, case, bob_client
):
    code_directly(transcript, "i ærlige møter på Økern", [codes[0]], bob)
    code_directly(transcript, "i ærlige møter på Økern", [codes[0]], alice)
    other = TranscriptFactory(case=case)
    services.excerpt_code(transcript=other, start=0, end=5, codes=[codes[0]], coder=bob)
    html = bob_client.get(reverse("coding:transcript-detail", args=[transcript.pk])).content
    html = html.decode()
    assert f'data-n-here="{codes[0].pk}">2<' in html
    assert f'data-n-all="{codes[0].pk}">3<' in html
    assert f'data-n-here="{codes[1].pk}">0<' in html


def test_transcript_text_is_escaped(case, bob_client):
    t = TranscriptFactory(case=case, text="IP: <script>alert(1)</script> & <b>fet</b>")
    html = bob_client.get(reverse("coding:transcript-detail", args=[t.pk])).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in html


def test_a_supervisor_sees_the_coding_without_editing_controls(transcript, codes, bob, sue_client):
    code_directly(transcript, "i ærlige møter på Økern", [codes[0]], bob)
    r = sue_client.get(reverse("coding:transcript-detail", args=[transcript.pk]))
    assert r.status_code == 200
    assert payload(r)["canWrite"] is False
    assert len(payload(r)["excerpts"]) == 1
    assert 'id="ws-undo"' not in r.content.decode()


def test_charlie_gets_404_for_the_page_and_the_data(transcript, charlie_client):
    assert (
        charlie_client.get(reverse("coding:transcript-detail", args=[transcript.pk])).status_code
        == 404
    )
    assert (
        charlie_client.get(reverse("coding:workspace-codings", args=[transcript.pk])).status_code
        == 404
    )


def test_anonymous_visitors_are_sent_to_log_in(transcript, client):
    r = client.get(reverse("coding:transcript-detail", args=[transcript.pk]))
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_the_codings_endpoint_returns_every_excerpt(transcript, codes, bob, alice_client):
    code_directly(transcript, "i ærlige møter på Økern", [codes[0]], bob)
    code_directly(transcript, "Vi samarbeider tett", [codes[1]], bob)
    r = alice_client.get(reverse("coding:workspace-codings", args=[transcript.pk]))
    assert [row[1] for row in r.json()["excerpts"]] == sorted(
        row[1] for row in r.json()["excerpts"]
    )
    assert len(r.json()["excerpts"]) == 2


def test_a_coding_added_between_the_pages_reads_waits_for_its_delta(transcript, codes, bob):
    """Another coder adds a passage while the page reads excerpts, then codings (PostgreSQL
    reads each statement's own snapshot): the page shows what it read, never a 500."""
    from django.db import connection

    code_directly(transcript, "Vi samarbeider tett", [codes[1]], bob)
    added: list[int] = []
    busy: list[bool] = []

    def coder_between(execute, sql, params, many, context):
        # Just before the page reads the codings (its excerpts are read by then).
        if not busy and sql.lstrip().startswith("SELECT") and 'FROM "coding_coding"' in sql:
            busy.append(True)  # the other coder's own queries pass straight through
            added.append(code_directly(transcript, "i ærlige møter på Økern", [codes[0]], bob).pk)
        return execute(sql, params, many, context)

    umap = Utf16Map(transcript.text)
    with connection.execute_wrapper(coder_between):
        rows = transcript_page.excerpt_rows(transcript.pk, umap)
    assert added, "the concurrent coding was not made between the reads"
    assert [len(r[3]) for r in rows] == [1]
    # The next delta (or reload) has both.
    assert len(transcript_page.excerpt_rows(transcript.pk, umap)) == 2


def test_a_transcript_without_turns_is_one_unlabelled_turn(case, bob_client):
    t = TranscriptFactory(case=case, text="Første avsnitt.\n\nAndre avsnitt.")
    html = bob_client.get(reverse("coding:transcript-detail", args=[t.pk])).content.decode()
    assert '<span class="t" data-o="0">Første avsnitt.</span>' in html
    assert '<span class="t" data-o="17">Andre avsnitt.</span>' in html


# --- applying codes --------------------------------------------------------------------------


def test_bob_codes_a_passage_after_an_emoji_with_utf16_offsets(transcript, codes, bob, bob_client):
    r = post_code(bob_client, transcript, "i ærlige møter på Økern", codes[:2])
    assert r.status_code == 200
    excerpt = Excerpt.objects.get()
    assert excerpt.text == "i ærlige møter på Økern"
    assert (excerpt.start, excerpt.end) == span_of(transcript, "i ærlige møter på Økern")
    assert set(excerpt.codings.values_list("tag_id", "coder_id")) == {
        (codes[0].pk, bob.pk),
        (codes[1].pk, bob.pk),
    }
    body = r.json()
    assert body["excerpts"][0][1] == u16(transcript, excerpt.start)
    assert body["counts"] == {str(codes[0].pk): 1, str(codes[1].pk): 1}
    assert body["undo"]


def test_a_save_answers_with_a_small_delta_not_the_transcript(transcript, codes, bob_client):
    r = post_code(bob_client, transcript, "Vi samarbeider tett", [codes[0]])
    assert r.status_code == 200
    assert len(r.content) < 1500
    assert "Hvordan jobber" not in r.content.decode()


def test_a_passage_with_an_emoji_and_a_combining_mark_is_stored_exactly(
    transcript, codes, bob_client
):
    phrase = (
        f"hørt {EMOJI} i ærlige møter på Økern. Noen ganger må vi si nei.\n\nVi regnet ut x\u0304"
    )
    r = post_code(bob_client, transcript, phrase, [codes[0]])
    assert r.status_code == 200
    assert Excerpt.objects.get().text == phrase


def test_a_passage_at_the_end_of_a_very_long_line_is_stored_exactly(transcript, codes, bob_client):
    phrase = "en avtale med utleierne på Grünerløkka"
    r = post_code(bob_client, transcript, phrase, [codes[0]])
    assert r.status_code == 200
    assert Excerpt.objects.get().text == phrase
    assert len(LONG_SENTENCE) * 300 > 19_000


def test_a_supervisor_may_not_code(transcript, codes, sue_client):
    assert post_code(sue_client, transcript, "Vi samarbeider", [codes[0]]).status_code == 403
    assert not Coding.objects.exists()


def test_charlie_gets_404_when_coding(transcript, codes, charlie_client):
    assert post_code(charlie_client, transcript, "Vi samarbeider", [codes[0]]).status_code == 404


def test_a_code_from_another_projects_codebook_is_refused(transcript, codes, bob_client):
    foreign = CodeFactory(codebook=CodebookFactory(project=ProjectFactory()))
    r = post_code(bob_client, transcript, "Vi samarbeider", [codes[0], foreign])
    assert r.status_code == 404
    assert not Coding.objects.exists()


@pytest.mark.parametrize(
    "start_end",
    [(-1, 5), (0, 10**9), (20, 10), (10, 10), ("a", 5), ("1.5", 5), ("", "")],
)
def test_bad_offsets_are_refused(transcript, codes, bob_client, start_end):
    s, e = start_end
    r = bob_client.post(
        reverse("coding:workspace-code", args=[transcript.pk]),
        {"start": s, "end": e, "code": [codes[0].pk]},
    )
    assert r.status_code == 400
    assert r.json()["error"]
    assert not Excerpt.objects.exists()


def test_an_offset_inside_the_emoji_is_refused(transcript, codes, bob_client):
    emoji_at = u16(transcript, transcript.text.index(EMOJI))
    r = bob_client.post(
        reverse("coding:workspace-code", args=[transcript.pk]),
        {"start": emoji_at + 1, "end": emoji_at + 10, "code": [codes[0].pk]},
    )
    assert r.status_code == 400


def test_white_space_only_is_refused(transcript, codes, bob_client):
    gap = transcript.text.index("\n\n")
    r = bob_client.post(
        reverse("coding:workspace-code", args=[transcript.pk]),
        {"start": gap, "end": gap + 2, "code": [codes[0].pk]},
    )
    assert r.status_code == 400


def test_coding_needs_a_code(transcript, bob_client):
    r = bob_client.post(
        reverse("coding:workspace-code", args=[transcript.pk]), {"start": 3, "end": 10}
    )
    assert r.status_code == 400


def test_the_write_endpoints_refuse_get(transcript, bob_client):
    assert bob_client.get(reverse("coding:workspace-code", args=[transcript.pk])).status_code == 405
    assert bob_client.get(reverse("coding:workspace-undo", args=[transcript.pk])).status_code == 405


def test_overlapping_passages_are_separate_excerpts(transcript, codes, bob_client):
    post_code(bob_client, transcript, "Vi samarbeider tett med NAV", [codes[0]])
    post_code(bob_client, transcript, "tett med NAV om boliger", [codes[1]])
    spans = sorted(Excerpt.objects.values_list("start", "end"))
    assert len(spans) == 2 and spans[0][1] > spans[1][0]


# --- in-vivo codes ---------------------------------------------------------------------------


def test_in_vivo_makes_a_code_named_from_the_words(transcript, codes, codebook, bob, bob_client):
    s, e = span_of(transcript, "«ærlige møter»" if "«" in transcript.text else "ærlige møter")
    r = bob_client.post(
        reverse("coding:workspace-in-vivo", args=[transcript.pk]),
        {"start": u16(transcript, s), "end": u16(transcript, e)},
    )
    assert r.status_code == 200
    code = Code.objects.get(codebook=codebook, name="ærlige møter")
    assert r.json()["code"][:2] == [code.pk, "ærlige møter"]
    assert r.json()["codeCreated"] is True
    assert Coding.objects.get().tag == code
    assert AuditEvent.objects.filter(action=AuditAction.CODE_CREATE).exists()


def test_in_vivo_reuses_a_code_of_the_same_name(transcript, codes, bob_client):
    existing = CodeFactory(codebook=codes[0].codebook, name="Ærlige møter")
    s, e = span_of(transcript, "ærlige møter")
    r = bob_client.post(
        reverse("coding:workspace-in-vivo", args=[transcript.pk]),
        {"start": u16(transcript, s), "end": u16(transcript, e)},
    )
    assert r.json()["codeCreated"] is False
    assert Coding.objects.get().tag == existing


def test_in_vivo_names_are_trimmed_and_cut_at_a_word():
    assert services.in_vivo_name("  «Vi samarbeider tett»,  ") == "Vi samarbeider tett"
    long = services.in_vivo_name("ord " * 40)
    assert len(long) <= services.IN_VIVO_MAX_CHARS + 1 and long.endswith("ord…")


def test_in_vivo_names_keep_an_emoji_whole_and_count_code_points():
    # The 60th UTF-16 unit is the emoji's first half: cut at the word before, the emoji whole.
    assert LONG_IN_VIVO.encode("utf-16-le")[118:120] == EMOJI.encode("utf-16-le")[:2]
    name = services.in_vivo_name(LONG_IN_VIVO)
    assert name == f"Vi snakket lenge om alt som angikk boligene og naboene her {EMOJI}…"
    name.encode("utf-8")  # no lone surrogate
    # 60 code points are 61 UTF-16 units with an emoji: not cut at all.
    sixty = "ord " * 14 + "ord" + EMOJI
    assert len(sixty) == services.IN_VIVO_MAX_CHARS
    assert services.in_vivo_name(sixty) == sixty


def test_the_picker_is_told_the_in_vivo_name_the_code_gets(case, alice, codes, bob_client):
    transcript = make_in_vivo_transcript(case, alice)
    s, e = span_of(transcript, LONG_IN_VIVO)
    span = {"start": u16(transcript, s), "end": u16(transcript, e)}
    r = bob_client.get(reverse("coding:workspace-in-vivo-name", args=[transcript.pk]), span)
    assert r.status_code == 200
    assert Code.objects.count() == len(codes)  # a GET names, it makes nothing
    r2 = bob_client.post(reverse("coding:workspace-in-vivo", args=[transcript.pk]), span)
    assert r2.json()["code"][1] == r.json()["name"] == services.in_vivo_name(LONG_IN_VIVO)


def test_the_in_vivo_name_is_read_by_members_only(transcript, codes, sue_client, charlie_client):
    url = reverse("coding:workspace-in-vivo-name", args=[transcript.pk])
    s, e = span_of(transcript, "ærlige møter")
    span = {"start": u16(transcript, s), "end": u16(transcript, e)}
    assert sue_client.get(url, span).json() == {"name": "ærlige møter"}
    assert charlie_client.get(url, span).status_code == 404
    assert sue_client.get(url, {"start": "x", "end": 3}).status_code == 400


def test_in_vivo_is_refused_to_supervisors_and_outsiders(
    transcript, codes, sue_client, charlie_client
):
    url = reverse("coding:workspace-in-vivo", args=[transcript.pk])
    assert sue_client.post(url, {"start": 3, "end": 10}).status_code == 403
    assert charlie_client.post(url, {"start": 3, "end": 10}).status_code == 404
    assert Code.objects.count() == len(codes)


# --- removing codes --------------------------------------------------------------------------


def test_bob_removes_his_coding_and_the_empty_excerpt_goes(transcript, codes, bob, bob_client):
    excerpt = code_directly(transcript, "Vi samarbeider tett", [codes[0]], bob)
    coding = excerpt.codings.get()
    r = bob_client.post(reverse("coding:workspace-uncode", args=[coding.pk]))
    assert r.status_code == 200
    assert r.json()["removed"] == [excerpt.pk]
    assert not Excerpt.objects.exists()
    assert (
        AuditEvent.objects.filter(action=AuditAction.CODING_REMOVE).get().details["code_id"]
        == codes[0].pk
    )


def test_bob_may_not_remove_alices_coding_but_alice_as_owner_may_remove_bobs(
    transcript, codes, alice, bob, alice_client, bob_client
):
    alices = code_directly(transcript, "Vi samarbeider tett", [codes[0]], alice).codings.get()
    bobs = code_directly(transcript, "Det går bra", [codes[0]], bob).codings.get()
    assert bob_client.post(reverse("coding:workspace-uncode", args=[alices.pk])).status_code == 403
    assert alice_client.post(reverse("coding:workspace-uncode", args=[bobs.pk])).status_code == 200
    assert list(Coding.objects.all()) == [alices]


def test_removing_is_refused_to_supervisors_and_outsiders(
    transcript, codes, bob, sue_client, charlie_client
):
    coding = code_directly(transcript, "Vi samarbeider tett", [codes[0]], bob).codings.get()
    url = reverse("coding:workspace-uncode", args=[coding.pk])
    assert sue_client.post(url).status_code == 403
    assert charlie_client.post(url).status_code == 404
    assert Coding.objects.exists()


# --- boundaries --------------------------------------------------------------------------------


def resize(client, transcript, excerpt, phrase):
    s, e = span_of(transcript, phrase)
    return client.post(
        reverse("coding:workspace-resize", args=[excerpt.pk]),
        {"start": u16(transcript, s), "end": u16(transcript, e)},
    )


def test_bob_widens_his_passage_and_the_change_is_audited(transcript, codes, bob, bob_client):
    excerpt = code_directly(transcript, "ærlige møter", [codes[0]], bob)
    r = resize(bob_client, transcript, excerpt, f"{EMOJI} i ærlige møter på Økern")
    assert r.status_code == 200
    excerpt.refresh_from_db()
    assert excerpt.text == f"{EMOJI} i ærlige møter på Økern"
    event = AuditEvent.objects.get(action=AuditAction.EXCERPT_RESIZE)
    assert event.details["old"] == list(span_of(transcript, "ærlige møter"))
    assert event.details["new"] == [excerpt.start, excerpt.end]


def test_resizing_a_shared_passage_moves_only_my_codings(transcript, codes, alice, bob, bob_client):
    excerpt = code_directly(transcript, "ærlige møter", [codes[0]], alice)
    services.excerpt_code(
        transcript=transcript, start=excerpt.start, end=excerpt.end, codes=[codes[1]], coder=bob
    )
    r = resize(bob_client, transcript, excerpt, "ærlige møter på Økern")
    assert r.status_code == 200
    excerpt.refresh_from_db()
    assert excerpt.text == "ærlige møter"
    assert list(excerpt.codings.values_list("coder_id", flat=True)) == [alice.pk]
    moved = Excerpt.objects.get(text="ærlige møter på Økern")
    assert list(moved.codings.values_list("coder_id", "tag_id")) == [(bob.pk, codes[1].pk)]
    assert r.json()["excerpt"] == moved.pk


def test_resizing_onto_an_existing_passage_merges_and_collapses_duplicates(
    transcript, codes, bob, bob_client
):
    small = code_directly(transcript, "ærlige møter", [codes[0], codes[1]], bob)
    big = code_directly(transcript, "ærlige møter på Økern", [codes[0]], bob)
    r = resize(bob_client, transcript, small, "ærlige møter på Økern")
    assert r.status_code == 200
    assert list(Excerpt.objects.all()) == [big]
    assert sorted(big.codings.values_list("tag_id", flat=True)) == [codes[0].pk, codes[1].pk]
    assert r.json()["removed"] == [small.pk]


def test_resizing_someone_elses_passage_is_refused(transcript, codes, alice, bob_client):
    excerpt = code_directly(transcript, "ærlige møter", [codes[0]], alice)
    assert resize(bob_client, transcript, excerpt, "ærlige møter på Økern").status_code == 400


def test_resizing_to_bad_offsets_is_refused(transcript, codes, bob, bob_client):
    excerpt = code_directly(transcript, "ærlige møter", [codes[0]], bob)
    url = reverse("coding:workspace-resize", args=[excerpt.pk])
    assert bob_client.post(url, {"start": 50, "end": 40}).status_code == 400
    assert bob_client.post(url, {"start": 0, "end": 10**8}).status_code == 400
    excerpt.refresh_from_db()
    assert excerpt.text == "ærlige møter"


def test_resizing_is_refused_to_supervisors_and_outsiders(
    transcript, codes, bob, sue_client, charlie_client
):
    excerpt = code_directly(transcript, "ærlige møter", [codes[0]], bob)
    assert resize(sue_client, transcript, excerpt, "ærlige møter på").status_code == 403
    assert resize(charlie_client, transcript, excerpt, "ærlige møter på").status_code == 404


# --- the inspector and memos -------------------------------------------------------------------


def test_the_excerpt_detail_lists_codings_and_memos_with_permissions(
    transcript, codes, alice, bob, bob_client, sue_client, charlie_client
):
    excerpt = code_directly(transcript, "ærlige møter", [codes[0]], bob)
    services.excerpt_code(
        transcript=transcript, start=excerpt.start, end=excerpt.end, codes=[codes[1]], coder=alice
    )
    services.memo_save(
        project=transcript.case.project, author=alice, text="Viktig", excerpt=excerpt
    )
    url = reverse("coding:workspace-excerpt", args=[excerpt.pk])
    d = bob_client.get(url).json()
    assert d["text"] == "ærlige møter"
    assert {(c["coder"], c["canRemove"]) for c in d["codings"]} == {
        (bob.pk, True),
        (alice.pk, False),
    }
    assert d["memos"][0]["text"] == "Viktig" and d["memos"][0]["canEdit"] is False
    assert d["canResize"] is True
    sue = sue_client.get(url).json()
    assert not any(c["canRemove"] for c in sue["codings"]) and sue["canResize"] is False
    assert charlie_client.get(url).status_code == 404


def test_bob_writes_edits_and_deletes_his_memo(transcript, codes, bob, bob_client):
    excerpt = code_directly(transcript, "ærlige møter", [codes[0]], bob)
    url = reverse("coding:workspace-memo", args=[excerpt.pk])
    r = bob_client.post(url, {"text": "Første tanke"})
    assert r.status_code == 200
    memo = Memo.objects.get(excerpt=excerpt, author=bob)
    assert r.json()["excerpts"][0][4][0][2] == "Første tanke"
    bob_client.post(url, {"memo": memo.pk, "text": "Andre tanke"})
    memo.refresh_from_db()
    assert memo.text == "Andre tanke"
    bob_client.post(url, {"memo": memo.pk, "text": "  "})
    assert not Memo.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.MEMO_DELETE).exists()


def test_bob_may_not_edit_alices_memo_or_a_memo_of_another_passage(
    transcript, codes, alice, bob, bob_client
):
    excerpt = code_directly(transcript, "ærlige møter", [codes[0]], bob)
    other = code_directly(transcript, "Vi samarbeider", [codes[0]], bob)
    project = transcript.case.project
    alices = services.memo_save(project=project, author=alice, text="Min", excerpt=excerpt)
    bobs_other = services.memo_save(project=project, author=bob, text="Annen", excerpt=other)
    url = reverse("coding:workspace-memo", args=[excerpt.pk])
    assert bob_client.post(url, {"memo": alices.pk, "text": "Endret"}).status_code == 403
    assert bob_client.post(url, {"memo": bobs_other.pk, "text": "Endret"}).status_code == 404
    assert set(Memo.objects.values_list("text", flat=True)) == {"Min", "Annen"}


def test_an_empty_new_memo_is_refused_with_a_message(transcript, codes, bob, bob_client):
    excerpt = code_directly(transcript, "ærlige møter", [codes[0]], bob)
    r = bob_client.post(reverse("coding:workspace-memo", args=[excerpt.pk]), {"text": " "})
    assert r.status_code == 400 and r.json()["error"]


def test_memos_are_refused_to_supervisors_and_outsiders(
    transcript, codes, bob, sue_client, charlie_client
):
    excerpt = code_directly(transcript, "ærlige møter", [codes[0]], bob)
    url = reverse("coding:workspace-memo", args=[excerpt.pk])
    assert sue_client.post(url, {"text": "Nei"}).status_code == 403
    assert charlie_client.post(url, {"text": "Nei"}).status_code == 404
    assert not Memo.objects.exists()


# --- undo ------------------------------------------------------------------------------------


def undo(client, transcript):
    return client.post(reverse("coding:workspace-undo", args=[transcript.pk]))


def test_undo_takes_back_the_last_coding(transcript, codes, bob_client):
    post_code(bob_client, transcript, "Vi samarbeider tett", [codes[0]])
    post_code(bob_client, transcript, "ærlige møter", [codes[1]])
    r = undo(bob_client, transcript)
    assert r.status_code == 200
    assert "ærlige møter" not in Excerpt.objects.values_list("text", flat=True)
    assert Excerpt.objects.get().text == "Vi samarbeider tett"
    assert codes[1].name in r.json()["message"]
    undo(bob_client, transcript)
    assert not Excerpt.objects.exists()
    assert undo(bob_client, transcript).json()["undo"] == ""


def test_undo_restores_a_removed_coding(transcript, codes, bob, bob_client):
    coding = code_directly(transcript, "Vi samarbeider tett", [codes[0]], bob).codings.get()
    bob_client.post(reverse("coding:workspace-uncode", args=[coding.pk]))
    assert not Coding.objects.exists()
    undo(bob_client, transcript)
    restored = Coding.objects.get()
    assert (restored.tag, restored.coder, restored.content_object.text) == (
        codes[0],
        bob,
        "Vi samarbeider tett",
    )


def test_undo_puts_back_the_old_boundaries(transcript, codes, bob, bob_client):
    excerpt = code_directly(transcript, "ærlige møter", [codes[0]], bob)
    resize(bob_client, transcript, excerpt, "ærlige møter på Økern")
    undo(bob_client, transcript)
    assert Excerpt.objects.get().text == "ærlige møter"


def test_undo_of_an_in_vivo_coding_deletes_the_new_code(transcript, codes, bob_client):
    s, e = span_of(transcript, "ærlige møter")
    bob_client.post(
        reverse("coding:workspace-in-vivo", args=[transcript.pk]),
        {"start": u16(transcript, s), "end": u16(transcript, e)},
    )
    new = Code.objects.get(name="ærlige møter")
    r = undo(bob_client, transcript)
    assert r.json()["deletedCodes"] == [new.pk]
    assert not Code.objects.filter(pk=new.pk).exists()
    assert not Coding.objects.exists()


def test_undo_is_per_coder_and_skips_imported_codings(transcript, codes, alice, bob, bob_client):
    code_directly(transcript, "Vi samarbeider tett", [codes[0]], bob, source="import")
    post_code_alice = code_directly(transcript, "ærlige møter", [codes[0]], alice)
    r = undo(bob_client, transcript)
    assert r.json()["message"]
    assert Coding.objects.count() == 2
    assert post_code_alice.codings.exists()


def test_undo_events_record_what_they_undid(transcript, codes, bob_client):
    post_code(bob_client, transcript, "Vi samarbeider tett", [codes[0]])
    undo(bob_client, transcript)
    add = AuditEvent.objects.get(action=AuditAction.CODING_ADD)
    back = AuditEvent.objects.get(action=AuditAction.CODING_REMOVE)
    assert back.details["undo_of"] == [add.pk]


def test_undo_is_refused_to_supervisors_and_outsiders(
    transcript, codes, sue, bob, sue_client, charlie_client
):
    # Sue coded before she became a supervisor, so undo would have something of hers to take
    # back; bob's coding is the newest in the transcript.
    mine = code_directly(transcript, "Vi samarbeider tett", [codes[0]], sue)
    assert services.undoable_event(transcript=transcript, actor=sue) is not None
    bobs = code_directly(transcript, "ærlige møter", [codes[1]], bob)
    events = AuditEvent.objects.count()
    assert undo(sue_client, transcript).status_code == 403
    assert undo(charlie_client, transcript).status_code == 404
    assert mine.codings.filter(coder=sue).exists() and bobs.codings.filter(coder=bob).exists()
    assert Coding.objects.count() == 2 and AuditEvent.objects.count() == events


# --- the module behind the page ---------------------------------------------------------------


def test_rows_cover_every_character_of_the_text_but_labels_and_gaps(transcript):
    umap = Utf16Map(transcript.text)
    rows = transcript_page.transcript_rows(transcript, umap, list(transcript.turns.all()))
    shown = "".join(p.text for r in rows for p in r.paragraphs)
    labels = "".join(t.label + ": " for t in transcript.turns.all() if t.label)
    assert len(shown) + len(labels) + 2 * (len(transcript.paragraph_starts()) - 1) == len(
        transcript.text
    )
    for r in rows:
        for p in r.paragraphs:
            assert transcript.text[umap.to_cp(p.offset) :].startswith(p.text)


def test_the_undo_label_names_the_action(transcript, codes, bob):
    code_directly(transcript, "Vi samarbeider tett", [codes[0]], bob)
    event = services.undoable_event(transcript=transcript, actor=bob)
    assert codes[0].name in transcript_page.undo_label(event)


@pytest.mark.parametrize(
    "text",
    [
        "Første\n\nAndre\n\n\n\nTredje",
        "en\nto\n  \ntre \n\t\nfire",
        "\n\n  innrykk\n\u2028\n\u00a0\nslutt",
        f"IP: {EMOJI}\n\nI: x\u0304\n",
    ],
)
def test_fast_paragraph_starts_agree_with_the_model(text):
    """The one rule (coding.offsets) against its plain statement, a line loop: a paragraph is a
    line that holds more than white space. The model, the view and the import's sentence
    splitting all read it, so they number and split the same paragraphs."""
    from coding import nlp, offsets

    by_hand, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            by_hand.append((pos, pos + len(line) - len(line.lstrip()), pos + len(line.rstrip())))
        pos += len(line) + 1
    assert offsets.paragraph_starts(text) == [s for s, _a, _b in by_hand]
    assert Transcript(text=text).paragraph_starts() == [s for s, _a, _b in by_hand]
    assert list(offsets.paragraph_spans(text)) == [(a, b) for _s, a, b in by_hand]
    sentences = nlp.split_sentences(text, [(0, len(text))])[0]
    assert {s.start for s in sentences} >= {a for _s, a, _b in by_hand}


def test_a_span_starting_after_a_label_splits_into_that_lines_rest_and_the_next_lines():
    from coding import offsets

    text = "IP:  Hei der  \n\n  neste linje\nI: x"
    end = text.index("\nI:")
    assert list(offsets.paragraph_spans(text, 3, end)) == [(5, 12), (18, 29)]
    assert [text[s:e] for s, e in offsets.paragraph_spans(text, 3, end)] == [
        "Hei der",
        "neste linje",
    ]


def test_excerpts_get_their_paragraph_number_through_the_view(transcript, codes, bob_client):
    post_code(bob_client, transcript, "en avtale med utleierne", [codes[0]])
    assert Excerpt.objects.get().paragraph == 7


def test_a_link_with_code_point_offsets_opens_at_that_passage(transcript, bob_client):
    s, e = span_of(transcript, "en avtale med utleierne")  # after two emoji: units differ
    assert u16(transcript, s) == s + 2
    url = reverse("coding:transcript-detail", args=[transcript.pk])
    data = payload(bob_client.get(f"{url}?start={s}&end={e}"))
    assert data["focus"] == [u16(transcript, s), u16(transcript, e)]
    assert payload(bob_client.get(f"{url}?start={e}&end={s}"))["focus"] is None
    assert payload(bob_client.get(f"{url}?start=x&end=10"))["focus"] is None
    assert payload(bob_client.get(f"{url}?start=1&end=99999999"))["focus"] is None


def test_the_page_benchmark_measures_the_parts_of_the_page_and_leaves_nothing(db):
    from coding.benchmarks import page as bench

    result = bench.run("small")
    figures = result["figures"]
    assert set(figures) == {"page", "document_html", "payload_json", "codings_json"}
    for part in figures.values():
        assert 0 < part["gzip"] < part["raw"]
    assert (
        figures["document_html"]["raw"] + figures["payload_json"]["raw"] < (figures["page"]["raw"])
    )
    assert not Transcript.objects.exists()  # rolled back
