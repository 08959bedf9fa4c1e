"""What counts as interview text (issue 15): one rule, ``Turn.objects.interview_text_of``, for
suggestions, search and the matrices' share of text; the import preview proposes the header
(the heading or metadata block) and lets the researcher mark it, and what is marked is never
interview text. Personas: alice owns, bob researches."""

import importlib
import re

import pytest
from django.apps import apps
from django.urls import reverse

from coding import importers, services
from coding.analysis import matrices, selection
from coding.language import lemma_search
from coding.models import Suggestion, Transcript, Turn

from .factories import CodeFactory, InformantFactory
from .language_data import make_transcript, span_of


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def money(codebook):
    return CodeFactory(codebook=codebook, name="Økonomi", keywords="budsjett\ntilskudd")


def hits(project, word: str, **filters) -> list[str]:
    found = lemma_search.find_hits(
        project, lemma_search.parse_query(word), lemma_search.Filters(**filters)
    )
    texts = dict(Transcript.objects.values_list("pk", "text"))
    return [texts[h.transcript_id][h.start : h.end] for h in found]


# --- the header: found, proposed, marked --------------------------------------------------


def doc_of(*lines: str) -> importers.ParsedDocument:
    return importers.parse_pasted("\n\n".join(lines), "t.txt")


def test_the_header_is_the_lines_before_the_first_speaker_turn():
    doc = doc_of(
        "Intervju om bolig",
        "Dato: 12.03.2019",
        "Intervjuer: Kari Nordmann",  # a label of a known shape, yet metadata: used once
        "I: Hvordan jobber dere?",
        "IP: Vi jobber tett.",
        "I: Og NAV?",
        "IP: Også.",
    )
    labels = {label for label, _n in importers.detect_speakers(doc)}
    assert "Intervjuer" in labels
    assert importers.header_paragraphs(doc, labels) == 3


@pytest.mark.parametrize(
    "lines",
    [
        ("I: Blåbær", "IP: Gammel Mac-linjeslutt."),  # a turn on the first line: no header
        ("Bare tekst uten talere.", "Mer tekst."),  # no speaker turn at all
        (*(f"Linje {n}." for n in range(importers.MAX_HEADER_LINES + 1)), "I: Sent?", "IP: Ja."),
    ],
)
def test_no_clear_header_is_no_header(lines):
    doc = doc_of(*lines)
    labels = {label for label, _n in importers.detect_speakers(doc)}
    assert importers.header_paragraphs(doc, labels) == 0


def test_header_lines_form_one_turn_without_a_speaker_whatever_labels_they_hold():
    doc = doc_of("Tittel", "IP: Astrid", "I: Hei?", "IP: Hei.")
    text, turns = importers.build_text_and_turns(doc, {"I", "IP"}, header=2)
    assert [(t.label, t.header) for t in turns] == [("", True), ("I", False), ("IP", False)]
    assert text[turns[0].start : turns[0].end] == "Tittel\n\nIP: Astrid"
    # Without a header the same first lines are an unlabelled turn and the informant's.
    _text, turns = importers.build_text_and_turns(doc, {"I", "IP"}, header=0)
    assert [(t.label, t.header) for t in turns] == [
        ("", False),
        ("IP", False),
        ("I", False),
        ("IP", False),
    ]


HEADED = "\n\n".join(
    [
        "Intervju om budsjett og bolig",
        "Opptak: boligkontoret, budsjettmøtet i mars",
        "I: Hva betyr budsjettet for boligene?",
        "IP: Tilskudd og budsjett avgjør hvor mange boliger vi får.",
    ]
)


def test_the_preview_proposes_the_header_and_a_hand_marked_line_is_not_interview_text(
    alice_client, alice, project, case, money
):
    who = InformantFactory(case=case, pseudonym="Tone")
    job = services.import_prepare(
        project=project, case=case, user=alice, pasted=HEADED, title="Med hode"
    )
    url = reverse("coding:import-preview", args=[job.pk])
    page = alice_client.get(url)
    form = page.context["form"]
    assert form["header_lines"].initial == 2  # the two lines before the first turn
    html = page.content.decode()
    assert re.search(r'name="header_lines" value="2"[^>]*checked', html)
    assert "Header: not interview text" in html
    rows = form.header_rows()
    assert [is_header for _p, _r, is_header in rows] == [True, True, False, False]

    # The researcher marks the question too as header (by hand: one line more).
    post = {"title": "Med hode", "header_lines": "3", "informants": [who.pk]}
    for key, label, _n in form.label_fields:
        post[key] = "interviewer" if label == "I" else f"informant:{who.pk}"
    project.interviewer_turns_are_interview_text = True  # so only the header excludes it
    project.save(update_fields=["interviewer_turns_are_interview_text"])
    r = alice_client.post(url, post)
    assert r.status_code == 302
    t = Transcript.objects.get(title="Med hode")
    header = t.turns.get(is_header=True)
    assert t.text[header.start : header.end].endswith("Hva betyr budsjettet for boligene?")
    assert header.informant is None and not header.is_interviewer
    answer = span_of(t, "Tilskudd og budsjett avgjør hvor mange boliger vi får.")
    # Never a search hit, never suggested: only the answer's words are found.
    assert hits(project, "budsjett") == ["budsjett"]
    assert all(
        answer[0] <= h.start
        for h in lemma_search.find_hits(
            project, lemma_search.parse_query("bolig"), lemma_search.Filters()
        )
    )
    (s,) = Suggestion.objects.filter(transcript=t)
    assert (s.start, s.end) == (t.turns.get(label="IP").content_start, answer[1])


