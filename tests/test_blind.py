"""Blind coding (issue 13): while a transcript is coded blind, a researcher receives no other
coder's coding of it from any URL, in HTML, JSON, CSV, XLSX, Word or REFI-QDA.

The world is the access matrix's (tests/test_access_matrix.py: bob and alice coded the same
passage of Tone's interview) plus kari, a second researcher, who alone codes a passage of a second
interview (the only place the word "Kvernhusbekken" occurs) and, with the one code nobody else
uses, the passage bob coded. kari and alice wrote memos on those passages and marked key quotes.
With blind coding on, bob (the blind researcher) opens every GET URL of the access matrix and
downloads every export; nothing he receives may show kari's or alice's codings, memos on the
passages or key quotes. sue (a supervisor) and alice see them: the same scan finds every marker
for them, so the markers are real.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import docx
import openpyxl
import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from lxml import etree

from coding import importers, services
from coding.models import (
    AuditAction,
    AuditEvent,
    BlindMode,
    Coding,
    Excerpt,
    Job,
    JobKind,
    JobStatus,
    KeyQuote,
    Membership,
    Memo,
    Role,
    Suggestion,
    SuggestionSource,
    Transcript,
)

from .factories import UserFactory
from .test_access_matrix import ACCESS, READ, World, _url
from .test_access_matrix import world as world  # noqa: F401  (the access matrix's world, reused)

KARI_MEMO = "Karis hemmelige tanke om boligtilbudet"
ALICE_MEMO = "Alices merknad til det delte utdraget"
ONLY_KARI = "Kvernhusbekken"  # a word of the passage only kari coded (second interview)
KARI_NAME = "Kari Blindersen"
MARKERS = (KARI_MEMO, ALICE_MEMO, ONLY_KARI)

# Pages that list kari by name for another reason than her coding: the members, the export
# form that offers every member who may code as a choice, and the .qdpx's list of users (every
# member). The matrix filters and the agreement form name only bob himself (coder_choices).
NAME_LISTED = {
    "coding:member-list",
    "coding:exchange-export",
    "coding:export",
}


def second_interview(w: World, answer: str) -> Transcript:
    """A second interview with Tone in the world's case, "Intervju to"."""
    doc = importers.parse_pasted(f"I: Og boligen?\nIP: {answer}", "intervju-to.txt")
    return services.transcript_create(
        case=w.case,
        doc=doc,
        title="Intervju to",
        speakers={
            "I": {"kind": "interviewer"},
            "IP": {"kind": "informant", "informant_id": w.informant.pk},
        },
        user=w.alice,
    )


