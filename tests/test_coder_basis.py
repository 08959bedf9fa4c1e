"""The coder basis of the analysis (issue 13): which codings count and whether a passage coded
by several coders counts once, on hand-made spans of two coders whose figures are counted by
hand below; the basis stated on every page and in every export file."""

from __future__ import annotations

import csv
import io

import docx
import openpyxl
import pytest
from django.urls import reverse
from django.utils import translation

from coding.analysis import drilldown, matrices, selection
from coding.analysis.filters import AnalysisFilterForm
from coding.analysis.specs import TOTAL
from coding.exports.jobs import export_to_file
from coding.exports.word import STYLE_SOURCE
from coding.models import Coding, CodingLayer, Excerpt, Turn

from .factories import CaseFactory, TranscriptFactory

# Words of five characters and a space: word i is text[6 i : 6 i + 5].
WORDS = [f"ord{i:02d}" for i in range(40)]
TEXT = " ".join(WORDS)


def span(first: int, last: int) -> tuple[int, int]:
    """The span of words ``first``..``last`` (inclusive)."""
    return 6 * first, 6 * last + 5


def words(first: int, last: int) -> str:
    return " ".join(WORDS[first : last + 1])


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


class Spans:
    """Drammen, T1 (no consensus), code F:
      overlapping: bob 0–4, alice 2–7          -> one passage, words 0–7 (8 words)
      nested:      bob 10–19, alice 12–14      -> one passage, 10 words
      identical:   bob and alice 25–27 (one excerpt)  -> one passage, 3 words
      apart:       bob 30–31, alice 32–33      -> two passages, 2 + 2 words
    code K: bob 0–4 (the excerpt of bob's F), alice 12–16 (inside F's nested passage).
    Sandnes, T2, code F: bob 0–4, alice 1–5 (coders: one passage 0–5, 6 words); consensus
    (decided by alice): F 0–2 and F 4–5 (two passages, 3 + 2 words).
    """

    def __init__(self, project, codes, bob, alice):
        self.project = project
        self.f, self.k = codes[0], codes[1]
        self.bob, self.alice = bob, alice
        self.drammen = CaseFactory(project=project, name="Drammen", order=1)
        self.sandnes = CaseFactory(project=project, name="Sandnes", order=2)
        self.t1 = TranscriptFactory(case=self.drammen, text=TEXT, word_count=len(WORDS))
        self.t2 = TranscriptFactory(case=self.sandnes, text=TEXT, word_count=len(WORDS))
        for t in (self.t1, self.t2):
            # One unlabelled turn, as the import lays text without speaker labels: interview
            # text (Turn.objects.interview_text_of), which the share of text is cut to.
            Turn.objects.create(transcript=t, index=0, start=0, content_start=0, end=len(TEXT))
        for coder, first, last in [
            (bob, 0, 4),
            (alice, 2, 7),
            (bob, 10, 19),
            (alice, 12, 14),
            (bob, 25, 27),
            (alice, 25, 27),
            (bob, 30, 31),
            (alice, 32, 33),
        ]:
            self.code(self.t1, self.f, coder, first, last)
        self.code(self.t1, self.k, bob, 0, 4)
        self.code(self.t1, self.k, alice, 12, 16)
        self.code(self.t2, self.f, bob, 0, 4)
        self.code(self.t2, self.f, alice, 1, 5)
        self.code(self.t2, self.f, alice, 0, 2, CodingLayer.CONSENSUS)
        self.code(self.t2, self.f, alice, 4, 5, CodingLayer.CONSENSUS)

    @staticmethod
    def code(transcript, code, coder, first, last, layer=CodingLayer.CODER) -> Coding:
        start, end = span(first, last)
        excerpt, _new = Excerpt.objects.get_or_create(
            transcript=transcript, start=start, end=end, defaults={"text": TEXT[start:end]}
        )
        return Coding.objects.create(tag=code, content_object=excerpt, coder=coder, layer=layer)

    def data(self, basis: str, **more) -> dict:
        return {"basis": basis, "codes": [str(self.f.pk), str(self.k.pk)], **more}

    def form(self, basis: str, **more) -> AnalysisFilterForm:
        form = AnalysisFilterForm(self.data(basis, **more), project=self.project)
        assert form.is_valid(), form.errors
        return form