def test_no_header_chosen_makes_the_first_lines_interview_text(
    alice_client, alice, project, case, money
):
    who = InformantFactory(case=case, pseudonym="Tone")
    job = services.import_prepare(project=project, case=case, user=alice, pasted=HEADED)
    url = reverse("coding:import-preview", args=[job.pk])
    form = alice_client.get(url).context["form"]
    post = {"title": "Uten hode", "header_lines": "0"}
    for key, label, _n in form.label_fields:
        post[key] = "interviewer" if label == "I" else f"informant:{who.pk}"
    assert alice_client.post(url, post).status_code == 302
    t = Transcript.objects.get(title="Uten hode")
    assert not t.turns.filter(is_header=True).exists()
    assert "budsjettmøtet" in hits(project, "budsjettmøte")


def test_a_header_beyond_the_preview_lines_is_refused(alice_client, alice, project, case):
    job = services.import_prepare(project=project, case=case, user=alice, pasted=HEADED)
    url = reverse("coding:import-preview", args=[job.pk])
    r = alice_client.post(url, {"title": "X", "header_lines": "4"})  # every line: none left
    assert r.status_code == 200 and "header_lines" in r.context["form"].errors
    assert not Transcript.objects.exists()


def test_the_migration_marks_the_text_before_the_first_speaker_as_header(project, case):
    t = make_transcript(case, ["Tittel", "I: Spørsmål?", "IP: Svar."])
    one_block = make_transcript(case, ["Bare tekst."], title="Blokk")
    Turn.objects.update(is_header=False)  # as the rows were before the field
    migration = importlib.import_module("coding.migrations.0014_issue15_interview_text")
    migration.mark_headers(apps, None)
    assert list(t.turns.filter(is_header=True).values_list("index", flat=True)) == [0]
    # A transcript without speaker labels is what its informants said: interview text.
    assert not one_block.turns.filter(is_header=True).exists()
    assert hits(project, "tekst") == ["tekst"]


# --- one rule for search, suggestions and the share ---------------------------------------


@pytest.fixture
def interview(case):
    return make_transcript(
        case,
        [
            "Intervju om boliger, mars 2024",
            "I: Hvordan fordeles boligene?",
            "IP: Boligene fordeles i et utvalg.",
        ],
    )


def test_the_project_setting_decides_whether_search_reads_the_interviewer(
    project, interview, alice_client
):
    assert hits(project, "bolig") == ["Boligene"]  # the answer: not the header or question
    url = reverse("coding:search", args=[project.pk])
    page = alice_client.get(url, {"q": "bolig"}).content.decode()
    assert "Hits are made in interview text only" in page
    assert 'value="interviewer"' not in page  # "spoken by interviewers" could find nothing
    project.interviewer_turns_are_interview_text = True
    project.save(update_fields=["interviewer_turns_are_interview_text"])
    assert hits(project, "bolig") == ["boligene", "Boligene"]
    assert hits(project, "bolig", speaker="interviewer") == ["boligene"]
    page = alice_client.get(url, {"q": "bolig"}).content.decode()
    assert 'value="interviewer"' in page
    assert "the informants' and the interviewer's speaker turns" in page


def test_suggestions_follow_the_same_rule(project, interview):
    rows = Turn.objects.interview_text_of(project)
    assert list(rows.values_list("label", flat=True)) == ["IP"]
    assert list(Turn.objects.interview_text_of().values_list("label", flat=True)) == ["IP"]
    project.interviewer_turns_are_interview_text = True
    project.save(update_fields=["interviewer_turns_are_interview_text"])
    assert sorted(Turn.objects.interview_text_of(project).values_list("label", flat=True)) == [
        "I",
        "IP",
    ]
    assert sorted(Turn.objects.interview_text_of().values_list("label", flat=True)) == ["I", "IP"]


def _share(project, code):
    form = selection.bound_form(project, {"measure": "share", "codes": [str(code.pk)]})
    m = matrices.case_code_matrix(form, lambda r, c: "")
    (row,) = [r for g in m.groups for r in g.rows]
    return row.cells[0].shown, m.notes


def test_the_share_of_text_is_of_the_interview_text(project, case, interview, codes, alice):
    question = interview.turns.get(label="I")
    answer = interview.turns.get(label="IP")
    header = interview.turns.get(is_header=True)
    # One passage over the header, the question and half the answer.
    half = answer.content_start + (answer.end - answer.content_start) // 2
    services.excerpt_code(
        transcript=interview, start=header.start, end=half, codes=[codes[0]], coder=alice
    )
    shown, notes = _share(project, codes[0])
    answer_chars = answer.end - answer.content_start
    # Only the answer is interview text: coded text elsewhere counts in neither part.
    assert shown == pytest.approx(100 * (half - answer.content_start) / answer_chars)
    assert any("Interview text" in n and "but the interviewer's questions" in n for n in notes)
    project.interviewer_turns_are_interview_text = True
    project.save(update_fields=["interviewer_turns_are_interview_text"])
    question_chars = question.end - question.content_start
    shown, notes = _share(project, codes[0])
    assert shown == pytest.approx(
        100 * (question_chars + half - answer.content_start) / (question_chars + answer_chars)
    )
    assert any("including the interviewer's questions" in n for n in notes)


def test_the_transcript_view_shows_the_header_as_not_interview_text(bob_client, interview):
    page = bob_client.get(reverse("coding:transcript-detail", args=[interview.pk]))
    html = page.content.decode()
    head = html.index('<section class="turn is-header"')
    assert "not interview text" in html[head : html.index("</section>", head)]
    assert "Intervju om boliger, mars 2024" in html[head : html.index("</section>", head)]
    assert html.count("is-header") == 1