@pytest.fixture
def blind(world: World) -> World:
    kari = UserFactory(username="kari", first_name="Kari", last_name="Blindersen")
    Membership.objects.create(project=world.project, user=kari, role=Role.RESEARCHER)
    second = second_interview(world, f"{ONLY_KARI} er et godt sted å bo.")
    start = second.text.index(ONLY_KARI)
    kari_excerpt, _ = services.excerpt_code(
        transcript=second,
        start=start,
        end=start + len(ONLY_KARI),
        codes=world.codes[2:3],
        coder=kari,
    )
    services.excerpt_code(
        transcript=world.transcript,
        start=world.excerpt.start,
        end=world.excerpt.end,
        codes=world.codes[2:3],
        coder=kari,
    )
    services.memo_save(project=world.project, author=kari, text=KARI_MEMO, excerpt=kari_excerpt)
    services.memo_save(
        project=world.project, author=world.alice, text=ALICE_MEMO, excerpt=world.excerpt
    )
    # A project memo of alice's (anyone may read it) with a "see also" to kari's passage.
    project_memo = services.memo_save(
        project=world.project, author=world.alice, text="Et notat om prosjektet"
    )
    services.memo_link_set(memo=project_memo, actor=world.alice, excerpt=kari_excerpt)
    services.key_quote_set(excerpt=kari_excerpt, code=world.codes[2], user=kari, marked=True)
    services.key_quote_set(
        excerpt=world.excerpt, code=world.codes[1], user=world.alice, marked=True
    )
    # alice marks bob's coding as a key quote: bob's "key quotes only" must not count it.
    services.key_quote_set(
        excerpt=world.excerpt, code=world.codes[0], user=world.alice, marked=True
    )
    # An export alice made: it holds everyone's codings.
    alice_export = Job.objects.create(
        project=world.project,
        kind=JobKind.EXPORT,
        status=JobStatus.DONE,
        created_by=world.alice,
        params={"layout": "by-code", "language": "nb"},
    )
    services.blind_coding_set(project=world.project, on=True, actor=world.alice)
    world.extra.update(
        kari=kari, second=second, kari_excerpt=kari_excerpt, alice_export=alice_export
    )
    return world


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _body(response) -> str:
    """Everything a response carries, as text: a zip's members (.docx, .xlsx, .qdpx) unpacked
    (but a .qdpx's sources/, the transcripts' own text)."""
    data = (
        b"".join(response.streaming_content)
        if getattr(response, "streaming", False)
        else response.content
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "\n".join(
                zf.read(name).decode("utf-8", "replace")
                for name in zf.namelist()
                if not name.startswith("sources/")
            )
    except zipfile.BadZipFile:
        return data.decode("utf-8", "replace")


def _get_urls(w: World) -> list[tuple[str, str, dict]]:
    """(name, url, query) of every GET URL of the access matrix a member may open."""
    return [
        (name, _url(w, name, entry), entry.query(w) if entry.query else {})
        for name, entry in ACCESS.items()
        if entry.methods.get("GET") == READ
    ]


def _scan(w: World, user) -> dict[str, str]:
    client = _client(user)
    return {
        name: _body(client.get(url, query)) for name, url, query in _get_urls(w)
    } | _export_bodies(w, user)


def _export_bodies(w: World, user) -> dict[str, str]:
    """The Word exports (every layout, with memos and context, run by the eager job runner) and
    the matrix exports in each format, as ``user`` downloads them."""
    client = _client(user)
    out = {}
    for layout in ("by-code", "by-case", "selection", "framework", "report"):
        before = set(Job.objects.values_list("pk", flat=True))
        r = client.post(
            reverse("coding:export", args=[w.project.pk]),
            {
                "layout": layout,
                "language": "en",
                "memos": "on",
                "context_words": "10",
                "codebook": "on",
                "excerpts_appendix": "on",
            },
        )
        assert r.status_code == 302, r.content[:500]
        (job,) = Job.objects.exclude(pk__in=before)
        assert job.status == JobStatus.DONE, job.message
        download = client.get(reverse("coding:job-download", args=[job.pk]))
        assert download.status_code == 200
        out[f"word:{layout}"] = _body(download)
    for name, fmt in (
        ("coding:analysis-matrix-export", "xlsx"),
        ("coding:analysis-matrix-export", "csv"),
        ("coding:analysis-cooccurrence-export", "csv"),
        ("coding:analysis-framework-export", "xlsx"),
        ("coding:analysis-agreement-export", "xlsx"),
    ):
        url = reverse(name, args=[w.project.pk, fmt])
        out[f"{name}.{fmt}"] = _body(client.get(url))
    return out


def test_a_blind_researcher_receives_no_other_coders_coding_from_any_url(blind):
    w = blind
    seen_by_bob = _scan(w, w.bob)
    leaks = {
        (name, marker) for name, body in seen_by_bob.items() for marker in MARKERS if marker in body
    }
    assert leaks == set()
    named = {name for name, body in seen_by_bob.items() if KARI_NAME in body} - NAME_LISTED
    assert named == set(), "kari's name shows on these pages: her coding leaks there"

    # The markers are real: a supervisor and the owner see every one of them somewhere, and
    # kari's name where she coded (the dashboard, the history).
    for user in (w.sue, w.alice):
        seen = _scan(w, user)
        found = {marker for body in seen.values() for marker in MARKERS if marker in body}
        assert found == set(MARKERS), user
        assert KARI_NAME in seen["coding:dashboard"]
        assert KARI_NAME in seen["coding:project-history"]


def _rows(payload: dict) -> list:
    return payload["excerpts"]


def test_the_workspace_and_its_json_carry_only_the_blind_researchers_own_codings(blind):
    w = blind
    bob, sue = _client(w.bob), _client(w.sue)
    page = bob.get(reverse("coding:transcript-detail", args=[w.transcript.pk]))
    payload = json.loads(
        re.search(
            rb'<script id="ws-data" type="application/json">(.*?)</script>',
            page.content,
            re.S,
        ).group(1)
    )
    codings_json = bob.get(reverse("coding:workspace-codings", args=[w.transcript.pk])).json()
    for data in (payload, codings_json):
        rows = _rows(data)
        assert {c[2] for row in rows for c in row[3]} == {w.bob.pk}
        assert {m[1] for row in rows for m in row[4]} == {w.bob.pk}
        assert set(map(int, data["coders"])) <= {w.bob.pk}
        shared = next(r for r in rows if r[0] == w.excerpt.pk)
        assert [c[1] for c in shared[3]] == [w.codes[0].pk]  # not alice's, not kari's code
    assert payload["blind"] is True
    # The codebook's counts are bob's: one coding of Kompetanse (his batch), none of Samarbeid.
    counts = dict(re.findall(rb'data-n-all="(\d+)">(\d+)<', page.content))
    assert counts[str(w.codes[2].pk).encode()] == b"0"
    assert counts[str(w.codes[1].pk).encode()] == b"1"

    inspector = bob.get(reverse("coding:workspace-excerpt", args=[w.excerpt.pk])).json()
    assert [c["coder"] for c in inspector["codings"]] == [w.bob.pk]
    assert [m["author"] for m in inspector["memos"]] == [w.bob.pk]
    # kari's own passage is not found for bob (as for an outsider), but is for sue.
    kari_excerpt = w.extra["kari_excerpt"]
    assert bob.get(reverse("coding:workspace-excerpt", args=[kari_excerpt.pk])).status_code == 404
    assert bob.get(reverse("coding:excerpt-key-quotes", args=[kari_excerpt.pk])).status_code == 404
    assert sue.get(reverse("coding:workspace-excerpt", args=[kari_excerpt.pk])).status_code == 200
    # The supervisor's payload has all three coders on the shared passage.
    sue_rows = sue.get(reverse("coding:workspace-codings", args=[w.transcript.pk])).json()
    shared = next(r for r in _rows(sue_rows) if r[0] == w.excerpt.pk)
    assert {c[2] for c in shared[3]} == {w.bob.pk, w.alice.pk, w.extra["kari"].pk}


def test_a_write_answers_the_blind_researcher_with_his_own_codings_only(blind):
    w = blind
    bob = _client(w.bob)
    r = bob.post(
        reverse("coding:workspace-code", args=[w.transcript.pk]),
        {"start": w.excerpt.start, "end": w.excerpt.end, "code": [w.codes[1].pk]},
    )
    assert r.status_code == 200
    delta = r.json()
    assert {c[2] for row in delta["excerpts"] for c in row[3]} == {w.bob.pk}
    assert delta["counts"] == {str(w.codes[1].pk): 2}


def test_a_blind_researcher_cannot_reach_another_coders_passage_or_coding_by_its_id(blind):
    w = blind
    bob = _client(w.bob)
    kari_excerpt = w.extra["kari_excerpt"]
    karis = Coding.objects.get(content_object=kari_excerpt)
    before = (Memo.objects.count(), Coding.objects.count())
    r = bob.post(reverse("coding:workspace-memo", args=[kari_excerpt.pk]), {"text": "Hei"})
    assert r.status_code == 404
    r = bob.post(
        reverse("coding:workspace-resize", args=[kari_excerpt.pk]),
        {"start": kari_excerpt.start, "end": kari_excerpt.end + 1},
    )
    assert r.status_code == 404
    assert bob.post(reverse("coding:workspace-uncode", args=[karis.pk])).status_code == 404
    assert (Memo.objects.count(), Coding.objects.count()) == before


def test_other_members_exports_are_not_found_for_a_blind_researcher(blind):
    w = blind
    job = w.extra["alice_export"]
    bob, sue = _client(w.bob), _client(w.sue)
    assert bob.get(reverse("coding:job-detail", args=[job.pk])).status_code == 404
    assert bob.get(reverse("coding:job-download", args=[job.pk])).status_code == 404
    assert sue.get(reverse("coding:job-detail", args=[job.pk])).status_code == 200
    assert bob.get(reverse("coding:job-detail", args=[w.export_job.pk])).status_code == 200
    # Nor listed on his project home (nor on the export page).
    detail = reverse("coding:job-detail", args=[job.pk]).encode()
    for page in ("coding:project-detail", "coding:export"):
        url = reverse(page, args=[w.project.pk])
        assert detail not in bob.get(url).content
        assert detail in sue.get(url).content


def _alone(w: World):
    """What bob would see if nobody else had coded or written on the passages: the others'
    codings, excerpt memos and key quotes removed, blind coding off."""
    Coding.objects.exclude(coder=w.bob).delete()
    Memo.objects.filter(excerpt__isnull=False).exclude(author=w.bob).delete()
    KeyQuote.objects.exclude(user=w.bob).delete()
    Excerpt.objects.filter(codings__isnull=True).delete()
    services.blind_coding_set(project=w.project, on=False, actor=w.alice)


def _cells(response) -> list:
    data = response.content
    if data[:2] == b"PK":
        book = openpyxl.load_workbook(io.BytesIO(data))
        return [
            [c for c in row if c is not None]
            for ws in book.worksheets
            for row in ws.iter_rows(values_only=True)
        ]
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize(
    ("name", "fmt", "query"),
    [
        ("coding:analysis-matrix-export", "csv", {"measure": "excerpts"}),
        ("coding:analysis-matrix-export", "xlsx", {"measure": "words"}),
        ("coding:analysis-matrix-export", "csv", {"measure": "share"}),
        ("coding:analysis-cooccurrence-export", "xlsx", {"mode": "overlap"}),
        ("coding:analysis-framework-export", "csv", {}),
        ("coding:analysis-matrix-export", "csv", {"measure": "informants", "rows": "kind"}),
        ("coding:analysis-matrix-export", "csv", {"key_quotes": "1"}),
    ],
)
def test_a_blind_researchers_matrix_counts_only_his_own_codings(blind, name, fmt, query):
    """Every cell of a blind researcher's matrix export equals the matrix of a project in which
    only he had coded (the counts would differ by kari's and alice's codings otherwise)."""
    w = blind
    url = reverse(name, args=[w.project.pk, fmt])
    bob = _client(w.bob)
    blind_cells = _cells(bob.get(url, query))
    sue_cells = _cells(_client(w.sue).get(url, query))
    with transaction.atomic():
        _alone(w)
        alone_cells = _cells(bob.get(url, query))
        transaction.set_rollback(True)
    assert len(blind_cells) > 1  # a table, not an error page
    assert blind_cells == alone_cells
    assert sue_cells != alone_cells  # the others' codings do change the numbers


def test_the_qdpx_a_blind_researcher_exports_holds_his_codings_only(blind):
    w = blind
    r = _client(w.bob).get(reverse("coding:exchange-export", args=[w.project.pk]))
    data = b"".join(r.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        root = etree.fromstring(zf.read("project.qde"))
    ns = {"q": root.nsmap[None]}
    users = {u.get("guid"): u.get("name") for u in root.iterfind(".//q:Users/q:User", ns)}
    coders = {users[c.get("creatingUser")] for c in root.iterfind(".//q:Coding", ns)}
    assert coders == {"bob"}
    assert len(root.findall(".//q:Coding", ns)) == Coding.objects.filter(coder=w.bob).count()


def test_a_word_export_of_a_blind_researcher_quotes_his_passages_with_his_codes(blind):
    w = blind
    bob = _client(w.bob)
    before = set(Job.objects.values_list("pk", flat=True))
    r = bob.post(
        reverse("coding:export", args=[w.project.pk]),
        {
            "layout": "by-code",
            "language": "en",
            "memos": "on",
            "context_words": "0",
            "codebook": "on",
            "excerpts_appendix": "on",
        },
    )
    assert r.status_code == 302
    (job,) = Job.objects.exclude(pk__in=before)
    data = b"".join(bob.get(reverse("coding:job-download", args=[job.pk])).streaming_content)
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert "Et notat" in text  # bob's own memo on his passage
    for marker in MARKERS:
        assert marker not in text


# --- the setting: owners only, per project and per transcript, audited -----------------------


def test_owners_turn_blind_coding_on_and_off_and_the_history_records_it(world):
    w = world
    alice = _client(w.alice)
    url = reverse("coding:project-blind", args=[w.project.pk])
    assert alice.post(url, {"blind_coding": "1"}).status_code == 302
    w.project.refresh_from_db()
    assert w.project.blind_coding is True
    assert alice.post(url, {"blind_coding": "0"}).status_code == 302
    w.project.refresh_from_db()
    assert w.project.blind_coding is False
    actions = list(
        AuditEvent.objects.filter(project=w.project, action__startswith="blind")
        .order_by("created_at", "pk")
        .values_list("action", "actor_id")
    )
    assert actions == [
        (AuditAction.BLIND_CODING_ON, w.alice.pk),
        (AuditAction.BLIND_CODING_OFF, w.alice.pk),
    ]
    history = _client(w.sue).get(reverse("coding:project-history", args=[w.project.pk]))
    assert b"turned blind coding on for the project" in history.content
    assert b"turned blind coding off for the project" in history.content

    t_url = reverse("coding:transcript-blind", args=[w.transcript.pk])
    assert alice.post(t_url, {"blind_mode": BlindMode.ON}).status_code == 302
    event = AuditEvent.objects.filter(transcript=w.transcript).latest("created_at", "pk")
    assert event.action == AuditAction.BLIND_CODING_ON
    assert event.details["scope"] == "transcript"
    assert alice.post(t_url, {"blind_mode": "sometimes"}).status_code == 302
    w.transcript.refresh_from_db()
    assert w.transcript.blind_mode == BlindMode.ON  # a bad value changes nothing


@pytest.mark.parametrize(("persona", "status"), [("sue", 403), ("bob", 403), ("charlie", 404)])
def test_only_owners_change_blind_coding(world, persona, status):
    client = _client(getattr(world, persona))
    r = client.post(reverse("coding:project-blind", args=[world.project.pk]), {"blind_coding": "1"})
    assert r.status_code == status
    r = client.post(
        reverse("coding:transcript-blind", args=[world.transcript.pk]), {"blind_mode": "on"}
    )
    assert r.status_code == status
    world.project.refresh_from_db()
    world.transcript.refresh_from_db()
    assert not world.project.blind_coding and world.transcript.blind_mode == BlindMode.INHERIT
    assert not AuditEvent.objects.filter(action__startswith="blind").exists()


def test_a_transcript_setting_overrides_the_projects(blind):
    w = blind
    bob = _client(w.bob)
    url = reverse("coding:workspace-codings", args=[w.transcript.pk])

    def coders_on_shared() -> set[int]:
        rows = bob.get(url).json()["excerpts"]
        return {c[2] for c in next(r for r in rows if r[0] == w.excerpt.pk)[3]}

    assert coders_on_shared() == {w.bob.pk}
    services.transcript_blind_set(transcript=w.transcript, mode=BlindMode.OFF, actor=w.alice)
    assert coders_on_shared() == {w.bob.pk, w.alice.pk, w.extra["kari"].pk}
    # The second interview still follows the project: kari's passage stays hidden there.
    second = w.extra["second"]
    rows = bob.get(reverse("coding:workspace-codings", args=[second.pk])).json()["excerpts"]
    assert rows == []
    services.blind_coding_set(project=w.project, on=False, actor=w.alice)
    services.transcript_blind_set(transcript=second, mode=BlindMode.ON, actor=w.alice)
    rows = bob.get(reverse("coding:workspace-codings", args=[second.pk])).json()["excerpts"]
    assert rows == []
    assert coders_on_shared() == {w.bob.pk, w.alice.pk, w.extra["kari"].pk}
    assert set(Transcript.objects.blind().values_list("pk", flat=True)) == {second.pk}


def test_search_coded_with_reads_only_the_blind_researchers_codings(blind):
    w = blind
    # "samarbeider" lies inside the shared passage, which bob coded with Forankring only.
    query = {"q": "samarbeide", "coded": "coded", "with_code": w.codes[2].pk}
    url = reverse("coding:search", args=[w.project.pk])
    bob_page = _client(w.bob).get(url, query).content.decode()
    sue_page = _client(w.sue).get(url, query).content.decode()
    hit = "tett med NAV"
    assert hit in sue_page  # kari coded it with Samarbeid
    assert hit not in bob_page
    query["with_code"] = w.codes[0].pk
    assert hit in _client(w.bob).get(url, query).content.decode()


def test_a_blind_researcher_gets_keyword_suggestions_only(blind):
    """The learned model has read every coder's codings, this transcript's too: while bob codes
    it blind he gets no suggestion that only the model made, and none says the model agreed."""
    w = blind
    t = w.excerpt.transcript
    Suggestion.objects.filter(transcript=t).delete()  # what the import suggested: not this test's
    kw = Suggestion.objects.create(
        transcript=t, code=w.codes[0], start=0, end=5, source=SuggestionSource.KEYWORD
    )
    both = Suggestion.objects.create(
        transcript=t, code=w.codes[1], start=0, end=5, source=SuggestionSource.BOTH, score=0.9
    )
    Suggestion.objects.create(
        transcript=t, code=w.codes[2], start=0, end=5, source=SuggestionSource.MODEL, score=0.8
    )
    url = reverse("coding:transcript-suggestions", args=[t.pk])
    shown = _client(w.bob).get(url).json()
    assert {s["id"] for s in shown["suggestions"]} == {kw.pk, both.pk}
    assert {s["source"] for s in shown["suggestions"]} == {"keyword"}
    assert all(s["score"] is None for s in shown["suggestions"])
    assert shown["model"] is None
    # A supervisor, who sees everything, gets all three as they are.
    assert len(_client(w.sue).get(url).json()["suggestions"]) == 3
    assert Suggestion.objects.get(pk=both.pk).source == SuggestionSource.BOTH  # nothing saved


def test_a_blind_researcher_chooses_only_himself_among_the_coders(blind):
    """The matrix filters' coder lists (the coders filter, the one-coder bases) and the
    agreement form name only the blind researcher himself; a supervisor and the owner choose
    between every coder, kari included."""
    from coding.analysis.agreement_form import AgreementForm
    from coding.analysis.filters import BASIS_CODER, AnalysisFilterForm

    w = blind
    kari = w.extra["kari"]

    def choices(user) -> tuple[set[int], set[int], set[int]]:
        membership = Membership.objects.get(project=w.project, user=user)
        form = AnalysisFilterForm({}, project=w.project, viewer=membership)
        coders = {int(pk) for pk, _label in form.fields["coders"].choices}
        bases = {
            int(v[len(BASIS_CODER) :])
            for v, _label in form.fields["basis"].choices
            if v.startswith(BASIS_CODER)
        }
        w.project.membership = membership  # as coding.access sets it for a view
        agreement = {
            int(pk)
            for pk, _label in AgreementForm(None, project=w.project).fields["coders"].choices
        }
        return coders, bases, agreement

    assert choices(w.bob) == ({w.bob.pk}, {w.bob.pk}, {w.bob.pk})
    everyone = {w.alice.pk, w.bob.pk, kari.pk}
    for user in (w.sue, w.alice):
        coders, bases, agreement = choices(user)
        assert everyone <= coders and everyone <= bases and everyone <= agreement, user

    # The pages as bob and sue receive them.
    url = reverse("coding:analysis-matrix", args=[w.project.pk])
    assert KARI_NAME not in _body(_client(w.bob).get(url))
    assert KARI_NAME in _body(_client(w.sue).get(url))
    bob_form = _client(w.bob).get(url, {"coders": [str(kari.pk)]})
    assert KARI_NAME not in _body(bob_form)