@pytest.fixture
def spans(project, codes, bob, alice):
    return Spans(project, codes, bob, alice)


def grid(spans: Spans, basis: str, **more) -> dict[str, list]:
    """Row label -> [F, K, row total] (the total row too)."""
    m = matrices.case_code_matrix(spans.form(basis, **more), lambda r, c: f"{r}/{c}")
    rows = [r for g in m.groups for r in g.rows]
    assert m.column_totals is not None
    out = {r.label: [c.value for c in r.cells] + [r.total.value] for r in rows}
    out["Total"] = [c.value for c in m.column_totals.cells] + [m.column_totals.total.value]
    return out


# --- counts, words, coverage -----------------------------------------------------------------


def test_the_merged_basis_counts_overlapping_nested_and_identical_spans_once(spans):
    v = grid(spans, "merged")
    # F: 0–7, 10–19, 25–27, 30–31, 32–33; K: 0–4 and 12–16. The row's total counts the
    # distinct passages by where they start: K's 0–4 starts with F's 0–7 (one passage coded
    # with both), K's 12–16 inside F's 10–19 is a passage of its own.
    assert v["Drammen"] == [5, 2, 6]
    assert v["Sandnes"] == [1, 0, 1]  # the coders' 0–4 and 1–5; the consensus is not read
    assert v["Total"] == [6, 2, 7]


def test_the_sum_basis_counts_each_coders_excerpt_as_today(spans):
    v = grid(spans, "sum")
    # F: 0–4, 2–7, 10–19, 12–14, 25–27 (one excerpt, two coders), 30–31, 32–33; K adds 12–16.
    assert v["Drammen"] == [7, 2, 8]
    assert v["Sandnes"] == [2, 0, 2]


def test_the_merged_basis_counts_the_words_of_the_union_once(spans):
    v = grid(spans, "merged", measure="words")
    assert v["Drammen"][0] == 8 + 10 + 3 + 2 + 2
    assert v["Drammen"][1] == 5 + 5
    # The total: F's passages, and K's 12–16 (K's 0–4 starts with F's 0–7: the longer counts).
    assert v["Drammen"][2] == 25 + 5
    assert v["Sandnes"][0] == 6
    # The sum: each distinct excerpt's words (the identical span once).
    s = grid(spans, "sum", measure="words")
    assert s["Drammen"][0] == 5 + 6 + 10 + 3 + 3 + 2 + 2
    assert s["Sandnes"][0] == 5 + 5


def test_coverage_counts_union_characters_whatever_the_basis(spans):
    covered = sum(e - s for s, e in [span(0, 7), span(10, 19), span(25, 27)]) + 2 * 11
    for basis in ("merged", "sum"):
        assert grid(spans, basis, measure="share")["Drammen"][0] == covered
    # One coder: bob's own spans only.
    bob_only = sum(e - s for s, e in [span(0, 4), span(10, 19), span(25, 27), span(30, 31)])
    assert grid(spans, f"coder:{spans.bob.pk}", measure="share")["Drammen"][0] == bob_only


def test_one_coder_basis_counts_that_coders_codings(spans):
    bob = grid(spans, f"coder:{spans.bob.pk}")
    assert bob["Drammen"] == [4, 1, 4]  # K's 0–4 is bob's F 0–4: one passage in the total
    alice = grid(spans, f"coder:{spans.alice.pk}")
    assert alice["Drammen"] == [4, 1, 4]  # her K 12–16 starts where her F 12–14 does
    assert alice["Sandnes"] == [1, 0, 1]  # her coder-layer 1–5, not her consensus decisions
    assert grid(spans, f"coder:{spans.bob.pk}", measure="words")["Drammen"][0] == 5 + 10 + 3 + 2


