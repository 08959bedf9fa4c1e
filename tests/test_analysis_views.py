"""The analysis pages over HTTP: matrices, drill-down, co-occurrence, framework, exports."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coding import services
from coding.models import Case, CaseKind, FrameworkSummary, FrameworkSummaryRevision

from . import analysis_data as ad
from .factories import CodebookFactory, CodeFactory, ProjectFactory


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def study(project, bob, alice):
    s = ad.build(project, bob, alice)
    services.memo_save(
        project=project, author=bob, excerpt=s.excerpts["e1"], text="Forankret i kommunestyret."
    )
    return s


def url(name: str, study, *args) -> str:
    return reverse(name, args=[study.project.pk, *args])


# --- the matrix page ------------------------------------------------------------------------


def test_a_supervisor_reads_the_matrix(sue_client, study):
    r = sue_client.get(url("coding:analysis-matrix", study))
    assert r.status_code == 200
    html = r.content.decode()
    assert "Drammen" in html and "Vadsø" in html
    m = r.context["matrix"]
    drammen = next(row for g in m.groups for row in g.rows if row.label == "Drammen")
    assert [c.value for c in drammen.cells] == [1, 2, 1]
    assert 'hx-get="' in html and 'hx-target="#drill"' in html


def test_the_matrix_page_filters_by_coder(bob_client, study, alice):
    r = bob_client.get(url("coding:analysis-matrix", study), {"coders": [alice.pk]})
    m = r.context["matrix"]
    assert m.column_totals.total.value == 4  # alice: e1 e3 e6 e8
    assert ("Coders", "alice") in r.context["described"]


def test_a_bad_filter_shows_an_error_not_a_matrix(bob_client, study):
    r = bob_client.get(
        url("coding:analysis-matrix", study), {"date_from": "2021-01-01", "date_to": "2020-01-01"}
    )
    assert r.status_code == 200
    assert "matrix" not in r.context
    assert "The end date lies before the start date." in r.content.decode()


def test_charlie_gets_404_on_every_analysis_page(charlie_client, study):
    drammen, o = study.cases["Drammen"], study.codes["O"]
    for name in (
        "coding:analysis-matrix",
        "coding:analysis-matrix-cell",
        "coding:analysis-cooccurrence",
        "coding:analysis-framework",
        "coding:dashboard",
    ):
        assert charlie_client.get(url(name, study)).status_code == 404, name
    assert charlie_client.get(url("coding:analysis-matrix-export", study, "csv")).status_code == 404
    cell = reverse("coding:analysis-framework-cell", args=[drammen.pk, o.pk])
    assert charlie_client.get(cell).status_code == 404
    assert charlie_client.post(cell, {"text": "x", "version": 0}).status_code == 404


def test_the_matrix_page_is_a_constant_number_of_queries(bob_client, study, bob):
    def get():
        with CaptureQueriesContext(connection) as ctx:
            assert bob_client.get(url("coding:analysis-matrix", study)).status_code == 200
        return len(ctx.captured_queries)

    before = get()
    for i in range(5):
        case = Case.objects.create(project=study.project, name=f"Ny {i}", kind=CaseKind.IN_DEPTH)
        inf = case.informants.create(pseudonym=f"X{i}", level="operative")
        t = ad.make_transcript(case, f"T{i}", "2021-02-02", [(ad.INTERVIEWER, "Hei?"), (inf, ad.A)])
        ad.code(study, t, ad.A, "FOB", bob)
    assert get() == before


# --- drill-down -----------------------------------------------------------------------------


def test_a_cell_opens_its_excerpts_with_everything_about_them(sue_client, study):
    drammen, f = study.cases["Drammen"], study.codes["F"]
    r = sue_client.get(
        url("coding:analysis-matrix-cell", study),
        {"row": drammen.pk, "col": f.pk},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "<html" not in html, "htmx gets a fragment"
    e1 = study.excerpts["e1"]
    assert [it.excerpt.pk for it in r.context["items"]] == [e1.pk]
    assert ad.A in html
    for text in ("Forankring", "Organisering", "Drammen", "Geir", "Rådmann", "Strategic"):
        assert text in html, text
    assert "Drammen: rådmannen" in html and "paragraph 2" in html
    assert "bob" in html and "alice" in html  # both coded F on e1
    assert "Forankret i kommunestyret." in html  # the memo
    link = reverse("coding:transcript-detail", args=[e1.transcript_id])
    # The link the transcript view reads (models.passage_url), not ?excerpt=.
    assert f'href="{link}?start={e1.start}&amp;end={e1.end}#pos-{e1.start}"' in html


def test_a_cell_without_htmx_is_a_page_of_its_own(bob_client, study):
    r = bob_client.get(
        url("coding:analysis-matrix-cell", study), {"row": "total", "col": study.codes["O"].pk}
    )
    assert r.status_code == 200
    assert "<html" in r.content.decode()
    assert r.context["total"] == 3
    assert "Back to the matrix" in r.content.decode()


def test_a_crosstab_cell_follows_the_rows(bob_client, study):
    r = bob_client.get(
        url("coding:analysis-matrix-cell", study), {"rows": "level", "row": "user", "col": "total"}
    )
    assert [it.excerpt.pk for it in r.context["items"]] == [study.excerpts["e3"].pk]


def test_a_bad_cell_is_refused_with_400(bob_client, study):
    r = bob_client.get(url("coding:analysis-matrix-cell", study), {"row": "nope", "col": "total"})
    assert r.status_code == 400
    r = bob_client.get(url("coding:analysis-matrix-cell", study), {"row": "total", "col": "12345"})
    assert r.status_code == 400


# --- co-occurrence --------------------------------------------------------------------------


def test_the_cooccurrence_page_and_its_cells(sue_client, study):
    r = sue_client.get(url("coding:analysis-cooccurrence", study), {"mode": "turn"})
    assert r.status_code == 200
    m = r.context["matrix"]
    f_row = next(row for row in m.groups[0].rows if row.label == "Forankring")
    assert [c.value for c in f_row.cells] == [3, 1, 2]  # F×F own, F×O e1, F×B e4 e7
    cell = sue_client.get(
        url("coding:analysis-cooccurrence-cell", study),
        {"mode": "turn", "row": study.codes["F"].pk, "col": study.codes["B"].pk},
        HTTP_HX_REQUEST="true",
    )
    got = {it.excerpt.pk for it in cell.context["items"]}
    assert got == {study.excerpts["e4"].pk, study.excerpts["e7"].pk}
    bad = sue_client.get(url("coding:analysis-cooccurrence-cell", study), {"row": "x", "col": "1"})
    assert bad.status_code == 400


# --- framework matrix -----------------------------------------------------------------------


def cell_url(study, case="Drammen", code="O") -> str:
    return reverse(
        "coding:analysis-framework-cell", args=[study.cases[case].pk, study.codes[code].pk]
    )


def test_a_researcher_writes_a_framework_summary(bob_client, study, bob):
    r = bob_client.post(cell_url(study), {"text": "Samarbeid på tvers av etatene.", "version": 0})
    assert r.status_code == 302
    assert f"#cell-{study.cases['Drammen'].pk}-{study.codes['O'].pk}" in r.url
    s = FrameworkSummary.objects.get(case=study.cases["Drammen"], code=study.codes["O"])
    assert (s.text, s.author, s.version) == ("Samarbeid på tvers av etatene.", bob, 1)
    page = bob_client.get(url("coding:analysis-framework", study)).content.decode()
    assert "Samarbeid på tvers av etatene." in page


def test_the_framework_cell_shows_the_summary_beside_its_excerpts(sue_client, study, bob):
    services.framework_summary_save(
        project=study.project,
        case=study.cases["Drammen"],
        code=study.codes["O"],
        author=bob,
        text="Et felles team.",
        base_version=0,
    )
    r = sue_client.get(cell_url(study))
    html = r.content.decode()
    assert r.status_code == 200
    assert "Et felles team." in html and "<textarea" not in html, "supervisors read only"
    assert {it.excerpt.pk for it in r.context["items"]} == {
        study.excerpts["e1"].pk,
        study.excerpts["e3"].pk,
    }


def test_a_supervisor_may_not_write_a_summary(sue_client, study):
    r = sue_client.post(cell_url(study), {"text": "Mitt syn.", "version": 0})
    assert r.status_code == 403
    assert not FrameworkSummary.objects.exists()


def test_a_stale_save_is_refused_and_shows_the_newer_text(bob_client, alice_client, study):
    bob_client.post(cell_url(study), {"text": "Bobs tekst.", "version": 0})
    r = alice_client.post(cell_url(study), {"text": "Alices tekst.", "version": 0})
    assert r.status_code == 200
    html = r.content.decode()
    assert "Someone saved this summary while you were writing." in html
    assert "Bobs tekst." in html and "Alices tekst." in html
    assert r.context["form"].data["version"] == "1"
    assert FrameworkSummary.objects.get().text == "Bobs tekst."
    # Alice merges and saves on top of version 1: history keeps both texts.
    alice_client.post(cell_url(study), {"text": "Bobs og Alices tekst.", "version": 1})
    s = FrameworkSummary.objects.get()
    assert (s.text, s.author.username, s.version) == ("Bobs og Alices tekst.", "alice", 2)
    texts = list(
        FrameworkSummaryRevision.objects.filter(summary=s)
        .order_by("version")
        .values_list("text", flat=True)
    )
    assert texts == ["Bobs tekst.", "Bobs og Alices tekst."]
    page = alice_client.get(cell_url(study)).content.decode()
    assert "Earlier versions" in page


def test_a_code_from_another_project_is_not_found(bob_client, study):
    foreign = CodeFactory(codebook=CodebookFactory(project=ProjectFactory()))
    cell = reverse("coding:analysis-framework-cell", args=[study.cases["Drammen"].pk, foreign.pk])
    assert bob_client.get(cell).status_code == 404
    assert bob_client.post(cell, {"text": "x", "version": 0}).status_code == 404


# --- exports --------------------------------------------------------------------------------


def test_the_matrix_exports_to_csv_with_its_filters(bob_client, study, bob):
    r = bob_client.get(
        url("coding:analysis-matrix-export", study, "csv"), {"coders": [bob.pk], "display": "row"}
    )
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="' in r["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["Cases × codes"]
    meta = {row[0]: row[1] for row in rows[1:] if len(row) == 2}
    assert meta["Coders"] == "bob" and meta["Show"] == "Row percentages"
    header_at = rows.index([]) + 1
    assert rows[header_at][:3] == ["Group", "Case", "Forankring"]
    sandnes = next(row for row in rows if row[1:2] == ["Sandnes"])
    assert sandnes[2:] == ["50.0", "50.0", "0.0", "100.0"]  # bob: e4 F, e5 O of 2


def test_the_matrix_exports_to_xlsx_that_reopens(bob_client, study):
    r = bob_client.get(
        url("coding:analysis-matrix-export", study, "xlsx"), {"measure": "transcripts"}
    )
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    sheet, filters_sheet = wb.worksheets
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:3] == ["Group", "Case", "Forankring"]
    drammen = next(row for row in rows if row[1] == "Drammen")
    assert drammen[2:] == [1, 2, 1, 2]
    meta = {
        row[0].value: row[1].value for row in filters_sheet.iter_rows(min_row=3) if row[0].value
    }
    assert meta["Measure"] == "Transcripts"
    assert meta["Project"] == study.project.name
    shaded, total = sheet["D2"], sheet["F2"]  # Drammen × O (the darkest) and its row total
    assert shaded.value == 2 and shaded.fill.fgColor.rgb.upper().endswith("1F5FA8")
    assert total.value == 2 and total.fill.fill_type is None


def test_exported_text_is_never_a_formula(bob_client, study):
    Case.objects.filter(pk=study.cases["Vadsø"].pk).update(name='=HYPERLINK("http://x","y")')
    r = bob_client.get(url("coding:analysis-matrix-export", study, "csv"))
    assert "'=HYPERLINK" in r.content.decode("utf-8-sig")
    r = bob_client.get(url("coding:analysis-matrix-export", study, "xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    cell = next(c for row in sheet.iter_rows() for c in row if str(c.value).startswith("=HYP"))
    assert cell.data_type == "s"


def test_cooccurrence_and_framework_export(bob_client, study, bob):
    services.framework_summary_save(
        project=study.project,
        case=study.cases["Rana"],
        code=study.codes["B"],
        author=bob,
        text="Brukerrådet blir hørt.",
        base_version=0,
    )
    r = bob_client.get(
        url("coding:analysis-cooccurrence-export", study, "csv"), {"mode": "overlap"}
    )
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    meta = {row[0]: row[1] for row in rows if len(row) == 2}
    assert meta["Co-occurring when"] == "Overlapping excerpts"
    o_row = next(row for row in rows if row[:1] == ["Organisering"])
    assert o_row[1:] == ["1", "3", "1", "3"]  # O×F e1, own 3, O×B e5, excerpts 3
    r = bob_client.get(url("coding:analysis-framework-export", study, "xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    rana_b = next(row for row in rows if row[1] == "Rana" and row[2] == "Brukermedvirkning")
    assert rana_b[3:6] == [1, "Brukerrådet blir hørt.", "bob"]


def test_an_unknown_export_format_is_not_found(bob_client, study):
    assert bob_client.get(url("coding:analysis-matrix-export", study, "pdf")).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"measure": "words"},
        {"measure": "share"},
        {"measure": "informants", "rows": "level"},
        {"mode": "turn"},
    ],
)
def test_a_project_without_codes_or_codings_shows_empty_pages(bob_client, project, codebook, query):
    """A new project (a codebook, no codes, no cases) must not break any analysis page."""
    for name in (
        "coding:analysis-matrix",
        "coding:analysis-cooccurrence",
        "coding:analysis-framework",
    ):
        r = bob_client.get(reverse(name, args=[project.pk]), query)
        assert r.status_code == 200, (name, query)
    for name in ("coding:analysis-matrix-export", "coding:analysis-cooccurrence-export"):
        assert bob_client.get(reverse(name, args=[project.pk, "xlsx"]), query).status_code == 200
    assert bob_client.get(reverse("coding:dashboard", args=[project.pk])).status_code == 200


@pytest.mark.parametrize("display", ["count", "row", "col"])
def test_the_show_line_names_the_share_for_the_share_measure(bob_client, study, display):
    """It said "Counts" or "Row percentages" for a share of the text, on the page and in the
    export's filters."""
    query = {"measure": "share", "display": display}
    page = bob_client.get(url("coding:analysis-matrix", study), query)
    assert ("Show", "Percent of the row's text") in page.context["described"]
    csv_text = bob_client.get(url("coding:analysis-matrix-export", study, "csv"), query)
    body = b"".join(csv_text.streaming_content if csv_text.streaming else [csv_text.content])
    assert "Percent of the row's text" in body.decode("utf-8-sig")
    for wrong in ("Counts", "Row percentages", "Column percentages"):
        assert wrong not in body.decode("utf-8-sig")


def test_a_norwegian_csv_opens_in_columns_in_norwegian_excel(bob_client, study, bob, settings):
    """Semicolons between fields and decimal commas, as Norwegian Excel reads CSV."""
    settings.LANGUAGE_CODE = "nb"
    r = bob_client.get(
        url("coding:analysis-matrix-export", study, "csv"), {"coders": [bob.pk], "display": "row"}
    )
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[rows.index([]) + 1][:2] == ["Gruppe", "Case"]
    sandnes = next(row for row in rows if row[1:2] == ["Sandnes"])
    assert sandnes[2:] == ["50,0", "50,0", "0,0", "100,0"]


def test_the_xlsx_prints_landscape_fitted_to_width_with_the_header_on_every_page(bob_client, study):
    r = bob_client.get(url("coding:analysis-matrix-export", study, "xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == "$1:$1"
