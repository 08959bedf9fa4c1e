"""The comparison view's consensus lane and its decisions over HTTP: researchers settle (with
htmx, a fragment; without, post/redirect/get), supervisors only read, outsiders get 404."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import docx
import pytest
from django.urls import reverse

from coding import services
from coding.exports import rows as export_rows
from coding.exports.selection import codings_for
from coding.exports.word import STYLE_SOURCE, ExportOptions, write_word
from coding.models import AuditAction, AuditEvent, Coding, ConsensusDecision, Membership, Role

from .factories import CodeFactory, TranscriptFactory, UserFactory
from .test_access_matrix import database_state

TEXT = "Innledning her. æøå bolig og tjenester 😀 i kommunen. Mer om NAV 😀. Slutt på det hele ø."
A = (TEXT.index("æøå"), TEXT.index("😀") + 1)
B = (TEXT.index("bolig"), TEXT.index("kommunen.") + len("kommunen."))
PASSAGE = (A[0], B[1])


@pytest.fixture
def coded(project, codebook, case, alice, bob, sue):
    t = TranscriptFactory(case=case, text=TEXT, title="Intervju <1>")
    k = CodeFactory(codebook=codebook, name="Samarbeid", order=0)
    services.excerpt_code(transcript=t, start=A[0], end=A[1], codes=[k], coder=alice)
    services.excerpt_code(transcript=t, start=B[0], end=B[1], codes=[k], coder=bob)
    return t, k


def _compare(t, k, coders) -> str:
    q = {"code": k.pk, "coders": [u.pk for u in coders], "unit": "character"}
    return reverse("coding:analysis-agreement-compare", args=[t.pk]) + "?" + urlencode(q, True)


def _post(t, k, coders, **data) -> tuple[str, dict]:
    url = reverse("coding:analysis-consensus-decide", args=[t.pk])
    query = urlencode({"code": k.pk, "coders": [u.pk for u in coders], "unit": "character"}, True)
    body = {
        "code": k.pk,
        "coders": [u.pk for u in coders],
        "start": PASSAGE[0],
        "end": PASSAGE[1],
        **data,
    }
    return f"{url}?{query}", body


def test_a_researcher_is_offered_the_decisions_and_a_supervisor_none(
    coded, alice, bob, bob_client, sue_client
):
    t, k = coded
    html = bob_client.get(_compare(t, k, [alice, bob])).content.decode()
    assert 'class="lane lane-consensus"' in html and "lane-head-consensus" in html
    assert html.count('class="consensus-form"') == 1  # one passage
    assert f'value="keep:{alice.pk}"' in html and f'value="keep:{bob.pk}"' in html
    assert 'value="merge"' in html and 'value="drop"' in html and 'value="new"' in html
    assert reverse("coding:analysis-consensus-start", args=[t.pk]) in html
    html = sue_client.get(_compare(t, k, [alice, bob])).content.decode()
    assert 'class="lane lane-consensus"' in html
    assert "consensus-form" not in html and '<form method="post" action="/analysis' not in html
    assert reverse("coding:analysis-consensus-start", args=[t.pk]) not in html
    assert reverse("coding:analysis-consensus-undo", args=[t.pk]) not in html


def test_settling_with_htmx_answers_with_the_settled_passage(coded, alice, bob, bob_client):
    t, k = coded
    url, body = _post(t, k, [alice, bob], choice=f"keep:{alice.pk}", reason="Smal <b>nok</b>")
    r = bob_client.post(url, body, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = r.content.decode()
    assert html.lstrip().startswith('<section class="passage passage-boundary settled"')
    assert "data-settled" in html
    consensus_lane = html[html.index("lane-consensus") :].split("</div>")[0]
    assert '<mark class="compare-consensus"' in consensus_lane
    assert "æøå bolig og tjenester 😀</mark>" in consensus_lane
    assert "Smal &lt;b&gt;nok&lt;/b&gt;" in html and "<b>nok" not in html  # escaped
    # The counts and the history update out of band.
    assert 'id="consensus-unsettled" hx-swap-oob="true"' in html
    assert 'id="consensus-history" class="consensus-history" hx-swap-oob="true"' in html
    assert list(
        Coding.objects.consensus_layer().values_list(
            "content_object__start", "content_object__end", "coder__username"
        )
    ) == [(*A, "bob")]


def test_the_page_shows_the_decision_to_a_supervisor(coded, alice, bob, bob_client, sue_client):
    t, k = coded
    url, body = _post(t, k, [alice, bob], choice=f"keep:{bob.pk}", reason="Hele setningen")
    r = bob_client.post(url, body)
    assert r.status_code == 302 and r.url.startswith(_compare(t, k, [alice, bob]).split("?")[0])
    html = sue_client.get(_compare(t, k, [alice, bob])).content.decode()
    assert 'id="passage-0"' in html and "data-settled" in html
    assert "Hele setningen" in html  # the reason, in the passage and the history
    history = html[html.index('id="consensus-history"') :]
    assert "Hele setningen" in history and "bob" in history


def test_overruling_without_a_reason_shows_the_error_and_saves_nothing(
    coded, alice, bob, bob_client
):
    t, k = coded
    url, body = _post(t, k, [alice, bob], choice=f"keep:{alice.pk}", reason="")
    before = database_state()
    r = bob_client.post(url, body)
    assert r.status_code == 400
    html = r.content.decode()
    passage = html[html.index('id="passage-0"') :]
    assert 'role="alert"' in passage.split("</section>")[0]
    assert database_state() == before
    r = bob_client.post(url, body, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'role="alert"' in r.content.decode()
    assert "data-settled" not in r.content.decode().split("</section>")[0]
    assert database_state() == before


def test_a_supervisor_is_refused_every_consensus_post_and_nothing_changes(
    coded, alice, bob, sue_client, charlie_client
):
    t, k = coded
    url, body = _post(t, k, [alice, bob], choice="merge", reason="x")
    start = reverse("coding:analysis-consensus-start", args=[t.pk])
    undo = reverse("coding:analysis-consensus-undo", args=[t.pk])
    before = database_state()
    assert sue_client.post(url, body).status_code == 403
    assert sue_client.post(start, {**body, "coder": bob.pk}).status_code == 403
    assert sue_client.post(undo, body).status_code == 403
    for u in (url, start, undo):
        assert charlie_client.post(u, {**body, "coder": bob.pk}).status_code == 404
    assert charlie_client.get(_compare(t, k, [alice, bob])).status_code == 404
    assert database_state() == before


def test_start_from_a_coder_and_undo_over_http(coded, alice, bob, alice_client):
    t, k = coded
    _url, body = _post(t, k, [alice, bob])
    start = reverse("coding:analysis-consensus-start", args=[t.pk])
    r = alice_client.post(start, {**body, "coder": bob.pk})
    assert r.status_code == 302
    assert list(
        Coding.objects.consensus_layer().values_list("content_object__start", "coder__username")
    ) == [(B[0], "alice")]
    html = alice_client.get(_compare(t, k, [alice, bob])).content.decode()
    assert reverse("coding:analysis-consensus-start", args=[t.pk]) not in html  # begun
    assert "data-settled" not in html  # starting settles nothing
    r = alice_client.post(reverse("coding:analysis-consensus-undo", args=[t.pk]), body)
    assert r.status_code == 302
    assert not Coding.objects.consensus_layer().exists()
    assert ConsensusDecision.objects.get().undone_at is not None
    assert AuditEvent.objects.filter(action=AuditAction.CONSENSUS_UNDO).count() == 1


def test_the_transcript_view_does_not_show_consensus_codings_as_a_coders(
    coded, alice, bob, bob_client
):
    t, k = coded
    url, body = _post(t, k, [alice, bob], choice="new", span_start=0, span_end=A[1], reason="Mer")
    assert bob_client.post(url, body).status_code == 302
    consensus = Coding.objects.consensus_layer().get()
    data = bob_client.get(reverse("coding:workspace-codings", args=[t.pk])).json()
    codings = [c for row in data["excerpts"] for c in row[3]]
    assert consensus.pk not in [c[0] for c in codings]
    assert consensus.content_object_id not in [row[0] for row in data["excerpts"]]
    assert len(codings) == 2  # alice's and bob's own


def test_the_history_tells_each_decision_and_its_undo(
    coded, project, alice, bob, bob_client, sue_client
):
    t, k = coded
    url, body = _post(t, k, [alice, bob], choice="drop", reason="Passer ikke")
    assert bob_client.post(url, body).status_code == 302
    undo = reverse("coding:analysis-consensus-undo", args=[t.pk])
    assert bob_client.post(undo, body).status_code == 302
    html = sue_client.get(reverse("coding:transcript-history", args=[t.pk])).content.decode()
    settled = f"settled Samarbeid at characters {PASSAGE[0]}–{PASSAGE[1]} in the consensus"
    assert settled in html and "The code does not apply here (reason: Passer ikke)" in html
    assert f"undid: {settled}" in html


# --- the drill-down of a consensus passage -------------------------------------------------


def _rita(project):
    rita = UserFactory(username="rita")
    Membership.objects.create(project=project, user=rita, role=Role.RESEARCHER)
    return rita


def _cell(client, t, k, basis: str) -> str:
    query = {"basis": basis, "codes": k.pk, "row": t.case_id, "col": k.pk}
    r = client.get(reverse("coding:analysis-matrix-cell", args=[t.case.project_id]), query)
    assert r.status_code == 200
    return r.content.decode()


def test_the_drilldown_says_a_consensus_passage_is_one_and_who_decided_it(
    coded, project, alice, bob, sue_client, charlie_client
):
    t, k = coded
    rita = _rita(project)
    services.consensus_decide(
        membership=Membership.objects.get(project=project, user=rita),
        transcript=t,
        code=k,
        coders=[alice, bob],
        action="keep",
        passage=PASSAGE,
        keep=alice,
        reason="Smalest",
    )
    for basis in ("consensus", "default"):
        html = _cell(sue_client, t, k, basis)
        card = html[html.index('class="excerpt-card consensus"') :].split("</li>")[0]
        assert "consensus passage, decided by rita" in card
        # The coders whose versions the decision settled, not the decider as a coder.
        assert "<dd data-compared>alice, bob " in card
        assert "Coded by" not in card
    # On the coders' basis the same excerpt (the consensus kept alice's span) is alice's only.
    html = _cell(sue_client, t, k, "merged")
    assert "excerpt-card consensus" not in html and "decided by" not in html
    assert "rita" not in html
    query = {"basis": "consensus", "codes": k.pk, "row": t.case_id, "col": k.pk}
    url = reverse("coding:analysis-matrix-cell", args=[project.pk])
    assert charlie_client.get(url, query).status_code == 404


# --- undoing an earlier decision ------------------------------------------------------------


def _undo(t, k, coders, decision=None) -> tuple[str, dict]:
    url, body = _post(t, k, coders)
    body = {"code": k.pk, "coders": [u.pk for u in coders]}
    if decision is not None:
        body["decision"] = decision.pk
    return url.replace(
        reverse("coding:analysis-consensus-decide", args=[t.pk]),
        reverse("coding:analysis-consensus-undo", args=[t.pk]),
    ), body


def test_an_earlier_decision_is_undone_from_the_history_when_nothing_later_builds_on_it(
    coded, project, case, codebook, alice, bob, bob_client
):
    t, k = coded
    other = CodeFactory(codebook=codebook, name="Tillit", order=1)
    services.excerpt_code(transcript=t, start=A[0], end=A[1], codes=[other], coder=alice)
    services.excerpt_code(transcript=t, start=B[0], end=B[1], codes=[other], coder=bob)
    url, body = _post(t, k, [alice, bob], choice="merge", reason="Begge")
    assert bob_client.post(url, body).status_code == 302
    first = ConsensusDecision.objects.get()
    url, body = _post(t, other, [alice, bob], choice="merge", reason="Begge")
    assert bob_client.post(url, body).status_code == 302
    later = ConsensusDecision.objects.exclude(pk=first.pk).get()
    # The history offers to undo the first: the later decision is on another code.
    html = bob_client.get(_compare(t, k, [alice, bob])).content.decode()
    history = html[html.index('id="consensus-history"') :]
    assert f'data-undo-decision="{first.pk}"' in history
    undo_url, undo_body = _undo(t, k, [alice, bob], first)
    r = bob_client.post(undo_url, undo_body)
    assert r.status_code == 302 and r.url.startswith(_compare(t, k, [alice, bob]).split("?")[0])
    first.refresh_from_db()
    later.refresh_from_db()
    assert first.undone_at is not None and later.undone_at is None
    assert list(Coding.objects.consensus_layer().values_list("tag_id", flat=True)) == [other.pk]
    event = AuditEvent.objects.get(action=AuditAction.CONSENSUS_UNDO)
    assert event.details["decision"] == first.pk


def test_an_earlier_decision_a_later_one_builds_on_is_not_undone(
    coded, project, alice, bob, bob_client, sue_client, charlie_client
):
    t, k = coded
    url, body = _post(t, k, [alice, bob], choice="merge", reason="Begge")
    assert bob_client.post(url, body).status_code == 302
    first = ConsensusDecision.objects.get()
    # Settled again on the same passage: this decision replaced what the first made.
    url, body = _post(t, k, [alice, bob], choice=f"keep:{alice.pk}", reason="Smalere")
    assert bob_client.post(url, body).status_code == 302
    html = bob_client.get(_compare(t, k, [alice, bob])).content.decode()
    history = html[html.index('id="consensus-history"') :]
    assert f'data-undo-decision="{first.pk}"' not in history
    assert history.count("data-undo-decision=") == 1  # the later one
    undo_url, undo_body = _undo(t, k, [alice, bob], first)
    elsewhere = TranscriptFactory(case=t.case, text=TEXT)
    before = database_state()
    r = bob_client.post(undo_url, undo_body, follow=True)
    assert "undo that one first" in r.content.decode()
    assert database_state() == before
    # Outsiders get 404, a supervisor 403, and a decision of another transcript is no id here.
    assert charlie_client.post(undo_url, undo_body).status_code == 404
    assert sue_client.post(undo_url, undo_body).status_code == 403
    wrong = reverse("coding:analysis-consensus-undo", args=[elsewhere.pk])
    assert bob_client.post(wrong + "?" + undo_url.split("?")[1], undo_body).status_code == 404
    assert bob_client.post(undo_url, {**undo_body, "decision": "x"}).status_code == 404
    assert database_state() == before


def test_the_word_export_names_a_consensus_passage_by_its_decider_never_as_a_coder(
    coded, project, alice, bob
):
    t, k = coded
    rita = _rita(project)
    services.consensus_decide(
        membership=Membership.objects.get(project=project, user=rita),
        transcript=t,
        code=k,
        coders=[alice, bob],
        action="keep",
        passage=PASSAGE,
        keep=alice,
        reason="Smalest",
    )

    def source_lines(basis: str) -> list[str]:
        codings, _described = codings_for(project, {"layout": "by-code", "basis": basis})
        buf = io.BytesIO()
        write_word(buf, export_rows.collect(project, codings), ExportOptions())
        document = docx.Document(io.BytesIO(buf.getvalue()))
        return [p.text for p in document.paragraphs if p.style.name == STYLE_SOURCE]

    (line,) = source_lines("consensus")
    assert "consensus passage, decided by rita" in line
    assert "rita," not in line and ": rita" not in line
    lines = source_lines("merged")
    assert len(lines) == 2 and not any("rita" in line for line in lines)
    assert any("alice" in line for line in lines) and any("bob" in line for line in lines)