def test_the_default_takes_each_transcripts_consensus_where_it_has_one(spans):
    v = grid(spans, "default")
    assert v["Drammen"] == grid(spans, "merged")["Drammen"]  # no consensus: coders merged
    assert v["Sandnes"] == [2, 0, 2]  # the consensus: 0–2 and 4–5
    assert grid(spans, "default", measure="words")["Sandnes"][0] == 3 + 2
    consensus = grid(spans, "consensus")
    assert consensus["Drammen"] == [0, 0, 0]
    assert consensus["Sandnes"] == [2, 0, 2]
    # A missing basis is the default.
    form = AnalysisFilterForm({"codes": [str(spans.f.pk)]}, project=spans.project)
    assert form.is_valid() and form.coder_basis == "default"


def test_transcripts_and_informants_stay_distinct_counts(spans):
    for basis in ("merged", "sum"):
        assert grid(spans, basis, measure="transcripts")["Total"][2] == 2
    assert grid(spans, "consensus", measure="transcripts")["Total"][2] == 1


def test_the_coders_filter_limits_the_coders_not_the_consensus(spans):
    v = grid(spans, "default", coders=[str(spans.bob.pk)])
    assert v["Drammen"] == [4, 1, 4]
    assert v["Sandnes"] == [2, 0, 2]


def test_cooccurrence_counts_merged_passages(spans):
    def counts(basis):
        form = spans.form(basis, mode="overlap")
        m = matrices.cooccurrence_matrix(form, lambda r, c: "")
        return {r.label: [c.value for c in r.cells] for g in m.groups for r in g.rows}

    f_name, k_name = spans.f.name, spans.k.name
    assert counts("sum")[f_name] == [9, 4]  # F's excerpts; 0–4, 2–7, 10–19, 12–14 meet K
    assert counts("merged")[f_name] == [6, 2]  # F's passages; 0–7 and 10–19 meet K
    assert counts("merged")[k_name] == [2, 2]
    cell = selection.cooccurrence_cell(
        spans.form("merged", mode="overlap"), f"{spans.f.pk}", f"{spans.k.pk}"
    )
    total, items = drilldown.drilldown(cell, merged=True)
    assert total == 2
    assert [it.excerpt.text for it in items] == [words(0, 7), words(10, 19)]


# --- drill-down ----------------------------------------------------------------------------


def test_the_merged_drilldown_shows_one_item_per_passage_with_its_union_and_coders(spans):
    form = spans.form("merged")
    cell = selection.cell(form, str(spans.drammen.pk), str(spans.f.pk))
    total, items = drilldown.drilldown(cell, merged=True)
    assert total == 5
    assert [it.excerpt.text for it in items] == [
        words(0, 7),
        words(10, 19),
        words(25, 27),
        words(30, 31),
        words(32, 33),
    ]
    assert [sorted(it.coders) for it in items][:3] == [["alice", "bob"]] * 3
    assert [it.merged_from for it in items] == [2, 2, 1, 1, 1]
    assert f"?start={span(0, 7)[0]}&end={span(0, 7)[1]}" in items[0].url
    # The row's total: each code's passages, the distinct ones by their start (K's 0–4 is in
    # F's 0–7; K's 12–16 is its own).
    row = selection.cell(form, str(spans.drammen.pk), TOTAL)
    total, items = drilldown.drilldown(row, merged=True, per_code=True)
    assert total == 6
    assert [it.excerpt.text for it in items][:3] == [words(0, 7), words(10, 19), words(12, 16)]
    # The sum basis lists the excerpts as they are.
    total, items = drilldown.drilldown(
        selection.cell(spans.form("sum"), str(spans.drammen.pk), str(spans.f.pk))
    )
    assert total == 7
    assert [it.excerpt.text for it in items][:2] == [words(0, 4), words(2, 7)]


# --- pages and exports --------------------------------------------------------------------

MERGED_LABEL = "All coders, overlapping passages of the same code merged"
DEFAULT_LABEL = "Consensus where a transcript has one, otherwise all coders merged"


