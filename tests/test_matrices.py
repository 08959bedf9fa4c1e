"""The matrices' numbers, checked against counts done by hand on tests/analysis_data.py."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from coding import services
from coding.analysis import drilldown, matrices, selection
from coding.analysis.filters import AnalysisFilterForm
from coding.analysis.specs import TOTAL
from coding.models import Case, CaseKind, Code, Informant, Level

from . import analysis_data as ad
from .factories import ProjectFactory


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def study(project, bob, alice):
    return ad.build(project, bob, alice)


def link(row: str, col: str) -> str:
    return f"?row={row}&col={col}"


def grid(study, **data) -> matrices.Matrix:
    form = AnalysisFilterForm(data, project=study.project)
    assert form.is_valid(), form.errors
    return matrices.case_code_matrix(form, link)


def values(matrix: matrices.Matrix) -> dict[str, list]:
    """Row label -> [cell values..., row total] (subtotal and total rows included)."""
    out = {}
    for g in matrix.groups:
        for r in [*g.rows, *([g.subtotal] if g.subtotal else [])]:
            out[r.label] = [c.value for c in r.cells] + [r.total.value]
    if matrix.column_totals:
        r = matrix.column_totals
        out[r.label] = [c.value for c in r.cells] + [r.total.value]
    return out


# --- cases × codes --------------------------------------------------------------------------


def test_the_default_matrix_counts_coded_excerpts_per_case_and_factor(study):
    m = grid(study)
    assert [c.name for c in m.columns] == ["Forankring", "Organisering", "Brukermedvirkning"]
    assert [g.label for g in m.groups] == [
        str(CaseKind.CASE_STUDY.label),
        str(CaseKind.IN_DEPTH.label),
    ]
    # By hand (see analysis_data): an excerpt coded F by two coders counts once.
    assert values(m) == {
        "Drammen": [1, 2, 1, 3],  # F e1 · O e1 e3 · B e2 · any: e1 e2 e3
        "Sandnes": [1, 1, 2, 4],  # F e4 · O e5 · B e6 e8
        "All: Case municipality": [2, 3, 3, 7],
        "Rana": [1, 0, 1, 1],  # e7 has F and B
        "Vadsø": [0, 0, 0, 0],  # no transcripts, still a row
        "All: In-depth interview municipality": [1, 0, 1, 1],
        "Total": [3, 3, 4, 8],
    }


def test_a_coder_filter_counts_only_that_coders_codings(study, bob):
    m = grid(study, coders=[str(bob.pk)])
    v = values(m)
    assert v["Drammen"] == [1, 1, 1, 2]  # alice's e3 goes
    assert v["Sandnes"] == [1, 1, 0, 2]  # alice's e6 and e8 go
    assert v["Total"] == [3, 2, 2, 5]


def test_the_distinct_transcript_measure(study):
    v = values(grid(study, measure="transcripts"))
    assert v["Drammen"] == [1, 2, 1, 2]  # O in TD1 and TD2
    assert v["Sandnes"] == [1, 1, 1, 1]
    assert v["Total"] == [3, 3, 3, 4]


def test_the_distinct_informant_measure_follows_who_speaks(study):
    v = values(grid(study, measure="informants"))
    assert v["Drammen"] == [1, 2, 1, 2]  # O: Geir (e1) and Ola (e3)
    assert v["Total"] == [3, 3, 3, 4]


def test_coded_words_sum_the_words_of_the_distinct_excerpts(study):
    v = values(grid(study, measure="words"))
    # e1 10 words, e2 4, e3 8, e4 4, e8 7, e5 6, e6 10, e7 10.
    assert v["Drammen"] == [10, 18, 4, 22]
    assert v["Sandnes"] == [4, 6, 17, 27]
    assert v["Rana"] == [10, 0, 10, 10]
    assert v["Total"] == [24, 24, 31, 59]


def test_the_share_of_text_coded_counts_overlapping_passages_once(study):
    m = grid(study, measure="share")
    # The denominator is the interview text: the informants' answers, not the questions.
    drammen = len(ad.A) + len(ad.B) + len(ad.C)
    rows = {r.label: r for g in m.groups for r in g.rows}
    assert rows["Drammen"].cells[0].shown == pytest.approx(100 * len(ad.A) / drammen)
    # e5 and e6 overlap and cover answer E exactly once.
    sandnes_covered = len(ad.D1) + len(ad.D2) + len(ad.E)
    sandnes_text = len(f"{ad.D1} {ad.D2}") + len(ad.E)
    assert rows["Sandnes"].total.shown == pytest.approx(100 * sandnes_covered / sandnes_text)
    assert rows["Vadsø"].total.shown is None  # no text at all: no share
    assert m.percent and rows["Sandnes"].total.text.endswith("%")


def test_row_and_column_percentages(study):
    rows = {r.label: r for g in grid(study, display="row").groups for r in g.rows}
    assert [round(c.shown, 1) for c in rows["Sandnes"].cells] == [25.0, 25.0, 50.0]
    cols = {r.label: r for g in grid(study, display="col").groups for r in g.rows}
    assert [round(c.shown, 1) for c in cols["Drammen"].cells] == [33.3, 66.7, 25.0]


def test_sub_codes_roll_up_into_their_parent_or_stand_on_their_own(study):
    tema, norm = study.codes["T"], study.codes["N"]
    rolled = values(grid(study, codes=[str(tema.pk)], subcodes="rollup"))
    own = values(grid(study, codes=[str(tema.pk)], subcodes="own"))
    assert rolled["Drammen"] == [1, 1]  # e3 is coded Normalisering, under Tema
    assert own["Drammen"] == [0, 0]  # nobody coded Tema itself
    both = values(grid(study, codes=[str(tema.pk), str(norm.pk)], subcodes="rollup"))
    assert both["Drammen"] == [1, 1, 1]  # the parent's column holds its child's coding too


def test_rows_by_informant_level_are_an_attribute_by_code_crosstab(study):
    m = grid(study, rows="level")
    assert values(m) == {
        "Strategic": [2, 1, 2, 3],  # Geir e1 e2, Siri e7
        "Operative": [1, 1, 2, 4],  # Kristin e4 e5 e6 e8
        "User or resident": [0, 1, 0, 1],  # Ola e3
        "Total": [3, 3, 4, 8],
    }


def test_rows_by_a_case_attribute(study):
    program = study.definitions["program"]
    v = values(grid(study, rows=f"case:{program.pk}"))
    assert v["Yes"] == [2, 3, 3, 7]
    assert v["No"] == [1, 0, 1, 1]


def test_transcripts_by_speaker_rows_do_not_add_up_and_totals_are_counted(study):
    m = grid(study, rows="level", measure="transcripts")
    v = values(m)
    assert v["Strategic"] == [2, 1, 2, 2]  # TD1 and TR1
    assert v["Total"] == [3, 3, 3, 4]  # counted, not summed
    assert any("do not add up" in n for n in m.notes)


def test_the_share_measure_refuses_rows_of_speakers(study):
    form = AnalysisFilterForm({"rows": "level", "measure": "share"}, project=study.project)
    assert not form.is_valid()
    assert "measure" in form.errors


def test_the_heat_map_shades_the_largest_cell_darkest(study):
    m = grid(study)
    cells = [c for g in m.groups for r in g.rows for c in r.cells]
    darkest = max(cells, key=lambda c: c.value)
    assert darkest.value == 2 and "color:#fff" in darkest.style
    assert all(c.style == "" for c in cells if c.value == 0)


def test_cell_links_carry_the_row_and_column_keys(study):
    m = grid(study)
    drammen = study.cases["Drammen"]
    row = next(r for g in m.groups for r in g.rows if r.label == "Drammen")
    assert row.cells[1].href == link(str(drammen.pk), str(study.codes["O"].pk))
    assert row.total.href == link(str(drammen.pk), TOTAL)


# --- filters --------------------------------------------------------------------------------


def excerpt_ids(qs) -> set[int]:
    return set(qs.values_list("content_object_id", flat=True))


def test_filters_by_informant_level(study):
    ids = excerpt_ids(selection.filter_codings(study.project, {"levels": ["user"]}))
    assert ids == {study.excerpts["e3"].pk}


def test_filters_by_transcript_tag_and_date(study):
    e = study.excerpts
    tagged = excerpt_ids(selection.filter_codings(study.project, {"tags": ["pilot"]}))
    assert tagged == {e["e1"].pk, e["e2"].pk}
    dated = excerpt_ids(
        selection.filter_codings(
            study.project, {"date_from": "2020-05-01", "date_to": "2020-06-30"}
        )
    )
    assert dated == {e[k].pk for k in ("e3", "e4", "e5", "e6", "e8")}


def test_filters_by_case_attributes_and_kind(study):
    region = study.definitions["region"]
    program = study.definitions["program"]
    p = study.project
    vest = excerpt_ids(selection.filter_codings(p, {f"attr_{region.pk}": ["Vest"]}))
    assert vest == {study.excerpts[k].pk for k in ("e4", "e5", "e6", "e8")}
    no_programme = excerpt_ids(selection.filter_codings(p, {f"attr_{program.pk}": "0"}))
    assert no_programme == {study.excerpts["e7"].pk}
    in_depth = excerpt_ids(selection.filter_codings(p, {"kinds": ["in_depth"]}))
    assert in_depth == no_programme


def test_filters_by_an_informant_attribute_range(study):
    years = study.definitions["years"]
    ids = excerpt_ids(selection.filter_codings(study.project, {f"attr_{years.pk}_min": "10"}))
    assert ids == {study.excerpts[k].pk for k in ("e1", "e2", "e7")}  # Geir 12, Siri 20


def test_a_code_subset_limits_the_codings(study):
    f = study.codes["F"]
    qs = selection.filter_codings(study.project, {"codes": [str(f.pk)]})
    assert set(qs.values_list("tag_id", flat=True)) == {f.pk}
    assert qs.count() == 4  # e1 twice (bob, alice), e4, e7


def test_cell_codings_are_the_codings_a_cell_counts(study):
    drammen, o = study.cases["Drammen"], study.codes["O"]
    qs = selection.cell_codings(study.project, {}, str(drammen.pk), str(o.pk))
    assert excerpt_ids(qs) == {study.excerpts["e1"].pk, study.excerpts["e3"].pk}
    total = selection.cell_codings(study.project, {}, TOTAL, str(o.pk))
    assert len(excerpt_ids(total)) == 3
    level = selection.cell_codings(study.project, {"rows": "level"}, "user", TOTAL)
    assert excerpt_ids(level) == {study.excerpts["e3"].pk}


def test_a_bad_filter_or_cell_raises_validation_error(study):
    with pytest.raises(ValidationError):
        selection.filter_codings(study.project, {"coders": ["999999"]})
    with pytest.raises(ValidationError):
        selection.cell_codings(study.project, {}, "not-a-case", TOTAL)
    with pytest.raises(ValidationError):
        selection.cell_codings(study.project, {}, TOTAL, str(study.codes["N"].pk))  # not a column


def test_filters_never_reach_another_projects_codings(study, bob, alice):
    other = ad.build(ProjectFactory(name="Annet prosjekt"), bob, alice)
    mine = excerpt_ids(selection.filter_codings(study.project, {}))
    theirs = excerpt_ids(selection.filter_codings(other.project, {}))
    assert mine and theirs and not (mine & theirs)


def test_describe_names_every_filter_in_use(study, bob):
    form = selection.bound_form(study.project, {"coders": [str(bob.pk)], "levels": ["strategic"]})
    described = dict(form.describe())
    assert described["Coders"] == "bob"
    assert described["Informant level"] == "Strategic"
    assert "Forankring" in described["Codes"]


# --- co-occurrence --------------------------------------------------------------------------


def cooc(study, mode: str) -> dict[tuple[str, str], int]:
    form = AnalysisFilterForm({"mode": mode}, project=study.project)
    assert form.is_valid(), form.errors
    m = matrices.cooccurrence_matrix(form, link)
    names = {c.pk: c.short_name for c in m.columns}
    out = {}
    for r in m.groups[0].rows:
        for col, cell in zip(m.columns, r.cells, strict=True):
            out[(names[int(r.key)], names[col.pk])] = cell.value
    return out


def test_cooccurrence_in_the_same_excerpt(study):
    c = cooc(study, "excerpt")
    assert c[("F", "O")] == 1 and c[("O", "F")] == 1  # e1
    assert c[("F", "B")] == 1  # e7
    assert c[("O", "B")] == 0
    assert c[("F", "F")] == 3  # the diagonal: F's own excerpts e1 e4 e7


def test_cooccurrence_of_overlapping_excerpts(study):
    c = cooc(study, "overlap")
    assert c[("O", "B")] == 1 and c[("B", "O")] == 1  # e5 overlaps e6
    assert c[("F", "B")] == 1  # e7 only: e4 and e8 do not overlap


def test_cooccurrence_within_the_same_speaker_turn(study):
    c = cooc(study, "turn")
    assert c[("F", "B")] == 2  # e7, and e4 with e8 in Kristin's answer D
    assert c[("B", "F")] == 2  # e8 and e7
    assert c[("F", "O")] == 1  # e1 (e4 and e5 are in different answers)


def test_a_cooccurrence_cell_holds_the_row_codes_excerpts(study):
    f, b = study.codes["F"], study.codes["B"]
    qs = selection.cooccurrence_cell_codings(study.project, {"mode": "turn"}, str(f.pk), str(b.pk))
    assert excerpt_ids(qs) == {study.excerpts["e4"].pk, study.excerpts["e7"].pk}
    assert set(qs.values_list("tag_id", flat=True)) == {f.pk}


# --- framework matrix -----------------------------------------------------------------------


def test_the_framework_matrix_puts_summaries_beside_excerpt_counts(study, bob):
    drammen, o = study.cases["Drammen"], study.codes["O"]
    services.framework_summary_save(
        project=study.project,
        case=drammen,
        code=o,
        author=bob,
        text="Tett samarbeid på tvers.",
        base_version=0,
    )
    form = selection.bound_form(study.project, {})
    fw = matrices.framework_matrix(form, link)
    cell = next(
        c
        for _l, rows in fw.groups
        for r in rows
        for c in r.cells
        if (c.case, c.code) == (drammen, o)
    )
    assert cell.excerpts == 2 and cell.summary.text == "Tett samarbeid på tvers."
    header, rows = fw.table()
    line = next(r for r in rows if r[1] == "Drammen" and r[2] == "Organisering")
    assert line[3:6] == [2, "Tett samarbeid på tvers.", "bob"]


# --- a constant number of queries -----------------------------------------------------------


def _grow(study, bob) -> None:
    """More cases, codes, transcripts and excerpts, to show the query count does not grow."""
    project, factors = study.project, study.codes["G"]
    for i in range(3):
        Code.objects.create(codebook=factors.codebook, name=f"Ekstra {i}", parent=factors, order=9)
    for i in range(4):
        case = Case.objects.create(project=project, name=f"Kommune {i}", kind=CaseKind.IN_DEPTH)
        inf = Informant.objects.create(case=case, pseudonym=f"P{i}", level=Level.OPERATIVE)
        t = ad.make_transcript(case, f"T{i}", "2021-01-01", [(ad.INTERVIEWER, "Hei?"), (inf, ad.F)])
        for code in Code.objects.filter(parent=factors):
            services.excerpt_code(
                transcript=t,
                start=t.text.index(ad.F),
                end=t.text.index(ad.F) + len(ad.F),
                codes=[code],
                coder=bob,
            )


def count_queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


MATRIX_VARIANTS = [
    {},
    {"measure": "transcripts"},
    {"measure": "informants", "levels": ["strategic", "operative"]},
    {"measure": "words"},
    {"measure": "share", "display": "row"},
    {"rows": "level", "measure": "transcripts"},
    {"rows": "kind", "display": "col"},
]


@pytest.mark.parametrize(
    "data", MATRIX_VARIANTS, ids=lambda d: "-".join(map(str, d.values())) or "default"
)
def test_each_matrix_is_a_constant_number_of_queries(study, bob, data):
    def build():
        form = AnalysisFilterForm(data, project=study.project)
        assert form.is_valid(), form.errors
        matrices.case_code_matrix(form, link)

    before = count_queries(build)
    _grow(study, bob)
    assert count_queries(build) == before
    assert before <= 10


def test_cooccurrence_framework_and_drilldown_are_constant_too(study, bob):
    def cooc_all():
        for mode in ("excerpt", "overlap", "turn"):
            matrices.cooccurrence_matrix(selection.bound_form(study.project, {"mode": mode}), link)

    def framework():
        matrices.framework_matrix(selection.bound_form(study.project, {}), link)

    def drill():
        form = selection.bound_form(study.project, {})
        drilldown.drilldown(selection.cell(form, TOTAL, TOTAL))

    before = [count_queries(f) for f in (cooc_all, framework, drill)]
    _grow(study, bob)
    assert [count_queries(f) for f in (cooc_all, framework, drill)] == before


@pytest.mark.parametrize(
    ("value", "page_nb", "file"),
    [
        (20 / 170 * 100, "11,8 %", 11.8),  # Drammen × Overordnet strategi: 11.76 %
        (0.25, "0,3 %", 0.3),  # a half rounds up, as in the spreadsheet, not to even
        (2.675, "2,7 %", 2.7),  # a binary fraction just under the half
        (99.96, "100,0 %", 100.0),
        (12.0, "12,0 %", 12.0),
    ],
)
def test_a_percentage_rounds_the_same_on_the_page_and_in_the_file(value, page_nb, file):
    from django.utils import translation

    from coding.analysis.matrices import _export_value, fmt

    with translation.override("nb"):
        assert fmt(value, True) == page_nb
    assert _export_value(value, True) == file


def _summed(by_value: dict[str, list], groups: list[set[int]]) -> list[list]:
    rows = []
    for g in groups:
        parts = [v for k, v in by_value.items() if k.isdigit() and int(k) in g]
        rows.append([sum(col) for col in zip(*parts, strict=True)])
    return rows


def test_a_number_attribute_makes_ranges_the_owner_sets(study):
    """A row per distinct population (5578, 5788, …) was unreadable: ranges instead."""
    years = study.definitions["years"]  # Ola 2, Kristin 5, Geir 12, Siri 20
    rows = f"informant:{years.pk}"
    by_value = values(grid(study, rows=rows))
    m = grid(study, rows=rows, bins="limits", bin_limits="5 15")
    v = values(m)
    assert [r.label for g in m.groups for r in g.rows] == [
        "under 5",
        "5 – under 15",
        "15 or more",
    ]
    expected = _summed(by_value, [{2}, {5, 12}, {20}])
    assert [v["under 5"], v["5 – under 15"], v["15 or more"]] == expected
    assert v["Total"] == by_value["Total"]


def test_quartiles_and_a_range_cell_lists_its_codings(study):
    years = study.definitions["years"]
    rows = f"informant:{years.pk}"
    m = grid(study, rows=rows, bins="quartiles")
    assert [r.label for g in m.groups for r in g.rows] == [
        "under 5",
        "5 – under 12",
        "12 – under 20",
        "20 or more",
    ]
    form = AnalysisFilterForm(
        {"rows": rows, "bins": "limits", "bin_limits": "5 15"}, project=study.project
    )
    assert form.is_valid(), form.errors
    plain = AnalysisFilterForm({"rows": rows}, project=study.project)
    assert plain.is_valid()
    middle = selection.cell(form, "1", TOTAL)  # the second range: Kristin (5) and Geir (12)
    expected = {c.pk for key in ("5", "12") for c in selection.cell(plain, key, TOTAL)}
    assert expected and {c.pk for c in middle} == expected
    assert ("Numbers as rows", "under 5; 5 – under 15; 15 or more") in form.describe()


def test_range_limits_must_be_numbers(study):
    years = study.definitions["years"]
    form = AnalysisFilterForm(
        {"rows": f"informant:{years.pk}", "bins": "limits", "bin_limits": "mange"},
        project=study.project,
    )
    assert not form.is_valid() and "bin_limits" in form.errors


@pytest.mark.parametrize("measure", ["excerpts", "transcripts", "informants"])
@pytest.mark.parametrize(
    "data", [{}, {"rows": "level"}, {"subcodes": "rollup"}, {"subcodes": "rollup", "rows": "level"}]
)
def test_cells_and_row_totals_in_one_statement_equal_the_two_queries(study, measure, data):
    """CodingQuerySet.matrix_cells_and_row_totals (what the page runs) gives exactly what the
    two separate aggregates give, with nested rolled-up columns (several layers) too."""
    if data.get("subcodes") == "rollup":
        data = {**data, "codes": [str(study.codes["T"].pk), str(study.codes["N"].pk)]}
    form = AnalysisFilterForm({**data, "measure": measure}, project=study.project)
    assert form.is_valid(), form.errors
    qs, row = selection.codings(form), form.row_spec.expression()
    layers = form.columns.layers()
    assert len(layers) == (2 if data.get("subcodes") == "rollup" else 1)
    with CaptureQueriesContext(connection) as ctx:
        cells, totals = qs.matrix_cells_and_row_totals(measure, row=row, layers=layers)
    assert len(ctx.captured_queries) == 1
    expected = [(r, c, n) for r, c, n in qs.matrix_counts(measure, row=row, layers=layers) if c]
    assert sorted(map(str, cells)) == sorted(map(str, expected))
    assert cells and totals
    assert sorted(map(str, totals)) == sorted(map(str, qs.matrix_counts(measure, row=row)))