def get(client, name, spans, data, *args):
    url = reverse(name, args=args or [spans.project.pk])
    response = client.get(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content[:500]
    return response


def test_every_analysis_page_states_the_basis(spans, alice_client):
    data = spans.data("merged")
    cell = {**data, "row": str(spans.drammen.pk), "col": str(spans.f.pk)}
    pages = [
        ("coding:analysis-matrix", data),
        ("coding:analysis-cooccurrence", data),
        ("coding:analysis-framework", data),
        ("coding:analysis-matrix-cell", cell),
        (
            "coding:analysis-cooccurrence-cell",
            {**data, "row": str(spans.f.pk), "col": str(spans.k.pk)},
        ),
        (
            "coding:analysis-framework-panel",
            {**data, "case": str(spans.drammen.pk), "code": str(spans.f.pk)},
        ),
        ("coding:export", {**data, "layout": "selection"}),
    ]
    stated = f"Coder basis:</span> {MERGED_LABEL}"  # the filters line, the drill-down's line
    for name, query in pages[:-1]:
        html = get(alice_client, name, spans, query).content.decode()
        assert stated in html, name
    # The export page: the basis chosen for every layout.
    html = get(alice_client, *pages[-1][:1], spans, pages[-1][1]).content.decode()
    assert '<option value="merged" selected>' in html
    html = get(
        alice_client, "coding:analysis-framework-cell", spans, data, spans.drammen.pk, spans.f.pk
    ).content.decode()
    assert stated in html
    html = get(alice_client, "coding:analysis-matrix", spans, spans.data("sum")).content.decode()
    assert "Coder basis:</span> Sum of the coders&#x27; codings (workload only)" in html
    # The matrix page says what the default is and what a coded excerpt is.
    html = get(alice_client, "coding:analysis-matrix", spans, {}).content.decode()
    assert f"Coder basis:</span> {DEFAULT_LABEL}" in html
    assert "their union counts once" in html
    html = get(alice_client, "coding:dashboard", spans, {}).content.decode()
    assert "Sum of the coders&#x27; codings (workload)" in html


def test_the_basis_travels_by_get_and_a_bad_one_is_refused(spans, alice_client):
    html = get(
        alice_client, "coding:analysis-matrix", spans, spans.data(f"coder:{spans.bob.pk}")
    ).content.decode()
    assert "Coder basis:</span> Only bob" in html
    response = alice_client.get(
        reverse("coding:analysis-matrix", args=[spans.project.pk]), {"basis": "coder:999999"}
    )
    assert "The matrix cannot be built" in response.content.decode()
    response = alice_client.get(
        reverse("coding:analysis-matrix-cell", args=[spans.project.pk]),
        {"basis": "everything", "row": str(spans.drammen.pk), "col": TOTAL},
    )
    assert response.status_code == 400


def test_the_words_measure_and_co_occurrence_by_turn_state_their_definitions(spans, alice_client):
    html = get(
        alice_client, "coding:analysis-matrix", spans, spans.data("merged", measure="words")
    ).content.decode()
    assert "A coded word is a run of letters and digits" in html
    html = get(
        alice_client, "coding:analysis-matrix", spans, spans.data("merged", rows="level")
    ).content.decode()
    assert "An excerpt belongs to the informants whose speaker turns it overlaps" in html
    html = get(
        alice_client, "coding:analysis-cooccurrence", spans, spans.data("merged", mode="turn")
    ).content.decode()
    assert "Within the same speaker turn: both excerpts start in the same speaker turn" in html


@pytest.mark.parametrize(
    "view", ["analysis-matrix-export", "analysis-cooccurrence-export", "analysis-framework-export"]
)
def test_the_basis_is_a_line_of_every_csv_and_xlsx(spans, alice_client, view):
    csv_response = get(
        alice_client, f"coding:{view}", spans, spans.data("merged"), spans.project.pk, "csv"
    )
    text = csv_response.content.decode("utf-8-sig")
    delimiter = ";" if text.splitlines()[1].count(";") else ","
    lines = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    assert ["Coder basis", MERGED_LABEL] in lines
    xlsx = get(
        alice_client, f"coding:{view}", spans, spans.data("merged"), spans.project.pk, "xlsx"
    )
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    meta = book.worksheets[1]
    rows = [[c.value for c in r] for r in meta.iter_rows()]
    assert ["Coder basis", MERGED_LABEL] in rows


def export(project, layout, **params):
    buf = io.BytesIO()
    with translation.override("en"):
        export_to_file(buf, project=project, params={"layout": layout, **params}, made_by="x")
    return docx.Document(io.BytesIO(buf.getvalue()))


@pytest.mark.parametrize("layout", ["by-code", "by-case", "framework", "report", "selection"])
def test_every_word_layout_states_its_basis_on_the_title_page(spans, layout):
    extra = {"filters": spans.data("merged")} if layout == "selection" else {"basis": "merged"}
    document = export(spans.project, layout, **extra)
    assert f"Coder basis: {MERGED_LABEL}" in [p.text for p in document.paragraphs]
    document = export(spans.project, layout)
    assert f"Coder basis: {DEFAULT_LABEL}" in [p.text for p in document.paragraphs]


def test_the_merged_word_export_quotes_each_passage_once_naming_its_coders(spans):
    def quotes(document):
        return [p.text for p in document.paragraphs if p.style.name == "Quote"]

    def sources(document):
        return [p.text for p in document.paragraphs if p.style.name == STYLE_SOURCE]

    merged = export(spans.project, "by-code", basis="merged")
    f_quotes = [words(0, 7), words(10, 19), words(25, 27), words(30, 31), words(32, 33)]
    # F (Drammen, Sandnes), then K.
    assert quotes(merged) == [*f_quotes, words(0, 5), words(0, 4), words(12, 16)]
    assert "alice, bob" in sources(merged)[0]
    summed = export(spans.project, "by-code", basis="sum")
    assert len(quotes(summed)) == 7 + 2 + 2  # every coder-layer excerpt under F, and K
    assert words(2, 7) in quotes(summed)
    consensus = export(spans.project, "by-code", basis="consensus")
    assert quotes(consensus) == [words(0, 2), words(4, 5)]


@pytest.mark.parametrize(
    "text",
    [
        "Hei på deg, ålreit–æ co-op don't",
        "e-post: 10 000 kr 😀 Øyvind’s hus\u00adbygging; (Å) «sitat» ...",
        "",
        " ord03 ord04",
    ],
)
def test_the_sql_word_count_is_the_counted_word(db, text):
    from django.db import connection

    from coding.models.expressions import words_sql
    from coding.nlp import count_words

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {words_sql(connection.vendor, '%s')}", [text])  # noqa: S608
        assert cursor.fetchone()[0] == count_words(text)


def test_the_export_page_keeps_the_chosen_basis_for_every_layout(spans, bob_client):
    from coding.models import Job, JobKind, JobStatus

    bob_client.post(
        reverse("coding:export", args=[spans.project.pk]),
        {"layout": "by-case", "language": "en", "context_words": "0", "basis": "sum"},
    )
    job = Job.objects.get(kind=JobKind.EXPORT)
    assert job.status == JobStatus.DONE, job.message
    assert job.params["basis"] == "sum"
    with job.result_file.open("rb") as fh:
        document = docx.Document(fh)
    texts = [p.text for p in document.paragraphs]
    assert "Coder basis: Sum of the coders' codings (workload only)" in texts
    # The sum quotes both coders' overlapping excerpts.
    assert words(2, 7) in texts and words(0, 4) in texts


def test_agreement_still_compares_the_coders_own_codings_not_the_consensus(spans):
    from coding.analysis import agreement

    scope = agreement.load_scope(
        spans.project, coder_ids=[spans.bob.pk, spans.alice.pk], data={"basis": "consensus"}
    )
    f = spans.f.pk
    assert scope.spans[(f, spans.t2.pk, spans.alice.pk)] == [span(1, 5)]
    assert sorted(scope.spans[(f, spans.t1.pk, spans.alice.pk)]) == [
        span(2, 7),
        span(12, 14),
        span(25, 27),
        span(32, 33),
    ]
    assert not [label for label, _v in scope.described if label == "Coder basis"]


def test_export_word_takes_the_basis_on_the_command_line(spans, tmp_path):
    from django.core.management import call_command

    out = tmp_path / "rapport.docx"
    with translation.override("en"):
        call_command(
            "export_word",
            str(spans.project.pk),
            "--layout",
            "report",
            "--language",
            "en",
            "--basis",
            "consensus",
            "--out",
            str(out),
            stdout=io.StringIO(),
        )
    texts = [p.text for p in docx.Document(str(out)).paragraphs]
    assert "Coder basis: Consensus only" in texts
